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
