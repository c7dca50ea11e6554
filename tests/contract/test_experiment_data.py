"""The same assertions over the in-memory experiment data (plain Python, row by row) and the
PostgreSQL one (one SQL statement), on files whose expected aggregates are worked out by hand
in the comments."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.experiment_data import PostgresExperimentData
from adapters.postgres.loading.loader import PostgresTableLoader
from domain.analytics.experiment import (
    Aggregate,
    AggregateQuery,
    Assignments,
    ColumnKind,
    DateRange,
    GroupValues,
    Measure,
)
from domain.analytics.ports import ExperimentData
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes import InMemoryExperimentData, InMemoryTables

ASSIGNMENTS = """user_id,pilot
000001,0
000002,1
000003,0
000004,1
000005,0
000005,1
000006,1
000006,1
000007,2
,0
000009,0
"""
"""000005 is in both groups (left out); 000006 is listed twice; 000007 is in neither; a row
has no user; 000009 has no events at all."""

EVENTS = """sale_id,date,price,user_id,paid,units
1,2024-01-01 10:00:00,10.50,000001,true,1
2,2024-01-02 11:00:00,7,000002,false,2
3,2024-01-03 23:59:59,3.25,000001,yes,
4,,1,000003,no,1
5,2024-01-03 09:30:00,2.75,000002,true,3
6,2023-12-31 10:00:00,4,000001,true,1
7,2023-12-30 10:00:00,,000003,false,2
8,2024-01-04 00:00:00,100,000004,true,1
9,2024-01-02 12:00:00,5,000005,true,1
10,2024-01-02 12:00:00,6,000099,true,1
11,2024-01-03 12:00:00,,000006,false,
12,2023-12-29 12:00:00,8,000006,true,4
"""
"""The window is 2024-01-01 to 2024-01-03, its pre-period 2023-12-29 to 2023-12-31. In the
window: 000001 has rows 1 and 3, 000002 rows 2 and 5, 000006 row 11 (no price); 000003's row
4 has no date, 000004's row 8 is a day late. Before it: 000001 row 6, 000003 row 7 (no
price), 000006 row 12."""

GROUPS = Assignments(
    table="assignments", user_column="user_id", group_column="pilot", control="0", treatment="1"
)


@pytest.fixture(params=["in_memory", "postgres"])
def data(request: pytest.FixtureRequest, data_dir: Path) -> ExperimentData:
    files = {"assignments": ASSIGNMENTS, "events": EVENTS}
    if request.param == "in_memory":
        tables = InMemoryTables()
        for name, text in files.items():
            tables.sources.put(name, text)
        return InMemoryExperimentData(tables)
    for name, text in files.items():
        (data_dir / f"{name}.csv").write_text(text)
    pool: AsyncConnectionPool = request.getfixturevalue("pool")
    load_table = LoadTable(
        FileSystemTableSources(data_dir),
        PostgresTableCatalog(pool),
        PostgresTableLoader(pool, data_dir),
    )
    return PostgresExperimentData(pool, load_table)


def query(
    aggregate: Aggregate,
    value: str | None = "price",
    *,
    denominator: str | None = None,
    since: dt.date | None = dt.date(2024, 1, 1),
    until: dt.date | None = dt.date(2024, 1, 3),
    cuped: bool = False,
    kinds: dict[str, ColumnKind] | None = None,
) -> AggregateQuery:
    kind = (kinds or {}).get
    return AggregateQuery(
        assignments=GROUPS,
        table="events",
        user_column="user_id",
        date_column="date",
        aggregate=aggregate,
        value=Measure(column=value, kind=kind(value, ColumnKind.NUMBER)) if value else None,
        denominator=(
            Measure(column=denominator, kind=kind(denominator, ColumnKind.NUMBER))
            if denominator
            else None
        ),
        since=since,
        until=until,
        pre_period=(
            DateRange(start=dt.date(2023, 12, 29), end=dt.date(2023, 12, 31)) if cuped else None
        ),
    )


@dataclass(frozen=True)
class Seen:
    assigned: int
    users: list[tuple[float, ...]]
    """Each analysed user's (metric[, denominator][, covariate]), sorted: arrays come in no
    particular order, but their values must stay aligned per user."""


def seen(group: GroupValues) -> Seen:
    columns = [group.metric.tolist()]
    for extra in (group.denominator, group.covariate):
        if extra is not None:
            columns.append(extra.tolist())
    assert len({len(column) for column in columns}) == 1
    return Seen(group.assigned, sorted(zip(*columns, strict=True)))


async def both(data: ExperimentData, asked: AggregateQuery) -> tuple[Seen, Seen, int]:
    answer = await data.user_aggregates(asked)
    return seen(answer.control), seen(answer.treatment), answer.excluded


async def test_describe_gives_each_columns_kind_and_the_date_and_user_columns(
    data: ExperimentData,
) -> None:
    table = await data.describe("events")

    assert table is not None
    assert dict(table.columns) == {
        "sale_id": ColumnKind.NUMBER,
        "date": ColumnKind.TEMPORAL,
        "price": ColumnKind.NUMBER,
        "user_id": ColumnKind.TEXT,
        "paid": ColumnKind.BOOLEAN,
        "units": ColumnKind.NUMBER,
    }
    assert (table.name, table.date_column, table.user_column) == ("events", "date", "user_id")


@pytest.mark.parametrize("name", ["df_missing", "../events", ""])
async def test_describe_answers_none_for_a_table_there_is_not(
    data: ExperimentData, name: str
) -> None:
    assert await data.describe(name) is None


@pytest.mark.parametrize(
    ("control", "treatment", "found"),
    [("0", "1", {"0", "1"}), ("0", "7", {"0"}), ("2", "3", {"2"}), ("x", "y", set())],
)
async def test_groups_found_compares_group_values_as_text(
    data: ExperimentData, control: str, treatment: str, found: set[str]
) -> None:
    await data.describe("assignments")
    groups = Assignments(
        table="assignments",
        user_column="user_id",
        group_column="pilot",
        control=control,
        treatment=treatment,
    )

    assert await data.groups_found(groups) == found


async def test_a_sum_counts_users_without_events_as_zero_and_leaves_out_users_in_both_groups(
    data: ExperimentData,
) -> None:
    await data.describe("assignments")
    await data.describe("events")

    control, treatment, excluded = await both(data, query(Aggregate.SUM))

    # 000001: 10.50 + 3.25; 000003 (undated) and 000009: nothing.
    assert control == Seen(3, [(0.0,), (0.0,), (13.75,)])
    # 000002: 7 + 2.75; 000004 (a day late): nothing; 000006: a blank price.
    assert treatment == Seen(3, [(0.0,), (0.0,), (9.75,)])
    assert excluded == 1


async def test_a_count_counts_rows_or_the_values_of_a_column(data: ExperimentData) -> None:
    await data.describe("assignments")
    await data.describe("events")

    rows = await both(data, query(Aggregate.COUNT, None))
    values = await both(data, query(Aggregate.COUNT, "price"))

    assert rows[:2] == (Seen(3, [(0.0,), (0.0,), (2.0,)]), Seen(3, [(0.0,), (1.0,), (2.0,)]))
    assert values[:2] == (Seen(3, [(0.0,), (0.0,), (2.0,)]), Seen(3, [(0.0,), (0.0,), (2.0,)]))


async def test_a_boolean_column_counts_as_zero_or_one(data: ExperimentData) -> None:
    await data.describe("assignments")
    await data.describe("events")

    control, treatment, _ = await both(
        data, query(Aggregate.SUM, "paid", kinds={"paid": ColumnKind.BOOLEAN})
    )

    assert control == Seen(3, [(0.0,), (0.0,), (2.0,)])
    assert treatment == Seen(3, [(0.0,), (0.0,), (1.0,)])


async def test_a_mean_leaves_out_users_without_a_value_and_its_covariate_is_nan_without_one(
    data: ExperimentData,
) -> None:
    await data.describe("assignments")
    await data.describe("events")

    control, treatment, _ = await both(data, query(Aggregate.MEAN, cuped=True))

    assert control.assigned == 3
    assert control.users == [(6.875, 4.0)]
    assert treatment.assigned == 3
    [(mean, covariate)] = treatment.users
    assert mean == 4.875
    assert math.isnan(covariate)  # 000002 bought nothing before


async def test_a_ratio_keeps_users_with_events_in_the_window_and_sums_blanks_as_zero(
    data: ExperimentData,
) -> None:
    await data.describe("assignments")
    await data.describe("events")

    per_row = await both(data, query(Aggregate.RATIO, "price"))
    per_unit = await both(data, query(Aggregate.RATIO, "price", denominator="units"))

    assert per_row[:2] == (Seen(3, [(13.75, 2.0)]), Seen(3, [(0.0, 1.0), (9.75, 2.0)]))
    assert per_unit[:2] == (Seen(3, [(13.75, 1.0)]), Seen(3, [(0.0, 0.0), (9.75, 5.0)]))


async def test_the_pre_period_gives_each_user_the_same_aggregate_as_a_covariate(
    data: ExperimentData,
) -> None:
    await data.describe("assignments")
    await data.describe("events")

    control, treatment, _ = await both(data, query(Aggregate.SUM, cuped=True))

    # 000001 spent 4 before; 000003's row before has no price; 000006 spent 8.
    assert control == Seen(3, [(0.0, 0.0), (0.0, 0.0), (13.75, 4.0)])
    assert treatment == Seen(3, [(0.0, 0.0), (0.0, 8.0), (9.75, 0.0)])


@pytest.mark.parametrize(
    ("since", "until", "control", "treatment"),
    [
        # Every dated and undated row: 000003's undated row 4 and its row 7 (no price) too.
        (None, None, [1.0, 17.75, 0.0], [9.75, 100.0, 8.0]),
        (dt.date(2024, 1, 2), None, [3.25, 0.0, 0.0], [9.75, 100.0, 0.0]),
        (None, dt.date(2023, 12, 31), [4.0, 0.0, 0.0], [0.0, 0.0, 8.0]),
        (dt.date(2024, 1, 3), dt.date(2024, 1, 3), [3.25, 0.0, 0.0], [2.75, 0.0, 0.0]),
    ],
)
async def test_window_ends_are_whole_days_and_either_may_be_open(
    data: ExperimentData,
    since: dt.date | None,
    until: dt.date | None,
    control: list[float],
    treatment: list[float],
) -> None:
    await data.describe("assignments")
    await data.describe("events")

    got = await both(data, query(Aggregate.SUM, since=since, until=until))

    assert [value for (value,) in got[0].users] == sorted(control)
    assert [value for (value,) in got[1].users] == sorted(treatment)


async def test_a_group_nobody_is_in_has_no_users(data: ExperimentData) -> None:
    await data.describe("assignments")
    await data.describe("events")
    nobody = Assignments(
        table="assignments",
        user_column="user_id",
        group_column="pilot",
        control="0",
        treatment="9",
    )
    asked = query(Aggregate.SUM, cuped=True)

    answer = await data.user_aggregates(replace(asked, assignments=nobody))

    assert seen(answer.treatment) == Seen(0, [])
    assert answer.control.assigned == 4
