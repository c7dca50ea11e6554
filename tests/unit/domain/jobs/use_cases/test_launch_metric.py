from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from domain.analytics.calculate_metric import CalculateMetric
from domain.jobs.errors import QueueUnavailable
from domain.jobs.limits import JobLimits
from domain.jobs.model import JobStatus
from domain.jobs.use_cases.launch_metric import METRIC_NAME, LaunchMetric
from domain.shared.errors import InvalidParameter, Overloaded
from domain.shared.metrics import JsonObject, Metric, MetricRegistry, Progress
from tests.support.fakes import FakeClock, InMemoryJobRepository, InMemoryTaskQueue
from tests.support.jobs import JobStore


def limits(*, max_active: int = 100, time_limit: float = 600.0) -> JobLimits:
    return JobLimits(max_active=max_active, max_attempts=3, time_limit=time_limit)


@pytest.fixture
def jobs() -> InMemoryJobRepository:
    return InMemoryJobRepository()


@pytest.fixture
def queue() -> InMemoryTaskQueue:
    return InMemoryTaskQueue()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class WindowMetric(Metric):
    """Takes a window of at most 90 days and fills in its default alpha."""

    name = "window"
    description = "A test metric with parameters."
    parameters: Mapping[str, Any] = {"type": "object"}

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        days = params.get("days")
        if not isinstance(days, int) or days > 90:
            raise InvalidParameter("days", "it must be an integer up to 90.")
        return {"days": days, "alpha": params.get("alpha", 0.05)}

    async def run(self, params: Mapping[str, object], progress: Progress) -> JsonObject:
        raise NotImplementedError


def registry() -> MetricRegistry:
    return MetricRegistry([CalculateMetric(iterations=1000), WindowMetric()])


@pytest.fixture
def launch(jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock) -> LaunchMetric:
    return LaunchMetric(jobs, queue, limits(max_active=2), clock, registry())


