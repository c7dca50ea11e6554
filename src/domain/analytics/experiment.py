"""An A/B test over stored tables: what is asked (`AbTestParams`), what the data store is asked
for (`AggregateQuery`), and what it answers (`UserAggregates`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


class ColumnKind(StrEnum):
    """What the analyses can do with a column."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    """Counts as 0 or 1: a conversion."""
    TEMPORAL = "temporal"
    TEXT = "text"

    @property
    def is_numeric(self) -> bool:
        return self in {ColumnKind.NUMBER, ColumnKind.BOOLEAN}


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTable:
    """A stored table as the analyses see it."""

    name: str
    columns: Mapping[str, ColumnKind]
    """By name, in the table's order."""
    date_column: str | None
    """The column windows are over: the one `/logs` orders by."""
    user_column: str | None
    """The column that names an event's user: the one `/logs` filters on."""


class Aggregate(StrEnum):
    """How a user's events in the window become the user's value."""

    SUM = "sum"
    COUNT = "count"
    MEAN = "mean"
    RATIO = "ratio"
    """sum(numerator) / sum(denominator) over the group's users, by the delta method."""

    @property
    def keeps_users_without_events(self) -> bool:
        """Users with no events count 0 for sum and count; mean and ratio leave them out."""
        return self in {Aggregate.SUM, Aggregate.COUNT}


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignments:
    """Which user is in which group: a table of (user, group) rows."""

    table: str
    user_column: str
    group_column: str
    control: str
    treatment: str
    """Group values, compared as text with the column's values as text."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DateRange:
    """Days `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def before(self) -> DateRange:
        """The equally long range just before this one: CUPED's pre-period."""
        length = dt.timedelta(days=self.days)
        return DateRange(start=self.start - length, end=self.start - dt.timedelta(days=1))


@dataclass(frozen=True, slots=True, kw_only=True)
class AbTestParams:
    """The parameters of `ab_test`, checked and with every default filled in."""

    assignments: Assignments
    table: str
    """The events table."""
    aggregate: Aggregate
    value: str | None
    """The column summed, counted or averaged; None counts rows (sum and count only)."""
    numerator: str | None
    denominator: str | None
    """Ratio only; a None denominator counts rows (revenue per order)."""
    from_date: dt.date | None
    to_date: dt.date | None
    alpha: float
    cuped: bool

    @property
    def window(self) -> DateRange | None:
        """The window when both ends are given."""
        if self.from_date is None or self.to_date is None:
            return None
        return DateRange(start=self.from_date, end=self.to_date)


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """A column a user's values come from."""

    column: str
    kind: ColumnKind


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateQuery:
    """One pass over an events table: each assigned user's value, by group.

    Column names have been checked against the tables' descriptions.
    """

    assignments: Assignments
    table: str
    user_column: str
    date_column: str | None
    aggregate: Aggregate
    value: Measure | None
    """Summed, counted (non-null values) or averaged; the numerator of a ratio. None counts
    rows."""
    denominator: Measure | None
    """Ratio only: summed; None counts rows."""
    since: dt.date | None
    until: dt.date | None
    """The window's days, both included; None leaves that end open."""
    pre_period: DateRange | None
    """When given, each user's same aggregate over it is the covariate."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupValues:
    """One group's users: those assigned, and one value per user analysed."""

    assigned: int
    """Users the assignment table puts in the group (for the sample-ratio check)."""
    metric: Floats
    """One value per user analysed; the numerator's sum for a ratio."""
    denominator: Floats | None
    """A ratio's denominator per user, aligned with `metric`."""
    covariate: Floats | None
    """The same aggregate over the pre-period per user, aligned with `metric`; NaN where a
    user has none to average (mean)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAggregates:
    control: GroupValues
    treatment: GroupValues
    excluded: int
    """Users the assignment table puts in both groups: left out of both."""
