from __future__ import annotations

from dataclasses import dataclass

from domain.errors import QueueUnavailable
from domain.job import Job, NewJob, check_idempotency_key, new_job_id
from domain.ports.jobs import JobRepository, TaskQueue

METRIC_NAME = "calculate_metric"


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchLimits:
    max_active_jobs: int = 100
    """Queued plus running jobs beyond which launching is refused (429)."""
    lost_after: float = 720.0
    """Seconds a run may last before its job counts as lost: past the worker's hard time
    limit, which would have ended it."""


class LaunchMetric:
    """Queues a run of `calculate_metric` and returns its job at once, without waiting for it.

    - The same `Idempotency-Key` returns the same job and queues nothing new.
    - When `max_active_jobs` jobs are already queued or running, nothing is created (429).
      A job running for longer than any run can last is failed as lost first, so dead
      workers cannot hold the slots forever.
    - When the broker cannot take the job, it is marked failed, never left queued, and the
      launch answers 503; a retry with the same `Idempotency-Key` launches anew.
    """

    def __init__(self, jobs: JobRepository, queue: TaskQueue, limits: LaunchLimits) -> None:
        self._jobs = jobs
        self._queue = queue
        self._limits = limits

    async def __call__(self, *, idempotency_key: str | None = None) -> Job:
        key = check_idempotency_key(idempotency_key) if idempotency_key is not None else None
        await self._jobs.fail_lost(running_for=self._limits.lost_after)
        job, created = await self._jobs.add(
            NewJob(id=new_job_id(), metric=METRIC_NAME, idempotency_key=key),
            max_active=self._limits.max_active_jobs,
        )
        if not created:
            return job
        try:
            await self._queue.enqueue(job.id)
        except QueueUnavailable as error:
            await self._jobs.fail_queued(job.id, f"Could not be queued: {error.detail}")
            raise
        return job
