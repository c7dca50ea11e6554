from __future__ import annotations

from domain.jobs.errors import JobAlreadyFinished, JobNotFound
from domain.jobs.model import Job, parse_job_id
from domain.jobs.ports import JobRepository
from domain.jobs.store import update_job
from domain.shared.clock import Clock


class CancelJob:
    """Cancels a job.

    - A queued job is cancelled at once and never runs.
    - A running job is asked to stop; it ends `cancelled` at its next check (within 2% of its
      run).
    - A finished job cannot be cancelled (409).
    """

    def __init__(self, jobs: JobRepository, clock: Clock) -> None:
        self._jobs = jobs
        self._clock = clock

    async def __call__(self, job_id: str) -> Job:
        job, _ = await update_job(
            self._jobs, parse_job_id(job_id), lambda j: j.cancel(now=self._clock.now())
        )
        if job is None:
            raise JobNotFound(job_id)
        if job.status.is_final and not job.cancelled_by_request:
            raise JobAlreadyFinished(job_id, job.status)
        return job
