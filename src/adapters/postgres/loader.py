"""Loading a CSV file into PostgreSQL: one streaming pass, then an atomic swap.

The file is read once, in a worker thread: each row is checked, fed to the type inference,
hashed, and streamed to `COPY ... FROM STDIN` into a temporary all-text table. The typed
table is then built in SQL from the inferred types, indexed, and renamed over the old one in
the same transaction, under an advisory lock that makes concurrent loads of a table queue up.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.catalog import SELECT_TABLES, table_info
from adapters.postgres.errors import database_errors
from adapters.postgres.pool import DATA_SCHEMA, SCHEMA_LOCK
from domain.errors import MalformedSource
from domain.model import Column, ColumnType, Fingerprint, SourceFile, TableInfo
from domain.ports.tables import ProgressCallback, TableLoader
from domain.type_inference import (
    ColumnInferrer,
    InferredColumn,
    TemporalFormat,
    normalize_headers,
    pick_date_column,
    pick_user_column,
)

log = logging.getLogger(__name__)

ROW_KEY = "__row"
"""The stable key of every loaded table: the record's position in its file (1, 2, ...)."""

LOAD_LOCK = SCHEMA_LOCK + 1
CHUNK_BYTES = 1 << 20
MAX_FIELD_BYTES = 16 << 20
POSTGRES_WHITESPACE = " \t\n\r\x0b\x0c"
"""What PostgreSQL's input functions skip, and so what type inference trims."""

_DATE_PART = {
    TemporalFormat.MONTH_FIRST: (r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})", r"\3-\1-\2"),
    TemporalFormat.DAY_FIRST: (r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})", r"\3-\2-\1"),
    TemporalFormat.DAY_FIRST_DOTS: (r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})", r"\3-\2-\1"),
}


@dataclass(slots=True)
class _Staged:
    """What the pass over the file learned."""

    columns: list[Column]
    inferred: list[InferredColumn]
    rows: int
    fingerprint: Fingerprint


class PostgresTableLoader(TableLoader):
    """Loads tables; concurrent loads of one table share one connection and one result.

    Within a process, callers asking for a table that is being loaded wait for that load
    instead of each taking a connection to queue on the advisory lock; across processes,
    the advisory lock serialises them.
    """

    def __init__(self, pool: AsyncConnectionPool, data_dir: Path) -> None:
        self._pool = pool
        self._data_dir = data_dir.resolve()
        self._loading: dict[str, asyncio.Task[TableInfo]] = {}

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        name = str(source.table)
        task = self._loading.get(name)
        if task is None:
            task = asyncio.create_task(self._load(source, progress))
            self._loading[name] = task
            task.add_done_callback(lambda _: self._loading.pop(name, None))
        # A caller that goes away must not cancel the load the others wait for.
        return await asyncio.shield(task)

    async def _load(self, source: SourceFile, progress: ProgressCallback | None) -> TableInfo:
        name = str(source.table)
        failure: MalformedSource | None = None
        async with database_errors(), self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOAD_LOCK, name)
                )
                current = await _catalog_row(conn, name)
                with self._open(source) as file:
                    stat = os.fstat(file.fileno())
                    seen = Fingerprint(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
                    if current is not None and current.fingerprint.same_stat(seen):
                        return current
                    failure = await _recorded_failure(conn, name, seen)
                    if failure is None:
                        try:
                            async with conn.transaction():
                                return await self._replace(conn, source, file, current, progress)
                        except (MalformedSource, *UNSTORABLE) as error:
                            failure = _as_malformed(source, error)
                            await _record_failure(conn, source, seen, failure)
            log.warning("Could not load %s: %s", source.file_name, failure.detail)
            raise failure

    def _open(self, source: SourceFile) -> BinaryIO:
        path = self._data_dir / source.file_name
        if path.resolve().parent != self._data_dir:
            raise MalformedSource(source.file_name, "the file lies outside the data folder")
        try:
            return path.open("rb")
        except OSError as error:
            raise MalformedSource(source.file_name, f"cannot be opened: {error}") from error

    async def _replace(
        self,
        conn: AsyncConnection,
        source: SourceFile,
        file: BinaryIO,
        current: TableInfo | None,
        progress: ProgressCallback | None,
    ) -> TableInfo:
        staging = f"_staging_{uuid.uuid4().hex[:16]}"
        staged = await _stage(conn, staging, source.file_name, file, progress)
        if current is not None and current.fingerprint.sha256 == staged.fingerprint.sha256:
            await _touch(conn, source.table.value, staged.fingerprint)
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
            refreshed = await _catalog_row(conn, source.table.value)
            assert refreshed is not None
            return refreshed
        target = f"_load_{uuid.uuid4().hex[:16]}"
        await _build_typed_table(conn, staging, target, staged)
        date_column = pick_date_column(staged.columns)
        user_column = pick_user_column(staged.columns)
        await _index(conn, target, date_column, user_column)
        min_date, max_date = await _date_range(conn, target, date_column)
        name = sql.Identifier(DATA_SCHEMA, source.table.value)
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(DATA_SCHEMA, target), sql.Identifier(source.table.value)
            )
        )
        await conn.execute(
            UPSERT_TABLE,
            {
                "name": source.table.value,
                "source_file": source.file_name,
                "size": staged.fingerprint.size,
                "mtime_ns": staged.fingerprint.mtime_ns,
                "sha256": staged.fingerprint.sha256,
                "row_count": staged.rows,
                "columns": Jsonb([{"name": c.name, "type": c.type.value} for c in staged.columns]),
                "date_column": date_column,
                "user_column": user_column,
                "min_date": min_date,
                "max_date": max_date,
            },
        )
        await conn.execute(
            "DELETE FROM experiments.load_errors WHERE name = %s", (source.table.value,)
        )
        loaded = await _catalog_row(conn, source.table.value)
        assert loaded is not None
        log.info("Loaded %s: %d rows, version %d", source.file_name, staged.rows, loaded.version)
        return loaded


