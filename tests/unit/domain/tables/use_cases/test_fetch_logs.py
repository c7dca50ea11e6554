from __future__ import annotations

import datetime as dt
from typing import cast

import pytest

from domain.shared.errors import InvalidParameter
from domain.tables.logs import encode_cursor
from domain.tables.use_cases.fetch_logs import FetchLogs
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes import InMemoryLogReader, InMemoryTables


@pytest.fixture
def tables() -> InMemoryTables:
    tables = InMemoryTables()
    sales = [
        f"{n},{dt.datetime(2024, 1, 1) + dt.timedelta(hours=n // 2)},{n % 3:06x}"
        for n in range(1, 251)
    ]
    tables.sources.put("df_sales", "\n".join(["sale_id,date,user_id", *sales]) + "\n")
    # The oldest value is not a number, so x is a text column.
    no_dates = ["x", "n/a", *(str(n) for n in range(150))]
    tables.sources.put("no_dates", "\n".join(no_dates) + "\n")
    return tables


@pytest.fixture
def reader(tables: InMemoryTables) -> InMemoryLogReader:
    return tables.reader


@pytest.fixture
def fetch_logs(tables: InMemoryTables) -> FetchLogs:
    load_table = LoadTable(tables.sources, tables.catalog, tables.loader)
    return FetchLogs(load_table, tables.reader)


async def test_returns_the_100_latest_records_newest_first(fetch_logs: FetchLogs) -> None:
    page = await fetch_logs("df_sales")

    assert len(page.rows) == 100
    assert [row["sale_id"] for row in page.rows[:3]] == [250, 249, 248]
    dates = [cast(dt.datetime, row["date"]) for row in page.rows]
    assert dates == sorted(dates, reverse=True)


async def test_pages_through_older_records_with_the_cursor(fetch_logs: FetchLogs) -> None:
    seen: list[object] = []
    cursor = None
    for _ in range(3):
        page = await fetch_logs("df_sales", cursor=encode_cursor(cursor) if cursor else None)
        seen.extend(row["sale_id"] for row in page.rows)
        cursor = page.next_cursor

    assert cursor is None
    assert seen == list(range(250, 0, -1))


async def test_from_date_is_read_as_the_start_of_that_day(
    fetch_logs: FetchLogs, reader: InMemoryLogReader
) -> None:
    await fetch_logs("df_sales", from_date="2024-01-03")

    assert reader.queries[-1].from_date == dt.datetime(2024, 1, 3)


async def test_from_date_with_a_zone_is_compared_in_utc_on_naive_columns(
    fetch_logs: FetchLogs, reader: InMemoryLogReader
) -> None:
    await fetch_logs("df_sales", from_date="2024-01-03T03:00:00+03:00")

    assert reader.queries[-1].from_date == dt.datetime(2024, 1, 3)


async def test_filters_by_user_compared_as_text(fetch_logs: FetchLogs) -> None:
    page = await fetch_logs("df_sales", user_id="000001")

    assert page.rows
    assert {row["user_id"] for row in page.rows} == {"000001"}


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024/01/01", "", "1704067200"])
async def test_refuses_a_from_date_that_is_not_iso_8601(fetch_logs: FetchLogs, value: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await fetch_logs("df_sales", from_date=value)

    assert raised.value.parameter == "from_date"


async def test_refuses_a_date_filter_on_a_table_without_dates(fetch_logs: FetchLogs) -> None:
    with pytest.raises(InvalidParameter, match="no date"):
        await fetch_logs("no_dates", from_date="2024-01-01")


async def test_refuses_a_user_filter_on_a_table_without_users(fetch_logs: FetchLogs) -> None:
    with pytest.raises(InvalidParameter, match="no user_id column") as raised:
        await fetch_logs("no_dates", user_id="000001")

    assert raised.value.parameter == "user_id"


@pytest.mark.parametrize("cursor", ["garbage!", "W10", "WyJ4IiwxXQ", "bnVsbA"])
async def test_refuses_a_cursor_it_did_not_make(fetch_logs: FetchLogs, cursor: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await fetch_logs("df_sales", cursor=cursor)

    assert raised.value.parameter == "cursor"


async def test_reads_a_table_without_dates_in_reverse_file_order(fetch_logs: FetchLogs) -> None:
    page = await fetch_logs("no_dates")

    assert [row["x"] for row in page.rows[:2]] == ["149", "148"]
    assert page.next_cursor is not None


async def test_retries_once_when_the_table_is_reloaded_during_the_read(
    fetch_logs: FetchLogs, reader: InMemoryLogReader
) -> None:
    reader.changing = 1

    page = await fetch_logs("df_sales")

    assert len(page.rows) == 100
    assert reader.changing == 0
