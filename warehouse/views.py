"""Views for BI tools: per-agent counts, rates and 95 % Wilson intervals by day, week, month.

Rates are always the sum of numerators over the sum of denominators of the period
(METRICS.md "Additivity"), never an average of daily rates. A BI tool that rolls these up
further (teams, quarters) should do the same from the count columns.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

PERIODS = ("day", "week", "month")

_PERIOD_START = {
    "sqlite": {
        "day": "day",
        "week": "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')",
        "month": "date(day, 'start of month')",
    },
    "postgresql": {
        "day": "day",
        "week": "CAST(date_trunc('week', day) AS date)",
        "month": "CAST(date_trunc('month', day) AS date)",
    },
}

_RATES = (
    ("transfer", "transferred_out", "handled"),
    ("fcr", "fcr", "fcr_eligible"),
    ("csat", "csat_satisfied", "csat_responses"),
)


def _wilson(x: str, n: str, bound: str) -> str:
    # METRICS.md "Confidence": 95 % Wilson score interval, z = 1.96 (z² = 3.8416).
    p = f"(1.0 * {x} / {n})"
    centre = f"({p} + 3.8416 / (2.0 * {n}))"
    half = f"(1.96 * sqrt({p} * (1 - {p}) / {n} + 3.8416 / (4.0 * {n} * {n})))"
    return f"CASE WHEN {n} > 0 THEN 100.0 * ({centre} {bound} {half}) / (1 + 3.8416 / {n}) END"


def _view_sql(name: str, period_start: str) -> str:
    rates = []
    for metric, x, n in _RATES:
        rates.append(f"CASE WHEN {n} > 0 THEN 100.0 * {x} / {n} END AS {metric}_pct")
        rates.append(f"{_wilson(x, n, '-')} AS {metric}_ci_low")
        rates.append(f"{_wilson(x, n, '+')} AS {metric}_ci_high")
    return f"""
CREATE VIEW {name} AS
SELECT t.*, {", ".join(rates)},
       CASE WHEN csat_responses > 0 THEN csat_score_sum / csat_responses END AS csat_mean_pct
FROM (
  SELECT f.source, NULLIF(f.agent_id, '') AS agent_id, a.name AS agent_name,
         a.email AS agent_email, {period_start} AS period_start,
         SUM(handled) AS handled, SUM(transferred_out) AS transferred_out,
         SUM(resolved) AS resolved, SUM(fcr_eligible) AS fcr_eligible, SUM(fcr) AS fcr,
         SUM(csat_responses) AS csat_responses, SUM(csat_satisfied) AS csat_satisfied,
         SUM(csat_score_sum) AS csat_score_sum
  FROM agent_day_facts f
  LEFT JOIN agents a ON a.source = f.source AND a.agent_id = f.agent_id
  GROUP BY f.source, f.agent_id, a.name, a.email, {period_start}
) t"""


def create_views(conn: Connection) -> None:
    """(Re)create `agent_rates_by_day`, `…_by_week`, `…_by_month` in `conn`'s transaction."""
    starts = _PERIOD_START.get(conn.dialect.name, _PERIOD_START["postgresql"])
    for period in PERIODS:
        name = f"agent_rates_by_{period}"
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(text(_view_sql(name, starts[period])))
