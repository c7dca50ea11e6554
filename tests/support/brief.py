"""The brief's `calculate_metric`, as a reference to check the service's against."""

from __future__ import annotations

import random


def brief_metric(iterations: int) -> int:
    """The brief's function, word for word but for the iteration count."""
    result = 0
    for i in range(iterations):
        if random.randint(0, 1):
            result += i * i
    return result


def metric_upper_bound(iterations: int) -> int:
    """The largest result possible: every draw was 1 (the sum of i² for i < iterations)."""
    n = iterations - 1
    return n * (n + 1) * (2 * n + 1) // 6 if n > 0 else 0
