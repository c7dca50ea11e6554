from __future__ import annotations

import datetime as dt

from domain.jobs.model import JobStatus
from domain.jobs.use_cases.purge_jobs import PurgeJobs
from tests.support.fakes import FakeClock, InMemoryJobRepository
from tests.support.jobs import JobStore

WEEK = dt.timedelta(days=7)


async def test_deletes_the_jobs_finished_before_the_retention_in_batches() -> None:
    jobs, clock = InMemoryJobRepository(), FakeClock()
    store = JobStore(jobs, clock)
    old = [(await store.add())[0] for _ in range(5)]
    for job in old:
        await store.cancel(job.id)
    clock.advance(WEEK + dt.timedelta(hours=1))
    recent, _ = await store.add()
    await store.cancel(recent.id)

    deleted = await PurgeJobs(jobs, clock)(retention=WEEK, batch=2)

    assert deleted == 5
    assert list(jobs.jobs) == [recent.id]


async def test_never_deletes_a_queued_or_running_job_however_old() -> None:
    jobs, clock = InMemoryJobRepository(), FakeClock()
    store = JobStore(jobs, clock)
    await store.add()
    running, _ = await store.add()
    await store.start(running.id, worker="w:1", max_attempts=3)
    clock.advance(WEEK * 100)

    deleted = await PurgeJobs(jobs, clock)(retention=WEEK)

    assert deleted == 0
    assert {job.status for job in jobs.jobs.values()} == {JobStatus.QUEUED, JobStatus.RUNNING}


async def test_deletes_nothing_while_another_process_deletes() -> None:
    jobs, clock = InMemoryJobRepository(), FakeClock()
    store = JobStore(jobs, clock)
    job, _ = await store.add()
    await store.cancel(job.id)
    clock.advance(WEEK * 2)
    jobs.busy_deleting = True

    assert await PurgeJobs(jobs, clock)(retention=WEEK) is None
    assert list(jobs.jobs) == [job.id]
