"""The report table's column widths (deskmetrics/table_widths.py): no column below its
narrowest, so no figure is ever cut; within the terminal wherever the narrowest fit; names
give way before figures do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from deskmetrics.table_widths import ColumnNeeds, column_widths


@st.composite
def _needs(draw: st.DrawFn) -> ColumnNeeds:
    narrowest = draw(st.integers(1, 30))
    return ColumnNeeds(narrowest + draw(st.integers(0, 30)), narrowest)


_columns = st.lists(_needs(), min_size=1, max_size=10)


@given(_columns, _columns, st.integers(0, 200))
def test_no_column_is_narrower_than_its_narrowest_or_wider_than_its_natural(
    names: list[ColumnNeeds], figures: list[ColumnNeeds], room: int
) -> None:
    widths = column_widths(names, figures, room)
    assert all(
        c.narrowest <= w <= c.natural for c, w in zip([*names, *figures], widths, strict=True)
    )


@given(_columns, _columns, st.integers(0, 200))
def test_the_columns_fit_the_room_wherever_their_narrowest_do(
    names: list[ColumnNeeds], figures: list[ColumnNeeds], room: int
) -> None:
    narrowest = sum(c.narrowest for c in [*names, *figures])
    assert sum(column_widths(names, figures, room)) <= max(room, narrowest)


@given(_columns, _columns, st.integers(0, 200))
def test_figures_stay_on_one_line_wherever_narrower_names_make_room(
    names: list[ColumnNeeds], figures: list[ColumnNeeds], room: int
) -> None:
    widths = column_widths(names, figures, room)
    if sum(c.narrowest for c in names) + sum(c.natural for c in figures) <= room:
        assert widths[len(names) :] == [c.natural for c in figures]


def test_the_widest_name_gives_way_first() -> None:
    source, agent = ColumnNeeds(10, 10), ColumnNeeds(30, 12)
    figures = [ColumnNeeds(13, 6)]
    assert column_widths([source, agent], figures, 45) == [10, 22, 13]
