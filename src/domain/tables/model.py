"""Entities and value objects of the tables side: CSV sources, loaded tables, log pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from domain.tables.errors import InvalidTableName

TABLE_NAME_PATTERN = r"^[^./\\\x00-\x1f][^/\\\x00-\x1f]*$"
"""The rules of `TableName` as one regular expression, for clients (the OpenAPI document):
not empty, no path separator, no control character, no leading dot."""


class ColumnType(StrEnum):
    """Column types a CSV column can be inferred as. The values are the names the API shows;
    which type stores each is the store adapter's business."""

    BIGINT = "bigint"
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    TEXT = "text"

    @property
    def is_temporal(self) -> bool:
        return self in {ColumnType.DATE, ColumnType.TIMESTAMP, ColumnType.TIMESTAMPTZ}


@dataclass(frozen=True, slots=True)
class TableName:
    """A table name as a user gives it: the stem of a CSV file directly inside the data folder.

    The rules keep a name from ever meaning a path outside the data folder; any other name
    is a name (one that no file has is simply not found).
    """

    value: str

    def __post_init__(self) -> None:
        problem = _table_name_problem(self.value)
        if problem:
            raise InvalidTableName(self.value, problem)

    def __str__(self) -> str:
        return self.value


def _table_name_problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if "\x00" in value:
        return "it contains a NUL character"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if value.startswith("."):
        return "it starts with a dot"
    if any(ord(char) < 32 for char in value):
        return "it contains a control character"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    name: str
    type: ColumnType


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    """What identifies one version of a CSV file: a cheap stat, and the hash of its bytes."""

    size: int
    mtime_ns: int
    sha256: str | None = None

    def same_stat(self, other: Fingerprint) -> bool:
        return self.size == other.size and self.mtime_ns == other.mtime_ns


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFormat:
    """How a CSV file is written, as read from its first bytes."""

    encoding: str
    """A Python codec name: "utf-8", "utf-8-sig" (with a byte order mark), "utf-16",
    "cp1251", ..."""
    delimiter: str
    quote: str

    @property
    def decimal_comma(self) -> bool:
        """Whether numbers may write their fraction after a comma: where the comma does not
        separate fields (spreadsheets in most of Europe write `1234,50;...`)."""
        return self.delimiter != ","


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """A CSV file that backs a table."""

    table: TableName
    file_name: str
    fingerprint: Fingerprint


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadError:
    """Why the last attempt to load a version of a file failed."""

    message: str
    fingerprint: Fingerprint


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadFailure:
    """Why the table's current file is not the version served: where the file breaks."""

    message: str
    file_name: str
    line: int | None
    column: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TableInfo:
    """A table loaded into the database, as the catalog records it."""

    name: TableName
    source_file: str
    fingerprint: Fingerprint
    columns: tuple[Column, ...]
    row_count: int
    date_column: str | None
    user_column: str | None
    min_date: dt.date | dt.datetime | None
    max_date: dt.date | dt.datetime | None
    loaded_at: dt.datetime
    version: int
    file_format: FileFormat | None = None
    """How the file was written; None for tables loaded before formats were recorded."""

    def column(self, name: str | None) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)


class LoadState(StrEnum):
    NOT_LOADED = "not_loaded"
    LOADED = "loaded"
    STALE = "stale"
    """The CSV changed since it was loaded; the next request reloads it."""
    FAILED = "failed"
    """The current CSV could not be loaded; the previous version, if any, is served."""
    SOURCE_MISSING = "source_missing"
    """The CSV is gone; the last loaded version is still served."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedTable:
    """The version of a table a read is served from, and why it is not the current file's
    when a reload of that file failed."""

    table: TableInfo
    reload_failure: ReloadFailure | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TableStatus:
    name: TableName
    state: LoadState
    source: SourceFile | None
    loaded: TableInfo | None
    error: LoadError | None
