"""A page is of the version of its table it was asked for, or it is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.loading.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader
from domain.tables.errors import TableChanged
from domain.tables.logs import LogQuery
from domain.tables.model import TableInfo, TableName


async def load(pool: AsyncConnectionPool, data_dir: Path, text: str, mtime: int) -> TableInfo:
    path = data_dir / "t.csv"
    path.write_text(text)
    os.utime(path, ns=(mtime, mtime))
    source = await FileSystemTableSources(data_dir).find(TableName("t"))
    assert source is not None
    return await PostgresTableLoader(pool, data_dir).load(source)


async def test_a_page_of_a_version_a_reload_replaced_is_refused_even_with_the_same_columns(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    old = await load(pool, data_dir, "date,v\n2024-01-01,1\n", 10**9)
    new = await load(pool, data_dir, "date,v\n2024-01-01,2\n", 2 * 10**9)
    reader = PostgresLogReader(pool)

    page = await reader.read(new, LogQuery())
    with pytest.raises(TableChanged):
        await reader.read(old, LogQuery())

    assert old.columns == new.columns
    assert [row["v"] for row in page.rows] == [2]
    assert page.query == LogQuery()
