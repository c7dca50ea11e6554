"""The analytics context's one port: the stored tables, as the analyses need them."""

from __future__ import annotations

from typing import Protocol

from domain.analytics.experiment import AggregateQuery, Assignments, DataTable, UserAggregates


class ExperimentData(Protocol):
    """Stored tables, read for experiments. Table and column names reach it checked against
    `describe`; user ids and group values are compared as text."""

    async def describe(self, table: str) -> DataTable | None:
        """Returns the table's columns (loading it first when it needs to be), or None when
        there is no such table."""
        ...

    async def groups_found(self, assignments: Assignments) -> frozenset[str]:
        """Returns which of the control and treatment values the assignment table gives to
        at least one user."""
        ...

    async def user_aggregates(self, query: AggregateQuery) -> UserAggregates:
        """Returns each assigned user's aggregate over the window, by group, computed where
        the data is (never by reading every event).

        A user assigned to both groups is left out of both. For sum and count every user of
        a group has a value, 0 without events in the window; for mean and ratio only users
        with events in the window have one (a mean also needs a non-null value). Numerator
        and denominator sums of a ratio count blanks as 0. With a pre-period, each analysed
        user's covariate is the same aggregate over it: 0 without events for sum and count,
        NaN for a mean without values.
        """
        ...
