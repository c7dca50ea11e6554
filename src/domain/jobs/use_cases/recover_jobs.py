from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.jobs.errors import QueueUnavailable
from domain.jobs.limits import JobLimits
from domain.jobs.model import JobStatus
from domain.jobs.ports import JobRepository, SweepLock, TaskQueue
from domain.jobs.store import update_job
from domain.shared.clock import Clock

BATCH = 500
"""Jobs of each kind one round looks at, at most: a backlog is worked off over rounds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    """What one round of the sweep did."""

    swept: bool
    """False when another process held the sweep: this one did nothing."""
    republished: int = 0
    """Queued jobs whose message was sent again."""
    requeued: int = 0
    """Running jobs whose worker was lost, queued again and sent again."""
    failed: int = 0
    """Running jobs whose worker was lost once too often (`max_attempts`), failed."""
    cancelled: int = 0
    """Running jobs whose worker was lost with a cancel pending, ended cancelled."""


class RecoverJobs:
    """One round of the sweep that leaves no job stuck; the worker runs it every
    `JOB_SWEEP_INTERVAL` seconds.

    - Only one process sweeps at a time: while another holds the sweep, a round does nothing.
    - A queued job whose message was sent more than `republish_after` seconds ago and that no
      worker started is sent again (the broker lost it, or the API died before sending it). A
      copy of a message still queued is harmless: its start is fenced by the job store.
    - A running job whose lease ran out (its worker was killed or its host lost) goes back to
      `queued`, counting a loss, and is sent again; with a cancel pending it ends cancelled,
      and once it has used its `max_attempts` it fails ("Gave up after N attempts").
    - When the broker refuses a message the round stops there; the job waits for the next.
    """

    def __init__(
        self,
        jobs: JobRepository,
        queue: TaskQueue,
        lock: SweepLock,
        limits: JobLimits,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._lock = lock
        self._limits = limits
        self._clock = clock

    async def __call__(self) -> Recovery:
        async with self._lock.held() as mine:
            if not mine:
                return Recovery(swept=False)
            return await self._sweep()

    async def _sweep(self) -> Recovery:
        limits, clock = self._limits, self._clock
        now = clock.now()
        counts = dict.fromkeys(("republished", "requeued", "failed", "cancelled"), 0)
        stalled = await self._jobs.stalled(
            now=now,
            published_before=now - dt.timedelta(seconds=limits.republish_after),
            limit=BATCH,
        )
        for job in stalled:
            was_running = job.status is JobStatus.RUNNING
            if was_running:
                recovered, changed = await update_job(
                    self._jobs,
                    job,
                    lambda j: j.lease_expired(now=clock.now(), max_attempts=limits.max_attempts),
                )
            else:
                recovered, changed = await update_job(
                    self._jobs,
                    job,
                    lambda j: j.republish(now=clock.now(), after=limits.republish_after),
                )
            if recovered is None or not changed:
                continue  # started, finished or renewed meanwhile
            if recovered.status is JobStatus.FAILED:
                counts["failed"] += 1
                continue
            if recovered.status is JobStatus.CANCELLED:
                counts["cancelled"] += 1
                continue
            try:
                await self._queue.enqueue(recovered.id)
            except QueueUnavailable:
                # It stays queued, sent "now": the round after `republish_after` sends it again.
                break
            counts["requeued" if was_running else "republished"] += 1
        return Recovery(swept=True, **counts)