UNSTORABLE = (psycopg.DataError, psycopg.errors.ProgramLimitExceeded)
"""What PostgreSQL (or psycopg reading back) refuses in a file's data: its content's fault,
not the database's."""


def _as_malformed(source: SourceFile, error: Exception) -> MalformedSource:
    if isinstance(error, MalformedSource):
        return error
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return MalformedSource(source.file_name, f"PostgreSQL cannot store its data ({reason})")


UPSERT_TABLE = """
INSERT INTO experiments.tables AS t (name, source_file, size_bytes, mtime_ns, sha256,
    row_count, columns, date_column, user_column, min_date, max_date)
VALUES (%(name)s, %(source_file)s, %(size)s, %(mtime_ns)s, %(sha256)s, %(row_count)s,
    %(columns)s, %(date_column)s, %(user_column)s, %(min_date)s, %(max_date)s)
ON CONFLICT (name) DO UPDATE SET
    source_file = EXCLUDED.source_file, size_bytes = EXCLUDED.size_bytes,
    mtime_ns = EXCLUDED.mtime_ns, sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count,
    columns = EXCLUDED.columns, date_column = EXCLUDED.date_column,
    user_column = EXCLUDED.user_column, min_date = EXCLUDED.min_date,
    max_date = EXCLUDED.max_date, loaded_at = now(), version = t.version + 1
"""


async def _catalog_row(conn: AsyncConnection, name: str) -> TableInfo | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SELECT_TABLES + " WHERE name = %s", (name,))
        row = await cur.fetchone()
    return table_info(row) if row else None


