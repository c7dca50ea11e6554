"""Experiments over the loaded tables: descriptions from the tables context, aggregates by SQL.

The analytics context may not import the tables context; this adapter bridges them. A table
is described by loading it through `LoadTable` (so a first analysis loads its CSV file, as a
first `/logs` does), and its names then reach SQL only as `sql.Identifier`. Statements that
have parameters run on a raw cursor with `$n` placeholders, so that no identifier is ever
re-read for `%` placeholders.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from psycopg import AsyncRawCursor, sql
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.pool import UNBOUNDED_STATEMENT
from adapters.postgres.schema import stored_table
from adapters.postgres.statements import Parameters, fetch_all
from domain.analytics.experiment import (
    Aggregate,
    AggregateQuery,
    Assignments,
    ColumnKind,
    DataTable,
    Floats,
    GroupValues,
    Measure,
    UserAggregates,
)
from domain.analytics.ports import ExperimentData
from domain.tables.errors import InvalidTableName, TableNotFound
from domain.tables.model import ColumnType, TableInfo, TableName
from domain.tables.use_cases.load_table import LoadTable

KIND = {
    ColumnType.BIGINT: ColumnKind.NUMBER,
    ColumnType.NUMERIC: ColumnKind.NUMBER,
    ColumnType.BOOLEAN: ColumnKind.BOOLEAN,
    ColumnType.DATE: ColumnKind.TEMPORAL,
    ColumnType.TIMESTAMP: ColumnKind.TEMPORAL,
    ColumnType.TIMESTAMPTZ: ColumnKind.TEMPORAL,
    ColumnType.TEXT: ColumnKind.TEXT,
}

GROUPS_FOUND = sql.SQL("""
SELECT wanted.value FROM (VALUES ($1::text), ($2::text)) AS wanted (value)
WHERE EXISTS (
    SELECT FROM {table} WHERE {group}::text = wanted.value AND {user} IS NOT NULL
)
""")
"""Which of the two group values some user has: each search stops at its first match."""

WORK_MEM = "SET LOCAL work_mem = '64MB'"
"""Room for the hash tables of a few hundred thousand users: without it, an analysis of a
million sales spills its joins to disk and takes twice as long. It lasts one transaction."""

USER_AGGREGATES = sql.SQL("""
WITH assigned AS (
    SELECT {a_user}::text AS user_id, min({a_group}::text) AS arm, max({a_group}::text) AS other
    FROM {a_table}
    WHERE {a_user} IS NOT NULL AND {a_group}::text IN ($1, $2)
    GROUP BY 1
), per_user AS (
    SELECT {e_user}::text AS user_id,
           {metric} AS metric,
           {denominator} AS denominator,
           {covariate} AS covariate,
           count(*) FILTER (WHERE {in_window}) AS window_rows
    FROM {e_table}
    WHERE {in_scan}
    GROUP BY 1
)
SELECT a.arm,
       count(*) FILTER (WHERE a.arm = a.other) AS assigned,
       array_agg({metric_value}) FILTER (WHERE a.arm = a.other AND {analysed}) AS metric,
       array_agg({denominator_value}) FILTER (WHERE a.arm = a.other AND {analysed})
           AS denominator,
       array_agg({covariate_value}) FILTER (WHERE a.arm = a.other AND {analysed}) AS covariate,
       count(*) FILTER (WHERE a.arm <> a.other) AS excluded
