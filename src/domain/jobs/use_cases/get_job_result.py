from __future__ import annotations

from domain.jobs.errors import JobNotFound
from domain.jobs.model import Job, parse_job_id
from domain.jobs.ports import JobRepository


class GetJobResult:
    """Returns a job's status, progress and, once it succeeded, its result.

    - The job store answers, never the queue: an unknown id is an error, not "pending".
    - The result is exact (an integer of any size).
    """

    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(self, job_id: str) -> Job:
        job = await self._jobs.get(parse_job_id(job_id))
        if job is None:
            raise JobNotFound(job_id)
        return job
