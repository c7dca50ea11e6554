"""Statements built from data-derived identifiers (CSV headers, file names) with parameters.

psycopg's default cursors re-parse a composed statement for `%s` placeholders, so a header
such as `Tax 5%` or `rate%%` inside a quoted identifier breaks the statement or silently
changes its meaning. These statements use PostgreSQL's own `$1` placeholders instead and run
on a raw cursor, which sends the text as it is: any identifier PostgreSQL can store works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, AsyncRawCursor, sql


class Parameters:
    """The values of a statement, each bound once to its `$n` placeholder."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def bind(self, value: object) -> sql.Composable:
        self.values.append(value)
        return sql.SQL(f"${len(self.values)}")


async def fetch_all(
    conn: AsyncConnection[Any],
    statement: sql.Composed | bytes,
    params: Parameters | Sequence[object],
) -> Sequence[tuple[Any, ...]]:
    """Runs `statement` with its `$n` parameters (`params`, or its values in order) on a raw
    cursor; returns its rows."""
    values = params.values if isinstance(params, Parameters) else params
    async with AsyncRawCursor(conn) as cur:
        await cur.execute(statement, values)
        return await cur.fetchall()
