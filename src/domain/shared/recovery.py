"""How many jobs were recovered: what the jobs context records and the health context reads."""

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
    """The totals since the job store exists, whichever process recovered each job: the job
    store counts them in the same write as the recovery itself."""

    async def totals(self) -> RecoveryTotals | None:
        """The counts so far; None when they cannot be read now."""
        ...
