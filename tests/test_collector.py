"""The cyclic garbage collector over bulk work (deskmetrics/collector.py): paused while a
page is read and stored, on again after, and the cycles a page leaves collected before the
next one, so that a long backfill's garbage does not pile up."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from deskmetrics.collector import collector_paused, pages_with_collector_paused


class _Node:
    """An object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture(autouse=True)
def collector_running() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_a_page_is_read_and_handled_with_the_collector_paused() -> None:
    seen: list[tuple[str, bool]] = []

    def pages() -> Iterator[int]:
        for number in range(2):
            seen.append(("read", gc.isenabled()))
            yield number

    for _page in pages_with_collector_paused(pages()):
        seen.append(("handled", gc.isenabled()))
    assert seen == [("read", False), ("handled", False)] * 2
    assert gc.isenabled()


def test_the_cycles_a_page_leaves_are_collected_before_the_next_page_is_read() -> None:
    left: list[weakref.ref[_Node]] = []
    alive_at_next_page: list[bool] = []

    def pages() -> Iterator[int]:
        for number in range(3):
            alive_at_next_page.extend(ref() is not None for ref in left)
            left.clear()
            first, second = _Node(), _Node()
            first.other, second.other = second, first  # a cycle: no reference count frees it
            left.append(weakref.ref(first))
            del first, second
            yield number

    for page in pages_with_collector_paused(pages()):
        del page
    assert alive_at_next_page == [False, False]


def test_a_loop_left_early_turns_the_collector_back_on() -> None:
    for _page in pages_with_collector_paused(iter(range(5))):
        break
    assert gc.isenabled()


def test_a_collector_found_paused_stays_paused() -> None:
    gc.disable()
    for _page in pages_with_collector_paused(iter(range(2))):
        pass
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_work_done_with_the_collector_paused_turns_it_back_on_after_an_error() -> None:
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("the work failed")
    assert gc.isenabled()
