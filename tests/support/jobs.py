"""Driving a job store through the domain's transitions, as the use cases do, in few words."""

from __future__ import annotations

from domain.jobs.model import Job, JobId, new_job_id
from domain.jobs.ports import JobRepository
from domain.jobs.store import update_job
from domain.shared.clock import Clock

LEASE = 30.0
"""The default lease of a test's runs, in seconds."""


class JobStore:
    """A job store with the transitions of `Job` applied by compare-and-set, one call each."""

    def __init__(self, jobs: JobRepository, clock: Clock) -> None:
        self.jobs = jobs
        self.clock = clock

    async def add(self, key: str | None = None, *, max_active: int = 1000) -> tuple[Job, bool]:
        job = Job.queued(
            id=new_job_id(), metric="calculate_metric", idempotency_key=key, now=self.clock.now()
        )
        return await self.jobs.add(job, max_active=max_active)

    async def start(
        self,
        job_id: JobId,
        *,
        worker: str,
        max_attempts: int,
        lease: float = LEASE,
        holder_gone: bool = False,
    ) -> Job | None:
        """The job after a delivery to `worker` (unchanged when the delivery did nothing)."""
        now = self.clock.now()
        job, _ = await update_job(
            self.jobs,
            job_id,
            lambda j: j.start(
                worker=worker,
                max_attempts=max_attempts,
                now=now,
                lease=lease,
                holder_gone=holder_gone,
            ),
        )
        return job

    async def report_progress(
        self, job_id: JobId, attempt: int, progress: float, *, lease: float = LEASE
    ) -> bool:
        now = self.clock.now()
        job, _ = await update_job(
            self.jobs,
            job_id,
            lambda j: j.progressed(attempt=attempt, progress=progress, now=now, lease=lease),
        )
        return job is not None and not job.should_stop(attempt)

    async def finish(
        self,
        job_id: JobId,
        attempt: int,
        *,
        result: int | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> Job | None:
        now = self.clock.now()
        job, changed = await update_job(
            self.jobs,
            job_id,
            lambda j: j.finished(
                attempt=attempt, now=now, result=result, error=error, cancelled=cancelled
            ),
        )
        return job if changed else None

    async def cancel(self, job_id: JobId) -> Job | None:
        now = self.clock.now()
        job, _ = await update_job(self.jobs, job_id, lambda j: j.cancel(now=now))
        return job

    async def expire_lease(self, job_id: JobId, *, max_attempts: int) -> Job | None:
        """The job after its lease was found run out (unchanged when it still holds)."""
        now = self.clock.now()
        job, _ = await update_job(
            self.jobs, job_id, lambda j: j.lease_expired(now=now, max_attempts=max_attempts)
        )
        return job

    async def fail_queued(self, job_id: JobId, reason: str) -> None:
        now = self.clock.now()
        await update_job(self.jobs, job_id, lambda j: j.not_queued(reason=reason, now=now))
