"""Welch's t-test on per-user values, and the pieces the other A/B tests share.

Use `welch_t` (`welch_from_samples`, `welch_from_summaries`) when the metric is a mean of one
number per user: revenue per user, orders per user, a 0/1 conversion. The database aggregates
each user to one value; the test compares the groups' means without assuming equal variances,
with Welch-Satterthwaite degrees of freedom. It matches `scipy.stats.ttest_ind(treatment,
control, equal_var=False)`, but works from sufficient statistics (users, mean, variance), so
that aggregates computed elsewhere give the same answer as the raw values.

For a ratio of two sums over users (revenue per order) use `delta_method` in
`domain.analytics.ratio` instead: its users are not independent observations of the ratio.

Decisions shared by every test in this package:

- Variances are sample variances (ddof=1), as scipy and statsmodels use for these tests.
- Zero variance: when the standard error of the difference is zero (every user of both groups
  has the same value within their group), a test has nothing to measure noise with. If the
  two estimates are equal the answer is "no evidence of a difference": p-value 1.0, interval
  [0, 0], statistic 0.0. If they differ, the statistic would be infinite and the test is
  undefined, so a `StatisticsError` is raised rather than a p-value of 0 that would look
  like overwhelming evidence from two constant columns.
- Results hold only finite floats, ints, bools and None, so they serialise to JSON as they are.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_ALPHA = 0.05
MIN_USERS = 2
"""A sample variance needs two users."""

WELCH_T = "welch_t"


class StatisticsError(ValueError):
    """Inputs on which a test is impossible or undefined."""


def check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not (isinstance(alpha, numbers.Real) and 0.0 < alpha < 1.0):
        raise StatisticsError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def as_values(values: npt.ArrayLike, *, name: str) -> NDArray[np.float64]:
    """One finite float per user: anything else is a bug upstream, not data to analyse."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be one value per user (1-D), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise StatisticsError(f"{name} contains NaN or infinite values")
    return array


def check_users(users: int, *, name: str) -> None:
    if isinstance(users, bool) or not isinstance(users, numbers.Integral):
        raise StatisticsError(f"{name} must count its users in an integer, got {users!r}")
    if users < MIN_USERS:
        raise StatisticsError(f"{name} has {users} users; a test needs at least {MIN_USERS}")


