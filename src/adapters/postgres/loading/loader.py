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
from pathlib import Path
from typing import BinaryIO

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import inside
from adapters.postgres.catalog import read_entry, touch_entry, write_entry
from adapters.postgres.errors import database_errors
from adapters.postgres.loading import typed_table
from adapters.postgres.loading.failures import (
    UNSTORABLE,
    as_malformed,
    forget_failure,
    record_failure,
    recorded_failure,
)
from adapters.postgres.locks import LOAD_LOCK
from adapters.postgres.schema import DATA_SCHEMA, storage_name, stored_table
from domain.tables.errors import MalformedSource
from domain.tables.inference import pick_date_column, pick_user_column
from domain.tables.model import Fingerprint, SourceFile, TableInfo
from domain.tables.ports import ProgressCallback, TableLoader

log = logging.getLogger(__name__)


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

    async def _replace(
        self,
        conn: AsyncConnection,
        source: SourceFile,
        file: BinaryIO,
        current: TableInfo | None,
        progress: ProgressCallback | None,
    ) -> TableInfo:
        name = source.table.value
        staging = f"_staging_{uuid.uuid4().hex[:16]}"
        staged = await typed_table.stage(conn, staging, source.file_name, file, progress)
        if current is not None and current.fingerprint.sha256 == staged.fingerprint.sha256:
            await touch_entry(conn, name, staged.fingerprint)
            await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
            refreshed = await read_entry(conn, name)
            assert refreshed is not None
            return refreshed
        target = f"_load_{uuid.uuid4().hex[:16]}"
        await typed_table.build_typed_table(conn, staging, target, staged)
        date_column = pick_date_column(staged.columns)
        user_column = pick_user_column(staged.columns)
        await typed_table.index(conn, target, date_column, user_column)
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
