from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import string
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.loading.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader, logs_query
from adapters.postgres.statements import fetch_all
from domain.tables.errors import MalformedSource
from domain.tables.logs import LogQuery
from domain.tables.model import ColumnType, TableInfo, TableName
from domain.tables.use_cases.load_table import LoadTable

AWKWARD = (
    "\ufeff,user_id,Order Date,amount,paid,note,code,when\r\n"
    '0,000096,1/18/2018,"1,5",yes,"hello, world",0012,2018-01-18 10:00:24\r\n'
    '1,0ffc65,2/3/2018,2.25,no,"two\r\nlines",0013,2018-01-19T11:00:00\r\n'
    "2,,12/31/2019,,YES,,0014,\r\n"
)


async def load(pool: AsyncConnectionPool, data_dir: Path, name: str) -> TableInfo:
    sources = FileSystemTableSources(data_dir)
    use_case = LoadTable(sources, PostgresTableCatalog(pool), PostgresTableLoader(pool, data_dir))
    return (await use_case(name)).table


async def read(
    pool: AsyncConnectionPool, table: TableInfo, **query: object
) -> list[dict[str, object]]:
    page = await PostgresLogReader(pool).read(table, LogQuery(**query))  # type: ignore[arg-type]
    return [dict(row) for row in page.rows]


def write(path: Path, text: str, *, mtime_ns: int | None = None) -> None:
    path.write_bytes(text.encode())
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


async def test_infers_types_of_an_awkward_csv(pool: AsyncConnectionPool, data_dir: Path) -> None:
    write(data_dir / "awkward.csv", AWKWARD)

    table = await load(pool, data_dir, "awkward")

    assert {c.name: c.type for c in table.columns} == {
        "column_1": ColumnType.BIGINT,
        "user_id": ColumnType.TEXT,
        "Order Date": ColumnType.DATE,
        "amount": ColumnType.TEXT,
        "paid": ColumnType.BOOLEAN,
        "note": ColumnType.TEXT,
        "code": ColumnType.TEXT,
        "when": ColumnType.TIMESTAMP,
    }
    assert table.date_column == "Order Date"
    assert table.user_column == "user_id"
    assert table.row_count == 3
    assert table.min_date == dt.date(2018, 1, 18)
    assert table.max_date == dt.date(2019, 12, 31)
    rows = await read(pool, table)
    assert rows[0] == {
        "column_1": 2,
        "user_id": None,
        "Order Date": dt.date(2019, 12, 31),
        "amount": None,
        "paid": True,
        "note": None,
        "code": "0014",
        "when": None,
    }
    assert rows[1]["note"] == "two\r\nlines"
    assert rows[2]["user_id"] == "000096"
    assert rows[2]["note"] == "hello, world"
    assert rows[2]["when"] == dt.datetime(2018, 1, 18, 10, 0, 24)


async def test_numeric_and_zoned_columns_keep_exact_values(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    write(
        data_dir / "money.csv",
        "at,price,big\n2024-01-01T10:00:00+03:00,12.50,123456789012345678\n"
        "2024-01-02T00:00:00Z,.5,-7\n",
    )

    table = await load(pool, data_dir, "money")
    rows = await read(pool, table)

    assert [c.type for c in table.columns] == [
        ColumnType.TIMESTAMPTZ,
        ColumnType.NUMERIC,
        ColumnType.BIGINT,
    ]
    assert rows[0]["price"] == Decimal("0.5")
    assert rows[1]["price"] == Decimal("12.50")
    assert rows[1]["at"] == dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)
    assert rows[1]["big"] == 123456789012345678


async def test_day_first_dates_with_dots_are_read_as_such(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    write(data_dir / "eu.csv", "date,x\n18.01.2018 10:00:24,1\n02.03.2018 09:05,2\n")

    table = await load(pool, data_dir, "eu")
    rows = await read(pool, table)

    assert rows[0]["date"] == dt.datetime(2018, 3, 2, 9, 5)
    assert rows[1]["date"] == dt.datetime(2018, 1, 18, 10, 0, 24)


async def test_reloads_a_changed_file_into_a_new_version(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    path = data_dir / "t.csv"
    write(path, "date,v\n2024-01-01,1\n", mtime_ns=1_000_000_000)
    first = await load(pool, data_dir, "t")
    write(path, "date,v,w\n2024-01-01,1,a\n2024-01-02,2,b\n", mtime_ns=2_000_000_000)

    second = await load(pool, data_dir, "t")

    assert (first.version, second.version) == (1, 2)
    assert [c.name for c in second.columns] == ["date", "v", "w"]
    assert [row["w"] for row in await read(pool, second)] == ["b", "a"]


async def test_a_touched_but_unchanged_file_is_not_reloaded(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    path = data_dir / "t.csv"
    write(path, "date,v\n2024-01-01,1\n", mtime_ns=1_000_000_000)
    first = await load(pool, data_dir, "t")
    os.utime(path, ns=(3_000_000_000, 3_000_000_000))

    again = await load(pool, data_dir, "t")

    assert again.version == first.version
    assert again.fingerprint.mtime_ns == 3_000_000_000


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a,b\n1,2\n3\n", 3, "b"),
        ("a,b\n1,2\n3,4,5\n", 3, "#3 (no such column)"),
        ('a,b\n1,"unterminated\n', 2, None),
        # UTF-8 (c3 a9 is é) with a byte that is not: no other encoding is guessed.
        ("a,b\n1,caf\xc3\xa9\n2,caf\xe9\n", 3, "b"),
        ("a,b\n1,x\x00y\n", 2, "b"),
        ("M\xc3\xa9decin\xff,b\n1,2\n", 1, "#1"),
    ],
)
async def test_a_malformed_file_keeps_the_previous_version(
    pool: AsyncConnectionPool, data_dir: Path, text: str, line: int, column: str | None
) -> None:
    path = data_dir / "t.csv"
    write(path, "a,b\nold,1\n", mtime_ns=1_000_000_000)
    good = await load(pool, data_dir, "t")
    path.write_bytes(text.encode("latin-1"))
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))

    loader = PostgresTableLoader(pool, data_dir)
    source = await FileSystemTableSources(data_dir).find(TableName("t"))
    assert source is not None
    with pytest.raises(MalformedSource) as raised:
        await loader.load(source)

    assert raised.value.file_name == "t.csv"
    assert raised.value.line == line
    assert raised.value.column == column
    assert await load(pool, data_dir, "t") == good
    assert [row["a"] for row in await read(pool, good)] == ["old"]


