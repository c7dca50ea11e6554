from __future__ import annotations

import datetime as dt

import pytest

from domain.jobs.limits import JobLimits
from domain.jobs.model import Job, JobStatus
from domain.jobs.use_cases.recover_jobs import RecoverJobs, Recovery
from tests.support.fakes import (
    FakeClock,
    InMemoryJobRepository,
    InMemorySweepLock,
    InMemoryTaskQueue,
)
from tests.support.jobs import JobStore

LIMITS = JobLimits(max_active=100, max_attempts=2, time_limit=60, lease=30, republish_after=20)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jobs() -> InMemoryJobRepository:
    return InMemoryJobRepository()


@pytest.fixture
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


@pytest.fixture
def lock() -> InMemorySweepLock:
    return InMemorySweepLock()


@pytest.fixture
def recover(
    jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, lock: InMemorySweepLock, clock: FakeClock
) -> RecoverJobs:
    return RecoverJobs(jobs, queue, lock, LIMITS, clock)


async def stored(jobs: InMemoryJobRepository, job: Job) -> Job:
    current = await jobs.get(job.id)
    assert current is not None
    return current


async def test_a_queued_job_waiting_past_the_limit_is_sent_again_once(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    job, _ = await JobStore(jobs, clock).add()
    assert await recover() == Recovery(swept=True)
    clock.advance(dt.timedelta(seconds=21))

    first = await recover()
    second = await recover()

    assert first == Recovery(swept=True, republished=1)
    assert second == Recovery(swept=True)
    assert queue.enqueued == [job.id]
    current = await stored(jobs, job)
    assert (current.status, current.republished) == (JobStatus.QUEUED, 1)


async def test_a_running_job_whose_lease_ran_out_is_queued_and_sent_again(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    store = JobStore(jobs, clock)
    job, _ = await store.add()
    await store.start(job.id, worker="w:1", max_attempts=2, lease=30)
    clock.advance(dt.timedelta(seconds=29))
    assert await recover() == Recovery(swept=True)
    clock.advance(dt.timedelta(seconds=2))

    done = await recover()

    assert done == Recovery(swept=True, requeued=1)
    assert queue.enqueued == [job.id]
    current = await stored(jobs, job)
    assert (current.status, current.losses, current.attempts) == (JobStatus.QUEUED, 1, 1)
    rerun = await store.start(job.id, worker="w:2", max_attempts=2)
    assert rerun is not None
    assert (rerun.status, rerun.attempts) == (JobStatus.RUNNING, 2)


async def test_a_job_whose_worker_is_lost_on_its_last_attempt_fails(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    store = JobStore(jobs, clock)
    job, _ = await store.add()
    for worker in ("w:1", "w:2"):
        await store.start(job.id, worker=worker, max_attempts=2, lease=30)
        clock.advance(dt.timedelta(seconds=31))
        await recover()

    current = await stored(jobs, job)
    assert (current.status, current.attempts, current.losses) == (JobStatus.FAILED, 2, 2)
    assert current.error is not None
    assert "Gave up after 2 attempts" in current.error
    assert queue.enqueued == [job.id]


async def test_a_lost_job_with_a_cancel_pending_ends_cancelled_and_is_not_sent(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    store = JobStore(jobs, clock)
    job, _ = await store.add()
    await store.start(job.id, worker="w:1", max_attempts=2, lease=30)
    await store.cancel(job.id)
    clock.advance(dt.timedelta(seconds=31))

    assert await recover() == Recovery(swept=True, cancelled=1)
    assert (await stored(jobs, job)).status is JobStatus.CANCELLED
    assert queue.enqueued == []


async def test_a_running_job_renewing_its_lease_is_never_touched(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    store = JobStore(jobs, clock)
    job, _ = await store.add()
    await store.start(job.id, worker="w:1", max_attempts=2, lease=30)
    for _ in range(5):
        clock.advance(dt.timedelta(seconds=20))
        assert await store.report_progress(job.id, 1, 0.5, lease=30)
        assert await recover() == Recovery(swept=True)

    assert (await stored(jobs, job)).status is JobStatus.RUNNING
    assert queue.enqueued == []


async def test_nothing_happens_while_another_process_sweeps(
    recover: RecoverJobs,
    jobs: InMemoryJobRepository,
    queue: InMemoryTaskQueue,
    lock: InMemorySweepLock,
    clock: FakeClock,
) -> None:
    job, _ = await JobStore(jobs, clock).add()
    clock.advance(dt.timedelta(seconds=60))
    lock.elsewhere = True

    assert await recover() == Recovery(swept=False)
    assert queue.enqueued == []
    assert (await stored(jobs, job)).republished == 0


async def test_a_broker_refusing_stops_the_round_and_the_job_is_tried_again_later(
    recover: RecoverJobs, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    job, _ = await JobStore(jobs, clock).add()
    clock.advance(dt.timedelta(seconds=21))
    queue.down = True
    assert await recover() == Recovery(swept=True)
    queue.down = False

    assert await recover() == Recovery(swept=True)
    clock.advance(dt.timedelta(seconds=21))
    assert await recover() == Recovery(swept=True, republished=1)
    assert queue.enqueued == [job.id]
