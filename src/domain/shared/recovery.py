"""How many jobs were recovered: where the jobs context counts and the health context reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryTotals:
    lost: int
    """Jobs found lost: their worker vanished while they ran, or their message was gone."""
    republished: int
    """Jobs whose message was published again so that another worker runs them."""


class RecoveryCounters(Protocol):
    """Counts shared by every process of the service (whichever one recovers a job)."""

    async def count_lost(self, jobs: int = 1) -> None:
        """Adds `jobs` found lost; never raises (a count must not stop a recovery)."""
        ...

    async def count_republished(self, jobs: int = 1) -> None:
        """Adds `jobs` published again; never raises."""
        ...

    async def totals(self) -> RecoveryTotals | None:
        """The counts so far; None when they cannot be read now."""
        ...
