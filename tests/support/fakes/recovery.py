from __future__ import annotations

from domain.shared.recovery import RecoveryCounters, RecoveryTotals


class InMemoryRecoveryCounters(RecoveryCounters):
    """Totals a test sets (`lost`, `republished`), or unreadable (`readable = False`)."""

    def __init__(self) -> None:
        self.lost = 0
        self.republished = 0
        self.readable = True

    async def totals(self) -> RecoveryTotals | None:
        if not self.readable:
            return None
        return RecoveryTotals(lost=self.lost, republished=self.republished)
