"""Ports of the tables side, each named by the role it plays for a use case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from domain.tables.logs import LogPage, LogQuery
from domain.tables.model import LoadError, SourceFile, TableInfo, TableName

ProgressCallback = Callable[[int], None]
"""Told how many more bytes of a file were read."""


class TableSources(Protocol):
    """The CSV files that back tables."""

    async def find(self, name: TableName) -> SourceFile | None:
        """Returns the file backing `name`, or None when there is none."""
        ...

    async def list(self) -> Sequence[SourceFile]:
        """Returns every CSV file that backs a table, sorted by name."""
        ...


class TableCatalog(Protocol):
    """What has been loaded into the database."""

    async def get(self, name: TableName) -> TableInfo | None:
        """Returns the loaded table, or None when it was never loaded."""
        ...

    async def list(self) -> Sequence[TableInfo]:
        """Returns every loaded table, sorted by name."""
        ...

    async def errors(self) -> dict[TableName, LoadError]:
        """Returns the failure of the last load attempt of each table whose last attempt failed."""
        ...


class TableLoader(Protocol):
    """Brings a CSV file into the database."""

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        """Loads `source` unless the catalog already holds that version; returns the catalog entry.

        At most one load of a table runs at a time across every process; a reload swaps the
        new table in atomically. Raises MalformedSource, and keeps the previous version, when
        the file cannot be read as a table.
        """
        ...


class LogReader(Protocol):
    """Reads records of a loaded table."""

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        """Returns the latest records matching `query`, newest first."""
        ...


class LogCache(Protocol):
    """Pages of logs kept for a while, each under its `page_identity`: a reload gives a table a
    new version, so no page of the old one is read again, and none needs deleting.

    Every method raises CacheUnavailable when the cache does not answer within its short
    timeout; callers then do without it.
    """

    async def get(self, table: TableInfo, query: LogQuery) -> LogPage | None:
        """Returns the page kept for this version of `table` and this query, or None."""
        ...

    async def put(self, page: LogPage) -> None:
        """Keeps `page` for the cache's time to live."""
        ...

    async def claim(self, table: TableInfo, query: LogQuery) -> bool:
        """Takes the short lock on computing this page: True when the caller got it (it reads
        the page, puts it, and releases), False while another holder has it. The lock lapses
        by itself after a few seconds."""
        ...

    async def release(self, table: TableInfo, query: LogQuery) -> None:
        """Gives back a lock this caller's `claim` took; nothing when it has lapsed."""
        ...
