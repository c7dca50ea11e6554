"""The jobs context's ports in memory."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from domain.jobs.errors import QueueUnavailable, TooManyJobs
from domain.jobs.model import Job, JobId, JobsPage, JobStatus
from domain.jobs.ports import JobRepository, SweepLock, TaskQueue, WorkerProbe


class InMemoryJobRepository(JobRepository):
    """The job store in a dict, with the same compare-and-set on revisions as the real one."""

    def __init__(self) -> None:
        self.jobs: dict[JobId, Job] = {}

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        if job.idempotency_key is not None:
            for existing in self.jobs.values():
                if existing.idempotency_key == job.idempotency_key:
                    return existing, False
        active = sum(existing.status.is_active for existing in self.jobs.values())
        if active >= max_active:
            raise TooManyJobs(active)
        if job.id in self.jobs:
            raise ValueError(f"duplicate job id {job.id}")
        self.jobs[job.id] = job
        return job, True

    async def get(self, job_id: JobId) -> Job | None:
        return self.jobs.get(job_id)

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        def key(job: Job) -> tuple[dt.datetime, JobId]:
            return job.created_at, job.id

        newest_first = sorted(self.jobs.values(), key=key, reverse=True)
        if before is not None:
            # As in SQL, an unknown cursor matches nothing rather than starting over.
            anchor = self.jobs.get(before)
            newest_first = [job for job in newest_first if key(job) < key(anchor)] if anchor else []
        jobs = newest_first[:limit]
        return JobsPage(jobs=jobs, next_cursor=jobs[-1].id if len(newest_first) > limit else None)

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        stored = self.jobs.get(job.id)
        if stored is None or stored.revision != expected.revision:
            return None
        # As the real store: what the job was asked to run is written once, at `add`.
        self.jobs[job.id] = saved = replace(
            job,
            metric=stored.metric,
            params=stored.params,
            created_at=stored.created_at,
            revision=expected.revision + 1,
        )
        return saved

    async def stalled(
        self, *, now: dt.datetime, published_before: dt.datetime, limit: int
    ) -> builtins.list[Job]:
        queued = sorted(
            (
                job
                for job in self.jobs.values()
                if job.status is JobStatus.QUEUED and job.published_at < published_before
            ),
            key=lambda job: job.published_at,
        )
        expired = sorted(
            (
                job
                for job in self.jobs.values()
                if job.status is JobStatus.RUNNING
                and job.lease_expires_at is not None
                and job.lease_expires_at < now
            ),
            key=lambda job: job.lease_expires_at or now,
        )
        return queued[:limit] + expired[:limit]


class InMemorySweepLock(SweepLock):
    """One sweep at a time within the process; set `elsewhere` to have another process hold
    it."""

    def __init__(self) -> None:
        self.elsewhere = False
        self._held = False

    @asynccontextmanager
    async def held(self) -> AsyncIterator[bool]:
        if self.elsewhere or self._held:
            yield False
            return
        self._held = True
        try:
            yield True
        finally:
            self._held = False


class InMemoryTaskQueue(TaskQueue):
    """Records the ids it was given; set `down` to have it refuse them like a lost broker."""

    def __init__(self) -> None:
        self.enqueued: list[JobId] = []
        self.down = False

    async def enqueue(self, job_id: JobId) -> None:
        if self.down:
            raise QueueUnavailable("the broker is unreachable (down on purpose)")
        self.enqueued.append(job_id)


class InMemoryWorkerProbe(WorkerProbe):
    """Knows the workers named in `dead` are gone, and no other."""

    def __init__(self) -> None:
        self.dead: set[str] = set()

    async def gone(self, worker: str) -> bool:
        return worker in self.dead
