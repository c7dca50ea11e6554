"""A page is of the version of its table it was asked for, or it is refused."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
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


async def test_one_reader_answers_each_query_with_its_own_values(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    lines = [f"2024-01-{day:02d},{user},{day}" for day in range(1, 29) for user in ("a", "b")]
    table = await load(pool, data_dir, "date,user_id,v\n" + "\n".join(lines) + "\n", 10**9)
    kept = PostgresLogReader(pool)
    queries = [
        LogQuery(limit=3),
        LogQuery(user_id="a", limit=3),
        LogQuery(user_id="b", limit=3),
        LogQuery(from_date=dt.date(2024, 1, 20), limit=50),
        LogQuery(from_date=dt.date(2024, 1, 25), user_id="b", limit=50),
    ]

    # The same shapes again with other values, and the pages after each: every page must be
    # what a reader that never saw another query reads.
    for query in queries + queries:
        page = await kept.read(table, query)
        fresh = await PostgresLogReader(pool).read(table, query)
        assert page.rows == fresh.rows
        assert page.next_cursor == fresh.next_cursor
        if page.next_cursor is not None:
            after = replace(query, after=page.next_cursor)
            assert (await kept.read(table, after)).rows == (
                await PostgresLogReader(pool).read(table, after)
            ).rows

    b_after_25 = await kept.read(table, queries[4])
    assert {row["user_id"] for row in b_after_25.rows} == {"b"}
    assert len(b_after_25.rows) == 4
