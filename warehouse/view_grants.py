"""The privileges other roles hold on deskmetrics' views, kept across their recreation.

deskmetrics drops and recreates its views when its schema or `report.min_sample` changes
(warehouse/migrations). On PostgreSQL a grant belongs to the object: without this, a BI
role given `SELECT` on the views would be refused after the next upgrade. SQLite has no
privileges.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, text

from warehouse.views import ALL_VIEWS


@dataclass(frozen=True)
class ViewGrant:
    view: str
    grantee: str  # quoted as an identifier, or PUBLIC
    privilege: str  # SELECT, INSERT, …: PostgreSQL's own words from its catalog


def view_grants(conn: Connection) -> list[ViewGrant]:
    """What roles other than each view's owner may do with deskmetrics' views now."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        text(
            "SELECT c.relname AS view, "
            "CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
            "ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee, "
            "a.privilege_type AS privilege "
            "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "WHERE c.relkind = 'v' AND c.relnamespace = current_schema()::regnamespace "
            "AND c.relname IN :views AND a.grantee <> c.relowner"
        ).bindparams(bindparam("views", expanding=True)),
        {"views": list(ALL_VIEWS)},
    )
    return [ViewGrant(row.view, row.grantee, row.privilege) for row in rows]


def grant_again(conn: Connection, grants: list[ViewGrant]) -> None:
    """Give each grant back on the view of that name (recreated since)."""
    for grant in grants:
        if grant.view in ALL_VIEWS:  # our own names: safe to write into the statement
            conn.execute(text(f"GRANT {grant.privilege} ON {grant.view} TO {grant.grantee}"))
