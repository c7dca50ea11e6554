from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from domain.jobs.errors import JobAlreadyFinished, JobNotFound
from domain.jobs.model import Job, JobId, JobStatus
from domain.jobs.use_cases.cancel_job import CancelJob
from domain.jobs.use_cases.get_job_result import GetJobResult
from domain.jobs.use_cases.list_jobs import ListJobs
from domain.shared.errors import InvalidParameter
from tests.support.fakes import FakeClock, InMemoryJobRepository
from tests.support.jobs import JobStore

UNKNOWN = str(uuid.UUID(int=1))


@pytest.fixture
def jobs() -> InMemoryJobRepository:
    return InMemoryJobRepository()


CLOCK = FakeClock()


def store(jobs: InMemoryJobRepository, clock: FakeClock = CLOCK) -> JobStore:
    return JobStore(jobs, clock)


async def add_job(jobs: InMemoryJobRepository, clock: FakeClock = CLOCK) -> Job:
    job, _ = await store(jobs, clock).add()
    return job


async def running_job(jobs: InMemoryJobRepository) -> Job:
    job = await add_job(jobs)
    started = await store(jobs).start(job.id, worker="worker-1", max_attempts=3)
    assert started is not None
    return started


# GetJobResult


async def test_get_returns_the_job_with_its_exact_result(jobs: InMemoryJobRepository) -> None:
    job = await running_job(jobs)
    await store(jobs).finish(job.id, job.attempts, result=10**40 + 1)

    found = await GetJobResult(jobs)(str(job.id))

    assert found.status is JobStatus.SUCCEEDED
    assert found.result == 10**40 + 1
    assert found.progress == 1.0


async def test_get_raises_job_not_found_for_an_unknown_id(jobs: InMemoryJobRepository) -> None:
    await add_job(jobs)

    with pytest.raises(JobNotFound) as raised:
        await GetJobResult(jobs)(UNKNOWN)

    assert UNKNOWN in raised.value.detail


