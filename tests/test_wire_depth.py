"""The depth check every page passes before it is parsed (connectors/wire.py)."""

from __future__ import annotations

import json

from connectors.wire import MAX_JSON_DEPTH, json_depth_exceeds


def _nested(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def test_a_page_nested_deeper_than_the_limit_is_refused() -> None:
    assert json_depth_exceeds(_nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)


def test_a_page_nested_to_the_limit_passes() -> None:
    assert not json_depth_exceeds(_nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)


def test_brackets_inside_texts_do_not_count_as_nesting() -> None:
    texts = ["[" * 100, '\\"{' * 100, "\\", '"]' * 50, ""]
    page = json.dumps({"tickets": [{"subject": text, "tags": [text]} for text in texts]})
    assert not json_depth_exceeds(page.encode(), 5)


def test_a_closing_bracket_inside_a_text_does_not_hide_real_nesting() -> None:
    inner = _nested(MAX_JSON_DEPTH + 1).decode()
    page = '{"subject": "]]]]}}}}\\\\", "deep": ' + inner + "}"
    assert json_depth_exceeds(page.encode(), MAX_JSON_DEPTH)


def _padded(page: bytes) -> bytes:
    """`page` inside a page of records longer than a few kilobytes, as real pages are."""
    records = json.dumps({"tickets": [{"id": n, "subject": "x" * 40} for n in range(200)]})
    return b'{"deep": ' + page + b", " + records.encode()[1:]


def test_a_long_page_nested_deeper_than_the_limit_is_refused() -> None:
    assert json_depth_exceeds(_padded(_nested(MAX_JSON_DEPTH)), MAX_JSON_DEPTH)


def test_a_long_page_nested_to_the_limit_passes() -> None:
    assert not json_depth_exceeds(_padded(_nested(MAX_JSON_DEPTH - 1)), MAX_JSON_DEPTH)


def test_brackets_inside_texts_of_a_page_without_escapes_do_not_count() -> None:
    page = _padded(json.dumps({"subject": "[[[[{{{{" * 20}).encode())
    assert b"\\" not in page
    assert not json_depth_exceeds(page, 3)
