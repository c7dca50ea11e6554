"""The parameters of `ab_test`: their JSON Schema, and reading them from JSON with a 400 naming
the first wrong one. What needs the tables (names of tables and columns, group values) is
checked by `AbTestMetric.validate` after this."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from domain.analytics.experiment import AbTestParams, Aggregate, Assignments, DateRange
from domain.analytics.statistics import DEFAULT_ALPHA
from domain.shared.errors import InvalidParameter
from domain.shared.metrics import JsonObject

DEFAULT_ASSIGNMENTS = {
    "table": "experiment_users",
    "user_column": "user_id",
    "group_column": "pilot",
    "control": "0",
    "treatment": "1",
}
"""The layout of the course's own experiment_users.csv: user_id, pilot (0 control, 1 pilot)."""
MAX_NAME_LENGTH = 63
"""A column name: at most 63 bytes, as loading makes them (checked against the table after)."""
MAX_TABLE_NAME_LENGTH = 255
"""A table name: a file name's stem, at most 255 bytes (checked against the tables after)."""
MAX_GROUP_VALUE_LENGTH = 200
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
_TABLE: dict[str, Any] = {**_NAME, "maxLength": MAX_TABLE_NAME_LENGTH, "x-kind": "table"}
_GROUP: dict[str, Any] = {
    "type": ["string", "integer", "boolean"],
    "minLength": 1,
    "maxLength": MAX_GROUP_VALUE_LENGTH,
    "description": 'A value of group_column, compared as text (0 and "0" are the same)',
}
_DATE: dict[str, Any] = {
    "type": ["string", "null"],
    "format": "date",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
}
_PER_USER = [Aggregate.SUM.value, Aggregate.COUNT.value, Aggregate.MEAN.value]


def _column(*, numeric: bool, optional: bool = True) -> dict[str, Any]:
    """A column of the table its sibling `table` names."""
    spec: dict[str, Any] = {**_NAME, "x-kind": "column", "x-table": "table"}
    if optional:
        spec["type"] = ["string", "null"]
    if numeric:
        spec["x-numeric"] = True
    return spec


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ab_test",
    "description": "Keywords starting with x- are hints for forms: x-kind says a string names "
    "a table or a column, x-table which sibling parameter names that column's table, "
    "x-numeric that only numeric (or boolean) columns fit, x-aggregates the aggregates a "
    "parameter applies to.",
    "type": "object",
    "required": ["table"],
    "additionalProperties": False,
    "properties": {
        "table": {**_TABLE, "title": "Events table", "description": "Such as df_sales"},
        "aggregate": {
            "title": "Per user",
            "enum": [kind.value for kind in Aggregate],
            "default": Aggregate.SUM.value,
            "description": "Per user over the window: sum, count or mean of value (users "
            "without events count 0 for sum and count and are left out of mean); or ratio, "
            "sum(numerator) / sum(denominator) over each group's users by the delta method",
        },
        "value": {
            **_column(numeric=True),
            "title": "Value",
            "x-aggregates": _PER_USER,
            "description": "A numeric (or boolean) column of the events table; omitted to count "
            "rows. Not with ratio",
        },
        "numerator": {
            **_column(numeric=True),
            "title": "Numerator",
            "x-aggregates": [Aggregate.RATIO.value],
            "description": "Ratio only: the column summed above the line",
        },
        "denominator": {
            **_column(numeric=True),
            "title": "Denominator",
            "x-aggregates": [Aggregate.RATIO.value],
            "description": "Ratio only: the column summed below the line; omitted to count rows "
            "(revenue per order)",
        },
        "from_date": {
            **_DATE,
            "title": "From",
            "description": "The window's first day (inclusive)",
        },
        "to_date": {**_DATE, "title": "To", "description": "The window's last day (inclusive)"},
        "cuped": {
            "type": "boolean",
            "title": "CUPED",
            "default": False,
            "x-aggregates": _PER_USER,
            "description": "Use the same aggregate over the equally long period before "
            "from_date as a covariate (needs from_date and to_date; not with ratio)",
        },
        "alpha": {
            "type": "number",
            "title": "Alpha",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": DEFAULT_ALPHA,
            "description": "Intervals are at 1 - alpha; a difference is significant at p < alpha",
        },
        "assignments": {
            "type": "object",
            "title": "Assignments",
            "description": "The table saying which user is in which group",
            "additionalProperties": False,
            "properties": {
                "table": {
                    **_TABLE,
                    "title": "Assignment table",
                    "default": DEFAULT_ASSIGNMENTS["table"],
                },
                "user_column": {
                    **_column(numeric=False, optional=False),
                    "title": "User column",
                    "default": DEFAULT_ASSIGNMENTS["user_column"],
                },
                "group_column": {
                    **_column(numeric=False, optional=False),
                    "title": "Group column",
                    "default": DEFAULT_ASSIGNMENTS["group_column"],
                },
                "control": {
                    **_GROUP,
                    "title": "Control group",
                    "default": DEFAULT_ASSIGNMENTS["control"],
                },
                "treatment": {
                    **_GROUP,
                    "title": "Treatment group",
                    "default": DEFAULT_ASSIGNMENTS["treatment"],
                },
            },
        },
    },
}
"""The JSON Schema of the parameters, as the registry endpoint shows it."""