async def test_creates_a_queued_job_and_enqueues_its_id(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    job = await launch()

    assert job.status is JobStatus.QUEUED
    assert job.metric == METRIC_NAME
    assert job.params == {}
    assert (job.progress, job.phase, job.result, job.attempts) == (0.0, None, None, 0)
    assert await jobs.get(job.id) == job
    assert queue.enqueued == [job.id]


async def test_each_launch_without_a_key_creates_a_new_job(
    launch: LaunchMetric, queue: InMemoryTaskQueue
) -> None:
    first, second = await launch(), await launch()

    assert first.id != second.id
    assert queue.enqueued == [first.id, second.id]


async def test_the_same_idempotency_key_returns_the_same_job_and_enqueues_it_once(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    first = await launch(idempotency_key="run-42")
    again = await launch(idempotency_key="run-42")

    assert again == first
    assert first.idempotency_key == "run-42"
    assert list(jobs.jobs) == [first.id]
    assert queue.enqueued == [first.id]


async def test_a_known_idempotency_key_returns_its_job_even_at_the_limit(
    launch: LaunchMetric, queue: InMemoryTaskQueue
) -> None:
    first = await launch(idempotency_key="run-42")
    await launch()

    assert await launch(idempotency_key="run-42") == first
    assert len(queue.enqueued) == 2


@pytest.mark.parametrize("key", ["", "k" * 256, "line\nbreak", "tab\there"])
async def test_rejects_an_invalid_idempotency_key_naming_the_header(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, key: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await launch(idempotency_key=key)

    assert raised.value.parameter == "Idempotency-Key"
    assert "Idempotency-Key" in raised.value.detail
    assert jobs.jobs == {}
    assert queue.enqueued == []


async def test_accepts_an_idempotency_key_of_the_longest_allowed_length(
    launch: LaunchMetric,
) -> None:
    job = await launch(idempotency_key="k" * 255)

    assert job.idempotency_key == "k" * 255


async def test_refuses_with_overloaded_at_max_active_and_creates_nothing(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    await launch()
    await launch()

    with pytest.raises(Overloaded) as raised:
        await launch(idempotency_key="one-too-many")

    assert raised.value.retry_after > 0
    assert len(jobs.jobs) == 2
    assert len(queue.enqueued) == 2
    assert all(job.idempotency_key is None for job in jobs.jobs.values())


async def test_finished_jobs_do_not_count_towards_max_active(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue, clock: FakeClock
) -> None:
    first = await launch()
    await launch()
    await JobStore(jobs, clock).cancel(first.id)

    third = await launch()

    assert queue.enqueued[-1] == third.id


async def test_raises_queue_unavailable_and_fails_the_job_when_the_queue_is_down(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    queue.down = True

    with pytest.raises(QueueUnavailable):
        await launch()

    [job] = jobs.jobs.values()
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert "could not be queued" in job.error.lower()
    assert job.finished_at is not None
    assert queue.enqueued == []


async def test_a_job_that_could_not_be_queued_does_not_count_towards_max_active(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    queue.down = True
    for _ in range(3):
        with pytest.raises(QueueUnavailable):
            await launch()
    queue.down = False

    job = await launch()

    assert queue.enqueued == [job.id]
    assert len(jobs.jobs) == 4


async def test_a_launch_never_touches_a_running_job_even_one_long_lost() -> None:
    jobs, queue, clock = InMemoryJobRepository(), InMemoryTaskQueue(), FakeClock()
    launch = LaunchMetric(jobs, queue, limits(max_active=2, time_limit=60), clock, registry())
    stuck = await launch()
    running = await JobStore(jobs, clock).start(stuck.id, worker="gone:1", max_attempts=3)
    clock.advance(dt.timedelta(hours=5))

    fresh = await launch()

    assert await jobs.get(stuck.id) == running
    assert fresh.status is JobStatus.QUEUED


async def test_a_launch_the_queue_refused_can_be_retried_with_the_same_key() -> None:
    jobs, queue = InMemoryJobRepository(), InMemoryTaskQueue()
    launch = LaunchMetric(jobs, queue, limits(), FakeClock(), registry())
    queue.down = True
    with pytest.raises(QueueUnavailable):
        await launch(idempotency_key="report-1")
    queue.down = False

    retried = await launch(idempotency_key="report-1")
    again = await launch(idempotency_key="report-1")

    assert retried.status is JobStatus.QUEUED
    assert again.id == retried.id
    assert queue.enqueued == [retried.id]


async def test_launches_the_named_metric_with_its_parameters_defaults_filled_in(
    launch: LaunchMetric, queue: InMemoryTaskQueue
) -> None:
    job = await launch(metric="window", params={"days": 30})

    assert (job.metric, job.params) == ("window", {"days": 30, "alpha": 0.05})
    assert queue.enqueued == [job.id]


async def test_an_unknown_metric_is_refused_naming_metric_and_creates_nothing(
    launch: LaunchMetric, jobs: InMemoryJobRepository, queue: InMemoryTaskQueue
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await launch(metric="churn", params={})

    assert raised.value.parameter == "metric"
    assert "calculate_metric, window" in raised.value.detail
    assert (jobs.jobs, queue.enqueued) == ({}, [])


@pytest.mark.parametrize(
    ("metric", "params", "named"),
    [("window", {"days": 400}, "days"), ("calculate_metric", {"n": 5}, "n")],
)
async def test_wrong_parameters_are_refused_before_anything_is_queued(
    jobs: InMemoryJobRepository,
    queue: InMemoryTaskQueue,
    metric: str,
    params: JsonObject,
    named: str,
) -> None:
    launch = LaunchMetric(jobs, queue, limits(), FakeClock(), registry())

    with pytest.raises(InvalidParameter) as raised:
        await launch(metric=metric, params=params, idempotency_key="first-try")

    assert raised.value.parameter == named
    assert (jobs.jobs, queue.enqueued) == ({}, [])
