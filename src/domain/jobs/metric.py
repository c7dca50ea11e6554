"""The metric the brief gives, with room to report progress and to stop."""

from __future__ import annotations

import random
from collections.abc import Callable

DEFAULT_ITERATIONS = 10**7
PROGRESS_STEPS = 50
"""How many times a run reports progress: every 2%."""
CHECK_EVERY = 1 << 20
"""Iterations between two `should_stop` checks at most (about half a second)."""


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
    same order, cut into `steps` equal parts (fewer when there are fewer iterations): after each
    part it reports the fraction done, and before every chunk of at most CHECK_EVERY
    iterations it asks whether to stop. The checks cost a few calls per run, not one per
    iteration.
    """
    randint = random.randint
    result = 0
    start = 0
    for step in range(1, steps + 1):
        end = iterations * step // steps
        if end == start:
            continue
        for chunk_start in range(start, end, CHECK_EVERY):
            if should_stop is not None and should_stop():
                raise MetricStopped
            for i in range(chunk_start, min(chunk_start + CHECK_EVERY, end)):
                if randint(0, 1):
                    result += i * i
        if on_progress is not None:
            on_progress(end / iterations)
        start = end
    return result
