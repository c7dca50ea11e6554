from __future__ import annotations

import json
import math
import statistics
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from domain.analytics.statistics import (
    GroupSummary,
    StatisticsError,
    welch_from_samples,
    welch_from_summaries,
)

Floats = NDArray[np.float64]
Dataset = Callable[[np.random.Generator], tuple[Floats, Floats]]
"""Draws (treatment, control) from a seeded generator."""


def zero_inflated(rng: np.random.Generator, users: int, scale: float = 1.0) -> Floats:
    buyers = rng.random(users) < 0.3
    return np.where(buyers, scale * rng.lognormal(3.0, 1.2, users), 0.0)


DATASETS: dict[str, Dataset] = {
    "small normal": lambda rng: (rng.normal(1.0, 1.0, 10), rng.normal(0.0, 1.0, 12)),
    "two users each": lambda rng: (rng.normal(5.0, 2.0, 2), rng.normal(4.0, 3.0, 2)),
    "two users against many": lambda rng: (rng.normal(0.0, 1.0, 2), rng.normal(0.0, 5.0, 500)),
    "unequal variances and sizes": lambda rng: (
        rng.normal(0.5, 1.0, 50),
        rng.normal(0.0, 20.0, 80),
    ),
    "lognormal skew": lambda rng: (rng.lognormal(0.1, 2.0, 300), rng.lognormal(0.0, 2.0, 400)),
    "zero-inflated revenue": lambda rng: (
        zero_inflated(rng, 1000, 1.05),
        zero_inflated(rng, 1000),
    ),
    "poisson counts": lambda rng: (
        rng.poisson(2.2, 200).astype(np.float64),
        rng.poisson(2.0, 250).astype(np.float64),
    ),
    "conversions": lambda rng: (
        (rng.random(5000) < 0.11).astype(np.float64),
        (rng.random(5000) < 0.10).astype(np.float64),
    ),
    "large offset": lambda rng: (rng.normal(1e6 + 0.3, 1.0, 300), rng.normal(1e6, 1.0, 300)),
    "tiny p-value": lambda rng: (rng.normal(1.0, 1.0, 1000), rng.normal(0.0, 1.0, 1000)),
    "constant control": lambda rng: (rng.normal(0.2, 1.0, 40), np.zeros(30)),
    "very large groups": lambda rng: (
        rng.normal(10.002, 3.0, 1_000_000),
        rng.normal(10.0, 3.0, 1_000_000),
    ),
}


@pytest.fixture(params=list(DATASETS), scope="module")
def dataset(request: pytest.FixtureRequest) -> tuple[Floats, Floats]:
    name: str = request.param
    return DATASETS[name](np.random.default_rng(zlib.crc32(name.encode())))


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_matches_scipys_welch_test_and_its_interval(
    dataset: tuple[Floats, Floats], alpha: float
) -> None:
    treatment, control = dataset
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    interval = expected.confidence_interval(1 - alpha)

    result = welch_from_samples(control=control, treatment=treatment, alpha=alpha)

    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert result.ci_low == pytest.approx(float(interval.low), rel=1e-9)
    assert result.ci_high == pytest.approx(float(interval.high), rel=1e-9)
    assert result.statistic == pytest.approx(float(expected.statistic), rel=1e-9)
    assert result.df == pytest.approx(float(expected.df), rel=1e-9)
    assert result.difference == pytest.approx(float(treatment.mean() - control.mean()), rel=1e-9)


def test_summaries_computed_elsewhere_give_the_same_result() -> None:
    rng = np.random.default_rng(7)
    control, treatment = rng.exponential(2.0, 120), rng.exponential(2.5, 90)

    from_samples = welch_from_samples(control=control, treatment=treatment)
    from_summaries = welch_from_summaries(
        control=GroupSummary(
            users=len(control),
            mean=statistics.fmean(control),
            variance=statistics.variance(control),
        ),
        treatment=GroupSummary(
            users=len(treatment),
            mean=statistics.fmean(treatment),
            variance=statistics.variance(treatment),
        ),
    )

    for name in ("difference", "p_value", "ci_low", "ci_high", "statistic", "df"):
        assert getattr(from_summaries, name) == pytest.approx(getattr(from_samples, name), rel=1e-9)


