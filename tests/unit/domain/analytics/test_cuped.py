from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.typing import NDArray
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from domain.analytics.cuped import CupedResult, cuped
from domain.analytics.statistics import StatisticsError, welch_from_samples

Floats = NDArray[np.float64]
Group = tuple[Floats, Floats]
"""Per-user metric Y and pre-period covariate X."""


def users(rng: np.random.Generator, size: int, *, rho: float, effect: float = 0.0) -> Group:
    """X and Y with standard deviations 3 and 5 and correlation rho."""
    x = rng.normal(0.0, 1.0, size)
    y = rho * x + np.sqrt(1.0 - rho**2) * rng.normal(0.0, 1.0, size)
    return 20.0 + 5.0 * y + effect, 10.0 + 3.0 * x


def adjust(control: Group, treatment: Group, alpha: float = 0.05) -> CupedResult:
    return cuped(
        control_metric=control[0],
        control_covariate=control[1],
        treatment_metric=treatment[0],
        treatment_covariate=treatment[1],
        alpha=alpha,
    )


def test_a_correlated_covariate_removes_its_squared_correlation_and_narrows_the_interval() -> None:
    rng = np.random.default_rng(11)
    control, treatment = users(rng, 5000, rho=0.9), users(rng, 5000, rho=0.9, effect=0.3)

    result = adjust(control, treatment)

    pooled_y = np.concatenate([control[0], treatment[0]])
    pooled_x = np.concatenate([control[1], treatment[1]])
    sample_r = np.corrcoef(pooled_x, pooled_y)[0, 1]
    assert result.variance_reduction == pytest.approx(sample_r**2, rel=1e-9)
    assert result.variance_reduction == pytest.approx(0.81, abs=0.02)
    adjusted_width = result.adjusted.ci_high - result.adjusted.ci_low
    raw_width = result.unadjusted.ci_high - result.unadjusted.ci_low
    assert adjusted_width < raw_width
    assert adjusted_width / raw_width == pytest.approx(np.sqrt(1 - 0.81), rel=0.05)


def test_theta_is_the_least_squares_slope_over_both_groups() -> None:
    rng = np.random.default_rng(5)
    control, treatment = users(rng, 300, rho=0.6), users(rng, 200, rho=0.6, effect=1.0)
    pooled_y = np.concatenate([control[0], treatment[0]])
    pooled_x = np.concatenate([control[1], treatment[1]])
    slope = OLS(pooled_y, add_constant(pooled_x)).fit().params[1]

    result = adjust(control, treatment)

    assert result.theta == pytest.approx(slope, rel=1e-9)
    expected = (treatment[0].mean() - control[0].mean()) - slope * (
        treatment[1].mean() - control[1].mean()
    )
    assert result.adjusted.difference == pytest.approx(expected, rel=1e-9)


def test_the_adjusted_values_go_through_welchs_test() -> None:
    rng = np.random.default_rng(8)
    control, treatment = users(rng, 50, rho=0.5), users(rng, 70, rho=0.5)

    result = adjust(control, treatment, alpha=0.1)

    centre = np.concatenate([control[1], treatment[1]]).mean()
    expected = welch_from_samples(
        control=control[0] - result.theta * (control[1] - centre),
        treatment=treatment[0] - result.theta * (treatment[1] - centre),
        alpha=0.1,
    )
    assert result.adjusted == expected
    assert result.unadjusted == welch_from_samples(
        control=control[0], treatment=treatment[0], alpha=0.1
    )


def test_an_independent_covariate_reduces_almost_nothing() -> None:
    rng = np.random.default_rng(12)
    control, treatment = users(rng, 4000, rho=0.0), users(rng, 4000, rho=0.0)

    result = adjust(control, treatment)

    assert 0.0 <= result.variance_reduction < 0.005
    assert result.adjusted.standard_error == pytest.approx(
        result.unadjusted.standard_error, rel=0.01
    )


def test_the_adjusted_difference_is_unbiased() -> None:
    rng = np.random.default_rng(13)
    effect, repetitions = 0.5, 300
    adjusted, raw = np.empty(repetitions), np.empty(repetitions)
    for i in range(repetitions):
        result = adjust(users(rng, 400, rho=0.8), users(rng, 400, rho=0.8, effect=effect))
        adjusted[i] = result.adjusted.difference
        raw[i] = result.unadjusted.difference

    standard_error = adjusted.std(ddof=1) / np.sqrt(repetitions)
    assert abs(adjusted.mean() - effect) < 4 * standard_error
    assert adjusted.std() < 0.7 * raw.std()


def test_a_constant_covariate_adjusts_nothing() -> None:
    rng = np.random.default_rng(14)
    control_y, treatment_y = rng.normal(0.0, 1.0, 30), rng.normal(0.5, 1.0, 40)

    result = adjust((control_y, np.full(30, 7.0)), (treatment_y, np.full(40, 7.0)))

    assert result.theta == 0.0
    assert result.variance_reduction == 0.0
    assert result.adjusted == result.unadjusted


def test_a_constant_metric_has_nothing_to_reduce() -> None:
    rng = np.random.default_rng(15)

    result = adjust((np.ones(10), rng.normal(size=10)), (np.ones(12), rng.normal(size=12)))

    assert (result.theta, result.variance_reduction) == (0.0, 0.0)
    assert result.adjusted.p_value == 1.0


def test_metric_and_covariate_pair_up() -> None:
    with pytest.raises(StatisticsError, match="one each per user"):
        adjust((np.ones(3), np.ones(2)), (np.ones(3), np.ones(3)))


def test_a_group_needs_two_users() -> None:
    with pytest.raises(StatisticsError, match="at least 2"):
        adjust((np.ones(1), np.ones(1)), (np.arange(3.0), np.arange(3.0)))


def test_results_serialise_to_json_without_nan() -> None:
    rng = np.random.default_rng(16)
    result = adjust(users(rng, 20, rho=0.7), users(rng, 20, rho=0.7))

    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))

    assert document["method"] == "cuped"
    assert document["adjusted"]["method"] == "welch_t"
    assert set(document) == {"method", "theta", "variance_reduction", "adjusted", "unadjusted"}