@pytest.mark.parametrize("job_id", ["", "42", "not-a-uuid", "0000000-0000-0000-0000-000000000000"])
async def test_get_rejects_a_malformed_id_naming_job_id(
    jobs: InMemoryJobRepository, job_id: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await GetJobResult(jobs)(job_id)

    assert raised.value.parameter == "job_id"


# ListJobs


async def test_list_returns_jobs_newest_first(jobs: InMemoryJobRepository) -> None:
    added = [await add_job(jobs) for _ in range(5)]

    page = await ListJobs(jobs)()

    assert [job.id for job in page.jobs] == [job.id for job in reversed(added)]
    assert page.next_cursor is None


async def test_list_returns_an_empty_page_when_there_are_no_jobs(
    jobs: InMemoryJobRepository,
) -> None:
    page = await ListJobs(jobs)()

    assert page.jobs == []
    assert page.next_cursor is None


@pytest.mark.parametrize("tick", [dt.timedelta(milliseconds=1), dt.timedelta(0)])
@pytest.mark.parametrize("limit", [1, 3, 7, 100])
async def test_list_pages_cover_every_job_exactly_once_in_order(
    tick: dt.timedelta, limit: int
) -> None:
    jobs, clock = InMemoryJobRepository(), FakeClock(tick=tick)
    for _ in range(7):
        await add_job(jobs, clock)
    list_jobs = ListJobs(jobs)

    seen: list[JobId] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await list_jobs(limit=limit, cursor=cursor)
        pages += 1
        assert 0 < len(page.jobs) <= limit
        seen.extend(job.id for job in page.jobs)
        if page.next_cursor is None:
            break
        cursor = str(page.next_cursor)

    everything = (await list_jobs(limit=100)).jobs
    assert seen == [job.id for job in everything]
    assert sorted(seen) == sorted(jobs.jobs)
    assert pages == -(-7 // limit)


async def test_list_gives_no_cursor_when_the_page_holds_the_last_job(
    jobs: InMemoryJobRepository,
) -> None:
    for _ in range(3):
        await add_job(jobs)

    page = await ListJobs(jobs)(limit=3)

    assert len(page.jobs) == 3
    assert page.next_cursor is None


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_list_rejects_a_limit_outside_1_to_100_naming_limit(
    jobs: InMemoryJobRepository, limit: int
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await ListJobs(jobs)(limit=limit)

    assert raised.value.parameter == "limit"


@pytest.mark.parametrize("cursor", ["", "abc", "12345"])
async def test_list_rejects_a_malformed_cursor_naming_cursor(
    jobs: InMemoryJobRepository, cursor: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await ListJobs(jobs)(cursor=cursor)

    assert raised.value.parameter == "cursor"


# CancelJob


async def test_cancel_ends_a_queued_job_at_once(jobs: InMemoryJobRepository) -> None:
    job = await add_job(jobs)

    cancelled = await CancelJob(jobs, CLOCK)(str(job.id))

    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert await jobs.get(job.id) == cancelled


async def test_cancel_asks_a_running_job_to_stop_and_leaves_it_running(
    jobs: InMemoryJobRepository,
) -> None:
    job = await running_job(jobs)

    asked = await CancelJob(jobs, CLOCK)(str(job.id))

    assert asked.status is JobStatus.RUNNING
    assert asked.cancel_requested
    assert asked.finished_at is None
    assert await store(jobs).report_progress(job.id, job.attempts, 0.5) is False


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
async def test_cancel_refuses_a_finished_job_with_job_already_finished(
    jobs: InMemoryJobRepository, outcome: str
) -> None:
    job = await running_job(jobs)
    if outcome == "succeeded":
        await store(jobs).finish(job.id, job.attempts, result=7)
    else:
        await store(jobs).finish(job.id, job.attempts, error="boom")
    before = await jobs.get(job.id)

    with pytest.raises(JobAlreadyFinished) as raised:
        await CancelJob(jobs, CLOCK)(str(job.id))

    assert outcome in raised.value.detail
    assert await jobs.get(job.id) == before


async def test_cancel_refuses_a_job_that_could_not_be_queued(
    jobs: InMemoryJobRepository,
) -> None:
    job = await add_job(jobs)
    await store(jobs).fail_queued(job.id, "broker down")

    with pytest.raises(JobAlreadyFinished):
        await CancelJob(jobs, CLOCK)(str(job.id))


async def test_cancelling_a_queued_job_twice_answers_cancelled_both_times(
    jobs: InMemoryJobRepository,
) -> None:
    job = await add_job(jobs)
    cancel = CancelJob(jobs, CLOCK)

    first = await cancel(str(job.id))
    second = await cancel(str(job.id))

    assert first.status is second.status is JobStatus.CANCELLED
    assert second == first


async def test_cancelling_a_running_job_twice_keeps_asking_it_to_stop(
    jobs: InMemoryJobRepository,
) -> None:
    job = await running_job(jobs)
    cancel = CancelJob(jobs, CLOCK)

    await cancel(str(job.id))
    again = await cancel(str(job.id))

    assert again.status is JobStatus.RUNNING
    assert again.cancel_requested


async def test_cancel_again_after_the_run_stopped_answers_cancelled(
    jobs: InMemoryJobRepository,
) -> None:
    job = await running_job(jobs)
    cancel = CancelJob(jobs, CLOCK)
    await cancel(str(job.id))
    await store(jobs).finish(job.id, job.attempts, cancelled=True)

    again = await cancel(str(job.id))

    assert again.status is JobStatus.CANCELLED


async def test_cancel_raises_job_not_found_for_an_unknown_id(jobs: InMemoryJobRepository) -> None:
    with pytest.raises(JobNotFound):
        await CancelJob(jobs, CLOCK)(UNKNOWN)


async def test_cancel_rejects_a_malformed_id_naming_job_id(jobs: InMemoryJobRepository) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await CancelJob(jobs, CLOCK)("nope")

    assert raised.value.parameter == "job_id"


async def test_list_filters_by_status_and_metric(jobs: InMemoryJobRepository) -> None:
    queued = await add_job(jobs)
    running = await running_job(jobs)

    only_running = await ListJobs(jobs)(status=["running"])
    both = await ListJobs(jobs)(status=["running", "queued"], metric="calculate_metric")
    other_metric = await ListJobs(jobs)(metric="ab_test")

    assert [job.id for job in only_running.jobs] == [running.id]
    assert {job.id for job in both.jobs} == {queued.id, running.id}
    assert other_metric.jobs == []


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"status": ["lost"]}, "status"),
        ({"metric": ""}, "metric"),
        ({"metric": "m" * 201}, "metric"),
    ],
)
async def test_list_refuses_an_unknown_status_or_a_bad_metric_naming_it(
    jobs: InMemoryJobRepository, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await ListJobs(jobs)(**arguments)

    assert raised.value.parameter == parameter
