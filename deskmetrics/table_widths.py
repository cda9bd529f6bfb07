"""How wide each column of the report table is, in a terminal of a given width: figures are
never cut, and names give way first.

Rich shares out a table's width by narrowing its widest columns, and crops what is left
over, so a squeezed figure could read as another number (`100.0` as `100`). The widths are
therefore decided here and given to Rich fixed. In order, as the room allows:
1. every column at its natural width (each cell on one line);
2. figures on one line, names (source, agent) narrower, the longest first: they wrap;
3. figures broken at their spaces (`12.5% of` over `40`) as little as needed, names at
   their narrowest;
4. every column at its narrowest, wider than the terminal rather than cutting anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnNeeds:
    """What a column's cells need: `natural` keeps each on one line; `narrowest` is its
    longest word (a name's least readable width, given by the caller)."""

    natural: int
    narrowest: int


def column_widths(
    names: Sequence[ColumnNeeds], figures: Sequence[ColumnNeeds], room: int
) -> list[int]:
    """Widths for the name columns then the figure columns, summing to at most `room` (the
    terminal's width less the table's borders and padding) wherever their narrowest do."""
    name_widths = [n.natural for n in names]
    figure_widths = [f.natural for f in figures]
    name_room = room - sum(figure_widths)
    if sum(n.narrowest for n in names) <= name_room:
        return _narrowed(names, name_room) + figure_widths
    name_widths = [n.narrowest for n in names]
    figure_room = room - sum(name_widths)
    return name_widths + _narrowed(figures, figure_room)


def _narrowed(columns: Sequence[ColumnNeeds], room: int) -> list[int]:
    """Natural widths, the widest narrowed first (one character at a time, never below its
    narrowest) until they fit `room` or none can give more."""
    widths = [c.natural for c in columns]
    while sum(widths) > room:
        can_give = [i for i, c in enumerate(columns) if widths[i] > c.narrowest]
        if not can_give:
            break
        widest = max(can_give, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths
