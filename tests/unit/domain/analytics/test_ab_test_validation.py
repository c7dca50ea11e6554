"""`ab_test` checks its parameters against the tables before a job is queued: each mistake is
an error naming the parameter, and nothing is aggregated."""

from __future__ import annotations

from typing import Any

import pytest

from domain.analytics.ab_test import AbTestMetric
from domain.shared.errors import InvalidParameter
from domain.tables.errors import MalformedSource
from tests.support.fakes import InMemoryExperimentData, InMemoryTables

USERS = "user_id,pilot\n000001,0\n000002,1\n000003,0\n"
SALES = "sale_id,date,price,user_id,note\n1,2024-01-01,5,000001,x\n2,2024-01-02,7,000002,y\n"


@pytest.fixture
def data() -> InMemoryExperimentData:
    tables = InMemoryTables()
    tables.sources.put("experiment_users", USERS)
    tables.sources.put("df_sales", SALES)
    tables.sources.put("undated", "user_id,price\n000001,5\n")
    tables.sources.put("anonymous", "date,price\n2024-01-01,5\n")
    tables.sources.put("broken", "date,price\n2024-01-01,5\n2024-01-02\n")
    return InMemoryExperimentData(tables)


MISTAKES: list[tuple[dict[str, Any], str, str]] = [
    ({"table": "df_missing"}, "table", "no table named 'df_missing'"),
    ({"table": "../df_sales"}, "table", "no table"),
    ({"table": "df_sales", "assignments": {"table": "users"}}, "assignments.table", "'users'"),
    ({"table": "df_sales", "assignments": {"user_column": "uid"}}, "assignments.user_column",
     "user_id, pilot"),
    ({"table": "df_sales", "assignments": {"group_column": "arm"}}, "assignments.group_column",
     "no column 'arm'"),
    ({"table": "df_sales", "value": "revenue"}, "value", "sale_id, date, price, user_id, note"),
    ({"table": "df_sales", "value": "note"}, "value", "holds text, not numbers"),
    ({"table": "df_sales", "aggregate": "ratio", "numerator": "date"}, "numerator",
     "holds temporal"),
    ({"table": "df_sales", "aggregate": "ratio", "numerator": "price", "denominator": "user_id"},
     "denominator", "not numbers"),
    ({"table": "anonymous"}, "table", "no user_id column"),
    ({"table": "undated", "from_date": "2024-01-01"}, "from_date", "no date"),
    ({"table": "undated", "to_date": "2024-01-01"}, "to_date", "no date"),
    ({"table": "df_sales", "assignments": {"control": 2}}, "assignments.control",
     "pilot = '2'"),
    ({"table": "df_sales", "assignments": {"treatment": "true"}}, "assignments.treatment",
     "compared as text"),
    ({"table": "df_sales", "from_date": "2024-02-01", "to_date": "2024-01-01"}, "from_date",
     "after to_date"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "named", "says"), MISTAKES, ids=[f"{named}: {says}" for _, named, says in MISTAKES]
)
async def test_a_mistake_is_refused_naming_its_parameter_before_anything_is_aggregated(
    data: InMemoryExperimentData, params: dict[str, Any], named: str, says: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await AbTestMetric(data).validate(params)

    assert raised.value.parameter == named
    assert says in raised.value.detail
    assert data.queries == []


async def test_a_table_whose_file_cannot_be_read_says_where_it_breaks(
    data: InMemoryExperimentData,
) -> None:
    with pytest.raises(MalformedSource) as raised:
        await AbTestMetric(data).validate({"table": "broken"})

    assert raised.value.line == 3


async def test_a_table_is_loaded_when_first_named(data: InMemoryExperimentData) -> None:
    checked = await AbTestMetric(data).validate({"table": "df_sales", "value": "price"})

    assert checked["value"] == "price"
    assert {str(name) for name in data.tables.loader.loads} == {"experiment_users", "df_sales"}