def parse_params(params: Mapping[str, object]) -> AbTestParams:
    """The parameters read and cross-checked; InvalidParameter names the first wrong one."""
    _known(params, SCHEMA["properties"], prefix="")
    table = _name(params.get("table"), "table", required=True, limit=MAX_TABLE_NAME_LENGTH)
    assignments = _assignments(params.get("assignments"))
    aggregate = _aggregate(params.get("aggregate", Aggregate.SUM.value))
    value, numerator, denominator = _measures(params, aggregate)
    from_date, to_date = _date(params, "from_date"), _date(params, "to_date")
    if from_date is not None and to_date is not None and from_date > to_date:
        raise InvalidParameter(
            "from_date", f"from_date ({from_date}) is after to_date ({to_date})."
        )
    cuped = _cuped(params.get("cuped", False), aggregate, from_date=from_date, to_date=to_date)
    return AbTestParams(
        assignments=assignments,
        table=table,
        aggregate=aggregate,
        value=value,
        numerator=numerator,
        denominator=denominator,
        from_date=from_date,
        to_date=to_date,
        alpha=_alpha(params.get("alpha", DEFAULT_ALPHA)),
        cuped=cuped,
    )


def _measures(
    params: Mapping[str, object], aggregate: Aggregate
) -> tuple[str | None, str | None, str | None]:
    """value, numerator and denominator, as the aggregate takes them."""
    value = _optional_name(params, "value")
    numerator = _optional_name(params, "numerator")
    denominator = _optional_name(params, "denominator")
    if aggregate is Aggregate.RATIO:
        if numerator is None:
            raise InvalidParameter("numerator", "a ratio needs a numerator column.")
        if value is not None:
            raise InvalidParameter("value", "a ratio takes numerator and denominator, not value.")
        return None, numerator, denominator
    for name, given in (("numerator", numerator), ("denominator", denominator)):
        if given is not None:
            raise InvalidParameter(name, f"{name} is for aggregate ratio only.")
    if aggregate is Aggregate.MEAN and value is None:
        raise InvalidParameter("value", "a mean needs a value column.")
    return value, None, None


def _cuped(
    raw: object, aggregate: Aggregate, *, from_date: dt.date | None, to_date: dt.date | None
) -> bool:
    if not isinstance(raw, bool):
        raise InvalidParameter("cuped", "it must be true or false.")
    if raw:
        if aggregate is Aggregate.RATIO:
            raise InvalidParameter("cuped", "CUPED applies to sum, count and mean, not ratio.")
        if from_date is None or to_date is None:
            raise InvalidParameter(
                "from_date" if from_date is None else "to_date",
                "CUPED needs from_date and to_date: its pre-period is as long.",
            )
        try:
            DateRange(start=from_date, end=to_date).before()
        except OverflowError:
            raise InvalidParameter(
                "from_date", "the pre-period of CUPED would start before year 1."
            ) from None
    return raw


