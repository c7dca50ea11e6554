from __future__ import annotations

from domain.errors import JobAlreadyFinished, JobNotFound
from domain.job import Job, JobStatus, parse_job_id
from domain.ports.jobs import JobRepository


class CancelJob:
    """Cancels a job.

    - A queued job is cancelled at once and never runs.
    - A running job is asked to stop; it ends `cancelled` at its next check (within 2% of its
      run).
    - A finished job cannot be cancelled (409).
    """

    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(self, job_id: str) -> Job:
        job = await self._jobs.cancel(parse_job_id(job_id))
        if job is None:
            raise JobNotFound(job_id)
        if job.status.is_final and not (job.status is JobStatus.CANCELLED and job.cancel_requested):
            raise JobAlreadyFinished(job_id, job.status)
        return job
