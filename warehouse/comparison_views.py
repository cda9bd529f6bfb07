"""Views for BI tools that compare (docs/metrics.md "Comparing agents and periods"): each
agent's week against the team's funnel, and each agent's week against the week before.

Owns the SELECTs of `agent_funnel_by_week` and `agent_changes_by_week`; warehouse/views.py
creates them with the rate views and marks them the same way. Per metric (`transfer`,
`fcr`, `csat`):

    agent_funnel_by_week   source, agent_id, period_start (the Monday), x and n of each
                           metric, {m}_pct, team_{m}_pct (the source's week, unassigned
                           row included), {m}_limit95_low/high, {m}_limit998_low/high
                           (the funnel at the agent's n), {m}_outside95, {m}_outside998
    agent_changes_by_week  source, agent_id, period_start, x and n of each metric this
                           week and the week before (previous_*), {m}_change_points,
                           {m}_z (the pooled two-proportion statistic), {m}_beyond_chance
                           (|z| > 1.96, i.e. two-sided p < 0.05)

Percentages are unrounded, NULL where a denominator is 0. SQL has no normal distribution
function on SQLite, so the views give z and the verdict; the page gives p.
"""

from __future__ import annotations

# (metric, numerator, denominator), as warehouse/views.py names them.
METRICS = (
    ("transfer", "transferred_out", "handled"),
    ("fcr", "fcr", "fcr_eligible"),
    ("csat", "csat_satisfied", "csat_responses"),
)
# scoring/comparison.py Z_95 and Z_998: the funnel's limits.
Z_95, Z_998 = 1.959964, 3.090232

FUNNEL_VIEW = "agent_funnel_by_week"
CHANGES_VIEW = "agent_changes_by_week"
COMPARISON_VIEWS = (FUNNEL_VIEW, CHANGES_VIEW)

_WEEK_BEFORE = {"sqlite": "date(c.period_start, '-7 days')", "postgresql": "(c.period_start - 7)"}


def _real(expression: str, dialect: str) -> str:
    return f"CAST({expression} AS DOUBLE PRECISION)" if dialect != "sqlite" else expression


def _weekly() -> str:
    sums = ", ".join(f"SUM({c}) AS {c}" for _, x, n in METRICS for c in (x, n))
    return (
        "SELECT source, agent_id, week_start AS period_start, "
        f"{sums} FROM agent_day_facts GROUP BY source, agent_id, week_start"
    )


def _clip(expression: str) -> str:
    return (
        f"CASE WHEN {expression} < 0 THEN 0.0 WHEN {expression} > 1 THEN 1.0 ELSE {expression} END"
    )


def funnel_sql(dialect: str) -> str:
    totals = ", ".join(f"SUM({c}) AS team_{c}" for _, x, n in METRICS for c in (x, n))
    columns = []
    for metric, x, n in METRICS:
        team = f"(1.0 * t.team_{x} / t.team_{n})"
        known = f"a.{n} > 0 AND t.team_{n} > 0"
        columns.append(f"CASE WHEN a.{n} > 0 THEN {_real(f'100.0 * a.{x} / a.{n}', dialect)} "
                       f"END AS {metric}_pct")  # fmt: skip
        columns.append(
            f"CASE WHEN t.team_{n} > 0 THEN {_real(f'100.0 * {team}', dialect)} "
            f"END AS team_{metric}_pct"
        )
        for z, level in ((Z_95, "95"), (Z_998, "998")):
            half = f"({z} * sqrt({team} * (1 - {team}) / a.{n}))"
            for side, sign in (("low", "-"), ("high", "+")):
                bound = _real(f"100.0 * {_clip(f'({team} {sign} {half})')}", dialect)
                columns.append(
                    f"CASE WHEN {known} THEN {bound} END AS {metric}_limit{level}_{side}"
                )
            rate = f"(1.0 * a.{x} / a.{n})"
            columns.append(
                f"CASE WHEN {known} THEN CASE WHEN {rate} < {team} - {half} - 1e-12 OR "
                f"{rate} > {team} + {half} + 1e-12 THEN TRUE ELSE FALSE END "
                f"END AS {metric}_outside{level}"
            )
    counts = ", ".join(f"a.{c}" for _, x, n in METRICS for c in (x, n))
    return f"""WITH a AS ({_weekly()}),
t AS (SELECT source, period_start, {totals} FROM a GROUP BY source, period_start)
SELECT a.source, NULLIF(a.agent_id, '') AS agent_id, a.period_start, {counts},
       {", ".join(columns)}
FROM a JOIN t ON t.source = a.source AND t.period_start = a.period_start"""


def changes_sql(dialect: str) -> str:
    columns = []
    for metric, x, n in METRICS:
        before, after = f"(1.0 * p.{x} / p.{n})", f"(1.0 * c.{x} / c.{n})"
        pooled = f"(1.0 * (p.{x} + c.{x}) / (p.{n} + c.{n}))"
        variance = f"({pooled} * (1 - {pooled}) * (1.0 / p.{n} + 1.0 / c.{n}))"
        both = f"p.{n} > 0 AND c.{n} > 0"
        z = f"CASE WHEN {variance} > 0 THEN ({after} - {before}) / sqrt({variance}) ELSE 0.0 END"
        columns.append(
            f"CASE WHEN {both} THEN {_real(f'100.0 * ({after} - {before})', dialect)} "
            f"END AS {metric}_change_points"
        )
        columns.append(f"CASE WHEN {both} THEN {_real(z, dialect)} END AS {metric}_z")
        columns.append(
            f"CASE WHEN {both} THEN CASE WHEN abs({z}) > {Z_95} THEN TRUE ELSE FALSE END "
            f"END AS {metric}_beyond_chance"
        )
    now = ", ".join(f"c.{col}" for _, x, n in METRICS for col in (x, n))
    then = ", ".join(f"p.{col} AS previous_{col}" for _, x, n in METRICS for col in (x, n))
    return f"""WITH a AS ({_weekly()})
SELECT c.source, NULLIF(c.agent_id, '') AS agent_id, c.period_start, {now}, {then},
       {", ".join(columns)}
FROM a c LEFT JOIN a p ON p.source = c.source AND p.agent_id = c.agent_id
 AND p.period_start = {_WEEK_BEFORE[dialect]}"""


DESCRIPTIONS = {
    FUNNEL_VIEW: "deskmetrics: per agent and week (Monday to Sunday), each rate in %, the "
    "team's (the source's week) and the funnel limits at 95 % and 99.8 % for the agent's "
    "sample; outside = beyond chance (docs/metrics.md, Comparing agents and periods)",
    CHANGES_VIEW: "deskmetrics: per agent and week, each rate against the week before: the "
    "change in points, the two-proportion z and beyond_chance when |z| > 1.96 (p < 0.05)",
}


def comparison_sql(name: str, dialect: str) -> str:
    return funnel_sql(dialect) if name == FUNNEL_VIEW else changes_sql(dialect)
