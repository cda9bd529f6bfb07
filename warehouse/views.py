"""Views for BI tools: per-agent counts, rates, 95 % Wilson intervals and the low-sample flag
by day, week (from Monday) and month.

Owns `agent_rates_by_day`, `agent_rates_by_week` and `agent_rates_by_month`, with the
columns of `VIEW_COLUMNS`: `period_start` (a DATE on both databases: the table's own `day`,
`week_start` or `month_start` column, since on SQLite only a table's column gives a view
column a type), the summed counts, `*_pct`, `*_ci_low`, `*_ci_high`, `csat_mean_pct` and
`low_sample`, then `high_water_mark` (UTC, how far the source is read completely) and
`provisional` (true when a day of the period may still change: docs/metrics.md
"Completeness", from the `source_completeness` table). `agent_id` is NULL on a source's
unassigned row.

Rates are the sum of numerators over the sum of denominators of the period (docs/metrics.md
"Additivity"), never an average of daily rates; they are not rounded. A BI tool that rolls
them up further (teams, quarters) should do the same from the count columns.

`low_sample` follows docs/metrics.md "Confidence" like the report. A view cannot read settings,
so `report.min_sample` is baked into the views' SQL when they are created: each view
carries a mark of its definition (min_sample included), and `views_are_current` compares
it, so the views are recreated only when the schema or min_sample changed, never on an
open that changes nothing (which would wait on running BI queries, and fail on a
read-only database).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from interactions import ConfigError
from warehouse.comparison_views import COMPARISON_VIEWS, DESCRIPTIONS, comparison_sql
from warehouse.drill_through import (
    DRILL_VIEW,
    create_drill_view,
    drill_view_is_current,
    drop_drill_view,
    stored_view_text,
)

PERIODS = ("day", "week", "month")
VIEW_NAMES = tuple(f"agent_rates_by_{period}" for period in PERIODS)
# Every view deskmetrics makes, dropped and made again together.
ALL_VIEWS = (*VIEW_NAMES, *COMPARISON_VIEWS, DRILL_VIEW)

# docs/metrics.md "Confidence": the default `report.min_sample`.
DEFAULT_MIN_SAMPLE = 30

_PERIOD_COLUMN = {"day": "day", "week": "week_start", "month": "month_start"}
_PERIOD_WORDS = {"day": "day", "week": "week (Monday to Sunday)", "month": "calendar month"}

# (metric, numerator, denominator), in the order low_sample names them.
_RATES = (
    ("transfer", "transferred_out", "handled"),
    ("fcr", "fcr", "fcr_eligible"),
    ("csat", "csat_satisfied", "csat_responses"),
)

COUNT_COLUMNS = (
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
    "csat_score_sum",
)

_GROUP_COLUMNS = ("source", "agent_id", "agent_name", "agent_email", "period_start")

VIEW_COLUMNS: tuple[str, ...] = (
    *_GROUP_COLUMNS,
    *COUNT_COLUMNS,
    *(f"{metric}_{part}" for metric, _, _ in _RATES for part in ("pct", "ci_low", "ci_high")),
    "csat_mean_pct",
    "low_sample",
    "high_water_mark",
    "provisional",
)

# The first day after a period that starts at `{start}`, in each dialect's words.
_NEXT_PERIOD = {
    "sqlite": {
        "day": "date({start}, '+1 day')",
        "week": "date({start}, '+7 days')",
        "month": "date({start}, '+1 month')",
    },
    "postgresql": {
        "day": "({start} + 1)",
        "week": "({start} + 7)",
        "month": "CAST({start} + INTERVAL '1 month' AS date)",
    },
}


def _real(expression: str, dialect: str) -> str:
    # PostgreSQL computes numeric (read back as Decimal); make every rate a float, as on SQLite.
    return f"CAST({expression} AS DOUBLE PRECISION)" if dialect != "sqlite" else expression


def _wilson(x: str, n: str, bound: str, dialect: str) -> str:
    # docs/metrics.md "Confidence": 95 % Wilson score interval, z = 1.96 (z² = 3.8416).
    p = f"(1.0 * {x} / {n})"
    centre = f"({p} + 3.8416 / (2.0 * {n}))"
    half = f"(1.96 * sqrt({p} * (1 - {p}) / {n} + 3.8416 / (4.0 * {n} * {n})))"
    interval = _real(f"100.0 * ({centre} {bound} {half}) / (1 + 3.8416 / {n})", dialect)
    # Exact at the edges, as in scoring/confidence.py: float error must not give -0.0000001.
    edge = f"WHEN {x} = 0 THEN 0.0" if bound == "-" else f"WHEN {x} = {n} THEN 100.0"
    return f"CASE WHEN {n} = 0 THEN NULL {edge} ELSE {interval} END"


def _low_sample(min_sample: int) -> str:
    # docs/metrics.md "Confidence": flagged when 0 < denominator < min_sample, in this order,
    # space-separated; empty when none is.
    flags = " || ".join(
        f"CASE WHEN {n} > 0 AND {n} < {min_sample} THEN ' {metric}' ELSE '' END"
        for metric, _, n in _RATES
    )
    return f"LTRIM({flags})"


def _select_sql(period: str, dialect: str, min_sample: int) -> str:
    rates = []
    for metric, x, n in _RATES:
        rates.append(
            f"CASE WHEN {n} > 0 THEN {_real(f'100.0 * {x} / {n}', dialect)} END AS {metric}_pct"
        )
        rates.append(f"{_wilson(x, n, '-', dialect)} AS {metric}_ci_low")
        rates.append(f"{_wilson(x, n, '+', dialect)} AS {metric}_ci_high")
    mean = _real("csat_score_sum / csat_responses", dialect)
    sums = ",\n         ".join(f"SUM(f.{name}) AS {name}" for name in COUNT_COLUMNS)
    start = f"f.{_PERIOD_COLUMN[period]}"
    rate_columns = ",\n       ".join(rates)
    kept = ", ".join(f"t.{name}" for name in (*_GROUP_COLUMNS, *COUNT_COLUMNS))
    following = _NEXT_PERIOD[dialect][period].format(start="t.period_start")
    # docs/metrics.md "Completeness": a period is provisional when one of its days is, and
    # every day of a source never read completely (no row, or no provisional_from) is.
    provisional = (
        f"CASE WHEN t.provisional_from IS NULL OR t.provisional_from < {following} "
        "THEN TRUE ELSE FALSE END"
    )
    return f"""SELECT {kept},
       {rate_columns},
       CASE WHEN csat_responses > 0 THEN {mean} END AS csat_mean_pct,
       {_low_sample(min_sample)} AS low_sample,
       t.high_water_mark,
       {provisional} AS provisional
