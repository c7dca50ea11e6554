"""The metric the brief gives, with room to report progress and to stop."""

from __future__ import annotations

import random
from collections.abc import Callable

DEFAULT_ITERATIONS = 10**7
PROGRESS_STEPS = 50
"""How many times a run reports progress (every 2%) and checks whether it should stop."""


class MetricStopped(Exception):
    """Raised inside a run when `should_stop` answered True."""


def calculate_metric(
    iterations: int = DEFAULT_ITERATIONS,
    *,
    on_progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    steps: int = PROGRESS_STEPS,
) -> int:
    """Long metric computation.

    The brief's loop over `range(iterations)` with the same `random.randint(0, 1)` draws in the
    same order, cut into `steps` chunks; between chunks it reports the fraction done and asks
    whether to stop, so the checks cost a few calls per run, not one per iteration.
    """
    randint = random.randint
    result = 0
    chunk = max(1, -(-iterations // steps))
    for start in range(0, iterations, chunk):
        if should_stop is not None and should_stop():
            raise MetricStopped
        end = min(start + chunk, iterations)
        for i in range(start, end):
            if randint(0, 1):
                result += i * i
        if on_progress is not None:
            on_progress(end / iterations)
    return result


def metric_upper_bound(iterations: int) -> int:
    """The largest result possible: every draw was 1 (the sum of i² for i < iterations)."""
    n = iterations - 1
    return n * (n + 1) * (2 * n + 1) // 6 if n > 0 else 0
