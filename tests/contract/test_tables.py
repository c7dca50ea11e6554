"""The same assertions over the in-memory table ports and the real ones (files in a folder,
PostgreSQL), so that the fakes the use-case tests rely on behave as the service does."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.loading.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader
from domain.tables.errors import MalformedSource
from domain.tables.logs import LogCursor, LogQuery
from domain.tables.model import ColumnType, SourceFile, TableName
from domain.tables.ports import LogReader, TableCatalog, TableLoader, TableSources
from tests.support.fakes import InMemoryTables

SALES = """sale_id,date,price,user_id,paid
1,2024-01-01 10:00:00,10.50,000001,true
2,2024-01-02 11:00:00,7,000002,false
3,2024-01-02 11:00:00,3.25,000001,yes
4,,1,000003,no
5,2024-01-03 09:30:00,2.75,000002,true
"""


@dataclass
class Tables:
    sources: TableSources
    catalog: TableCatalog
    loader: TableLoader
    reader: LogReader
    write: Callable[[str, str, int], None]
    """Writes a CSV file: name, text, modification time in ns."""
    remove: Callable[[str], None]

    async def load(self, name: str) -> SourceFile:
        source = await self.sources.find(TableName(name))
        assert source is not None
        return source


@pytest.fixture(params=["in_memory", "real"])
def tables(request: pytest.FixtureRequest, data_dir: Path) -> Tables:
    if request.param == "in_memory":
        fake = InMemoryTables()

        def put(name: str, text: str, mtime_ns: int) -> None:
            fake.sources.put(name, text, mtime_ns=mtime_ns)

        return Tables(
            fake.sources,
            fake.catalog,
            fake.loader,
            fake.reader,
            write=put,
            remove=fake.sources.remove,
        )
    pool: AsyncConnectionPool = request.getfixturevalue("pool")

    def write(name: str, text: str, mtime_ns: int) -> None:
        path = data_dir / f"{name}.csv"
        path.write_text(text)
        os.utime(path, ns=(mtime_ns, mtime_ns))

    return Tables(
        FileSystemTableSources(data_dir),
        PostgresTableCatalog(pool),
        PostgresTableLoader(pool, data_dir),
        PostgresLogReader(pool),
        write=write,
        remove=lambda name: (data_dir / f"{name}.csv").unlink(),
    )


async def test_sources_find_the_files_there_are_and_list_them_by_name(tables: Tables) -> None:
    tables.write("b", "x\n1\n", 1_000)
    tables.write("a", "x\n1\n", 2_000)

    found = await tables.sources.find(TableName("a"))
    listed = await tables.sources.list()

    assert found is not None
    assert (found.file_name, found.fingerprint.size, found.fingerprint.mtime_ns) == (
        "a.csv",
        4,
        2_000,
    )
    assert await tables.sources.find(TableName("c")) is None
    assert [str(source.table) for source in listed] == ["a", "b"]
    tables.remove("b")
    assert await tables.sources.find(TableName("b")) is None


async def test_a_load_infers_types_and_picks_the_date_and_user_columns(tables: Tables) -> None:
    tables.write("sales", SALES, 1_000)

    table = await tables.loader.load(await tables.load("sales"))

    assert [(c.name, c.type) for c in table.columns] == [
        ("sale_id", ColumnType.BIGINT),
        ("date", ColumnType.TIMESTAMP),
        ("price", ColumnType.NUMERIC),
        ("user_id", ColumnType.TEXT),
        ("paid", ColumnType.BOOLEAN),
    ]
    assert (table.date_column, table.user_column, table.row_count) == ("date", "user_id", 5)
    assert (table.min_date, table.max_date) == (
        dt.datetime(2024, 1, 1, 10),
        dt.datetime(2024, 1, 3, 9, 30),
    )
    assert (table.version, table.fingerprint.mtime_ns) == (1, 1_000)
    assert table.fingerprint.sha256 is not None
    assert await tables.catalog.get(TableName("sales")) == table
    assert await tables.catalog.list() == [table]


async def test_the_date_column_is_the_one_named_date_not_the_first_temporal_one(
    tables: Tables,
) -> None:
    tables.write("t", "created,date\n2024-01-01,2024-02-01\n", 1)

    table = await tables.loader.load(await tables.load("t"))

    assert table.date_column == "date"


async def test_an_unchanged_stat_is_not_reloaded_and_a_new_content_is(tables: Tables) -> None:
    tables.write("t", "x\n1\n", 1_000)
    first = await tables.loader.load(await tables.load("t"))

    same = await tables.loader.load(await tables.load("t"))
    tables.write("t", "x,y\n1,2\n", 2_000)
    second = await tables.loader.load(await tables.load("t"))

    assert same == first
    assert second.version == 2
    assert [c.name for c in second.columns] == ["x", "y"]


async def test_a_touched_file_with_the_same_content_keeps_its_version(tables: Tables) -> None:
    tables.write("t", "x\n1\n", 1_000)
    first = await tables.loader.load(await tables.load("t"))
    tables.write("t", "x\n1\n", 2_000)

    touched = await tables.loader.load(await tables.load("t"))

    assert touched.version == first.version
    assert touched.fingerprint.mtime_ns == 2_000


async def test_a_malformed_file_fails_naming_where_and_the_previous_version_stays(
    tables: Tables,
) -> None:
    tables.write("t", "x,y\n1,2\n", 1_000)
    first = await tables.loader.load(await tables.load("t"))
    tables.write("t", "x,y\n1,2\n3\n", 2_000)

    with pytest.raises(MalformedSource) as raised:
        await tables.loader.load(await tables.load("t"))

    assert (raised.value.file_name, raised.value.line, raised.value.column) == ("t.csv", 3, "y")
    assert await tables.catalog.get(TableName("t")) == first
    errors = await tables.catalog.errors()
    assert errors[TableName("t")].fingerprint.mtime_ns == 2_000
    assert "line 3" in errors[TableName("t")].message


async def test_logs_come_newest_first_with_ties_in_reverse_file_order(tables: Tables) -> None:
    tables.write("sales", SALES, 1)
    table = await tables.loader.load(await tables.load("sales"))

    page = await tables.reader.read(table, LogQuery())

    assert [row["sale_id"] for row in page.rows] == [5, 3, 2, 1, 4]
    assert page.rows[0] == {
        "sale_id": 5,
        "date": dt.datetime(2024, 1, 3, 9, 30),
        "price": Decimal("2.75"),
        "user_id": "000002",
        "paid": True,
    }
    assert page.next_cursor is None


async def test_logs_filter_by_date_and_by_user_as_text(tables: Tables) -> None:
    tables.write("sales", SALES, 1)
    table = await tables.loader.load(await tables.load("sales"))

    since = await tables.reader.read(table, LogQuery(from_date=dt.datetime(2024, 1, 2, 11)))
    user = await tables.reader.read(table, LogQuery(user_id="000001"))

    assert [row["sale_id"] for row in since.rows] == [5, 3, 2]
    assert [row["sale_id"] for row in user.rows] == [3, 1]


async def test_pages_of_logs_cover_every_row_once_in_order(tables: Tables) -> None:
    tables.write("sales", SALES, 1)
    table = await tables.loader.load(await tables.load("sales"))

    seen: list[object] = []
    after: LogCursor | None = None
    while True:
        page = await tables.reader.read(table, LogQuery(after=after, limit=2))
        seen.extend(row["sale_id"] for row in page.rows)
        if page.next_cursor is None:
            break
        after = page.next_cursor

    assert seen == [5, 3, 2, 1, 4]
