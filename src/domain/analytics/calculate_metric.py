"""The metric the brief gives, with room to report progress and to stop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any

from domain.shared.errors import InvalidParameter
from domain.shared.metrics import JsonObject, Metric, MetricStopped, Progress

DEFAULT_ITERATIONS = 10**7
PROGRESS_STEPS = 50
"""How many times a run reports progress: every 2%."""
CHECK_EVERY = 1 << 20
"""Iterations between two `should_stop` checks at most (about half a second)."""


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


class CalculateMetric(Metric):
    """The brief's `calculate_metric` as a metric a job runs: no parameters; the loop runs in
    a thread, so the event loop stays free to record its progress."""

    name = "calculate_metric"
    description = (
        "The brief's stand-in for a long metric computation: the sum of i² over the i in "
        "range(10^7) for which random.randint(0, 1) drew 1. An exact integer of about 1.7e20, "
        "sent as a decimal string. Takes no parameters."
    )
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }

    def __init__(self, *, iterations: int = DEFAULT_ITERATIONS) -> None:
        self._iterations = iterations

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        for name in params:
            raise InvalidParameter(name, f"{self.name} takes no parameters.")
        return {}

    async def run(self, params: Mapping[str, object], progress: Progress) -> int:
        loop = asyncio.get_running_loop()

        def on_progress(fraction: float) -> None:
            # A report the job store would not take costs nothing; one it takes blocks this
            # thread until it is written, so progress is in order.
            if progress.due():
                asyncio.run_coroutine_threadsafe(progress.report(fraction, None), loop).result()

        return await asyncio.to_thread(
            calculate_metric,
            self._iterations,
            on_progress=on_progress,
            should_stop=progress.should_stop,
        )
