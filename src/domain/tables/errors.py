"""Errors of the tables context."""

from __future__ import annotations

from collections.abc import Sequence

from domain.shared.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unavailable,
    Unprocessable,
)


class TableNotFound(NotFound):
    title = "Table not found"

    def __init__(self, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"There is no table named {name!r}. Known tables: {listed}.")
        self.name = name
        self.known = tuple(known)


class InvalidTableName(InvalidInput):
    title = "Invalid table name"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Invalid table_name {name!r}: {reason}.", parameter="table_name")


class MalformedSource(Unprocessable):
    """A CSV file that cannot be read as a table; the location names where it breaks."""

    title = "Malformed CSV file"

    def __init__(
        self, file_name: str, reason: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        where = "".join(
            [
                f", line {line}" if line is not None else "",
                f", column {column!r}" if column is not None else "",
            ]
        )
        super().__init__(f"{file_name}{where}: {reason}")
        self.file_name = file_name
        self.line = line
        self.column = column
        self.reason = reason


class TableChanged(Conflict):
    """The table was reloaded with other columns between reading its description and its rows."""

    title = "Table changed"

    def __init__(self, name: str) -> None:
        super().__init__(f"Table {name!r} was reloaded while it was being read; try again.")
        self.name = name


class CacheUnavailable(Unavailable):
    """The log cache did not answer in time. Never shown to a user: the page is read from the
    database instead."""

    title = "Cache unavailable"
