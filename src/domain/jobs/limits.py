"""How much work the service takes on, how long a run may take, and how soon a lost job comes
back: written once, here."""

from __future__ import annotations

from dataclasses import dataclass

KILL_GRACE = 60.0
"""Seconds past the time limit after which the worker kills a run that did not stop itself
(a run stops at its next check once the time limit has passed)."""
HEARTBEATS_PER_LEASE = 4
"""A run renews its lease this many times per lease when its progress is sparse, so that a
few slow writes in a row do not lose it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobLimits:
    max_active: int
    """Queued plus running jobs beyond which launching is refused (429)."""
    max_attempts: int
    """Starts of one job before it is failed (a job whose worker is lost every time)."""
    time_limit: float
    """Seconds a run may take before it stops and fails."""
    lease: float = 30.0
    """Seconds a running job stays its worker's without a write from it; past that the worker
    is taken for gone and the job is queued again."""
    republish_after: float = 30.0
    """Seconds a queued job may wait after its message was sent before it is sent again (the
    broker may have lost it)."""
    progress_interval: float = 0.2
    """Seconds between two progress writes of a run at least (the last one is always
    written): a run costs a few writes whatever number of points its metric reports."""

    @property
    def kill_after(self) -> float:
        """Seconds after which the worker kills a run: its hard time limit."""
        return self.time_limit + KILL_GRACE

    @property
    def heartbeat(self) -> float:
        """Seconds without a progress write after which a run renews its lease anyway."""
        return self.lease / HEARTBEATS_PER_LEASE