async def _recorded_failure(
    conn: AsyncConnection, name: str, seen: Fingerprint
) -> MalformedSource | None:
    """The error of an earlier attempt on this very version of the file, so it is not re-read."""
    cur = await conn.execute(
        "SELECT source_file, line, column_name, reason FROM experiments.load_errors"
        " WHERE name = %s AND size_bytes = %s AND mtime_ns = %s",
        (name, seen.size, seen.mtime_ns),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    file_name, line, column, reason = row
    return MalformedSource(file_name, reason, line=line, column=column)


async def _record_failure(
    conn: AsyncConnection, source: SourceFile, seen: Fingerprint, error: MalformedSource
) -> None:
    await conn.execute(
        """
        INSERT INTO experiments.load_errors
            (name, source_file, size_bytes, mtime_ns, message, line, column_name, reason)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET
            source_file = EXCLUDED.source_file, size_bytes = EXCLUDED.size_bytes,
            mtime_ns = EXCLUDED.mtime_ns, message = EXCLUDED.message, line = EXCLUDED.line,
            column_name = EXCLUDED.column_name, reason = EXCLUDED.reason, failed_at = now()
        """,
        (
            source.table.value,
            source.file_name,
            seen.size,
            seen.mtime_ns,
            error.detail,
            error.line,
            error.column,
            error.reason,
        ),
    )


async def _touch(conn: AsyncConnection, name: str, fingerprint: Fingerprint) -> None:
    await conn.execute(
        "UPDATE experiments.tables SET size_bytes = %s, mtime_ns = %s WHERE name = %s",
        (fingerprint.size, fingerprint.mtime_ns, name),
    )


async def _stage(
    conn: AsyncConnection,
    staging: str,
    file_name: str,
    file: BinaryIO,
    progress: ProgressCallback | None,
) -> _Staged:
    reader = _FileReader(file_name, file)
    header = await asyncio.to_thread(reader.header)
    names = list(normalize_headers(header, reserved=(ROW_KEY,)))
    await conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({} bigint, {}) ON COMMIT DROP").format(
            sql.Identifier(staging),
            sql.Identifier(ROW_KEY),
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in names),
        )
    )
    copy_sql = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(staging))
    chunks = reader.chunks(names)
    async with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            await copy.write(chunk)
            if progress is not None:
                progress(reader.bytes_read_since_last_call())
    inferred = reader.inferred()
    columns = [Column(name=n, type=i.type) for n, i in zip(names, inferred, strict=True)]
    return _Staged(
        columns=columns, inferred=inferred, rows=reader.rows, fingerprint=reader.fingerprint()
    )


async def _build_typed_table(
    conn: AsyncConnection, staging: str, target: str, staged: _Staged
) -> None:
    converted = [
        sql.SQL("{} AS {}").format(_conversion(sql.Identifier(c.name), i), sql.Identifier(c.name))
        for c, i in zip(staged.columns, staged.inferred, strict=True)
    ]
    await conn.execute(
        sql.SQL("CREATE TABLE {} AS SELECT {}, {} FROM {}").format(
            sql.Identifier(DATA_SCHEMA, target),
            sql.Identifier(ROW_KEY),
            sql.SQL(", ").join(converted),
            sql.Identifier(staging),
        )
    )
    await conn.execute(
        sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
            sql.Identifier(DATA_SCHEMA, target), sql.Identifier(ROW_KEY)
        )
    )


def _conversion(column: sql.Identifier, inferred: InferredColumn) -> sql.Composable:
    """SQL that turns a column's raw text into its inferred type (blank cells become NULL)."""
    if inferred.type is ColumnType.TEXT:
        return column
    value: sql.Composable = sql.SQL("NULLIF(btrim({}, {}), '')").format(
        column, sql.Literal(POSTGRES_WHITESPACE)
    )
    if inferred.temporal_format in _DATE_PART:
        pattern, replacement = _DATE_PART[inferred.temporal_format]
        value = sql.SQL("regexp_replace({}, {}, {})").format(
            value, sql.Literal(pattern), sql.Literal(replacement)
        )
    return sql.SQL("({})::{}").format(value, sql.SQL(inferred.type.value))


async def _index(
    conn: AsyncConnection, table: str, date_column: str | None, user_column: str | None
) -> None:
    """Indexes that make every logs query an index scan in the order it returns rows."""
    target = sql.Identifier(DATA_SCHEMA, table)
    order = sql.SQL("{} DESC").format(sql.Identifier(ROW_KEY))
    if date_column is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(sql.Identifier(date_column), order)
        await conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(target, order))
    if user_column is not None:
        await conn.execute(
            sql.SQL("CREATE INDEX ON {} (({}::text), {})").format(
                target, sql.Identifier(user_column), order
            )
        )
    await conn.execute(sql.SQL("ANALYZE {}").format(target))


async def _date_range(
    conn: AsyncConnection, table: str, date_column: str | None
) -> tuple[str | None, str | None]:
    if date_column is None:
        return None, None
    column = sql.Identifier(date_column)
    cur = await conn.execute(
        sql.SQL("SELECT min({}), max({}) FROM {}").format(
            column, column, sql.Identifier(DATA_SCHEMA, table)
        )
    )
    row = await cur.fetchone()
    assert row is not None
    return tuple(value.isoformat() if value is not None else None for value in row)  # type: ignore[return-value]