def params_json(params: AbTestParams) -> JsonObject:
    """The parameters as JSON again, every default written out."""
    assignments = params.assignments
    return {
        "assignments": {
            "table": assignments.table,
            "user_column": assignments.user_column,
            "group_column": assignments.group_column,
            "control": assignments.control,
            "treatment": assignments.treatment,
        },
        "table": params.table,
        "value": params.value,
        "aggregate": params.aggregate.value,
        "numerator": params.numerator,
        "denominator": params.denominator,
        "from_date": params.from_date.isoformat() if params.from_date else None,
        "to_date": params.to_date.isoformat() if params.to_date else None,
        "alpha": params.alpha,
        "cuped": params.cuped,
    }


def _known(given: Mapping[str, object], known: Mapping[str, object], *, prefix: str) -> None:
    for key in given:
        if key not in known:
            listed = ", ".join(known)
            raise InvalidParameter(
                f"{prefix}{key}", f"there is no such parameter; the parameters are {listed}."
            )


def _assignments(raw: object) -> Assignments:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InvalidParameter("assignments", "it must be an object.")
    _known(raw, DEFAULT_ASSIGNMENTS, prefix="assignments.")
    names = {
        key: _name(
            raw.get(key, DEFAULT_ASSIGNMENTS[key]),
            f"assignments.{key}",
            required=True,
            limit=MAX_TABLE_NAME_LENGTH if key == "table" else MAX_NAME_LENGTH,
        )
        for key in ("table", "user_column", "group_column")
    }
    control = _group_value(raw.get("control", DEFAULT_ASSIGNMENTS["control"]), "control")
    treatment = _group_value(raw.get("treatment", DEFAULT_ASSIGNMENTS["treatment"]), "treatment")
    if control == treatment:
        raise InvalidParameter(
            "assignments.treatment", f"control and treatment are both {control!r}."
        )
    return Assignments(
        table=names["table"],
        user_column=names["user_column"],
        group_column=names["group_column"],
        control=control,
        treatment=treatment,
    )


def _group_value(raw: object, key: str) -> str:
    """A group value as PostgreSQL's `::text` writes it: 0 is "0", true is "true"."""
    parameter = f"assignments.{key}"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str) or not raw:
        raise InvalidParameter(parameter, "it must be a non-empty string, an integer or a boolean.")
    if len(raw) > MAX_GROUP_VALUE_LENGTH:
        raise InvalidParameter(parameter, f"it is longer than {MAX_GROUP_VALUE_LENGTH} characters.")
    return raw


def _name(raw: object, parameter: str, *, required: bool, limit: int = MAX_NAME_LENGTH) -> str:
    if not isinstance(raw, str) or not raw:
        missing = "it is required" if required and raw is None else "it must be a non-empty string"
        raise InvalidParameter(parameter, f"{missing}: a table or column name.")
    if len(raw.encode()) > limit:
        raise InvalidParameter(parameter, f"it is longer than {limit} bytes.")
    return raw


def _optional_name(params: Mapping[str, object], parameter: str) -> str | None:
    raw = params.get(parameter)
    return None if raw is None else _name(raw, parameter, required=False)


def _aggregate(raw: object) -> Aggregate:
    for kind in Aggregate:
        if raw == kind.value:
            return kind
    listed = ", ".join(kind.value for kind in Aggregate)
    raise InvalidParameter("aggregate", f"{raw!r} is not one of {listed}.")


def _date(params: Mapping[str, object], parameter: str) -> dt.date | None:
    raw = params.get(parameter)
    if raw is None:
        return None
    if isinstance(raw, str) and ISO_DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise InvalidParameter(parameter, f"{raw!r} is not a date (YYYY-MM-DD).")


def _alpha(raw: object) -> float:
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or not 0 < raw < 1
    ):
        raise InvalidParameter("alpha", f"{raw!r} is not a number strictly between 0 and 1.")
    return float(raw)
