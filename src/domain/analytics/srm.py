"""Sample-ratio mismatch: are the groups as large as the split promised?

Run `sample_ratio_mismatch` on the user counts of every experiment before reading its other
results. A split that was meant to be 50/50 but came out 52/48 over 10,000 users points at a
bug in assignment or logging (bots filtered in one arm, a redirect that loses users), and
then no difference between the groups can be trusted, however significant.

The test is Pearson's chi-square goodness of fit of the observed counts against the counts
the weights expect, with k - 1 degrees of freedom for k groups. Mismatch is flagged below
p = 0.001 rather than 0.05: the check runs on every experiment, and a healthy experiment
should almost never be called broken.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.analytics.statistics import StatisticsError, check_alpha, check_finite, json_dict

SRM_P_VALUE_THRESHOLD = 0.001
MIN_GROUPS = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class SrmResult:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    """Counts the weights expect for the observed total."""
    statistic: float
    df: int
    srm_p_value: float
    srm: bool
    """True when srm_p_value < SRM_P_VALUE_THRESHOLD: the split is broken."""

    def __post_init__(self) -> None:
        check_finite(self)

    def to_dict(self) -> dict[str, Any]:
        result = json_dict(self)
        return {**result, "observed": list(self.observed), "expected": list(self.expected)}


def _counts(observed: Sequence[int]) -> tuple[int, ...]:
    if len(observed) < MIN_GROUPS:
        raise StatisticsError(f"a split needs at least {MIN_GROUPS} groups, got {len(observed)}")
    for count in observed:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise StatisticsError(f"group sizes must be integers >= 0, got {count!r}")
    counts = tuple(int(count) for count in observed)
    if sum(counts) == 0:
        raise StatisticsError("no users were assigned to any group")
    return counts


def _weights(weights: Sequence[float] | None, groups: int) -> tuple[float, ...]:
    if weights is None:
        return (1.0,) * groups
    shares = tuple(float(weight) for weight in weights)
    if len(shares) != groups:
        raise StatisticsError(f"{len(shares)} weights for {groups} groups")
    if not all(math.isfinite(share) and share > 0.0 for share in shares):
        raise StatisticsError(f"weights must be finite and > 0, got {shares}")
    return shares


def sample_ratio_mismatch(
    observed: Sequence[int],
    *,
    weights: Sequence[float] | None = None,
    threshold: float = SRM_P_VALUE_THRESHOLD,
) -> SrmResult:
    """`observed` are users per group; `weights` their intended shares (equal by default)."""
    threshold = check_alpha(threshold)
    counts = _counts(observed)
    shares = _weights(weights, len(counts))
    total, share_total = sum(counts), math.fsum(shares)
    expected = tuple(total * share / share_total for share in shares)
    statistic = math.fsum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    df = len(counts) - 1
    from scipy import special  # here: importing it takes a fifth of a second

    p_value = float(special.chdtrc(df, statistic))
    return SrmResult(
        observed=counts,
        expected=expected,
        statistic=statistic,
        df=df,
        srm_p_value=p_value,
        srm=p_value < threshold,
    )
