from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from domain.analytics.ratio import (
    RatioResult,
    RatioSummary,
    delta_method_from_samples,
    delta_method_from_summaries,
)
from domain.analytics.statistics import StatisticsError

Floats = NDArray[np.float64]
Group = tuple[Floats, Floats]
"""Per-user numerators and denominators."""


def orders(rng: np.random.Generator, users: int, check: float) -> Group:
    """Revenue and order counts: many users order nothing, a few order a lot."""
    count = rng.negative_binomial(1, 0.4, users).astype(np.float64)
    revenue = np.array([rng.gamma(2.0, check / 2.0, int(k)).sum() for k in count])
    return revenue, count


def clicks(rng: np.random.Generator, users: int, rate: float) -> Group:
    views = rng.poisson(8.0, users).astype(np.float64) + 1.0
    return rng.binomial(views.astype(np.int64), rate).astype(np.float64), views


GROUPS: dict[str, Callable[[np.random.Generator], tuple[Group, Group]]] = {
    "average check": lambda rng: (orders(rng, 800, 30.0), orders(rng, 900, 32.0)),
    "click-through rate": lambda rng: (clicks(rng, 3000, 0.10), clicks(rng, 3000, 0.104)),
    "small groups": lambda rng: (orders(rng, 12, 30.0), orders(rng, 9, 40.0)),
    "negative numerators": lambda rng: (
        (rng.normal(-1.0, 3.0, 200), rng.uniform(0.5, 2.0, 200)),
        (rng.normal(-0.5, 3.0, 150), rng.uniform(0.5, 2.0, 150)),
    ),
}


@pytest.fixture(params=list(GROUPS), scope="module")
def groups(request: pytest.FixtureRequest) -> tuple[Group, Group]:
    name: str = request.param
    return GROUPS[name](np.random.default_rng(zlib.crc32(name.encode())))


def analyse(control: Group, treatment: Group, alpha: float = 0.05) -> RatioResult:
    return delta_method_from_samples(
        control_numerator=control[0],
        control_denominator=control[1],
        treatment_numerator=treatment[0],
        treatment_denominator=treatment[1],
        alpha=alpha,
    )


def linearised(numerator: Floats, denominator: Floats) -> Floats:
    """R + (x_i - R y_i) / mean(y): values whose mean is R and whose mean's variance is Var(R)."""
    ratio = float(numerator.sum() / denominator.sum())
    return ratio + (numerator - ratio * denominator) / float(denominator.mean())


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_equals_a_z_test_on_linearised_values(groups: tuple[Group, Group], alpha: float) -> None:
    control, treatment = groups
    means = CompareMeans(DescrStatsW(linearised(*treatment)), DescrStatsW(linearised(*control)))
    statistic, p_value = means.ztest_ind(usevar="unequal")
    low, high = means.zconfint_diff(alpha=alpha, usevar="unequal")

    result = analyse(control, treatment, alpha)

    assert result.statistic == pytest.approx(statistic, rel=1e-9)
    assert result.p_value == pytest.approx(p_value, rel=1e-9)
    assert result.ci_low == pytest.approx(low, rel=1e-9)
    assert result.ci_high == pytest.approx(high, rel=1e-9)
    assert result.standard_error == pytest.approx(means.std_meandiff_separatevar, rel=1e-9)


def test_the_variance_is_the_delta_method_formula_with_sample_covariances(
    groups: tuple[Group, Group],
) -> None:
    for x, y in groups:
        n = len(x)
        (var_x, cov_xy), (_, var_y) = np.cov(x, y, ddof=1)
        mean_x, mean_y = x.mean(), y.mean()
        expected = (
            var_x / mean_y**2 - 2 * mean_x * cov_xy / mean_y**3 + mean_x**2 * var_y / mean_y**4
        ) / n

        summary = RatioSummary.from_values(numerator=x, denominator=y)

        assert summary.ratio == pytest.approx(x.sum() / y.sum(), rel=1e-12)
        assert summary.ratio_variance == pytest.approx(expected, rel=1e-9)


def test_the_variance_agrees_with_a_bootstrap() -> None:
    rng = np.random.default_rng(2024)
    x, y = orders(rng, 2000, 30.0)
    resamples = rng.integers(0, len(x), size=(4000, len(x)))
    bootstrap = np.var(x[resamples].sum(axis=1) / y[resamples].sum(axis=1), ddof=1)

    summary = RatioSummary.from_values(numerator=x, denominator=y)

    assert summary.ratio_variance == pytest.approx(bootstrap, rel=0.1)


def test_with_every_denominator_one_it_is_a_z_test_on_means() -> None:
    rng = np.random.default_rng(3)
    control, treatment = rng.exponential(1.0, 500), rng.exponential(1.1, 400)
    statistic, p_value = CompareMeans(DescrStatsW(treatment), DescrStatsW(control)).ztest_ind(
        usevar="unequal"
    )

    result = analyse((control, np.ones(500)), (treatment, np.ones(400)))

    assert result.difference == pytest.approx(treatment.mean() - control.mean(), rel=1e-12)
    assert result.statistic == pytest.approx(statistic, rel=1e-9)
    assert result.p_value == pytest.approx(p_value, rel=1e-9)


