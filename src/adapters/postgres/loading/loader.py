"""Loading a CSV file into PostgreSQL: one streaming pass, then an atomic swap.

The file is read once, in a worker thread (`adapters.csv.reader`), streaming into a staging
table; the typed table is then built and indexed (`typed_table`), and renamed over the old one
in the same transaction, under an advisory lock that makes concurrent loads of a table queue
up. A file that cannot be loaded is remembered as failed for that version (`failures`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from adapters.csv.dialect import SAMPLE_BYTES, detect_encoding, sniff
from adapters.csv.reader import EncodingMisjudged
from adapters.csv.sources import inside
from adapters.postgres.catalog import read_entry, touch_entry, write_entry
from adapters.postgres.errors import database_errors
from adapters.postgres.loading import direct_copy, typed_table
from adapters.postgres.loading.failures import (
    UNSTORABLE,
    as_malformed,
    forget_failure,
    record_failure,
    recorded_failure,
    unstorable,
)
from adapters.postgres.locks import LOAD_LOCK
from adapters.postgres.pool import (
    BOUNDED_LOCK_WAIT,
    UNBOUNDED_IDLE,
    UNBOUNDED_LOCK_WAIT,
    UNBOUNDED_STATEMENT,
)
from adapters.postgres.schema import DATA_SCHEMA, storage_name, stored_table
from domain.tables.errors import MalformedSource
from domain.tables.inference import pick_date_column, pick_user_column
from domain.tables.model import FileFormat, Fingerprint, SourceFile, TableInfo
from domain.tables.ports import ProgressCallback, TableLoader

log = logging.getLogger(__name__)

ENCODING_WINDOW = 1 << 20
"""Bytes, up to where a file stopped being UTF-8, read to tell its encoding instead."""


def _table_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _extra(source: SourceFile) -> dict[str, str]:
    return {"table": str(source.table)}


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
                # A large file's COPY takes minutes; loads of one table queue on the lock.
                await conn.execute(UNBOUNDED_STATEMENT)
                await conn.execute(UNBOUNDED_IDLE)
                await conn.execute(UNBOUNDED_LOCK_WAIT)
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOAD_LOCK, name)
                )
                await conn.execute(BOUNDED_LOCK_WAIT)
                current = await read_entry(conn, name)
                with self._open(source) as file:
                    stat = os.fstat(file.fileno())
                    seen = Fingerprint(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
                    if current is not None and current.fingerprint.same_stat(seen):
                        return current
                    failure = await recorded_failure(conn, name, seen)
                    if failure is None:
                        try:
                            async with conn.transaction():
                                return await self._replace(conn, source, file, current, progress)
                        except (MalformedSource, *UNSTORABLE) as error:
                            if not isinstance(error, MalformedSource) and not unstorable(error):
                                raise
                            failure = as_malformed(source, error)
                            await record_failure(conn, source, seen, failure)
            log.warning("Could not load %s: %s", source.file_name, failure.detail)
            raise failure

    def _open(self, source: SourceFile) -> BinaryIO:
        path = inside(self._data_dir, source.file_name)
        if path is None:
            raise MalformedSource(source.file_name, "the file lies outside the data folder")
        try:
            return path.open("rb")
        except OSError as error:
            raise MalformedSource(source.file_name, f"cannot be opened: {error}") from error

    async def _built(
        self,
        conn: AsyncConnection,
        source: SourceFile,
        file: BinaryIO,
        progress: ProgressCallback | None,
    ) -> typed_table.Built:
        """The typed table of the file, in the format its first bytes tell: by the direct
        way when it can stand, else by the careful one."""
        file_format = sniff(file.read(SAMPLE_BYTES), source.file_name).format
        file.seek(0)
        if direct_copy.eligible(file_format):
            sent = 0

            def counted(count: int) -> None:
                nonlocal sent
                sent += count
                if progress is not None:
                    progress(count)

            try:
                async with conn.transaction():
                    return await direct_copy.copy_direct(
                        conn,
                        target=_table_name("_load"),
                        file_name=source.file_name,
                        file=file,
                        file_format=file_format,
                        progress=counted,
                    )
            except direct_copy.NotDirect:
                log.debug("Loading %s the careful way", source.file_name, extra=_extra(source))
                file.seek(0)
                if progress is not None:
                    progress(-sent)
        staged = await self._stage(conn, source, file, file_format, progress)
        target = _table_name("_load")
        await typed_table.build_typed_table(conn, staged.table, target, staged)
        return typed_table.Built(
            table=target,
            columns=staged.columns,
            inferred=staged.inferred,
            rows=staged.rows,
            fingerprint=staged.fingerprint,
            file_format=staged.file_format,
        )

    async def _stage(
        self,
        conn: AsyncConnection,
        source: SourceFile,
        file: BinaryIO,
        file_format: FileFormat,
        progress: ProgressCallback | None,
    ) -> typed_table.Staged:
        """Stages the file row by row; read again in another encoding when a file that began
        as plain ASCII turns out not to be UTF-8."""
        try:
            async with conn.transaction():
                return await typed_table.stage(
                    conn,
                    staging=_table_name("_staging"),
                    file_name=source.file_name,
                    file=file,
                    file_format=file_format,
                    progress=progress,
                )
        except EncodingMisjudged as misjudged:
            file.seek(max(0, misjudged.offset - ENCODING_WINDOW))
            encoding, _ = detect_encoding(file.read(ENCODING_WINDOW), source.file_name)
            file.seek(0)
            log.info("Reading %s again as %s", source.file_name, encoding, extra=_extra(source))
            return await typed_table.stage(
                conn,
                staging=_table_name("_staging"),
                file_name=source.file_name,
                file=file,
                file_format=replace(file_format, encoding=encoding),
                progress=progress,
            )

    async def _replace(
        self,
        conn: AsyncConnection,
        source: SourceFile,
        file: BinaryIO,
        current: TableInfo | None,
        progress: ProgressCallback | None,
    ) -> TableInfo:
        name = source.table.value
        built = await self._built(conn, source, file, progress)
        if current is not None and current.fingerprint.sha256 == built.fingerprint.sha256:
            # Touched, not changed: the version in service stays.
            await touch_entry(conn, name, built.fingerprint)
            await conn.execute(
                sql.SQL("DROP TABLE {}").format(sql.Identifier(DATA_SCHEMA, built.table))
            )
            refreshed = await read_entry(conn, name)
            assert refreshed is not None
            return refreshed
        target = built.table
        staged = built
        date_column = pick_date_column(staged.columns)
        user_column = pick_user_column(staged.columns)
        await typed_table.finish(conn, target, date_column, user_column)
        dates = await typed_table.date_range(conn, target, date_column)
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stored_table(source.table)))
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(DATA_SCHEMA, target), sql.Identifier(storage_name(source.table))
            )
        )
        loaded = await write_entry(
            conn,
            source=source,
            file_format=staged.file_format,
            fingerprint=staged.fingerprint,
            columns=staged.columns,
            row_count=staged.rows,
            date_column=date_column,
            user_column=user_column,
            date_range=dates,
        )
        await forget_failure(conn, name)
        log.info(
            "Loaded %s: %d rows, version %d",
            source.file_name,
            staged.rows,
            loaded.version,
            extra={"table": name},
        )
        return loaded
