"""Upserts of many rows (warehouse/row_upsert.py): on PostgreSQL a page of rows goes in as
one COPY into a staging table and one INSERT … SELECT, with what row-by-row writes give:
an older copy never over a newer one, a page stored twice the same, a key repeated within
a page judged copy by copy. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, make_url, select, text
from sqlalchemy.exc import DBAPIError

from interactions import Interaction
from warehouse.row_upsert import COPY_MIN_ROWS, write_rows
from warehouse.schema import interactions, open_engine
from warehouse.upserts import field_names, record_values

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE = COPY_MIN_ROWS * 3  # a page long enough for the COPY


def _ticket(number: int, status: str, updated: datetime) -> Interaction:
    return Interaction(
        "zendesk", str(number), T0, updated, status, status == "solved", False, f"c{number}",
        "a1", None,
    )  # fmt: skip


def _write(engine: Engine, records: list[Interaction]) -> list[str]:
    """Write the records' rows in one transaction; the statements sent, as SQLAlchemy saw
    them (the COPY itself goes to the driver)."""
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            rows = [record_values(r) for r in records]
            write_rows(conn, interactions, field_names(Interaction), rows, "updated_at")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return sent


def _statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        found = conn.execute(select(interactions.c.interaction_id, interactions.c.status))
        return {row.interaction_id: row.status for row in found}


def _page(status: str, updated: datetime, count: int = PAGE) -> list[Interaction]:
    return [_ticket(n, status, updated) for n in range(count)]


def test_a_long_page_on_postgresql_is_moved_in_from_a_staging_table(any_engine: Engine) -> None:
    sent = _write(any_engine, _page("open", T0))
    staged = any("deskmetrics_stage_interactions" in statement for statement in sent)
    assert staged == (any_engine.dialect.name == "postgresql")
    assert _statuses(any_engine) == {str(n): "open" for n in range(PAGE)}


def test_a_short_page_is_written_row_by_row(any_engine: Engine) -> None:
    sent = _write(any_engine, _page("open", T0, COPY_MIN_ROWS - 1))
    assert not any("deskmetrics_stage" in statement for statement in sent)
    assert len(_statuses(any_engine)) == COPY_MIN_ROWS - 1


def test_a_long_page_of_older_copies_overwrites_no_newer_row(any_engine: Engine) -> None:
    later = T0 + timedelta(hours=2)
    _write(any_engine, _page("solved", later)[: PAGE // 2])
    _write(any_engine, _page("open", T0))
    expected = {str(n): "solved" if n < PAGE // 2 else "open" for n in range(PAGE)}
    assert _statuses(any_engine) == expected


def test_a_long_page_of_newer_copies_replaces_the_older_rows(any_engine: Engine) -> None:
    _write(any_engine, _page("open", T0))
    _write(any_engine, _page("solved", T0 + timedelta(hours=1)))
    assert set(_statuses(any_engine).values()) == {"solved"}


def test_a_long_page_written_twice_leaves_the_same_rows(any_engine: Engine) -> None:
    page = _page("open", T0)

    def rows() -> list[tuple[Any, ...]]:
        with any_engine.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(select(interactions)))

    _write(any_engine, page)
    once = rows()
    _write(any_engine, page)
    assert rows() == once and len(once) == PAGE


def test_a_key_repeated_within_a_long_page_keeps_its_newest_copy_whatever_the_order(
    any_engine: Engine,
) -> None:
    later = T0 + timedelta(hours=1)
    page = [*_page("open", T0), _ticket(0, "solved", later), _ticket(1, "solved", later)]
    page = [*page, _ticket(1, "pending", T0)]  # older than the copy before it
    _write(any_engine, page)
    statuses = _statuses(any_engine)
    assert statuses["0"] == "solved" and statuses["1"] == "solved"
    assert len(statuses) == PAGE


def _varied(n: int) -> Interaction:
    """A ticket whose values differ by `n`: text beyond ASCII, moments to the microsecond,
    flags both ways, empty values."""
    return Interaction(
        source="zendesk",
        interaction_id=f"{n}-é✓😀",
        created_at=T0 + timedelta(minutes=n, microseconds=n),
        updated_at=T0 + timedelta(hours=1, microseconds=7 * n),
        status="solved" if n % 2 else "open",
        resolved=n % 2 == 1,
        deleted=n % 3 == 0,
        customer_id=None if n % 4 == 0 else f"kunde-ü{n}",
        owner_id=None if n % 5 == 0 else f"a{n}",
        group_id=f"g{n}" if n % 7 == 0 else None,
        solved_at=T0 + timedelta(days=1, seconds=n) if n % 2 else None,
        reopens=n % 3 or None,
        assignee_stations=n,
    )


def test_a_long_page_comes_back_as_written_whatever_its_values(any_engine: Engine) -> None:
    # Every type of the table's columns: on PostgreSQL each value goes in in its binary form.
    page = [_varied(n) for n in range(PAGE)]
    _write(any_engine, page)
    names = field_names(Interaction)
    with any_engine.connect() as conn:
        stored = conn.execute(select(*(interactions.c[name] for name in names)))
        read_back = sorted((Interaction(*row) for row in stored), key=lambda r: r.interaction_id)
    assert read_back == sorted(page, key=lambda r: r.interaction_id)


def test_a_number_too_large_for_its_column_is_refused_on_postgresql_not_wrapped(
    postgres_database_url: str,
) -> None:
    # PostgreSQL's `integer` holds less than 2**31; the binary COPY would wrap it around.
    engine = open_engine(postgres_database_url)
    try:
        page = [*_page("open", T0)[1:], replace(_ticket(0, "open", T0), reopens=2**31)]
        with pytest.raises(DBAPIError, match="out of range"):
            _write(engine, page)
        assert _statuses(engine) == {}
    finally:
        engine.dispose()


def test_a_write_leaves_nothing_behind_for_the_next(any_engine: Engine) -> None:
    _write(any_engine, _page("open", T0))
    with any_engine.begin() as conn:
        conn.execute(interactions.delete())
    _write(any_engine, [_ticket(n, "open", T0) for n in range(PAGE, 2 * PAGE)])
    assert sorted(map(int, _statuses(any_engine))) == list(range(PAGE, 2 * PAGE))


def test_a_role_that_may_not_create_temporary_tables_writes_row_by_row(
    postgres_database_url: str,
) -> None:
    url = make_url(postgres_database_url)
    role = f"dm_role_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'REVOKE TEMPORARY ON DATABASE "{url.database}" FROM PUBLIC'))
        conn.execute(text(f'REVOKE TEMPORARY ON DATABASE "{url.database}" FROM "{role}"'))
    engine = open_engine(url.set(username=role).render_as_string(False))
    try:
        sent = _write(engine, _page("open", T0))
        assert not any("deskmetrics_stage" in statement for statement in sent)
        assert _statuses(engine) == {str(n): "open" for n in range(PAGE)}
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO "{url.username}"'))
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
