"""The SQL's per-user aggregates of the shipped data equal a plain-Python reading of its CSV
files, and the statement is safe whatever the names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.experiment_data import PostgresExperimentData
from adapters.postgres.loading.loader import PostgresTableLoader
from domain.analytics.ab_test import AbTestMetric
from domain.analytics.experiment import (
    Aggregate,
    AggregateQuery,
    Assignments,
    ColumnKind,
    DateRange,
    Measure,
)
from domain.shared.metrics import UNWATCHED
from domain.tables.use_cases.load_table import LoadTable
from tests.support.experiments import csv_per_user

WINDOW = DateRange(start=dt.date(2023, 10, 1), end=dt.date(2023, 12, 31))
COURSE = Assignments(
    table="experiment_users", user_column="user_id", group_column="pilot", control="0",
    treatment="1",
)  # fmt: skip


def experiment_data(pool: AsyncConnectionPool, folder: Path) -> PostgresExperimentData:
    return PostgresExperimentData(
        pool,
        LoadTable(
            FileSystemTableSources(folder),
            PostgresTableCatalog(pool),
            PostgresTableLoader(pool, folder),
        ),
    )


def sales_query(value: str | None, *, cuped: bool = False) -> AggregateQuery:
    return AggregateQuery(
        assignments=COURSE,
        table="df_sales",
        user_column="user_id",
        date_column="date",
        aggregate=Aggregate.SUM,
        value=Measure(column=value, kind=ColumnKind.NUMBER) if value else None,
        denominator=None,
        since=WINDOW.start,
        until=WINDOW.end,
        pre_period=WINDOW.before() if cuped else None,
    )


@pytest.mark.parametrize("value", ["price", "count_pizza", None])
async def test_per_user_sums_of_the_shipped_sales_equal_the_csvs_own(
    pool: AsyncConnectionPool, seeded_data_dir: Path, value: str | None
) -> None:
    data = experiment_data(pool, seeded_data_dir)
    await data.describe("experiment_users")
    await data.describe("df_sales")
    files = (seeded_data_dir / "df_sales.csv", seeded_data_dir / "experiment_users.csv")
    window = csv_per_user(*files, since=WINDOW.start, until=WINDOW.end, column=value)
    before = WINDOW.before()
    prior = csv_per_user(*files, since=before.start, until=before.end, column=value)

    answer = await data.user_aggregates(sales_query(value, cuped=True))

    for group, expected, covariates in (
        (answer.control, window.control, prior.control),
        (answer.treatment, window.treatment, prior.treatment),
    ):
        assert group.covariate is not None
        assert group.assigned == len(expected)
        assert sorted(zip(group.metric.tolist(), group.covariate.tolist(), strict=True)) == sorted(
            (float(expected[user]), float(covariates[user])) for user in expected
        )
    assert answer.excluded == 0


async def test_names_with_percent_signs_quotes_and_braces_reach_sql_only_as_identifiers(
    pool: AsyncConnectionPool, data_dir: Path
) -> None:
    (data_dir / "users 50%.csv").write_text('id %s,"arm ""{}"""\n000001,a\n000002,b\n000003,b\n')
    (data_dir / "events%%.csv").write_text(
        "when,user_id,Tax 5%\n2024-01-01,000001,1.5\n2024-01-02,000002,2\n2024-01-02,000003,4\n"
    )
    params = {
        "assignments": {
            "table": "users 50%",
            "user_column": "id %s",
            "group_column": 'arm "{}"',
            "control": "a",
            "treatment": "b",
        },
        "table": "events%%",
        "value": "Tax 5%",
        "from_date": "2024-01-01",
        "to_date": "2024-01-02",
    }
    metric = AbTestMetric(experiment_data(pool, data_dir))

    checked = await metric.validate(params)
    with pytest.raises(ValueError, match="control has 1 users"):
        await metric.run(checked, UNWATCHED)

    answer = await experiment_data(pool, data_dir).user_aggregates(
        AggregateQuery(
            assignments=Assignments(
                table="users 50%", user_column="id %s", group_column='arm "{}"', control="a",
                treatment="b",
            ),
            table="events%%",
            user_column="user_id",
            date_column="when",
            aggregate=Aggregate.SUM,
            value=Measure(column="Tax 5%", kind=ColumnKind.NUMBER),
            denominator=None,
            since=dt.date(2024, 1, 1),
            until=dt.date(2024, 1, 2),
            pre_period=None,
        )
    )  # fmt: skip
    assert answer.control.metric.tolist() == [1.5]
    assert sorted(answer.treatment.metric.tolist()) == [2.0, 4.0]