FROM assigned a LEFT JOIN per_user e USING (user_id)
GROUP BY a.arm
""")
"""Each assigned user's aggregate, one array per group: one pass over the events table
(window and pre-period together), joined to the assigned users. A user with both group
values has min <> max: counted as excluded (under the smaller value), analysed in neither.
Every aggregate of a group sees the same rows under the same filter, so the arrays line up
user by user."""


class PostgresExperimentData(ExperimentData):
    def __init__(self, pool: AsyncConnectionPool, load_table: LoadTable) -> None:
        self._pool = pool
        self._load_table = load_table

    async def describe(self, table: str) -> DataTable | None:
        try:
            served = await self._load_table(table)
        except (TableNotFound, InvalidTableName):
            return None
        return data_table(served.table)

    async def groups_found(self, assignments: Assignments) -> frozenset[str]:
        statement = GROUPS_FOUND.format(
            table=stored_table(TableName(assignments.table)),
            user=sql.Identifier(assignments.user_column),
            group=sql.Identifier(assignments.group_column),
        )
        params = Parameters()
        params.bind(assignments.control)
        params.bind(assignments.treatment)
        async with database_errors(), self._pool.connection() as conn:
            rows = await fetch_all(conn, statement, params)
        return frozenset(value for (value,) in rows)

    async def user_aggregates(self, query: AggregateQuery) -> UserAggregates:
        statement, params = aggregates_statement(query)
        async with database_errors(), self._pool.connection() as conn, conn.transaction():
            await conn.execute(WORK_MEM)
            # Bounded by the job's time limit instead (a killed run's backend notices its
            # client is gone within the pool's client check interval).
            await conn.execute(UNBOUNDED_STATEMENT)
            async with AsyncRawCursor(conn) as cur:
                await cur.execute(statement, params.values, binary=True)
                rows = await cur.fetchall()
        assignments = query.assignments
        groups = {row[0]: row for row in rows}
        return UserAggregates(
            control=_group(groups.get(assignments.control), query),
            treatment=_group(groups.get(assignments.treatment), query),
            excluded=sum(row[5] for row in rows),
        )


def data_table(info: TableInfo) -> DataTable:
    return DataTable(
        name=str(info.name),
        columns={column.name: KIND[column.type] for column in info.columns},
        date_column=info.date_column,
        user_column=info.user_column,
    )


def aggregates_statement(query: AggregateQuery) -> tuple[sql.Composed, Parameters]:
    """The one statement of `user_aggregates`, and its parameters."""
    assignments = query.assignments
    params = Parameters()
    params.bind(assignments.control)
    params.bind(assignments.treatment)
    date = sql.Identifier(query.date_column) if query.date_column is not None else None

    def days(since: dt.date | None, until: dt.date | None) -> sql.Composable:
        """Rows dated from `since` to `until`, both days included (PostgreSQL adds the day,
        so 9999-12-31 is fine)."""
        conditions: list[sql.Composable] = []
        if date is not None and since is not None:
            conditions.append(sql.SQL("{} >= {}").format(date, params.bind(since)))
        if date is not None and until is not None:
            conditions.append(sql.SQL("{} < {} + 1").format(date, params.bind(until)))
        return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")

    pre = query.pre_period
    in_window = days(query.since, query.until)
    in_pre = days(pre.start, pre.end) if pre is not None else None
    in_scan = days(pre.start if pre is not None else query.since, query.until)
    aggregate = query.aggregate
    metric = _aggregate(aggregate, query.value, in_window)
    covariate = _aggregate(aggregate, query.value, in_pre) if in_pre is not None else None
    denominator = None
    if aggregate is Aggregate.RATIO:
        denominator = _aggregate(Aggregate.SUM, query.denominator, in_window)

    if aggregate.keeps_users_without_events:
        analysed: sql.Composable = sql.SQL("true")
        missing = sql.SQL("0")
    elif aggregate is Aggregate.MEAN:
        analysed = sql.SQL("e.metric IS NOT NULL")
        missing = sql.SQL("'NaN'")
    else:
        analysed = sql.SQL("e.window_rows > 0")
        missing = sql.SQL("0")

    def value(column: str, present: bool, default: sql.Composable) -> sql.Composable:
        if not present:
            return sql.SQL("NULL::float8")
        return sql.SQL("coalesce(e.{}::float8, {})").format(sql.Identifier(column), default)

    statement = USER_AGGREGATES.format(
        a_user=sql.Identifier(assignments.user_column),
        a_group=sql.Identifier(assignments.group_column),
        a_table=stored_table(TableName(assignments.table)),
        e_user=sql.Identifier(query.user_column),
        e_table=stored_table(TableName(query.table)),
        metric=metric,
        denominator=denominator if denominator is not None else sql.SQL("NULL"),
        covariate=covariate if covariate is not None else sql.SQL("NULL"),
        in_window=in_window,
        in_scan=in_scan,
        metric_value=value("metric", True, sql.SQL("0")),
        denominator_value=value("denominator", denominator is not None, sql.SQL("0")),
        covariate_value=value("covariate", covariate is not None, missing),
        analysed=analysed,
    )
    return statement, params


def _aggregate(
    aggregate: Aggregate, measure: Measure | None, condition: sql.Composable
) -> sql.Composable:
    """A user's aggregate over the rows that meet `condition`; sums are exact (numeric)."""
    if measure is None:
        return sql.SQL("count(*) FILTER (WHERE {})").format(condition)
    column = sql.Identifier(measure.column)
    value = sql.SQL("{}::int").format(column) if measure.kind is ColumnKind.BOOLEAN else column
    function = {
        Aggregate.SUM: "sum",
        Aggregate.COUNT: "count",
        Aggregate.MEAN: "avg",
        Aggregate.RATIO: "sum",
    }[aggregate]
    return sql.SQL("{}({}) FILTER (WHERE {})").format(sql.SQL(function), value, condition)


def _group(row: tuple[object, ...] | None, query: AggregateQuery) -> GroupValues:
    if row is None:
        return GroupValues(
            assigned=0,
            metric=np.empty(0),
            denominator=np.empty(0) if query.aggregate is Aggregate.RATIO else None,
            covariate=np.empty(0) if query.pre_period is not None else None,
        )
    _, assigned, metric, denominator, covariate, _ = row
    assert isinstance(assigned, int)
    return GroupValues(
        assigned=assigned,
        metric=_floats(metric),
        denominator=_floats(denominator) if query.aggregate is Aggregate.RATIO else None,
        covariate=_floats(covariate) if query.pre_period is not None else None,
    )


def _floats(values: object) -> Floats:
    """An array_agg's values; it is NULL when no user of the group was analysed."""
    if values is None:
        return np.empty(0)
    return np.asarray(values, dtype=np.float64)
