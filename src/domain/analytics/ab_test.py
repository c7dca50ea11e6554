"""The `ab_test` metric: did the treatment group's users differ from the control group's?

A run has two phases. `aggregating`: the data store turns the events table into one value per
assigned user over the window (and over the pre-period, for CUPED), in one pass where the data
is. `testing`: the per-user values go through Welch's t-test (sum, count, mean), the delta
method (ratio), CUPED when asked, and the sample-ratio check of the group sizes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from domain.analytics.cuped import cuped
from domain.analytics.experiment import (
    AbTestParams,
    Aggregate,
    AggregateQuery,
    DataTable,
    DateRange,
    Floats,
    Measure,
    UserAggregates,
)
from domain.analytics.parameters import SCHEMA, params_json, parse_params
from domain.analytics.ports import ExperimentData
from domain.analytics.ratio import RatioResult, RatioSummary, delta_method_from_samples
from domain.analytics.srm import SRM_P_VALUE_THRESHOLD, sample_ratio_mismatch
from domain.analytics.statistics import GroupSummary, WelchResult, welch_from_samples
from domain.shared.errors import InvalidParameter
from domain.shared.metrics import JsonObject, Metric, Progress

AGGREGATING = "aggregating"
TESTING = "testing"
AGGREGATED = 0.9
"""The fraction of a run done once the database has answered: nearly all of its time."""


class AbTestMetric(Metric):
    """Compares a per-user metric between the control and treatment groups of an experiment.

    - Each assigned user's events in the window (from_date to to_date, inclusive, over the
      events table's date column) become one value: their sum, count or mean; or, for a
      ratio, the sums of a numerator and a denominator.
    - Users without events in the window count 0 for sum and count and are left out of
      mean and ratio. Users the assignment table puts in both groups are left out.
    - User ids and group values are compared as text, whatever type their columns have.
    - Welch's t-test for sum, count and mean; the delta method for a ratio; intervals of the
      difference (treatment - control) at 1 - alpha.
    - CUPED, when asked: the same aggregate over the equally long period before from_date
      is the covariate; the adjusted figures come beside the raw ones.
    - The group sizes are checked against an even split (chi-square); a mismatch is flagged
      below p = 0.001, and then no difference can be trusted.
    """

    name = "ab_test"
    description = (
        "An A/B test over stored tables: a per-user metric over a window (sum, count or "
        "mean of a column, or a ratio of two sums), compared between a control and a "
        "treatment group by Welch's t-test or the delta method, optionally with CUPED, and "
        "with a sample-ratio-mismatch check. The groups come from an assignment table laid "
        "out like experiment_users.csv (user_id, pilot)."
    )
    parameters: Mapping[str, Any] = SCHEMA

    def __init__(self, data: ExperimentData) -> None:
        self._data = data

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        parsed = parse_params(params)
        await self._query(parsed)
        assignments = parsed.assignments
        found = await self._data.groups_found(assignments)
        for key in ("control", "treatment"):
            value = getattr(assignments, key)
            if value not in found:
                raise InvalidParameter(
                    f"assignments.{key}",
                    f"no user of {assignments.table!r} has {assignments.group_column} = "
                    f"{value!r} (values are compared as text).",
                )
        return params_json(parsed)

    async def run(self, params: Mapping[str, object], progress: Progress) -> JsonObject:
        parsed = parse_params(params)
        await progress.checkpoint(0.0, AGGREGATING)
        query = await self._query(parsed)
        aggregates = await self._data.user_aggregates(query)
        await progress.checkpoint(AGGREGATED, TESTING)
        return analyse(parsed, aggregates)

    async def _query(self, params: AbTestParams) -> AggregateQuery:
        """The query the parameters ask for, every name checked against the tables."""
        assignments = params.assignments
        assigned = await self._table(assignments.table, "assignments.table")
        for key in ("user_column", "group_column"):
            column = getattr(assignments, key)
            if column not in assigned.columns:
                raise InvalidParameter(
                    f"assignments.{key}", _no_column(assigned, column, "assignments.table")
                )
        events = await self._table(params.table, "table")
        if events.user_column is None:
            raise InvalidParameter(
                "table", f"table {events.name!r} has no user_id column to match users on."
            )
        for name in ("from_date", "to_date"):
            if getattr(params, name) is not None and events.date_column is None:
                raise InvalidParameter(
                    name, f"table {events.name!r} has no date or timestamp column."
                )
        value_name = "numerator" if params.aggregate is Aggregate.RATIO else "value"
        window = params.window
        return AggregateQuery(
            assignments=assignments,
            table=events.name,
            user_column=events.user_column,
            date_column=events.date_column,
            aggregate=params.aggregate,
            value=_measure(events, getattr(params, value_name), value_name),
            denominator=_measure(events, params.denominator, "denominator"),
            since=params.from_date,
            until=params.to_date,
            pre_period=window.before() if params.cuped and window else None,
        )

    async def _table(self, name: str, parameter: str) -> DataTable:
        table = await self._data.describe(name)
        if table is None:
            raise InvalidParameter(parameter, f"there is no table named {name!r}.")
        return table


def _no_column(table: DataTable, column: str, where: str) -> str:
    listed = ", ".join(table.columns)
    return f"{where} {table.name!r} has no column {column!r}; its columns are {listed}."


def _measure(table: DataTable, column: str | None, parameter: str) -> Measure | None:
    if column is None:
        return None
    kind = table.columns.get(column)
    if kind is None:
        raise InvalidParameter(parameter, _no_column(table, column, "table"))
    if not kind.is_numeric:
        raise InvalidParameter(
            parameter, f"column {column!r} of {table.name!r} holds {kind.value}, not numbers."
        )
    return Measure(column=column, kind=kind)


def analyse(params: AbTestParams, data: UserAggregates) -> JsonObject:
    """The test's result from the per-user values, as JSON (numbers as JSON numbers)."""
    control, treatment = data.control, data.treatment
    srm = sample_ratio_mismatch([control.assigned, treatment.assigned])
    common: JsonObject = {
        "alpha": params.alpha,
        "srm_p_value": srm.srm_p_value,
        "srm": srm.srm,
        "srm_threshold": SRM_P_VALUE_THRESHOLD,
        "excluded_users": data.excluded,
    }
    if params.aggregate is Aggregate.RATIO:
        assert control.denominator is not None
        assert treatment.denominator is not None
        ratio = delta_method_from_samples(
            control_numerator=control.metric,
            control_denominator=control.denominator,
            treatment_numerator=treatment.metric,
            treatment_denominator=treatment.denominator,
            alpha=params.alpha,
        )
        from scipy import special  # here: importing it takes a fifth of a second

        z = float(special.ndtri(1.0 - params.alpha / 2.0))
        return {
            "test": "delta_method",
            "control": _ratio_group(ratio.control, control.assigned, z),
            "treatment": _ratio_group(ratio.treatment, treatment.assigned, z),
            **_difference(ratio),
            **common,
            "cuped": None,
        }
    window = params.window
    if params.cuped and window is not None:
        assert control.covariate is not None
        assert treatment.covariate is not None
        control_x, treatment_x = _filled(control.covariate, treatment.covariate)
        adjusted = cuped(
            control_metric=control.metric,
            control_covariate=control_x,
            treatment_metric=treatment.metric,
            treatment_covariate=treatment_x,
            alpha=params.alpha,
        )
        raw = adjusted.unadjusted
        extra: JsonObject | None = {
            "theta": adjusted.theta,
            "variance_reduction": adjusted.variance_reduction,
            "pre_period": _range(window.before()),
            **_welch(adjusted.adjusted, control.assigned, treatment.assigned),
        }
    else:
        raw = welch_from_samples(
            control=control.metric, treatment=treatment.metric, alpha=params.alpha
        )
        extra = None
    return {
        "test": "welch_t",
        **_welch(raw, control.assigned, treatment.assigned),
        **common,
        "cuped": extra,
    }


