from __future__ import annotations

from domain.jobs.errors import JobNotFound, JobStillActive
from domain.jobs.model import parse_job_id
from domain.jobs.ports import JobRepository
from domain.jobs.use_cases.launch_metric import Launched, LaunchMetric


class RerunJob:
    """Launches a finished job's metric again, with the same parameters, as a new job linked
    to it (`rerun_of`); the finished job is kept as it is.

    - Only a finished job (succeeded, failed or cancelled) can be run again: a queued or
      running one is a 409.
    - The parameters are checked again, as at any launch: a table or column gone since is a
      400 naming it, and nothing is queued; the limits of a launch hold (429, 503).
    """

    def __init__(self, jobs: JobRepository, launch: LaunchMetric) -> None:
        self._jobs = jobs
        self._launch = launch

    async def __call__(self, job_id: str) -> Launched:
        job = await self._jobs.get(parse_job_id(job_id))
        if job is None:
            raise JobNotFound(job_id)
        if not job.status.is_final:
            raise JobStillActive(job_id, job.status)
        return await self._launch(metric=job.metric, params=job.params, rerun_of=job.id)
