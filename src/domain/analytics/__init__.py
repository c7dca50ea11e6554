"""The analytics context: the metrics jobs run, and the statistics of A/B tests.

The metrics (`domain.shared.metrics.Metric`) are `CalculateMetric` (the brief's loop, in
`calculate_metric`) and `AbTestMetric` (`ab_test`), which reads the stored tables through its
port `ExperimentData` (`ports`). The statistics below are pure functions over numpy arrays,
no I/O; this package exports them.

Which test for which metric:

- `welch_from_samples` / `welch_from_summaries` (method "welch_t"): a mean of one value per
  user, such as revenue, orders or sessions per user, or a 0/1 conversion.
- `delta_method_from_samples` / `delta_method_from_summaries` (method "delta_method"): a
  ratio of two sums over users, such as revenue per order or clicks per view.
- `cuped` (method "cuped"): a per-user mean with a pre-experiment covariate, for narrower
  intervals than Welch's test alone.
- `sample_ratio_mismatch`: the group sizes against the intended split; check it first.

Every function raises `StatisticsError` (a `ValueError`) on inputs where its test is impossible
or undefined, and returns frozen dataclasses whose `to_dict()` is JSON-safe.
"""

from domain.analytics.cuped import CupedResult, cuped
from domain.analytics.ratio import (
    RatioResult,
    RatioSummary,
    delta_method_from_samples,
    delta_method_from_summaries,
)
from domain.analytics.srm import SRM_P_VALUE_THRESHOLD, SrmResult, sample_ratio_mismatch
from domain.analytics.statistics import (
    DEFAULT_ALPHA,
    GroupSummary,
    StatisticsError,
    WelchResult,
    welch_from_samples,
    welch_from_summaries,
)

__all__ = [
    "DEFAULT_ALPHA",
    "SRM_P_VALUE_THRESHOLD",
    "CupedResult",
    "GroupSummary",
    "RatioResult",
    "RatioSummary",
    "SrmResult",
    "StatisticsError",
    "WelchResult",
    "cuped",
    "delta_method_from_samples",
    "delta_method_from_summaries",
    "sample_ratio_mismatch",
    "welch_from_samples",
    "welch_from_summaries",
]
