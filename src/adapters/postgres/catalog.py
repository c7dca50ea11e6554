from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from domain.tables.model import (
    Column,
    ColumnType,
    FileFormat,
    Fingerprint,
    LoadError,
    SourceFile,
    TableInfo,
    TableName,
)
from domain.tables.ports import TableCatalog

SELECT_TABLES = """
SELECT name, source_file, size_bytes, mtime_ns, sha256, row_count, columns,
       date_column, user_column, min_date, max_date, loaded_at, version,
       encoding, delimiter, quote
FROM experiments.tables
"""
SELECT_ERRORS = "SELECT name, size_bytes, mtime_ns, message FROM experiments.load_errors"
UPSERT_TABLE = """
INSERT INTO experiments.tables AS t (name, source_file, size_bytes, mtime_ns, sha256,
    row_count, columns, date_column, user_column, min_date, max_date, encoding, delimiter,
    quote)
VALUES (%(name)s, %(source_file)s, %(size)s, %(mtime_ns)s, %(sha256)s, %(row_count)s,
    %(columns)s, %(date_column)s, %(user_column)s, %(min_date)s, %(max_date)s, %(encoding)s,
    %(delimiter)s, %(quote)s)
ON CONFLICT (name) DO UPDATE SET
    encoding = EXCLUDED.encoding, delimiter = EXCLUDED.delimiter, quote = EXCLUDED.quote,
    source_file = EXCLUDED.source_file, size_bytes = EXCLUDED.size_bytes,
    mtime_ns = EXCLUDED.mtime_ns, sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count,
    columns = EXCLUDED.columns, date_column = EXCLUDED.date_column,
    user_column = EXCLUDED.user_column, min_date = EXCLUDED.min_date,
    max_date = EXCLUDED.max_date, loaded_at = now(), version = t.version + 1
"""


class PostgresTableCatalog(TableCatalog):
    """Reads the catalog with a connection per call, so a request never holds one while it
    waits for a load."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get(self, name: TableName) -> TableInfo | None:
        async with database_errors(), self._pool.connection() as conn:
            return await read_entry(conn, str(name))

    async def list(self) -> Sequence[TableInfo]:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_TABLES + " ORDER BY name")
            return [table_info(row) for row in await cur.fetchall()]

    async def errors(self) -> dict[TableName, LoadError]:
        async with database_errors(), self._pool.connection() as conn:
            cur = await conn.execute(SELECT_ERRORS)
            return {
                TableName(name): LoadError(
                    message=message, fingerprint=Fingerprint(size=size, mtime_ns=mtime_ns)
                )
                for name, size, mtime_ns, message in await cur.fetchall()
            }


async def read_entry(conn: AsyncConnection, name: str) -> TableInfo | None:
    """The catalog's entry for a table, read on `conn` (inside a load's transaction, say)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SELECT_TABLES + " WHERE name = %s", (name,))
        row = await cur.fetchone()
    return table_info(row) if row else None


async def write_entry(
    conn: AsyncConnection,
    *,
    source: SourceFile,
    file_format: FileFormat,
    fingerprint: Fingerprint,
    columns: Sequence[Column],
    row_count: int,
    date_column: str | None,
    user_column: str | None,
    date_range: tuple[str | None, str | None],
) -> TableInfo:
    """Records a new version of a table (its version goes up by one); returns the entry."""
    await conn.execute(
        UPSERT_TABLE,
        {
            "name": source.table.value,
            "source_file": source.file_name,
            "size": fingerprint.size,
            "mtime_ns": fingerprint.mtime_ns,
            "sha256": fingerprint.sha256,
            "row_count": row_count,
            "columns": Jsonb([{"name": c.name, "type": c.type.value} for c in columns]),
            "date_column": date_column,
            "user_column": user_column,
            "min_date": date_range[0],
            "max_date": date_range[1],
            "encoding": file_format.encoding,
            "delimiter": file_format.delimiter,
            "quote": file_format.quote,
        },
    )
    entry = await read_entry(conn, source.table.value)
    assert entry is not None
    return entry


async def touch_entry(conn: AsyncConnection, name: str, fingerprint: Fingerprint) -> None:
    """Records that the table's file has a new size and time but the same content."""
    await conn.execute(
        "UPDATE experiments.tables SET size_bytes = %s, mtime_ns = %s WHERE name = %s",
        (fingerprint.size, fingerprint.mtime_ns, name),
    )


def table_info(row: dict[str, Any]) -> TableInfo:
    columns = tuple(
        Column(name=column["name"], type=ColumnType(column["type"])) for column in row["columns"]
    )
    date_type = next((c.type for c in columns if c.name == row["date_column"]), None)
    return TableInfo(
        name=TableName(row["name"]),
        source_file=row["source_file"],
        fingerprint=Fingerprint(
            size=row["size_bytes"], mtime_ns=row["mtime_ns"], sha256=row["sha256"]
        ),
        columns=columns,
        row_count=row["row_count"],
        date_column=row["date_column"],
        user_column=row["user_column"],
        min_date=_parse_date(row["min_date"], date_type),
        max_date=_parse_date(row["max_date"], date_type),
        loaded_at=row["loaded_at"],
        version=row["version"],
        file_format=FileFormat(
            encoding=row["encoding"], delimiter=row["delimiter"], quote=row["quote"]
        ),
    )


def _parse_date(text: str | None, column_type: ColumnType | None) -> dt.date | dt.datetime | None:
    if text is None or column_type is None:
        return None
    if column_type is ColumnType.DATE:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)