class _FileReader:
    """Reads a CSV file row by row, checking, hashing and inferring as it goes.

    Runs in a worker thread (it is CPU-bound), producing CSV chunks for COPY with the row's
    position prepended.
    """

    def __init__(self, file_name: str, file: BinaryIO) -> None:
        self._file_name = file_name
        self._raw = _HashingReader(file_name, file)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._raw, CHUNK_BYTES),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        csv.field_size_limit(MAX_FIELD_BYTES)
        self._csv = csv.reader(self._text, strict=True)
        self._inferrers: list[ColumnInferrer] = []
        self.rows = 0
        self._reported = 0

    def header(self) -> list[str]:
        row = self._next_row()
        if row is None:
            raise MalformedSource(self._file_name, "the file is empty; a header row is expected")
        if not any(cell.strip() for cell in row):
            raise MalformedSource(self._file_name, "the header row is blank", line=1)
        for position, cell in enumerate(row, 1):
            self._check_cell(cell, line=1, column=f"#{position}")
        self._inferrers = [ColumnInferrer() for _ in row]
        return row

    def chunks(self, names: list[str]) -> Iterator[bytes]:
        width = len(names)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        inferrers = self._inferrers
        pending: list[tuple[int, list[str]]] = []
        while (row := self._next_row()) is not None:
            if not row:
                continue
            if len(row) != width:
                self._wrong_width(row, names)
            self.rows += 1
            for inferrer, cell in zip(inferrers, row, strict=True):
                inferrer.observe(cell)
            writer.writerow((self.rows, *row))
            pending.append((self._csv.line_num, row))
            if buffer.tell() >= CHUNK_BYTES:
                yield self._encode(buffer, pending, names)
                pending.clear()
        if buffer.tell():
            yield self._encode(buffer, pending, names)

    def _encode(
        self, buffer: io.StringIO, pending: list[tuple[int, list[str]]], names: list[str]
    ) -> bytes:
        """The chunk as UTF-8. What PostgreSQL cannot store (bytes that were not UTF-8, NUL
        characters) is reported with its line and column."""
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        try:
            if "\x00" not in text:
                return text.encode()
        except UnicodeEncodeError:
            pass
        for line, row in pending:
            for name, cell in zip(names, row, strict=True):
                self._check_cell(cell, line=line, column=name)
        raise AssertionError("an unstorable chunk without an unstorable cell")

    def _check_cell(self, cell: str, *, line: int, column: str) -> None:
        if "\x00" in cell:
            raise MalformedSource(
                self._file_name,
                "contains a NUL character, which PostgreSQL cannot store",
                line=line,
                column=column,
            )
        try:
            cell.encode()
        except UnicodeEncodeError as error:
            raw = cell[error.start].encode("utf-8", "surrogateescape")
            raise MalformedSource(
                self._file_name,
                f"not UTF-8 text (byte 0x{raw[0]:02x})",
                line=line,
                column=column,
            ) from None

    def inferred(self) -> list[InferredColumn]:
        return [inferrer.result() for inferrer in self._inferrers]

    def fingerprint(self) -> Fingerprint:
        return self._raw.fingerprint()

    def bytes_read_since_last_call(self) -> int:
        delta = self._raw.bytes_read - self._reported
        self._reported = self._raw.bytes_read
        return delta

    def _next_row(self) -> list[str] | None:
        try:
            return next(self._csv, None)
        except csv.Error as error:
            raise MalformedSource(
                self._file_name, f"not valid CSV ({error})", line=self._csv.line_num
            ) from None

    def _wrong_width(self, row: list[str], names: list[str]) -> None:
        width = len(names)
        column = names[len(row)] if len(row) < width else f"#{width + 1} (no such column)"
        raise MalformedSource(
            self._file_name,
            f"expected {width} fields as in the header, found {len(row)}",
            line=self._csv.line_num,
            column=column,
        )


class _HashingReader(io.RawIOBase):
    """Hashes and counts the bytes of a file as they are read."""

    def __init__(self, file_name: str, file: BinaryIO) -> None:
        self._file_name = file_name
        self._file = file
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        stat = os.fstat(file.fileno())
        self._stat = (stat.st_size, stat.st_mtime_ns)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count: int = self._file.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._hash.update(memoryview(buffer)[:count])
            self.bytes_read += count
        return count

    def fingerprint(self) -> Fingerprint:
        size, mtime_ns = self._stat
        stat = os.fstat(self._file.fileno())
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) or self.bytes_read != size:
            raise MalformedSource(self._file_name, "the file changed while it was being loaded")
        return Fingerprint(size=size, mtime_ns=mtime_ns, sha256=self._hash.hexdigest())
