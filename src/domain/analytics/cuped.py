"""CUPED: variance reduction with a pre-experiment covariate.

Use `cuped` for a per-user mean metric Y (the same metrics as `welch_t`) when the same users
have a value X from before the experiment, typically Y itself over the weeks before. X cannot
depend on the assignment, so subtracting the part of Y that X predicts removes noise without
moving the expected difference:

    Y'_i = Y_i - theta (X_i - mean(X)),    theta = cov(X, Y) / var(X),

and the adjusted difference of means is ΔȲ - theta ΔX̄, whose expected value is the effect
because E[ΔX̄] = 0. The groups' adjusted values then go through Welch's test. The variance of
Y' is (1 - rho²) var(Y), so a covariate with correlation rho shrinks the interval by a factor
sqrt(1 - rho²).

Decisions:

- theta and mean(X) are pooled over both groups together: one adjustment for everybody, so
  that the adjustment cannot differ between groups and create a difference of its own. The
  pooled theta is the least-squares slope of Y on X over all users.
- `variance_reduction` is 1 - var(Y') / var(Y) over both groups pooled. With the pooled
  slope it equals the squared pooled sample correlation of X and Y.
- A constant covariate (var(X) = 0) predicts nothing: theta is 0 and nothing is adjusted.
  A constant metric has nothing to reduce: variance reduction 0.
- Users without pre-period data need a value chosen upstream (0, or the mean); this module
  takes X as given.
- The interval treats theta as known, as is standard; its estimation adds O(1/n) variance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from domain.analytics.statistics import (
    DEFAULT_ALPHA,
    StatisticsError,
    WelchResult,
    as_values,
    check_finite,
    welch_from_samples,
)

CUPED = "cuped"


@dataclass(frozen=True, slots=True, kw_only=True)
class CupedResult:
    """Welch's test on CUPED-adjusted values, beside the same test on the raw ones."""

    theta: float
    variance_reduction: float
    """1 - var(adjusted) / var(raw), both groups pooled; 0 when nothing was adjusted."""
    adjusted: WelchResult
    unadjusted: WelchResult

    def __post_init__(self) -> None:
        check_finite(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": CUPED,
            "theta": self.theta,
            "variance_reduction": self.variance_reduction,
            "adjusted": self.adjusted.to_dict(),
            "unadjusted": self.unadjusted.to_dict(),
        }


def _paired(
    metric: npt.ArrayLike, covariate: npt.ArrayLike, *, name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y = as_values(metric, name=f"{name} metric")
    x = as_values(covariate, name=f"{name} covariate")
    if x.shape != y.shape:
        raise StatisticsError(
            f"{name} has {y.size} metric values but {x.size} covariates: one each per user"
        )
    return y, x


def pooled_theta(metric: NDArray[np.float64], covariate: NDArray[np.float64]) -> float:
    """Least-squares slope of the metric on the covariate; 0 for a constant covariate."""
    if np.all(covariate == covariate[0]):
        return 0.0
    dx = covariate - covariate.mean()
    sxx = float(dx @ dx)
    if sxx == 0.0:
        return 0.0
    return float(dx @ (metric - metric.mean())) / sxx


def _variance_reduction(raw: NDArray[np.float64], adjusted: NDArray[np.float64]) -> float:
    if np.all(raw == raw[0]):
        return 0.0
    return max(0.0, 1.0 - float(np.var(adjusted, ddof=1)) / float(np.var(raw, ddof=1)))


def cuped(
    *,
    control_metric: npt.ArrayLike,
    control_covariate: npt.ArrayLike,
    treatment_metric: npt.ArrayLike,
    treatment_covariate: npt.ArrayLike,
    alpha: float = DEFAULT_ALPHA,
) -> CupedResult:
    control_y, control_x = _paired(control_metric, control_covariate, name="control")
    treatment_y, treatment_x = _paired(treatment_metric, treatment_covariate, name="treatment")
    unadjusted = welch_from_samples(control=control_y, treatment=treatment_y, alpha=alpha)

    metric = np.concatenate([control_y, treatment_y])
    covariate = np.concatenate([control_x, treatment_x])
    theta = pooled_theta(metric, covariate)
    centre = float(covariate.mean())
    adjusted = welch_from_samples(
        control=control_y - theta * (control_x - centre),
        treatment=treatment_y - theta * (treatment_x - centre),
        alpha=alpha,
    )
    return CupedResult(
        theta=theta,
        variance_reduction=_variance_reduction(metric, metric - theta * (covariate - centre)),
        adjusted=adjusted,
        unadjusted=unadjusted,
    )
