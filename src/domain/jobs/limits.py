"""How much work the service takes on, and how long a run may take: written once, here."""

from __future__ import annotations

from dataclasses import dataclass

KILL_GRACE = 60.0
"""Seconds past the time limit after which the worker kills a run that did not stop itself
(a run stops at its next check once the time limit has passed)."""
LOST_GRACE = 60.0
"""Seconds past the kill after which a job still `running` must have lost its worker."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobLimits:
    max_active: int
    """Queued plus running jobs beyond which launching is refused (429)."""
    max_attempts: int
    """Deliveries of one job before it is failed (a job that kills its worker every time)."""
    time_limit: float
    """Seconds a run may take before it stops and fails."""

    @property
    def kill_after(self) -> float:
        """Seconds after which the worker kills a run: its hard time limit."""
        return self.time_limit + KILL_GRACE

    @property
    def lost_after(self) -> float:
        """Seconds a run may last before its job counts as lost: past the hard limit, which
        would have ended it."""
        return self.kill_after + LOST_GRACE