def test_summaries_computed_elsewhere_give_the_same_result(groups: tuple[Group, Group]) -> None:
    def summary(group: Group) -> RatioSummary:
        x, y = group
        return RatioSummary(
            users=len(x),
            numerator_mean=float(np.mean(x)),
            denominator_mean=float(np.mean(y)),
            numerator_variance=float(np.var(x, ddof=1)),
            denominator_variance=float(np.var(y, ddof=1)),
            covariance=float(np.cov(x, y, ddof=1)[0, 1]),
        )

    control, treatment = groups
    expected = analyse(control, treatment)

    result = delta_method_from_summaries(control=summary(control), treatment=summary(treatment))

    assert result.p_value == pytest.approx(expected.p_value, rel=1e-9)
    assert result.ci_low == pytest.approx(expected.ci_low, rel=1e-9)
    assert result.ci_high == pytest.approx(expected.ci_high, rel=1e-9)


def test_zero_denominator_sum_is_an_error() -> None:
    with pytest.raises(StatisticsError, match="sum to zero"):
        analyse((np.ones(3), np.array([1.0, -1.0, 0.0])), (np.ones(3), np.ones(3)))


def test_users_without_orders_count_towards_the_variance() -> None:
    result = analyse(
        (np.array([10.0, 0.0, 30.0, 0.0]), np.array([1.0, 0.0, 2.0, 0.0])),
        (np.array([12.0, 0.0, 20.0]), np.array([1.0, 0.0, 1.0])),
    )

    assert result.control.ratio == pytest.approx(40.0 / 3.0)
    assert result.treatment.ratio == pytest.approx(16.0)
    assert result.control.users == 4


def test_numerators_and_denominators_pair_up() -> None:
    with pytest.raises(StatisticsError, match="one each per user"):
        analyse((np.ones(3), np.ones(4)), (np.ones(3), np.ones(3)))


def test_a_group_needs_two_users() -> None:
    with pytest.raises(StatisticsError, match="at least 2"):
        analyse((np.ones(1), np.ones(1)), (np.ones(3), np.ones(3)))


@pytest.mark.parametrize("covariance", [-1.5, 1.5])
def test_rejects_a_covariance_the_variances_cannot_have(covariance: float) -> None:
    with pytest.raises(StatisticsError, match="covariance"):
        RatioSummary(
            users=10,
            numerator_mean=1.0,
            denominator_mean=1.0,
            numerator_variance=1.0,
            denominator_variance=1.0,
            covariance=covariance,
        )


def test_a_constant_ratio_per_user_is_zero_variance() -> None:
    y = np.array([1.0, 2.0, 3.0, 7.0])
    same = analyse((0.3 * y, y), (0.3 * y[:3], y[:3]))

    assert same.control.ratio_variance == 0.0
    assert (same.p_value, same.ci_low, same.ci_high) == (1.0, 0.0, 0.0)
    with pytest.raises(StatisticsError, match="zero variance and different ratios"):
        analyse((0.3 * y, y), (0.4 * y, y))


def test_relative_difference_is_none_when_the_control_ratio_is_zero() -> None:
    result = analyse((np.zeros(3), np.ones(3)), (np.array([1.0, 2.0, 0.0]), np.ones(3)))

    assert result.relative_difference is None
    assert result.difference == pytest.approx(1.0)


def test_results_serialise_to_json_without_nan(groups: tuple[Group, Group]) -> None:
    document = json.loads(json.dumps(analyse(*groups).to_dict(), allow_nan=False))

    assert document["method"] == "delta_method"
    assert set(document["control"]) >= {"ratio", "ratio_variance", "covariance", "users"}


positive = st.integers(1, 400).map(float)
users = st.lists(st.tuples(st.integers(0, 4000).map(float), positive), min_size=2, max_size=30)


def group_of(rows: list[tuple[float, float]]) -> Group:
    table = np.array(rows, dtype=np.float64)
    return table[:, 0], table[:, 1]


@settings(database=None, deadline=None, max_examples=100)
@given(control=users, treatment=users, factor=st.floats(1e-2, 1e2))
def test_swapping_negates_and_scaling_numerators_scales(
    control: list[tuple[float, float]], treatment: list[tuple[float, float]], factor: float
) -> None:
    first, second = group_of(control), group_of(treatment)
    try:
        forward = analyse(first, second)
    except StatisticsError:
        assume(False)
        raise
    backward = analyse(second, first)
    scaled = analyse((factor * first[0], first[1]), (factor * second[0], second[1]))

    width = forward.ci_high - forward.ci_low
    assert backward.difference == -forward.difference
    assert backward.p_value == forward.p_value
    assert math.isclose(scaled.difference, factor * forward.difference, abs_tol=1e-9 * width)
    assert math.isclose(scaled.p_value, forward.p_value, rel_tol=1e-6, abs_tol=1e-12)
    assert math.isclose(scaled.ci_low, factor * forward.ci_low, rel_tol=1e-6, abs_tol=1e-9 * width)
