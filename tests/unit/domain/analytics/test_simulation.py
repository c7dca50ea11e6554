"""Seeded simulations: the tests keep their error rates on skewed, zero-heavy revenue.

Every count is checked against the two-sided 99.9% band of the binomial distribution it
should follow, so a correct implementation fails about once in a thousand seeds and these
fixed seeds never.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from domain.analytics.cuped import cuped
from domain.analytics.ratio import delta_method_from_samples
from domain.analytics.statistics import welch_from_samples

Floats = NDArray[np.float64]
Split = Callable[[NDArray[np.intp], NDArray[np.intp]], float]
"""The p-value for one assignment of users to (control, treatment)."""

ALPHA = 0.05
SPLITS = 400


def binomial_band(trials: int, rate: float, level: float = 0.999) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = stats.binom.ppf([tail, 1.0 - tail], trials, rate)
    return float(low), float(high)


def revenue(rng: np.random.Generator, users: int) -> Floats:
    """60% of users buy nothing; the rest spend a lognormal amount."""
    return np.where(rng.random(users) < 0.4, rng.lognormal(3.0, 1.0, users), 0.0)


def false_positives(rng: np.random.Generator, users: int, test: Split) -> int:
    count = 0
    for _ in range(SPLITS):
        order = rng.permutation(users)
        count += test(order[: users // 2], order[users // 2 :]) < ALPHA
    return count


def test_welch_keeps_its_false_positive_rate_on_random_splits() -> None:
    rng = np.random.default_rng(20_240_601)
    values = revenue(rng, 2_000)

    def split(control: NDArray[np.intp], treatment: NDArray[np.intp]) -> float:
        return welch_from_samples(control=values[control], treatment=values[treatment]).p_value

    low, high = binomial_band(SPLITS, ALPHA)
    assert low <= false_positives(rng, 2_000, split) <= high


def test_the_delta_method_keeps_its_false_positive_rate_on_random_splits() -> None:
    rng = np.random.default_rng(20_240_602)
    orders = rng.negative_binomial(1, 0.5, 2_000).astype(np.float64)
    spent = orders * rng.lognormal(3.0, 1.0, 2_000)

    def split(control: NDArray[np.intp], treatment: NDArray[np.intp]) -> float:
        return delta_method_from_samples(
            control_numerator=spent[control],
            control_denominator=orders[control],
            treatment_numerator=spent[treatment],
            treatment_denominator=orders[treatment],
        ).p_value

    low, high = binomial_band(SPLITS, ALPHA)
    assert low <= false_positives(rng, 2_000, split) <= high


def test_cuped_keeps_its_false_positive_rate_on_random_splits() -> None:
    rng = np.random.default_rng(20_240_603)
    before = revenue(rng, 2_000)
    after = 0.8 * before + revenue(rng, 2_000) * 0.5

    def split(control: NDArray[np.intp], treatment: NDArray[np.intp]) -> float:
        return cuped(
            control_metric=after[control],
            control_covariate=before[control],
            treatment_metric=after[treatment],
            treatment_covariate=before[treatment],
        ).adjusted.p_value

    low, high = binomial_band(SPLITS, ALPHA)
    assert low <= false_positives(rng, 2_000, split) <= high


def test_a_planted_ten_percent_lift_is_covered_and_detected(
    record_property: Callable[[str, object], None],
) -> None:
    rng = np.random.default_rng(20_240_604)
    users = 20_000
    values = revenue(rng, users)
    true_difference = 0.1 * values.mean()
    covered = detected = 0
    for _ in range(SPLITS):
        order = rng.permutation(users)
        control, treatment = values[order[: users // 2]], 1.1 * values[order[users // 2 :]]
        result = welch_from_samples(control=control, treatment=treatment, alpha=ALPHA)
        covered += result.ci_low <= true_difference <= result.ci_high
        detected += result.p_value < ALPHA

    variance = values.var(ddof=1) * (1.0 + 1.1**2) / (users // 2)
    shift = true_difference / np.sqrt(variance)
    z = stats.norm.ppf(1.0 - ALPHA / 2.0)
    expected_power = float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))
    record_property("power", detected / SPLITS)
    record_property("expected_power", expected_power)
    print(
        f"coverage {covered / SPLITS:.3f}, power {detected / SPLITS:.3f}"
        f" (normal approximation {expected_power:.3f})"
    )

    low, high = binomial_band(SPLITS, 1.0 - ALPHA)
    assert low <= covered <= high
    low, high = binomial_band(SPLITS, expected_power)
    assert low <= detected <= high


def test_the_band_holds_at_least_its_level_of_the_binomial() -> None:
    low, high = binomial_band(SPLITS, ALPHA)

    assert low < ALPHA * SPLITS < high
    assert stats.binom.cdf(high, SPLITS, ALPHA) - stats.binom.cdf(low - 1, SPLITS, ALPHA) >= 0.999
