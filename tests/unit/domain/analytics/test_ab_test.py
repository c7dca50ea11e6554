"""`ab_test` through its metric, on generated sales with a planted experiment: the answers are
scipy's (and an independent delta-method computation's) on per-user values read straight from
the CSV files; A/A splits keep the false-positive rate; the planted effect is found."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from domain.analytics.ab_test import AGGREGATED, AGGREGATING, TESTING, AbTestMetric
from domain.shared.metrics import UNWATCHED, MetricStopped, Progress
from tests.support.experiments import Q4_2023, Generated, csv_per_user, generate, pilots
from tests.support.fakes import InMemoryExperimentData, InMemoryTables

WINDOW = (dt.date(2023, 10, 1), dt.date(2023, 12, 31))
PRE_PERIOD = (dt.date(2023, 7, 1), dt.date(2023, 9, 30))
LIFT = 0.3
RELATIVE = 1e-9


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The data `experiments generate-data` ships: 20,000 sales, seed 42, pilots +30%."""
    return generate(tmp_path_factory.mktemp("shipped"), sales=20_000)


async def ab_test(data: InMemoryExperimentData, **params: Any) -> dict[str, Any]:
    metric = AbTestMetric(data)
    checked = await metric.validate(params)
    return await metric.run(checked, UNWATCHED)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=RELATIVE, abs_tol=1e-300)


def files(generated: Generated) -> tuple[Path, Path]:
    return generated.folder / "df_sales.csv", generated.folder / "experiment_users.csv"


async def test_revenue_per_user_equals_scipys_welch_test_on_the_csvs_own_values(
    shipped: Generated,
) -> None:
    control, treatment = csv_per_user(*files(shipped), since=WINDOW[0], until=WINDOW[1]).arrays()
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    interval = expected.confidence_interval(0.95)

    result = await ab_test(shipped.experiment_data(), table="df_sales", value="price", **Q4_2023)

    assert result["test"] == "welch_t"
    assert (result["control"]["users"], result["treatment"]["users"]) == (
        control.size,
        treatment.size,
    )
    assert close(result["control"]["mean"], control.mean())
    assert close(result["treatment"]["std"], treatment.std(ddof=1))
    assert close(result["difference"], treatment.mean() - control.mean())
    assert close(result["p_value"], expected.pvalue)
    assert close(result["ci_low"], interval.low)
    assert close(result["ci_high"], interval.high)
    assert close(result["statistic"], expected.statistic)


async def test_orders_per_user_at_another_alpha_equal_scipys_interval(shipped: Generated) -> None:
    control, treatment = csv_per_user(
        *files(shipped), since=WINDOW[0], until=WINDOW[1], column=None
    ).arrays()
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    interval = expected.confidence_interval(0.99)

    result = await ab_test(
        shipped.experiment_data(), table="df_sales", aggregate="count", alpha=0.01, **Q4_2023
    )

    assert close(result["p_value"], expected.pvalue)
    assert close(result["ci_low"], interval.low)
    assert close(result["ci_high"], interval.high)
    group = result["treatment"]
    half = stats.t.ppf(0.995, treatment.size - 1) * treatment.std(ddof=1) / treatment.size**0.5
    assert close(group["ci_high"] - group["mean"], half)


def average_check(generated: Generated) -> dict[str, tuple[list[float], list[float]]]:
    """Each group's users with orders in the window: (revenue, orders) per user."""
    revenue: dict[str, float] = defaultdict(float)
    orders: dict[str, int] = defaultdict(int)
    sales, users = files(generated)
    with sales.open(newline="") as file:
        for row in csv.DictReader(file):
            if row["date"][:10] >= WINDOW[0].isoformat():
                revenue[row["user_id"]] += float(row["price"])
                orders[row["user_id"]] += 1
    groups: dict[str, tuple[list[float], list[float]]] = {"0": ([], []), "1": ([], [])}
    for user, pilot in pilots(users).items():
        if orders.get(user):
            groups[pilot][0].append(revenue[user])
            groups[pilot][1].append(orders[user])
    return groups


