"""The bare endpoint reads the service's cursors, and builds the service's statement shape."""

from __future__ import annotations

import datetime as dt

from benchmarks.bare_logs import page_statement, read_cursor, write_cursor
from domain.tables.logs import LogCursor, encode_cursor


def test_cursors_are_those_of_the_service() -> None:
    when = dt.datetime(2023, 12, 31, 23, 59, 1)
    token = encode_cursor(LogCursor(date=when, row=42))
    assert read_cursor(token) == (when, 42)
    assert write_cursor(when, 42) == token


def test_a_cursor_page_is_two_limited_scans_after_it_with_the_version_first() -> None:
    statement, values = page_statement(
        "df_sales",
        ["sale_id", "date", "user_id"],
        from_date=None,
        user_id="00ab12",
        after=(dt.datetime(2023, 1, 1), 7),
    )
    text = statement.as_string(None)
    assert text.startswith("SELECT (SELECT version FROM experiments.tables WHERE name = $5)")
    older, undated = text.split(" UNION ALL ")
    assert '("date", "__row") < ($3, $4)' in older
    assert '"date" IS NULL' in undated
    assert text.count('(("user_id"::text) COLLATE "C") = $1') == 2
    assert text.count("LIMIT $2") == 3
    assert values == ["00ab12", 101, dt.datetime(2023, 1, 1), 7, "df_sales"]
