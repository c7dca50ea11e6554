"""Invariants of Welch's test that any correct implementation keeps, on generated data.

Values are multiples of 1/16 below 1,000 in magnitude, so that sums and shifts are exact in
binary floating point and the invariants can be checked to near machine precision.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from domain.analytics.statistics import StatisticsError, WelchResult, welch_from_samples

Floats = NDArray[np.float64]

PROPERTIES = settings(database=None, deadline=None, max_examples=100)

values = st.integers(-16_000, 16_000).map(lambda k: k / 16)
groups = st.lists(values, min_size=2, max_size=40).map(lambda xs: np.array(xs, dtype=np.float64))
alphas = st.sampled_from([0.01, 0.05, 0.1, 0.2])


def welch(control: Floats, treatment: Floats, alpha: float = 0.05) -> WelchResult:
    """The test, or a skipped example where it is undefined (constant, different groups)."""
    try:
        return welch_from_samples(control=control, treatment=treatment, alpha=alpha)
    except StatisticsError:
        assume(False)
        raise


def close(actual: float, expected: float, *, scale: float = 0.0) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-7, abs_tol=1e-9 * scale)


def well_conditioned(*arrays: Floats) -> bool:
    """Spread not lost in the offset: otherwise rounding alone moves the p-value."""
    return all(np.ptp(a) >= 1e-3 * (1.0 + np.max(np.abs(a))) for a in arrays)


@PROPERTIES
@given(control=groups, treatment=groups, alpha=alphas)
def test_swapping_the_groups_negates_the_difference_and_keeps_the_p_value(
    control: Floats, treatment: Floats, alpha: float
) -> None:
    forward = welch(control, treatment, alpha)
    backward = welch(treatment, control, alpha)

    assert backward.difference == -forward.difference
    assert backward.p_value == forward.p_value
    assert (backward.ci_low, backward.ci_high) == (-forward.ci_high, -forward.ci_low)


@PROPERTIES
@given(control=groups, treatment=groups, shift=values)
def test_adding_a_constant_to_both_groups_keeps_the_difference_and_the_p_value(
    control: Floats, treatment: Floats, shift: float
) -> None:
    assume(well_conditioned(control, treatment))
    before = welch(control, treatment)
    after = welch(control + shift, treatment + shift)

    scale = before.ci_high - before.ci_low
    assert close(after.difference, before.difference, scale=scale)
    assert close(after.p_value, before.p_value, scale=1.0)
    assert close(after.ci_low, before.ci_low, scale=scale)
    assert close(after.ci_high, before.ci_high, scale=scale)


@PROPERTIES
@given(
    control=groups,
    treatment=groups,
    factor=st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False),
)
def test_scaling_both_groups_scales_the_difference_and_the_interval(
    control: Floats, treatment: Floats, factor: float
) -> None:
    before = welch(control, treatment)
    after = welch(control * factor, treatment * factor)

    scale = factor * (before.ci_high - before.ci_low)
    assert close(after.difference, factor * before.difference, scale=scale)
    assert close(after.ci_low, factor * before.ci_low, scale=scale)
    assert close(after.ci_high, factor * before.ci_high, scale=scale)
    assert close(after.p_value, before.p_value, scale=1.0)


@PROPERTIES
@given(control=groups, treatment=groups, alpha=alphas)
def test_the_interval_contains_the_difference(
    control: Floats, treatment: Floats, alpha: float
) -> None:
    result = welch(control, treatment, alpha)

    assert result.ci_low <= result.difference <= result.ci_high
    assert 0.0 <= result.p_value <= 1.0


@PROPERTIES
@given(control=groups, treatment=groups, alpha=alphas)
def test_significant_exactly_when_zero_is_outside_the_interval(
    control: Floats, treatment: Floats, alpha: float
) -> None:
    result = welch(control, treatment, alpha)
    assume(not math.isclose(result.p_value, alpha, rel_tol=1e-9))

    zero_outside = not (result.ci_low <= 0.0 <= result.ci_high)
    assert (result.p_value < alpha) == zero_outside


@PROPERTIES
@given(control=groups, treatment=groups)
def test_results_are_always_finite(control: Floats, treatment: Floats) -> None:
    result = welch(control, treatment)

    numbers = [result.difference, result.statistic, result.p_value, result.ci_low, result.ci_high]
    assert all(math.isfinite(x) for x in numbers)


@PROPERTIES
@given(size=st.integers(2, 20), level=values, other=values)
def test_constant_groups_are_equal_or_undefined(size: int, level: float, other: float) -> None:
    control, treatment = np.full(size, level), np.full(size + 1, other)

    if level == other:
        assert welch_from_samples(control=control, treatment=treatment).p_value == 1.0
    else:
        with pytest.raises(StatisticsError):
            welch_from_samples(control=control, treatment=treatment)