async def test_fifty_concurrent_first_requests_load_once(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    write(
        data_dir / "t.csv",
        "date,user_id,v\n"
        + "".join(f"2024-01-{d % 28 + 1:02d},{d % 7:06x},{d}\n" for d in range(5000)),
    )

    tables = await asyncio.gather(*(load(pool, data_dir, "t") for _ in range(50)))

    assert {table.version for table in tables} == {1}
    assert {table.loaded_at for table in tables} == {tables[0].loaded_at}
    assert tables[0].row_count == 5000


async def test_every_logs_query_is_an_index_scan(pool: AsyncConnectionPool, data_dir: Path) -> None:
    write(
        data_dir / "t.csv",
        "date,user_id,v\n"
        + "".join(
            f"2024-{d % 12 + 1:02d}-{d % 28 + 1:02d} 10:00:00,{d % 97:06x},{d}\n"
            for d in range(20_000)
        ),
    )
    table = await load(pool, data_dir, "t")
    from domain.tables.logs import LogCursor

    queries = [
        LogQuery(),
        LogQuery(from_date=dt.datetime(2024, 6, 1)),
        LogQuery(user_id="00000a"),
        LogQuery(user_id="00000a", from_date=dt.datetime(2024, 6, 1)),
        LogQuery(after=LogCursor(date=dt.datetime(2024, 6, 1), row=10)),
    ]
    async with pool.connection() as conn:
        for query in queries:
            statement, params = logs_query(table, query)
            rows = await fetch_all(conn, sql.SQL("EXPLAIN ") + statement, params)
            plan = "\n".join(row[0] for row in rows)
            assert "Index" in plan, plan
            assert "Seq Scan" not in plan, plan
            if query.after is not None:
                # The cursor is where the index scan starts, not a filter over what it reads.
                assert any("Index Cond" in line and "ROW(" in line for line in plan.splitlines())


async def test_values_postgres_cannot_store_fail_the_load_not_the_service(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    path = data_dir / "t.csv"
    write(path, "user_id,b\nold,1\n", mtime_ns=1_000_000_000)
    good = await load(pool, data_dir, "t")
    # Too big, even compressed, for an entry of the index on the user column.
    huge = "".join(random.Random(1).choices(string.ascii_letters, k=9000))
    write(path, f"user_id,b\n{huge},1\n", mtime_ns=2_000_000_000)

    served = await load(pool, data_dir, "t")

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM experiments.load_errors WHERE name = 't'")
        recorded = await cur.fetchone()
    assert served == good
    assert recorded == (1,)


async def test_edge_years_stay_text_rather_than_break_reading(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    write(data_dir / "t.csv", "when\n9999-12-31 23:59:59.9999999\n2024-01-01 10:00:00\n")

    table = await load(pool, data_dir, "t")

    assert [c.type for c in table.columns] == [ColumnType.TEXT]
    assert len(await read(pool, table)) == 2


async def test_a_file_wider_than_postgres_allows_fails_once_and_is_not_read_again(
    pool: AsyncConnectionPool, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = 1700
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join(str(i) for i in range(columns))
    (data_dir / "wide.csv").write_text(f"{header}\n{row}\n")

    with pytest.raises(MalformedSource) as first:
        await load(pool, data_dir, "wide")

    async def never(*_: object, **__: object) -> TableInfo:
        raise AssertionError("the failed file was read again")

    monkeypatch.setattr(PostgresTableLoader, "_replace", never)
    with pytest.raises(MalformedSource) as again:
        await load(pool, data_dir, "wide")
    assert first.value.file_name == "wide.csv"
    assert "1600 columns" in first.value.detail
    assert again.value.detail == first.value.detail
