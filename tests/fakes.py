"""In-memory implementations of the domain ports, for use-case tests without I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from domain.errors import MalformedSource, TableChanged
from domain.model import (
    Column,
    Fingerprint,
    LoadError,
    LogCursor,
    LogPage,
    LogQuery,
    Row,
    SourceFile,
    TableInfo,
    TableName,
)
from domain.ports.tables import (
    DatabaseProbe,
    LogReader,
    ProgressCallback,
    TableCatalog,
    TableLoader,
    TableSources,
)

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class InMemoryTableSources(TableSources):
    def __init__(self) -> None:
        self.files: dict[TableName, SourceFile] = {}

    def put(self, name: str, *, size: int = 100, mtime_ns: int = 1) -> SourceFile:
        source = SourceFile(
            table=TableName(name),
            file_name=f"{name}.csv",
            fingerprint=Fingerprint(size=size, mtime_ns=mtime_ns),
        )
        self.files[source.table] = source
        return source

    async def find(self, name: TableName) -> SourceFile | None:
        return self.files.get(name)

    async def list(self) -> Sequence[SourceFile]:
        return [self.files[name] for name in sorted(self.files, key=str)]


class InMemoryTableCatalog(TableCatalog):
    def __init__(self) -> None:
        self.tables: dict[TableName, TableInfo] = {}
        self.failures: dict[TableName, LoadError] = {}

    async def get(self, name: TableName) -> TableInfo | None:
        return self.tables.get(name)

    async def list(self) -> Sequence[TableInfo]:
        return [self.tables[name] for name in sorted(self.tables, key=str)]

    async def errors(self) -> dict[TableName, LoadError]:
        return dict(self.failures)


class InMemoryTableLoader(TableLoader):
    """Loads by recording a catalog entry with the columns it was given for each table."""

    def __init__(self, catalog: InMemoryTableCatalog) -> None:
        self.catalog = catalog
        self.columns: dict[TableName, tuple[Column, ...]] = {}
        self.broken: set[TableName] = set()
        self.loads: list[TableName] = []

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        current = self.catalog.tables.get(source.table)
        if current is not None and current.fingerprint.same_stat(source.fingerprint):
            return current
        if source.table in self.broken:
            error = MalformedSource(source.file_name, "broken on purpose", line=2, column="a")
            self.catalog.failures[source.table] = LoadError(
                message=error.detail, fingerprint=source.fingerprint
            )
            raise error
        self.loads.append(source.table)
        if progress is not None:
            progress(source.fingerprint.size)
        columns = self.columns.get(source.table, ())
        table = TableInfo(
            name=source.table,
            source_file=source.file_name,
            fingerprint=replace(source.fingerprint, sha256="0" * 64),
            columns=columns,
            row_count=0,
            date_column=next((c.name for c in columns if c.type.is_temporal), None),
            user_column=next((c.name for c in columns if c.name == "user_id"), None),
            min_date=None,
            max_date=None,
            loaded_at=EPOCH,
            version=current.version + 1 if current else 1,
        )
        self.catalog.tables[source.table] = table
        self.catalog.failures.pop(source.table, None)
        return table


class InMemoryLogReader(LogReader):
    """Reads rows given per table, with the ordering and filters the port promises."""

    def __init__(self) -> None:
        self.rows: dict[TableName, list[Row]] = {}
        self.queries: list[LogQuery] = []
        self.changing = 0
        """How many next reads find the table reloaded under them."""

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        self.queries.append(query)
        if self.changing:
            self.changing -= 1
            raise TableChanged(str(table.name))
        date, user = table.date_column, table.user_column
        keyed = [(row, position) for position, row in enumerate(self.rows[table.name], 1)]
        if query.from_date is not None and date is not None:
            keyed = [
                (row, n)
                for row, n in keyed
                if row[date] is not None and row[date] >= query.from_date
            ]
        if query.user_id is not None and user is not None:
            keyed = [(row, n) for row, n in keyed if str(row[user]) == query.user_id]

        def sort_key(item: tuple[Row, int]) -> tuple[bool, object, int]:
            row, position = item
            value = row[date] if date is not None else None
            return (value is not None, value if value is not None else 0, position)

        keyed.sort(key=sort_key, reverse=True)
        if query.after is not None:
            after = sort_key(({date: query.after.date} if date else {}, query.after.row))
            keyed = [item for item in keyed if sort_key(item) < after]
        page = keyed[: query.limit]
        next_cursor = None
        if len(keyed) > query.limit:
            row, position = page[-1]
            next_cursor = LogCursor(date=row[date] if date else None, row=position)  # type: ignore[arg-type]
        return LogPage(table=table, rows=[row for row, _ in page], next_cursor=next_cursor)


class InMemoryDatabaseProbe(DatabaseProbe):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up
