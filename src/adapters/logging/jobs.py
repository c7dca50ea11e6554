"""Each job's life in the log, from a decorator around the job store: the use cases never know.

Every record carries the job's id (and, once it runs, its attempt and worker) as `extra`
fields, so a log shipper can follow one job across the API and the workers.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging

from domain.jobs.model import ANY_JOB, Job, JobFilter, JobId, JobsPage, JobStatus
from domain.jobs.ports import JobRepository

log = logging.getLogger("experiments.jobs")

MILESTONES = (0.25, 0.5, 0.75)
"""Progress points logged (every progress write would be 50 lines a run)."""


class LoggedJobRepository(JobRepository):
    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        stored, created = await self._jobs.add(job, max_active=max_active)
        if created and log.isEnabledFor(logging.INFO):
            rerun = f", a re-run of {stored.rerun_of}" if stored.rerun_of else ""
            log.info("Job %s queued (%s%s)", stored.id, stored.metric, rerun, extra=_fields(stored))
        return stored, created

    async def get(self, job_id: JobId) -> Job | None:
        return await self._jobs.get(job_id)

    async def list(
        self, *, limit: int, before: JobId | None = None, only: JobFilter = ANY_JOB
    ) -> JobsPage:
        return await self._jobs.list(limit=limit, before=before, only=only)

    async def delete_finished(self, *, before: dt.datetime, batch: int) -> int | None:
        deleted = await self._jobs.delete_finished(before=before, batch=batch)
        if deleted:
            log.info("Deleted %d jobs finished before %s", deleted, before.isoformat())
        return deleted

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        saved = await self._jobs.save(job, expected=expected)
        if saved is not None:
            _log_change(expected, saved)
        return saved

    async def stalled(
        self, *, now: dt.datetime, published_before: dt.datetime, limit: int
    ) -> builtins.list[Job]:
        return await self._jobs.stalled(now=now, published_before=published_before, limit=limit)


def _log_change(before: Job, after: Job) -> None:
    fields = _fields(after)
    if after.losses > before.losses:
        log.warning(
            "Job %s lost its worker %s (attempt %d)",
            after.id,
            before.worker,
            before.attempts,
            extra=fields | {"lost": True},
        )
    if after.republished > before.republished:
        log.info(
            "Job %s sent to the workers again (%d times so far)",
            after.id,
            after.republished,
            extra=fields | {"republished": True},
        )
    if after.status is JobStatus.RUNNING and (
        before.status is not JobStatus.RUNNING or after.attempts != before.attempts
    ):
        log.info(
            "Job %s started, attempt %d on %s", after.id, after.attempts, after.worker, extra=fields
        )
    elif after.status.is_final and not before.status.is_final:
        level = logging.WARNING if after.status is JobStatus.FAILED else logging.INFO
        detail = f": {after.error}" if after.error else ""
        log.log(level, "Job %s %s%s", after.id, after.status, detail, extra=fields)
    elif after.cancel_requested and not before.cancel_requested:
        log.info("Job %s asked to stop", after.id, extra=fields)
    elif crossed := [m for m in MILESTONES if before.progress < m <= after.progress]:
        log.info("Job %s at %d%%", after.id, round(crossed[-1] * 100), extra=fields)


def _fields(job: Job) -> dict[str, object]:
    return {"job_id": str(job.id), "attempt": job.attempts, "worker": job.worker}
