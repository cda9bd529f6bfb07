"""Which rows go to PostgreSQL in binary form (warehouse/row_copy.py `fits_binary`): those
whose every value is of a Python type psycopg writes for its column's type, integers within
the column's range; any other batch goes as text, for the server to judge."""

from __future__ import annotations

from datetime import date, datetime

from warehouse.row_copy import fits_binary

BOOLEAN, INTEGER, TEXT, DOUBLE, DATE, TIMESTAMP = 16, 23, 25, 701, 1082, 1114
TYPES = [BOOLEAN, INTEGER, TEXT, DOUBLE, DATE, TIMESTAMP]
ROW = (True, 3, "a1", 0.5, date(2026, 3, 2), datetime(2026, 3, 2, 9, 30))


def test_values_of_their_columns_types_fit() -> None:
    assert fits_binary([ROW, ROW], TYPES)


def test_nulls_fit_every_column() -> None:
    assert fits_binary([ROW, (None,) * len(ROW)], TYPES)


def test_a_whole_number_fits_a_double_precision_column() -> None:
    assert fits_binary([(True, 3, "a1", 100, date(2026, 3, 2), None)], TYPES)


def test_an_integer_past_the_columns_range_does_not_fit() -> None:
    assert not fits_binary([ROW, (True, 2**31, "a1", 0.5, None, None)], TYPES)
    assert not fits_binary([(True, -(2**31) - 1, None, None, None, None)], TYPES)


def test_the_ends_of_the_columns_range_fit() -> None:
    assert fits_binary([(None, 2**31 - 1, None, None, None, None)], TYPES)
    assert fits_binary([(None, -(2**31), None, None, None, None)], TYPES)


def test_an_integer_past_the_range_among_nulls_does_not_fit() -> None:
    assert not fits_binary([(None, None, None, None, None, None), (None, 2**40, *ROW[2:])], TYPES)


def test_text_in_a_number_column_does_not_fit() -> None:
    assert not fits_binary([(True, 3, "a1", "0.5", None, None)], TYPES)


def test_a_moment_in_a_date_column_does_not_fit() -> None:
    assert not fits_binary([(True, 3, "a1", 0.5, datetime(2026, 3, 2, 9, 30), None)], TYPES)


def test_a_column_of_a_type_without_a_binary_writer_here_does_not_fit() -> None:
    assert not fits_binary([("{}",)], [3802])  # jsonb
