"""The analytics context's port in memory: the tables of `InMemoryTables`, aggregated per user
in plain Python, row by row. The contract tests hold the SQL to it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal

import numpy as np

from domain.analytics.experiment import (
    Aggregate,
    AggregateQuery,
    Assignments,
    ColumnKind,
    DataTable,
    GroupValues,
    Measure,
    UserAggregates,
)
from domain.analytics.ports import ExperimentData
from domain.tables.errors import InvalidTableName, TableNotFound
from domain.tables.logs import Row
from domain.tables.model import ColumnType, TableName
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes.tables import InMemoryTables, as_text

KINDS = {
    ColumnType.BIGINT: ColumnKind.NUMBER,
    ColumnType.NUMERIC: ColumnKind.NUMBER,
    ColumnType.BOOLEAN: ColumnKind.BOOLEAN,
    ColumnType.DATE: ColumnKind.TEMPORAL,
    ColumnType.TIMESTAMP: ColumnKind.TEMPORAL,
    ColumnType.TIMESTAMPTZ: ColumnKind.TEMPORAL,
    ColumnType.TEXT: ColumnKind.TEXT,
}

Number = Decimal | int


class InMemoryExperimentData(ExperimentData):
    def __init__(self, tables: InMemoryTables) -> None:
        self.tables = tables
        self.load_table = LoadTable(tables.sources, tables.catalog, tables.loader)
        self.queries: list[AggregateQuery] = []

    async def describe(self, table: str) -> DataTable | None:
        try:
            info = (await self.load_table(table)).table
        except (TableNotFound, InvalidTableName):
            return None
        return DataTable(
            name=str(info.name),
            columns={column.name: KINDS[column.type] for column in info.columns},
            date_column=info.date_column,
            user_column=info.user_column,
        )

    async def groups_found(self, assignments: Assignments) -> frozenset[str]:
        rows = self._rows(assignments.table)
        values = {
            as_text(row[assignments.group_column])
            for row in rows
            if row[assignments.user_column] is not None
        }
        return frozenset({assignments.control, assignments.treatment} & values)

    async def user_aggregates(self, query: AggregateQuery) -> UserAggregates:
        self.queries.append(query)
        arms = self._arms(query.assignments)
        events: dict[str, list[Row]] = defaultdict(list)
        for row in self._rows(query.table):
            user = as_text(row[query.user_column])
            if user is not None:
                events[user].append(row)
        assignments = query.assignments
        groups = {
            arm: self._group(
                query, [user for user, user_arms in arms.items() if user_arms == {arm}], events
            )
            for arm in (assignments.control, assignments.treatment)
        }
        return UserAggregates(
            control=groups[assignments.control],
            treatment=groups[assignments.treatment],
            excluded=sum(len(user_arms) > 1 for user_arms in arms.values()),
        )

    def _rows(self, table: str) -> list[Row]:
        return self.tables.database.rows[TableName(table)]

    def _arms(self, assignments: Assignments) -> dict[str, set[str]]:
        wanted = {assignments.control, assignments.treatment}
        arms: dict[str, set[str]] = defaultdict(set)
        for row in self._rows(assignments.table):
            user = as_text(row[assignments.user_column])
            arm = as_text(row[assignments.group_column])
            if user is not None and arm in wanted:
                arms[user].add(arm)
        return arms

    def _group(
        self, query: AggregateQuery, users: Sequence[str], events: dict[str, list[Row]]
    ) -> GroupValues:
        def dated(since: dt.date | None, until: dt.date | None) -> Callable[[Row], bool]:
            return lambda row: _in_days(row, query.date_column, since, until)

        in_window = dated(query.since, query.until)
        pre = query.pre_period
        in_pre = dated(pre.start, pre.end) if pre is not None else None
        metric, denominator, covariate = [], [], []
        for user in users:
            window = [row for row in events.get(user, []) if in_window(row)]
            value = _aggregate(query.aggregate, query.value, window)
            if query.aggregate is Aggregate.MEAN and value is None:
                continue
            if query.aggregate is Aggregate.RATIO and not window:
                continue
            metric.append(float(value or 0))
            if query.aggregate is Aggregate.RATIO:
                denominator.append(float(_aggregate(Aggregate.SUM, query.denominator, window) or 0))
            if in_pre is not None:
                before = [row for row in events.get(user, []) if in_pre(row)]
                prior = _aggregate(query.aggregate, query.value, before)
                covariate.append(
                    float("nan")
                    if prior is None and query.aggregate is Aggregate.MEAN
                    else float(prior or 0)
                )
        return GroupValues(
            assigned=len(users),
            metric=np.asarray(metric, dtype=np.float64),
            denominator=(
                np.asarray(denominator, dtype=np.float64)
                if query.aggregate is Aggregate.RATIO
                else None
            ),
            covariate=np.asarray(covariate, dtype=np.float64) if pre is not None else None,
        )


def _in_days(row: Row, column: str | None, since: dt.date | None, until: dt.date | None) -> bool:
    if column is None or (since is None and until is None):
        return True
    value = row[column]
    if value is None:
        return False
    if isinstance(value, dt.datetime):
        day = (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    else:
        assert isinstance(value, dt.date)
        day = value
    return (since is None or day >= since) and (until is None or day <= until)


def _aggregate(aggregate: Aggregate, measure: Measure | None, rows: list[Row]) -> Number | None:
    """What SQL's sum, count and avg make of the rows: blanks skipped, sums exact; None where
    SQL gives NULL (a sum or mean of nothing)."""
    if measure is None:
        return len(rows)
    values: list[Number] = []
    for row in rows:
        value = row[measure.column]
        if value is not None:
            assert isinstance(value, int | Decimal)  # bool is an int: True counts 1
            values.append(int(value) if isinstance(value, bool) else value)
    if aggregate is Aggregate.COUNT:
        return len(values)
    if not values:
        return None
    total = sum((Decimal(value) for value in values), Decimal(0))
    return total / len(values) if aggregate is Aggregate.MEAN else total
