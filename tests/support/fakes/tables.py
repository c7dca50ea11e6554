"""The tables context's ports in memory: CSV files as text, and a database of typed rows.

The fake loader reads a file's text with Python's csv module and the domain's own inference
rules, as the real loader does, so that the contract tests (tests/contract/test_tables.py) can
hold both to the same assertions.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import cast

from adapters.postgres.types import POSTGRES_LIMITS
from domain.tables.errors import MalformedSource, TableChanged
from domain.tables.inference import (
    ColumnInferrer,
    InferredColumn,
    normalize_headers,
    pick_date_column,
    pick_user_column,
)
from domain.tables.logs import LogCursor, LogPage, LogQuery, Row
from domain.tables.model import (
    Column,
    ColumnType,
    Fingerprint,
    LoadError,
    SourceFile,
    TableInfo,
    TableName,
)
from domain.tables.ports import LogReader, ProgressCallback, TableCatalog, TableLoader, TableSources
from tests.support.fakes.clock import EPOCH

LIMITS = POSTGRES_LIMITS
ROW_KEY = "__row"


class InMemoryTableSources(TableSources):
    """CSV files by table name, each with its text."""

    def __init__(self) -> None:
        self.files: dict[TableName, SourceFile] = {}
        self.texts: dict[TableName, str] = {}

    def put(
        self, name: str, text: str = "id\n1\n", *, size: int | None = None, mtime_ns: int = 1
    ) -> SourceFile:
        """Writes a file; `size` and `mtime_ns` stand for its stat (the size of `text` when not
        given), so that a test can touch a file without changing it."""
        source = SourceFile(
            table=TableName(name),
            file_name=f"{name}.csv",
            fingerprint=Fingerprint(
                size=len(text.encode()) if size is None else size, mtime_ns=mtime_ns
            ),
        )
        self.files[source.table] = source
        self.texts[source.table] = text
        return source

    def remove(self, name: str) -> None:
        self.files.pop(TableName(name), None)
        self.texts.pop(TableName(name), None)

    async def find(self, name: TableName) -> SourceFile | None:
        return self.files.get(name)

    async def list(self) -> Sequence[SourceFile]:
        return [self.files[name] for name in sorted(self.files, key=str)]


@dataclass
class InMemoryDatabase:
    """What the loader writes and the catalog and the log reader read."""

    tables: dict[TableName, TableInfo] = field(default_factory=dict)
    failures: dict[TableName, LoadError] = field(default_factory=dict)
    rows: dict[TableName, list[Row]] = field(default_factory=dict)


class InMemoryTableCatalog(TableCatalog):
    def __init__(self, database: InMemoryDatabase) -> None:
        self.database = database

    async def get(self, name: TableName) -> TableInfo | None:
        return self.database.tables.get(name)

    async def list(self) -> Sequence[TableInfo]:
        tables = self.database.tables
        return [tables[name] for name in sorted(tables, key=str)]

    async def errors(self) -> dict[TableName, LoadError]:
        return dict(self.database.failures)


class InMemoryTableLoader(TableLoader):
    """Reads the source's text as the real loader reads a file, and stores typed rows."""

    def __init__(self, database: InMemoryDatabase, sources: InMemoryTableSources) -> None:
        self.database = database
        self.sources = sources
        self.loads: list[TableName] = []

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        name = source.table
        current = self.database.tables.get(name)
        if current is not None and current.fingerprint.same_stat(source.fingerprint):
            return current
        failure = self.database.failures.get(name)
        if failure is not None and failure.fingerprint.same_stat(source.fingerprint):
            raise MalformedSource(source.file_name, failure.message)
        text = self.sources.texts[name]
        try:
            columns, rows = _read(source.file_name, text)
        except MalformedSource as error:
            self.database.failures[name] = LoadError(
                message=error.detail, fingerprint=source.fingerprint
            )
            raise
        self.loads.append(name)
        if progress is not None:
            progress(source.fingerprint.size)
        sha256 = hashlib.sha256(text.encode()).hexdigest()
        if current is not None and current.fingerprint.sha256 == sha256:
            touched = _replace_fingerprint(current, source.fingerprint, sha256)
            self.database.tables[name] = touched
            return touched
        date_column = pick_date_column(columns)
        dates = sorted(
            cast(dt.datetime, row[date_column])
            for row in rows
            if date_column is not None and row[date_column] is not None
        )
        table = TableInfo(
            name=name,
            source_file=source.file_name,
            fingerprint=Fingerprint(
                size=source.fingerprint.size, mtime_ns=source.fingerprint.mtime_ns, sha256=sha256
            ),
            columns=tuple(columns),
            row_count=len(rows),
            date_column=date_column,
            user_column=pick_user_column(columns),
            min_date=dates[0] if dates else None,
            max_date=dates[-1] if dates else None,
            loaded_at=EPOCH,
            version=current.version + 1 if current else 1,
        )
        self.database.tables[name] = table
        self.database.rows[name] = rows
        self.database.failures.pop(name, None)
        return table


