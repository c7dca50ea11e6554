"""What identifies a page of logs: the table's loaded version and the query as parsed."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from domain.tables.logs import LogCursor, LogQuery, Records, page_identity
from domain.tables.model import Column, ColumnType, Fingerprint, TableInfo, TableName

TABLE = TableInfo(
    name=TableName("sales"),
    source_file="sales.csv",
    fingerprint=Fingerprint(size=10, mtime_ns=1, sha256="ab" * 32),
    columns=(Column(name="date", type=ColumnType.TIMESTAMP),),
    row_count=1,
    date_column="date",
    user_column=None,
    min_date=None,
    max_date=None,
    loaded_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    version=1,
)
QUERY = LogQuery(
    from_date=dt.datetime(2024, 1, 2),
    user_id="000096",
    after=LogCursor(date=dt.datetime(2024, 1, 3), row=5),
)


def test_equal_tables_and_queries_have_one_identity() -> None:
    assert page_identity(TABLE, QUERY) == page_identity(replace(TABLE), replace(QUERY))


def test_a_touched_file_keeps_the_identity_of_its_pages() -> None:
    touched = replace(TABLE, fingerprint=replace(TABLE.fingerprint, size=11, mtime_ns=2))

    assert page_identity(touched, QUERY) == page_identity(TABLE, QUERY)


@pytest.mark.parametrize(
    "table",
    [
        replace(TABLE, version=2),
        replace(TABLE, name=TableName("sales_2")),
        replace(TABLE, loaded_at=TABLE.loaded_at + dt.timedelta(microseconds=1)),
        replace(TABLE, fingerprint=replace(TABLE.fingerprint, sha256="cd" * 32)),
    ],
    ids=["version", "name", "loaded_at", "content"],
)
def test_another_version_of_the_table_is_another_identity(table: TableInfo) -> None:
    assert page_identity(table, QUERY) != page_identity(TABLE, QUERY)


@pytest.mark.parametrize(
    "query",
    [
        LogQuery(),
        replace(QUERY, from_date=dt.date(2024, 1, 2)),
        replace(QUERY, from_date=dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
        replace(QUERY, user_id="000097"),
        replace(QUERY, user_id=None),
        replace(QUERY, after=LogCursor(date=dt.datetime(2024, 1, 3), row=6)),
        replace(QUERY, after=LogCursor(date=None, row=5)),
        replace(QUERY, after=None),
        replace(QUERY, limit=50),
    ],
)
def test_another_query_is_another_identity(query: LogQuery) -> None:
    assert page_identity(TABLE, query) != page_identity(TABLE, QUERY)


def test_records_read_as_rows_keyed_by_column() -> None:
    records = Records(["id", "Tax 5%"], [(1, "a"), (2, None)])

    assert len(records) == 2
    assert records[0] == {"id": 1, "Tax 5%": "a"}
    assert records[-1] == {"id": 2, "Tax 5%": None}
    assert records[1:] == [{"id": 2, "Tax 5%": None}]
    assert list(records) == [{"id": 1, "Tax 5%": "a"}, {"id": 2, "Tax 5%": None}]


def test_records_equal_the_same_rows_in_any_form() -> None:
    records = Records(["id"], [(1,), (2,)])

    assert records == [{"id": 1}, {"id": 2}]
    assert records == Records(["id"], [[1], [2]])
    assert records != [{"id": 1}]
    assert records != Records(["key"], [(1,), (2,)])
