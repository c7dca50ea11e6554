"""Reading `ab_test`'s parameters: each mistake is an error naming its parameter, and the JSON
Schema the registry shows agrees with what is accepted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest

from domain.analytics.experiment import Aggregate
from domain.analytics.parameters import SCHEMA, params_json, parse_params
from domain.shared.errors import InvalidParameter

VALID: list[dict[str, Any]] = [
    {"table": "df_sales"},
    {"table": "df_sales", "value": "price", "from_date": "2023-10-01", "to_date": "2023-12-31"},
    {"table": "df_sales", "aggregate": "count", "alpha": 0.01},
    {"table": "df_sales", "aggregate": "mean", "value": "price", "cuped": True,
     "from_date": "2023-10-01", "to_date": "2023-10-01"},
    {"table": "df_sales", "aggregate": "ratio", "numerator": "price", "denominator": "count_pizza"},
    {"table": "t", "assignments": {"table": "a", "user_column": "u", "group_column": "g",
                                   "control": "A", "treatment": "B"}},
    {"table": "t", "assignments": {"control": 0, "treatment": 1}},
    {"table": "t", "assignments": {"control": False, "treatment": True}, "value": None},
]  # fmt: skip

INVALID: list[tuple[dict[str, Any], str]] = [
    ({}, "table"),
    ({"table": ""}, "table"),
    ({"table": 5}, "table"),
    ({"table": "x" * 256}, "table"),
    ({"table": "t", "value": "x" * 64}, "value"),
    ({"table": "t", "colour": "red"}, "colour"),
    ({"table": "t", "assignments": "experiment_users"}, "assignments"),
    ({"table": "t", "assignments": {"users": "u"}}, "assignments.users"),
    ({"table": "t", "assignments": {"table": ""}}, "assignments.table"),
    ({"table": "t", "assignments": {"control": 1.5}}, "assignments.control"),
    ({"table": "t", "assignments": {"control": "x" * 201}}, "assignments.control"),
    ({"table": "t", "assignments": {"control": "1"}}, "assignments.treatment"),
    ({"table": "t", "assignments": {"control": 1, "treatment": "1"}}, "assignments.treatment"),
    ({"table": "t", "aggregate": "median"}, "aggregate"),
    ({"table": "t", "aggregate": "mean"}, "value"),
    ({"table": "t", "aggregate": "ratio"}, "numerator"),
    ({"table": "t", "aggregate": "ratio", "numerator": "p", "value": "p"}, "value"),
    ({"table": "t", "numerator": "p"}, "numerator"),
    ({"table": "t", "denominator": "p"}, "denominator"),
    ({"table": "t", "value": 3}, "value"),
    ({"table": "t", "from_date": "2023-02-30"}, "from_date"),
    ({"table": "t", "from_date": "20231001"}, "from_date"),
    ({"table": "t", "to_date": "yesterday"}, "to_date"),
    ({"table": "t", "from_date": "2023-12-31", "to_date": "2023-10-01"}, "from_date"),
    ({"table": "t", "alpha": 0}, "alpha"),
    ({"table": "t", "alpha": 1}, "alpha"),
    ({"table": "t", "alpha": True}, "alpha"),
    ({"table": "t", "alpha": "0.05"}, "alpha"),
    ({"table": "t", "cuped": "yes"}, "cuped"),
    ({"table": "t", "cuped": True}, "from_date"),
    ({"table": "t", "cuped": True, "from_date": "2023-10-01"}, "to_date"),
    ({"table": "t", "cuped": True, "aggregate": "ratio", "numerator": "p"}, "cuped"),
    ({"table": "t", "cuped": True, "from_date": "0001-01-01", "to_date": "0001-01-02"},
     "from_date"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "named"), INVALID, ids=[name for _, name in INVALID])
def test_a_wrong_parameter_is_an_error_naming_it(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_params(params)

    assert raised.value.parameter == named
    assert named.rsplit(".", maxsplit=1)[-1] in raised.value.detail


@pytest.mark.parametrize("params", VALID)
def test_what_is_accepted_the_schema_accepts_and_reads_back_the_same(
    params: dict[str, Any],
) -> None:
    parsed = parse_params(params)
    written = params_json(parsed)

    jsonschema.validate(params, SCHEMA)
    jsonschema.validate(written, SCHEMA)
    assert parse_params(written) == parsed


STRUCTURAL = [
    (params, named)
    for params, named in INVALID
    if named not in {"assignments.treatment", "value", "numerator", "denominator", "cuped"}
    and "from_date" not in params
    and not params.get("cuped")
]


@pytest.mark.parametrize(("params", "named"), STRUCTURAL, ids=[name for _, name in STRUCTURAL])
def test_the_schema_refuses_what_breaks_a_rule_it_can_express(
    params: dict[str, Any], named: str
) -> None:
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(params))

    assert errors, f"the schema accepts {params}, which is refused naming {named}"


def test_the_schema_is_a_valid_json_schema_with_a_default_for_every_optional_parameter() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assignments = SCHEMA["properties"]["assignments"]["properties"]
    assert all("default" in spec for spec in assignments.values())
    for name in ("aggregate", "alpha", "cuped"):
        assert "default" in SCHEMA["properties"][name]


def test_the_defaults_are_the_course_layout_sum_alpha_five_percent_and_no_cuped() -> None:
    parsed = parse_params({"table": "df_sales"})

    assert (parsed.assignments.table, parsed.assignments.group_column) == (
        "experiment_users",
        "pilot",
    )
    assert (parsed.assignments.control, parsed.assignments.treatment) == ("0", "1")
    assert (parsed.aggregate, parsed.alpha, parsed.cuped) == (Aggregate.SUM, 0.05, False)
    assert parsed.window is None


def test_group_values_are_text_as_postgresql_writes_them() -> None:
    parsed = parse_params({"table": "t", "assignments": {"control": False, "treatment": 7}})

    assert (parsed.assignments.control, parsed.assignments.treatment) == ("false", "7")


def test_the_window_and_its_pre_period_are_whole_days_of_the_same_length() -> None:
    parsed = parse_params(
        {"table": "t", "cuped": True, "from_date": "2023-10-01", "to_date": "2023-12-31"}
    )

    assert parsed.window is not None
    before = parsed.window.before()
    assert (before.start, before.end) == (dt.date(2023, 7, 1), dt.date(2023, 9, 30))
    assert before.days == parsed.window.days == 92
