from __future__ import annotations

from domain.shared.recovery import RecoveryCounters, RecoveryTotals


class InMemoryRecoveryCounters(RecoveryCounters):
    def __init__(self) -> None:
        self.lost = 0
        self.republished = 0
        self.readable = True

    async def count_lost(self, jobs: int = 1) -> None:
        self.lost += jobs

    async def count_republished(self, jobs: int = 1) -> None:
        self.republished += jobs

    async def totals(self) -> RecoveryTotals | None:
        if not self.readable:
            return None
        return RecoveryTotals(lost=self.lost, republished=self.republished)
