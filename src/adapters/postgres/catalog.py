from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from domain.model import (
    Column,
    ColumnType,
    Fingerprint,
    LoadError,
    TableInfo,
    TableName,
)
from domain.ports.tables import TableCatalog

SELECT_TABLES = """
SELECT name, source_file, size_bytes, mtime_ns, sha256, row_count, columns,
       date_column, user_column, min_date, max_date, loaded_at, version
FROM experiments.tables
"""
SELECT_ERRORS = "SELECT name, size_bytes, mtime_ns, message FROM experiments.load_errors"


class PostgresTableCatalog(TableCatalog):
    """Reads the catalog with a connection per call, so a request never holds one while it
    waits for a load."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get(self, name: TableName) -> TableInfo | None:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_TABLES + " WHERE name = %s", (str(name),))
            row = await cur.fetchone()
        return table_info(row) if row else None

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
    )


def _parse_date(text: str | None, column_type: ColumnType | None) -> dt.date | dt.datetime | None:
    if text is None or column_type is None:
        return None
    if column_type is ColumnType.DATE:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)