def check_finite(result: DataclassInstance) -> None:
    """The last guard against NaN or infinity leaking into a result (overflow, for one)."""
    for item in fields(result):
        value = getattr(result, item.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise StatisticsError(f"{item.name} is not finite ({value}); the inputs overflow")


def json_dict(result: DataclassInstance) -> dict[str, Any]:
    return asdict(result)


@dataclass(frozen=True, slots=True, kw_only=True)
class Inference:
    """A two-sided test of "difference = 0" and the matching interval."""

    statistic: float
    p_value: float
    ci_low: float
    ci_high: float


def _degenerate(difference: float, *, what: str) -> Inference:
    if difference != 0.0:
        raise StatisticsError(
            f"both groups have zero variance and different {what}: the test is undefined"
        )
    return Inference(statistic=0.0, p_value=1.0, ci_low=0.0, ci_high=0.0)


def t_inference(
    *, difference: float, standard_error: float, df: float | None, alpha: float, what: str
) -> Inference:
    """Student's t with `df` degrees of freedom; `df` is None only when the error is zero."""
    if standard_error == 0.0 or df is None:
        return _degenerate(difference, what=what)
    statistic = difference / standard_error
    from scipy import special  # here: importing it takes a fifth of a second

    half_width = float(special.stdtrit(df, 1.0 - alpha / 2.0)) * standard_error
    return Inference(
        statistic=statistic,
        p_value=min(1.0, 2.0 * float(special.stdtr(df, -abs(statistic)))),
        ci_low=difference - half_width,
        ci_high=difference + half_width,
    )


def z_inference(*, difference: float, standard_error: float, alpha: float, what: str) -> Inference:
    """The normal approximation, for estimators whose variance is itself asymptotic."""
    if standard_error == 0.0:
        return _degenerate(difference, what=what)
    statistic = difference / standard_error
    from scipy import special  # here: importing it takes a fifth of a second

    half_width = float(special.ndtri(1.0 - alpha / 2.0)) * standard_error
    return Inference(
        statistic=statistic,
        p_value=min(1.0, 2.0 * float(special.ndtr(-abs(statistic)))),
        ci_low=difference - half_width,
        ci_high=difference + half_width,
    )


def relative(difference: float, baseline: float) -> float | None:
    """Lift over the control; undefined (None) when the control's level is zero."""
    return None if baseline == 0.0 else difference / baseline


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSummary:
    """The sufficient statistics of one group for a test on means."""

    users: int
    mean: float
    variance: float
    """Sample variance, ddof=1."""
    std: float = field(init=False)

    def __post_init__(self) -> None:
        check_users(self.users, name="a group")
        if not math.isfinite(self.mean):
            raise StatisticsError(f"mean must be finite, got {self.mean}")
        if not (math.isfinite(self.variance) and self.variance >= 0.0):
            raise StatisticsError(f"variance must be finite and >= 0, got {self.variance}")
        object.__setattr__(self, "std", math.sqrt(self.variance))

    @classmethod
    def from_values(cls, values: npt.ArrayLike, *, name: str = "a group") -> GroupSummary:
        array = as_values(values, name=name)
        check_users(array.size, name=name)
        if np.all(array == array[0]):
            return cls(users=array.size, mean=float(array[0]), variance=0.0)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow fails the checks instead
            return cls(
                users=array.size, mean=float(np.mean(array)), variance=float(np.var(array, ddof=1))
            )

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class WelchResult:
    """Treatment - control difference of means, with its (1 - alpha) interval."""

    control: GroupSummary
    treatment: GroupSummary
    alpha: float
    difference: float
    relative_difference: float | None
    standard_error: float
    statistic: float
    df: float | None
    """Welch-Satterthwaite degrees of freedom; None when both variances are zero."""
    p_value: float
    ci_low: float
    ci_high: float

    def __post_init__(self) -> None:
        check_finite(self)

    def to_dict(self) -> dict[str, Any]:
        return {"method": WELCH_T, **json_dict(self)}


def welch_df(control: GroupSummary, treatment: GroupSummary) -> float | None:
    """Welch-Satterthwaite, on terms scaled to at most 1 so that tiny variances never underflow."""
    control_term = control.variance / control.users
    treatment_term = treatment.variance / treatment.users
    scale = max(control_term, treatment_term)
    if scale == 0.0:
        return None
    control_term /= scale
    treatment_term /= scale
    denominator = control_term**2 / (control.users - 1) + treatment_term**2 / (treatment.users - 1)
    return (control_term + treatment_term) ** 2 / denominator


def welch_from_summaries(
    *, control: GroupSummary, treatment: GroupSummary, alpha: float = DEFAULT_ALPHA
) -> WelchResult:
    """Welch's test from aggregates, so the database can do the summing."""
    alpha = check_alpha(alpha)
    difference = treatment.mean - control.mean
    standard_error = math.sqrt(
        control.variance / control.users + treatment.variance / treatment.users
    )
    df = welch_df(control, treatment)
    inference = t_inference(
        difference=difference, standard_error=standard_error, df=df, alpha=alpha, what="means"
    )
    return WelchResult(
        control=control,
        treatment=treatment,
        alpha=alpha,
        difference=difference,
        relative_difference=relative(difference, control.mean),
        standard_error=standard_error,
        statistic=inference.statistic,
        df=df,
        p_value=inference.p_value,
        ci_low=inference.ci_low,
        ci_high=inference.ci_high,
    )


def welch_from_samples(
    *, control: npt.ArrayLike, treatment: npt.ArrayLike, alpha: float = DEFAULT_ALPHA
) -> WelchResult:
    return welch_from_summaries(
        control=GroupSummary.from_values(control, name="control"),
        treatment=GroupSummary.from_values(treatment, name="treatment"),
        alpha=alpha,
    )