def _replace_fingerprint(table: TableInfo, seen: Fingerprint, sha256: str) -> TableInfo:
    return replace(
        table, fingerprint=Fingerprint(size=seen.size, mtime_ns=seen.mtime_ns, sha256=sha256)
    )


def _read(file_name: str, text: str) -> tuple[list[Column], list[Row]]:
    """A file's columns and typed rows, by the domain's rules; MalformedSource names the
    line and the column where a file breaks."""
    if "\x00" in text:
        raise MalformedSource(file_name, "contains a NUL character, which PostgreSQL cannot store")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        records = [(reader.line_num, row) for row in reader if row]
    except csv.Error as error:
        raise MalformedSource(file_name, f"not valid CSV ({error})", line=reader.line_num) from None
    if not records:
        raise MalformedSource(file_name, "the file is empty; a header row is expected")
    (_, header), body = records[0], records[1:]
    names = normalize_headers(header, max_bytes=LIMITS.identifier_bytes, reserved=(ROW_KEY,))
    inferrers = [ColumnInferrer(LIMITS) for _ in names]
    for line, row in body:
        if len(row) != len(names):
            column = (
                names[len(row)] if len(row) < len(names) else f"#{len(names) + 1} (no such column)"
            )
            raise MalformedSource(
                file_name,
                f"expected {len(names)} fields as in the header, found {len(row)}",
                line=line,
                column=column,
            )
        for inferrer, cell in zip(inferrers, row, strict=True):
            inferrer.observe(cell)
    inferred = [inferrer.result() for inferrer in inferrers]
    columns = [Column(name=n, type=i.type) for n, i in zip(names, inferred, strict=True)]
    converters = [_converter(i) for i in inferred]
    rows: list[Row] = [
        {n: convert(cell) for n, convert, cell in zip(names, converters, row, strict=True)}
        for _, row in body
    ]
    return columns, rows


def _converter(inferred: InferredColumn) -> Callable[[str], object]:
    """What PostgreSQL's conversion of the staged text makes of a cell, in Python."""
    if inferred.type is ColumnType.TEXT:
        return lambda cell: cell if cell != "" else None
    parse = _PARSERS.get(inferred.type) or _temporal(inferred)

    def convert(cell: str) -> object:
        value = cell.strip(LIMITS.whitespace)
        return parse(value) if value else None

    return convert


_PARSERS: dict[ColumnType, Callable[[str], object]] = {
    ColumnType.BIGINT: int,
    ColumnType.NUMERIC: Decimal,
    ColumnType.BOOLEAN: lambda value: value.lower() in {"true", "yes"},
}


def _temporal(inferred: InferredColumn) -> Callable[[str], object]:
    fmt = inferred.temporal_format
    order = fmt.field_order if fmt is not None else None

    def parse(value: str) -> object:
        if order is not None:
            date, _, rest = value.partition(" ")
            fields = dict(zip(order, date.replace(".", "/").split("/"), strict=True))
            value = f"{int(fields['year']):04d}-{int(fields['month']):02d}-{int(fields['day']):02d}"
            value += f" {rest}" if rest else ""
        moment = dt.datetime.fromisoformat(value.replace(" +", "+").replace(" -", "-"))
        if inferred.type is ColumnType.DATE:
            return moment.date()
        if inferred.type is ColumnType.TIMESTAMPTZ:
            return moment.astimezone(dt.UTC)
        return moment

    return parse


class InMemoryLogReader(LogReader):
    """Reads the rows the loader stored, with the ordering and filters the port promises."""

    def __init__(self, database: InMemoryDatabase) -> None:
        self.database = database
        self.queries: list[LogQuery] = []
        self.changing = 0
        """How many next reads find the table reloaded under them."""

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        self.queries.append(query)
        if self.changing:
            self.changing -= 1
            raise TableChanged(str(table.name))
        date, user = table.date_column, table.user_column
        stored = self.database.rows[table.name]
        keyed = [(row, position) for position, row in enumerate(stored, 1)]
        if query.from_date is not None and date is not None:
            keyed = [
                (row, n)
                for row, n in keyed
                if row[date] is not None and row[date] >= query.from_date  # type: ignore[operator]
            ]
        if query.user_id is not None and user is not None:
            keyed = [(row, n) for row, n in keyed if as_text(row[user]) == query.user_id]

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
        return LogPage(
            table=table, query=query, rows=[row for row, _ in page], next_cursor=next_cursor
        )


def as_text(value: object) -> str | None:
    """A value as PostgreSQL's `::text` writes it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class InMemoryTables:
    """The four table ports in memory, sharing one set of files and one database."""

    sources: InMemoryTableSources = field(default_factory=InMemoryTableSources)
    database: InMemoryDatabase = field(default_factory=InMemoryDatabase)

    def __post_init__(self) -> None:
        self.catalog = InMemoryTableCatalog(self.database)
        self.loader = InMemoryTableLoader(self.database, self.sources)
        self.reader = InMemoryLogReader(self.database)