def test_group_summary_uses_the_sample_variance() -> None:
    summary = GroupSummary.from_values([1.0, 2.0, 4.0, 9.0])

    assert summary.users == 4
    assert summary.mean == 4.0
    assert summary.variance == pytest.approx(statistics.variance([1.0, 2.0, 4.0, 9.0]))
    assert summary.std == pytest.approx(statistics.stdev([1.0, 2.0, 4.0, 9.0]))


def test_a_constant_group_has_exactly_zero_variance() -> None:
    summary = GroupSummary.from_values([0.1] * 7)

    assert summary.variance == 0.0
    assert summary.mean == 0.1


def test_relative_difference_is_over_the_control_mean_and_none_when_that_is_zero() -> None:
    lifted = welch_from_samples(control=[1.0, 3.0], treatment=[2.0, 4.0])
    from_zero = welch_from_samples(control=[-1.0, 1.0], treatment=[3.0, 5.0])

    assert lifted.relative_difference == pytest.approx(0.5)
    assert from_zero.relative_difference is None


def test_two_constant_groups_with_equal_means_show_no_difference() -> None:
    result = welch_from_samples(control=[3.0] * 5, treatment=[3.0] * 8)

    assert (result.difference, result.statistic, result.p_value) == (0.0, 0.0, 1.0)
    assert (result.ci_low, result.ci_high) == (0.0, 0.0)
    assert result.df is None


def test_two_constant_groups_with_different_means_are_undefined() -> None:
    with pytest.raises(StatisticsError, match="zero variance"):
        welch_from_samples(control=[3.0] * 5, treatment=[4.0] * 8)


def test_one_constant_group_has_the_other_groups_degrees_of_freedom() -> None:
    result = welch_from_samples(control=[0.0] * 10, treatment=[1.0, 2.0, 4.0, 0.0, 3.0])

    assert result.df == pytest.approx(4.0)


@pytest.mark.parametrize("control", [[], [1.0]])
def test_a_group_needs_two_users(control: list[float]) -> None:
    with pytest.raises(StatisticsError, match="at least 2"):
        welch_from_samples(control=control, treatment=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_rejects_values_that_are_not_finite(bad: float) -> None:
    with pytest.raises(StatisticsError, match="NaN or infinite"):
        welch_from_samples(control=[1.0, 2.0], treatment=[1.0, bad])


def test_rejects_more_than_one_value_per_user() -> None:
    with pytest.raises(StatisticsError, match="1-D"):
        welch_from_samples(control=[[1.0, 2.0], [3.0, 4.0]], treatment=[1.0, 2.0])


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_alpha_must_lie_strictly_between_zero_and_one(alpha: float) -> None:
    with pytest.raises(StatisticsError, match="alpha"):
        welch_from_samples(control=[1.0, 2.0], treatment=[1.0, 3.0], alpha=alpha)


@pytest.mark.parametrize(
    ("users", "mean", "variance"),
    [(1, 0.0, 1.0), (2.5, 0.0, 1.0), (5, math.nan, 1.0), (5, 0.0, -1.0), (5, 0.0, math.inf)],
)
def test_a_summary_rejects_impossible_aggregates(users: int, mean: float, variance: float) -> None:
    with pytest.raises(StatisticsError):
        GroupSummary(users=users, mean=mean, variance=variance)


def test_values_that_overflow_raise_instead_of_returning_infinity() -> None:
    with pytest.raises(StatisticsError, match="finite"):
        welch_from_samples(control=[-1e300, 1e300], treatment=[0.0, 1.0])


def test_results_serialise_to_json_without_nan() -> None:
    result = welch_from_samples(control=[-1.0, 1.0, 0.0], treatment=[1.0, 2.0])

    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))

    assert document["method"] == "welch_t"
    assert document["relative_difference"] is None
    assert document["control"] == {"users": 3, "mean": 0.0, "variance": 1.0, "std": 1.0}
    assert set(document) >= {"difference", "ci_low", "ci_high", "p_value", "statistic", "df"}