def delta_method(numerator: list[float], denominator: list[float]) -> tuple[float, float]:
    """A group's ratio and its variance, by the textbook formula (Deng et al., 2018)."""
    x, y = np.array(numerator), np.array(denominator)
    n, mx, my = x.size, x.mean(), y.mean()
    vx, vy, cxy = x.var(ddof=1), y.var(ddof=1), np.cov(x, y, ddof=1)[0, 1]
    return mx / my, (vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / n


async def test_the_average_check_equals_an_independent_delta_method_and_shows_no_effect(
    shipped: Generated,
) -> None:
    groups = average_check(shipped)
    control_ratio, control_variance = delta_method(*groups["0"])
    treatment_ratio, treatment_variance = delta_method(*groups["1"])
    error = math.sqrt(control_variance + treatment_variance)
    difference = treatment_ratio - control_ratio

    result = await ab_test(
        shipped.experiment_data(),
        table="df_sales",
        aggregate="ratio",
        numerator="price",
        **Q4_2023,
    )

    assert result["test"] == "delta_method"
    assert close(result["control"]["mean"], control_ratio)
    assert close(result["difference"], difference)
    assert close(result["standard_error"], error)
    assert close(result["p_value"], 2 * stats.norm.sf(abs(difference) / error))
    assert close(result["ci_low"], difference - stats.norm.ppf(0.975) * error)
    assert result["control"]["users"] == len(groups["0"][0]) < result["control"]["assigned"]
    # The planted effect changes how often pilots order, not what an order holds.
    assert result["ci_low"] < 0 < result["ci_high"]
    assert result["p_value"] > 0.05


async def test_cuped_equals_welch_on_values_adjusted_by_the_pooled_slope(
    shipped: Generated,
) -> None:
    sales, users = files(shipped)
    window = csv_per_user(sales, users, since=WINDOW[0], until=WINDOW[1])
    before = csv_per_user(sales, users, since=PRE_PERIOD[0], until=PRE_PERIOD[1])
    y = np.array([float(v) for v in [*window.control.values(), *window.treatment.values()]])
    x = np.array(
        [float(before.control[u]) for u in window.control]
        + [float(before.treatment[u]) for u in window.treatment]
    )
    theta = np.cov(x, y, ddof=1)[0, 1] / x.var(ddof=1)
    adjusted = y - theta * (x - x.mean())
    split = len(window.control)
    expected = stats.ttest_ind(adjusted[split:], adjusted[:split], equal_var=False)

    result = await ab_test(
        shipped.experiment_data(), table="df_sales", value="price", cuped=True, **Q4_2023
    )

    cuped = result["cuped"]
    assert cuped["pre_period"] == {"from_date": "2023-07-01", "to_date": "2023-09-30"}
    assert close(cuped["theta"], theta)
    assert close(cuped["p_value"], expected.pvalue)
    assert close(cuped["ci_low"], expected.confidence_interval(0.95).low)
    assert cuped["variance_reduction"] > 0.2
    assert cuped["ci_high"] - cuped["ci_low"] < result["ci_high"] - result["ci_low"]


async def test_the_planted_effect_is_found_and_inside_the_intervals(shipped: Generated) -> None:
    result = await ab_test(
        shipped.experiment_data(), table="df_sales", value="price", cuped=True, **Q4_2023
    )

    for figures in (result, result["cuped"]):
        control_mean = figures["control"]["mean"]
        assert figures["ci_low"] / control_mean < LIFT < figures["ci_high"] / control_mean
        assert figures["p_value"] < 0.01
    assert result["srm"] is False


async def test_an_aa_split_of_the_same_users_keeps_the_false_positive_rate(
    tmp_path: Path,
) -> None:
    generated = generate(tmp_path, sales=3_000, seed=7, lift=0.0)
    tables = generated.tables()
    users = list(pilots(generated.folder / "experiment_users.csv"))
    data = InMemoryExperimentData(tables)
    rng = random.Random(20_240_614)
    splits, positives = 300, 0
    for split in range(splits):
        rng.shuffle(users)
        text = "user_id,pilot\n" + "".join(
            f"{user},{index % 2}\n" for index, user in enumerate(users)
        )
        tables.sources.put("experiment_users", text, mtime_ns=split + 2)
        result = await ab_test(data, table="df_sales", value="price", **Q4_2023)
        positives += result["p_value"] < 0.05

    low, high = stats.binom.ppf([0.0005, 0.9995], splits, 0.05)
    assert low <= positives <= high


def sized(control: int, treatment: int) -> InMemoryExperimentData:
    tables = InMemoryTables()
    rows = [f"{i:06x},0\n" for i in range(control)]
    rows += [f"{i:06x},1\n" for i in range(control, control + treatment)]
    tables.sources.put("experiment_users", "user_id,pilot\n" + "".join(rows))
    sales = "sale_id,date,price,user_id\n" + "".join(
        f"{i},2024-01-01,{i % 7},{i:06x}\n" for i in range(0, control + treatment, 3)
    )
    tables.sources.put("df_sales", sales)
    return InMemoryExperimentData(tables)


@pytest.mark.parametrize(
    ("control", "treatment", "mismatch"), [(4_800, 5_200, True), (5_000, 5_000, False)]
)
async def test_the_sample_ratio_check_fires_at_52_48_of_10000_users_and_not_at_50_50(
    control: int, treatment: int, mismatch: bool
) -> None:
    result = await ab_test(sized(control, treatment), table="df_sales", value="price")

    assert result["srm"] is mismatch
    assert (result["srm_p_value"] < 0.001) is mismatch
    expected = stats.chisquare([control, treatment]).pvalue
    assert close(result["srm_p_value"], expected)
    assert (result["control"]["assigned"], result["treatment"]["assigned"]) == (
        control,
        treatment,
    )


async def test_a_run_reports_aggregating_then_testing_and_stops_when_told() -> None:
    data = sized(50, 50)
    metric = AbTestMetric(data)
    checked = await metric.validate({"table": "df_sales", "value": "price"})
    reports: list[tuple[float, str | None]] = []

    async def report(fraction: float, phase: str | None) -> bool:
        reports.append((fraction, phase))
        return len(reports) < 2

    with pytest.raises(MetricStopped):
        await metric.run(checked, Progress(report=report, should_stop=lambda: False))

    assert reports == [(0.0, AGGREGATING), (AGGREGATED, TESTING)]
    assert len(data.queries) == 1


async def test_validate_fills_in_every_default_the_course_layout_included() -> None:
    checked = await AbTestMetric(sized(10, 10)).validate({"table": "df_sales"})

    assert checked == {
        "assignments": {
            "table": "experiment_users",
            "user_column": "user_id",
            "group_column": "pilot",
            "control": "0",
            "treatment": "1",
        },
        "table": "df_sales",
        "value": None,
        "aggregate": "sum",
        "numerator": None,
        "denominator": None,
        "from_date": None,
        "to_date": None,
        "alpha": 0.05,
        "cuped": False,
    }


async def test_users_in_both_groups_are_left_out_and_counted() -> None:
    tables = InMemoryTables()
    tables.sources.put(
        "experiment_users", "user_id,pilot\na1,0\na2,0\na3,0\nb1,1\nb2,1\nb3,1\na1,1\n"
    )
    tables.sources.put("df_sales", "date,price,user_id\n2024-01-01,5,a2\n2024-01-01,7,b2\n")

    result = await ab_test(InMemoryExperimentData(tables), table="df_sales", value="price")

    assert result["excluded_users"] == 1
    assert (result["control"]["users"], result["treatment"]["users"]) == (2, 3)