def _welch(result: WelchResult, control_assigned: int, treatment_assigned: int) -> JsonObject:
    return {
        "control": _mean_group(result.control, control_assigned, result.alpha),
        "treatment": _mean_group(result.treatment, treatment_assigned, result.alpha),
        **_difference(result),
    }


def _difference(result: WelchResult | RatioResult) -> JsonObject:
    return {
        "difference": result.difference,
        "relative_difference": result.relative_difference,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "p_value": result.p_value,
        "standard_error": result.standard_error,
        "statistic": result.statistic,
    }


def _mean_group(summary: GroupSummary, assigned: int, alpha: float) -> JsonObject:
    """A group's mean with its own (1 - alpha) t interval, for the picture."""
    from scipy import special  # here: importing it takes a fifth of a second

    t = float(special.stdtrit(summary.users - 1, 1.0 - alpha / 2.0))
    half = t * summary.std / math.sqrt(summary.users)
    return {
        "assigned": assigned,
        "users": summary.users,
        "mean": summary.mean,
        "std": summary.std,
        "ci_low": summary.mean - half,
        "ci_high": summary.mean + half,
    }


def _ratio_group(summary: RatioSummary, assigned: int, z: float) -> JsonObject:
    """A group's ratio; `std` is that of the users' linearised values, so that std / sqrt(users)
    is the ratio's standard error as for a mean."""
    error = math.sqrt(summary.ratio_variance)
    return {
        "assigned": assigned,
        "users": summary.users,
        "mean": summary.ratio,
        "std": error * math.sqrt(summary.users),
        "ci_low": summary.ratio - z * error,
        "ci_high": summary.ratio + z * error,
    }


def _filled(control: Floats, treatment: Floats) -> tuple[Floats, Floats]:
    """Covariates of users without one to average (NaN) set to the others' mean: any value
    fixed before the experiment keeps CUPED unbiased, and the mean adjusts them least."""
    both = np.concatenate([control, treatment])
    known = both[~np.isnan(both)]
    fill = float(known.mean()) if known.size else 0.0
    return np.nan_to_num(control, nan=fill), np.nan_to_num(treatment, nan=fill)


def _range(days: DateRange) -> JsonObject:
    return {"from_date": days.start.isoformat(), "to_date": days.end.isoformat()}
