"""Ratio metrics by the delta method at user level.

Use `delta_method` when the metric is a ratio of two sums over the users of a group, such as
the average check sum(revenue) / sum(orders) or the click-through rate sum(clicks) /
sum(views). Users are randomised, not orders, so orders of one user are correlated and a
t-test over orders would understate the variance. Each user contributes a numerator x_i and a
denominator y_i; the group's metric is R = sum(x) / sum(y) = mean(x) / mean(y), and a
first-order Taylor expansion of x̄ / ȳ around the means gives

    Var(R) ~ (1/n) (var_x / ȳ² - 2 x̄ cov_xy / ȳ³ + x̄² var_y / ȳ⁴),

which is var((x_i - R y_i) / ȳ) / n: the variance of the mean of linearised values.

Decisions:

- (Co)variances are sample ones (ddof=1), like those of the Welch test, so that with every
  denominator 1 the ratio variance is exactly the variance of a mean; at A/B sizes ddof=0
  would differ by a factor n / (n - 1) that is negligible.
- The interval and p-value use the normal distribution (a z-test): the delta method is a
  large-sample approximation in the first place, so a t distribution would suggest an
  exactness it does not have; with the thousands of users of an A/B test the two agree.
- A variance that comes out below the rounding noise of its three terms (relative 1e-12) is
  zero: it happens when every user's own ratio is the same, and zero variance then follows
  the package's rule (p = 1 for equal ratios, a `StatisticsError` for different ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.analytics.statistics import (
    DEFAULT_ALPHA,
    StatisticsError,
    as_values,
    check_alpha,
    check_finite,
    check_users,
    json_dict,
    relative,
    z_inference,
)

DELTA_METHOD = "delta_method"
ROUNDING_NOISE = 1e-12
"""Relative size under which the delta variance is indistinguishable from zero."""
COVARIANCE_TOLERANCE = 1e-9
"""Relative slack in cov² <= var_x var_y for moments that rounding computed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioSummary:
    """The sufficient statistics of one group for a ratio of sums."""

    users: int
    numerator_mean: float
    denominator_mean: float
    numerator_variance: float
    denominator_variance: float
    covariance: float
    """Sample covariance of numerator and denominator over users, ddof=1."""
    ratio: float = field(init=False)
    ratio_variance: float = field(init=False)
    """Delta-method variance of `ratio`."""

    def __post_init__(self) -> None:
        self._check_moments()
        try:
            ratio = self.numerator_mean / self.denominator_mean
            variance = self._delta_variance(ratio)
        except (OverflowError, ZeroDivisionError) as error:
            raise StatisticsError("the ratio or its variance overflows") from error
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "ratio_variance", variance)
        check_finite(self)

    def _check_moments(self) -> None:
        check_users(self.users, name="a group")
        for name in ("numerator_mean", "denominator_mean", "covariance"):
            if not math.isfinite(getattr(self, name)):
                raise StatisticsError(f"{name} must be finite, got {getattr(self, name)}")
        for name in ("numerator_variance", "denominator_variance"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0.0):
                raise StatisticsError(f"{name} must be finite and >= 0, got {getattr(self, name)}")
        if self.denominator_mean == 0.0:
            raise StatisticsError("the denominators of a group sum to zero: the ratio is undefined")

    def _delta_variance(self, ratio: float) -> float:
        """The formula of the module docstring with R = x̄ / ȳ factored out, as var(x - R y)."""
        bound = self.numerator_variance * self.denominator_variance
        if self.covariance**2 > bound * (1.0 + COVARIANCE_TOLERANCE):
            raise StatisticsError("the covariance is larger than the variances allow")
        terms = (
            self.numerator_variance,
            -2.0 * ratio * self.covariance,
            ratio**2 * self.denominator_variance,
        )
        if not all(math.isfinite(term) for term in terms):
            raise OverflowError
        spread = math.fsum(terms)
        if spread <= ROUNDING_NOISE * math.fsum(abs(term) for term in terms):
            return 0.0
        return spread / self.denominator_mean**2 / self.users

    @classmethod
    def from_values(
        cls, *, numerator: npt.ArrayLike, denominator: npt.ArrayLike, name: str = "a group"
    ) -> RatioSummary:
        x = as_values(numerator, name=f"{name} numerator")
        y = as_values(denominator, name=f"{name} denominator")
        if x.shape != y.shape:
            raise StatisticsError(
                f"{name} has {x.size} numerators but {y.size} denominators: one each per user"
            )
        check_users(x.size, name=name)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow fails the checks instead
            dx, dy = x - x.mean(), y - y.mean()
            dof = x.size - 1
            return cls(
                users=x.size,
                numerator_mean=float(x.mean()),
                denominator_mean=float(y.mean()),
                numerator_variance=float(dx @ dx) / dof,
                denominator_variance=float(dy @ dy) / dof,
                covariance=float(dx @ dy) / dof,
            )

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioResult:
    """Treatment - control difference of the two groups' ratios, with a normal interval."""

    control: RatioSummary
    treatment: RatioSummary
    alpha: float
    difference: float
    relative_difference: float | None
    standard_error: float
    statistic: float
    """The z statistic."""
    p_value: float
    ci_low: float
    ci_high: float

    def __post_init__(self) -> None:
        check_finite(self)

    def to_dict(self) -> dict[str, Any]:
        return {"method": DELTA_METHOD, **json_dict(self)}


def delta_method_from_summaries(
    *, control: RatioSummary, treatment: RatioSummary, alpha: float = DEFAULT_ALPHA
) -> RatioResult:
    alpha = check_alpha(alpha)
    difference = treatment.ratio - control.ratio
    standard_error = math.sqrt(control.ratio_variance + treatment.ratio_variance)
    inference = z_inference(
        difference=difference, standard_error=standard_error, alpha=alpha, what="ratios"
    )
    return RatioResult(
        control=control,
        treatment=treatment,
        alpha=alpha,
        difference=difference,
        relative_difference=relative(difference, control.ratio),
        standard_error=standard_error,
        statistic=inference.statistic,
        p_value=inference.p_value,
        ci_low=inference.ci_low,
        ci_high=inference.ci_high,
    )


def delta_method_from_samples(
    *,
    control_numerator: npt.ArrayLike,
    control_denominator: npt.ArrayLike,
    treatment_numerator: npt.ArrayLike,
    treatment_denominator: npt.ArrayLike,
    alpha: float = DEFAULT_ALPHA,
) -> RatioResult:
    return delta_method_from_summaries(
        control=RatioSummary.from_values(
            numerator=control_numerator, denominator=control_denominator, name="control"
        ),
        treatment=RatioSummary.from_values(
            numerator=treatment_numerator, denominator=treatment_denominator, name="treatment"
        ),
        alpha=alpha,
    )