FROM (
  SELECT f.source, NULLIF(f.agent_id, '') AS agent_id, a.name AS agent_name,
         a.email AS agent_email, {start} AS period_start,
         {sums},
         c.high_water_mark, c.provisional_from
  FROM agent_day_facts f
  LEFT JOIN agents a ON a.source = f.source AND a.agent_id = f.agent_id
  LEFT JOIN source_completeness c ON c.source = f.source
  GROUP BY f.source, f.agent_id, a.name, a.email, {start}, c.high_water_mark,
           c.provisional_from
) t"""


def _description(period: str, min_sample: int, mark: str) -> str:
    return (
        f"deskmetrics: per agent and {_PERIOD_WORDS[period]}, summed counts, rates in % with "
        f"95 % Wilson intervals, and low_sample naming the metrics with fewer than "
        f"{min_sample} in their denominator; agent_id NULL is the unassigned row; "
        f"provisional when a day of the period may still change (high_water_mark: how far "
        f"the source is read, UTC). [{mark}]"
    )


def _definition(period: str, dialect: str, min_sample: int) -> tuple[str, str]:
    """The view's SELECT and its mark: a digest of that SELECT (min_sample included)."""
    select = _select_sql(period, dialect, min_sample)
    digest = hashlib.sha256(select.encode()).hexdigest()[:16]
    return select, f"deskmetrics-view {digest}"


def _checked(min_sample: int) -> int:
    # Baked into SQL as a literal: only a whole number may go there.
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or min_sample < 0:
        raise ConfigError(
            f"report.min_sample is {min_sample!r}: set it to a whole number, 0 or more (default 30)"
        )
    return min_sample


def _definitions(dialect: str, min_sample: int) -> list[tuple[str, str, str]]:
    """(name, SELECT, description) of every view: the rate views, then the comparison
    views (warehouse/comparison_views.py), each description ending with the view's mark."""
    found = []
    for period, name in zip(PERIODS, VIEW_NAMES, strict=True):
        select, mark = _definition(period, dialect, _checked(min_sample))
        found.append((name, select, _description(period, min_sample, mark)))
    for name in COMPARISON_VIEWS:
        select = comparison_sql(name, dialect)
        mark = f"deskmetrics-view {hashlib.sha256(select.encode()).hexdigest()[:16]}"
        found.append((name, select, f"{DESCRIPTIONS[name]}. [{mark}]"))
    return found


def views_are_current(conn: Connection, min_sample: int = DEFAULT_MIN_SAMPLE) -> bool:
    """Whether every view exists with the definition `create_views` would give it now."""
    for name, _, description in _definitions(conn.dialect.name, min_sample):
        mark = description[description.rindex("[") + 1 : -1]
        stored = stored_view_text(conn, name)
        if stored is None or mark not in stored:
            return False
    return drill_view_is_current(conn)


def drop_views(conn: Connection) -> None:
    """Drop the views (if there), e.g. before a migration changes the tables under them."""
    for name in (*COMPARISON_VIEWS, *VIEW_NAMES):
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
    drop_drill_view(conn)


def create_views(conn: Connection, min_sample: int = DEFAULT_MIN_SAMPLE) -> None:
    """(Re)create every view in `conn`'s transaction, with `min_sample` baked in, and the
    drill-through view (warehouse/drill_through.py)."""
    dialect = conn.dialect.name
    drop_views(conn)
    for name, select, description in _definitions(dialect, min_sample):
        if dialect == "sqlite":
            # SQLite keeps a view's SQL as written, comments included: the mark lives there.
            conn.execute(text(f"CREATE VIEW {name} AS\n-- {description}\n{select}"))
        else:
            conn.execute(text(f"CREATE VIEW {name} AS\n{select}"))
            # Shown by BI tools as the view's description; it also holds the mark.
            quoted = description.replace("'", "''")
            conn.execute(text(f"COMMENT ON VIEW {name} IS '{quoted}'"))
    create_drill_view(conn)
