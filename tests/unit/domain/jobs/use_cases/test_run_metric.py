from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import pytest

from domain.analytics.calculate_metric import PROGRESS_STEPS, CalculateMetric
from domain.jobs.limits import JobLimits
from domain.jobs.model import Job, JobStatus, new_job_id
from domain.jobs.use_cases.cancel_job import CancelJob
from domain.jobs.use_cases.run_metric import RunMetric
from domain.shared.metrics import JsonObject, Metric, MetricRegistry, MetricStopped, Progress
from tests.support.brief import brief_metric, metric_upper_bound
from tests.support.fakes import FakeClock, InMemoryJobRepository, InMemoryWorkerProbe
from tests.support.jobs import JobStore

ITERATIONS = 10_000
CLOCK = FakeClock()


def is_progress(job: Job, expected: Job) -> bool:
    return (job.status, job.attempts) == (expected.status, expected.attempts) and (
        job.progress != expected.progress
    )


class CountingJobRepository(InMemoryJobRepository):
    """Counts progress reports, to tell a job that ran from one that did not. A report written
    again after a conflicting write is the same report."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[float] = []
        self.phases: list[str | None] = []

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        self.phases.append(job.phase)
        if is_progress(job, expected):
            await self.before_report(job)
            if not self.reports or self.reports[-1] != job.progress:
                self.reports.append(job.progress)
        return await super().save(job, expected=expected)

    async def before_report(self, job: Job) -> None:
        pass


class CancelledAfterFirstReport(CountingJobRepository):
    """A user cancels the job while its first progress report is being written."""

    async def before_report(self, job: Job) -> None:
        if not self.reports:
            await CancelJob(self, CLOCK)(str(job.id))


class TakenOverDuringRun(CountingJobRepository):
    """The run's lease is taken for run out while it runs (its worker seemed gone for longer
    than a lease), and a second worker starts the job."""

    async def before_report(self, job: Job) -> None:
        if not self.reports:
            await JobStore(self, CLOCK).start(
                job.id, worker="worker-2", max_attempts=3, holder_gone=True
            )


class DeliveredAgainDuringRun(CountingJobRepository):
    """The broker hands the job's message to a second worker while the first runs it."""

    def __init__(self) -> None:
        super().__init__()
        self.duplicate: Job | None = None

    async def before_report(self, job: Job) -> None:
        if self.duplicate is None:
            self.duplicate = await run_metric(self, metrics=[PhasedMetric()], worker="worker-2")(
                str(job.id)
            )


@pytest.fixture
def jobs() -> CountingJobRepository:
    return CountingJobRepository()


class PhasedMetric(Metric):
    """Reports two phases and answers an object naming the parameters it was given."""

    name = "phased"
    description = "A test metric in two phases."
    parameters: Mapping[str, Any] = {"type": "object"}

    def __init__(self) -> None:
        self.seen: list[Mapping[str, object]] = []

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        return dict(params)

    async def run(self, params: Mapping[str, object], progress: Progress) -> JsonObject:
        self.seen.append(params)
        await progress.checkpoint(0.0, "aggregating")
        await progress.checkpoint(0.8, "testing")
        return {"params": dict(params), "p_value": 0.125, "big": 2**70}


def run_metric(
    jobs: InMemoryJobRepository,
    *,
    max_attempts: int = 3,
    time_limit: float = 600.0,
    metrics: list[Metric] | None = None,
    progress_interval: float = 0.0,
    lease: float = 30.0,
    probe: InMemoryWorkerProbe | None = None,
    worker: str = "worker-1",
) -> RunMetric:
    limits = JobLimits(
        max_active=100,
        max_attempts=max_attempts,
        time_limit=time_limit,
        progress_interval=progress_interval,
        lease=lease,
    )
    registry = MetricRegistry(metrics or [CalculateMetric(iterations=ITERATIONS)])
    return RunMetric(jobs, limits, CLOCK, registry, probe or InMemoryWorkerProbe(), worker=worker)


def store(jobs: InMemoryJobRepository) -> JobStore:
    return JobStore(jobs, CLOCK)


async def queued_job(
    jobs: InMemoryJobRepository, metric: str = "calculate_metric", params: JsonObject | None = None
) -> Job:
    job = Job.queued(
        id=new_job_id(), metric=metric, params=params, idempotency_key=None, now=CLOCK.now()
    )
    added, _ = await jobs.add(job, max_active=100)
    return added


async def test_runs_a_queued_job_to_success_with_its_result(jobs: CountingJobRepository) -> None:
    job = await queued_job(jobs)
    random.seed(11)

    done = await run_metric(jobs)(str(job.id))

    random.seed(11)
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert done.result == brief_metric(ITERATIONS)
    assert 0 < done.result <= metric_upper_bound(ITERATIONS)
    assert (done.progress, done.attempts, done.error) == (1.0, 1, None)
    assert done.worker == "worker-1"
    assert done.started_at is not None
    assert done.finished_at is not None
    assert await jobs.get(job.id) == done


async def test_records_progress_every_two_percent_while_running(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)

    await run_metric(jobs)(str(job.id))

    assert len(jobs.reports) == PROGRESS_STEPS
    assert jobs.reports == sorted(jobs.reports)
    assert jobs.reports[-1] == 1.0


async def test_a_running_job_whose_lease_ran_out_runs_again_as_a_second_attempt(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="lost-worker", max_attempts=3, lease=0)

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert (done.attempts, done.losses) == (2, 1)
    assert done.worker == "worker-1"


async def test_a_delivery_of_a_job_running_under_a_live_lease_does_nothing(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    running = await store(jobs).start(job.id, worker="busy-worker", max_attempts=3)

    again = await run_metric(jobs)(str(job.id))

    assert again == running
    assert await jobs.get(job.id) == running
    assert jobs.reports == []


async def test_a_delivery_of_a_job_whose_worker_died_on_this_host_takes_it_over_at_once(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="host:41", max_attempts=3)
    probe = InMemoryWorkerProbe()
    probe.dead.add("host:41")

    done = await run_metric(jobs, probe=probe)(str(job.id))

    assert done is not None
    assert (done.status, done.attempts, done.losses) == (JobStatus.SUCCEEDED, 2, 1)


async def test_a_retry_on_the_worker_whose_run_ended_starts_again_at_once(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="worker-1", max_attempts=3)

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert (done.status, done.attempts, done.losses) == (JobStatus.SUCCEEDED, 2, 1)


async def test_a_duplicate_delivered_while_the_job_runs_uses_no_attempt() -> None:
    jobs = DeliveredAgainDuringRun()
    job = await queued_job(jobs, "phased")

    done = await run_metric(jobs, metrics=[PhasedMetric()])(str(job.id))

    assert jobs.duplicate is not None
    assert (jobs.duplicate.status, jobs.duplicate.attempts) == (JobStatus.RUNNING, 1)
    assert done is not None
    assert (done.status, done.attempts, done.losses) == (JobStatus.SUCCEEDED, 1, 0)


async def test_past_max_attempts_the_job_fails_without_running(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="lost-1", max_attempts=2, lease=0)
    await store(jobs).start(job.id, worker="lost-2", max_attempts=2, lease=0)

    done = await run_metric(jobs, max_attempts=2)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.FAILED
    assert done.attempts == 2
    assert done.result is None
    assert done.error is not None
    assert "gave up after 2 attempts" in done.error.lower()
    assert jobs.reports == []


async def test_a_job_cancelled_while_queued_is_not_run(jobs: CountingJobRepository) -> None:
    job = await queued_job(jobs)
    await CancelJob(jobs, CLOCK)(str(job.id))

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.CANCELLED
    assert done.attempts == 0
    assert done.result is None
    assert done.worker is None
    assert jobs.reports == []


async def test_a_redelivered_job_whose_cancel_was_requested_ends_cancelled_without_running(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="lost-worker", max_attempts=3, lease=0)
    await CancelJob(jobs, CLOCK)(str(job.id))

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.CANCELLED
    assert done.attempts == 1
    assert jobs.reports == []


async def test_a_cancel_requested_while_running_stops_the_job_as_cancelled() -> None:
    jobs = CancelledAfterFirstReport()
    job = await queued_job(jobs)

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.CANCELLED
    assert done.result is None
    assert done.error is None
    assert done.progress == pytest.approx(1 / PROGRESS_STEPS)
    assert jobs.reports == [pytest.approx(1 / PROGRESS_STEPS)]
    assert await CancelJob(jobs, CLOCK)(str(job.id)) == done


async def test_a_time_limit_of_zero_ends_the_job_failed_naming_the_time_limit(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)

    done = await run_metric(jobs, time_limit=0)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.FAILED
    assert done.result is None
    assert done.error is not None
    assert "time limit" in done.error
    assert done.progress < 1.0


async def test_a_stale_attempt_cannot_finish_the_job(jobs: CountingJobRepository) -> None:
    job = await queued_job(jobs)
    await store(jobs).start(job.id, worker="worker-1", max_attempts=3, lease=0)
    await store(jobs).start(job.id, worker="worker-2", max_attempts=3)
    before = await jobs.get(job.id)

    assert await store(jobs).finish(job.id, 1, result=5) is None
    assert await store(jobs).finish(job.id, 1, error="boom") is None
    assert await store(jobs).report_progress(job.id, 1, 0.5) is False
    assert await jobs.get(job.id) == before


async def test_a_run_overtaken_by_a_newer_attempt_stops_and_writes_nothing() -> None:
    jobs = TakenOverDuringRun()
    job = await queued_job(jobs)

    done = await run_metric(jobs)(str(job.id))

    assert done is None
    current = await jobs.get(job.id)
    assert current is not None
    assert current.status is JobStatus.RUNNING
    assert (current.attempts, current.worker) == (2, "worker-2")
    assert (current.result, current.error, current.finished_at) == (None, None, None)
    assert len(jobs.reports) == 1


async def test_a_duplicate_delivery_never_moves_a_finished_job_back(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)
    run = run_metric(jobs)
    finished = await run(str(job.id))
    reports = len(jobs.reports)

    again = await run(str(job.id))

    assert finished is not None
    assert finished.status is JobStatus.SUCCEEDED
    assert again == finished
    assert await jobs.get(job.id) == finished
    assert len(jobs.reports) == reports


async def test_a_delivery_for_an_unknown_job_does_nothing(jobs: CountingJobRepository) -> None:
    assert await run_metric(jobs)(str(new_job_id())) is None
    assert jobs.jobs == {}


async def test_runs_the_jobs_metric_with_its_parameters_through_each_phase_to_its_object(
    jobs: CountingJobRepository,
) -> None:
    metric = PhasedMetric()
    job = await queued_job(jobs, "phased", {"table": "df_sales", "alpha": 0.01})

    done = await run_metric(jobs, metrics=[metric])(str(job.id))

    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert metric.seen == [{"table": "df_sales", "alpha": 0.01}]
    assert done.result == {
        "params": {"table": "df_sales", "alpha": 0.01},
        "p_value": 0.125,
        "big": 2**70,
    }
    assert (done.progress, done.phase) == (1.0, "testing")
    assert jobs.phases == [None, "aggregating", "testing", "testing"]
    assert jobs.reports == [0.8]


async def test_a_cancel_seen_at_a_phase_stops_the_run_as_cancelled() -> None:
    jobs = CancelledAfterFirstReport()
    job = await queued_job(jobs, "phased")

    done = await run_metric(jobs, metrics=[PhasedMetric()])(str(job.id))

    assert done is not None
    assert done.status is JobStatus.CANCELLED
    assert done.result is None


async def test_a_job_whose_metric_the_worker_does_not_know_fails_naming_it(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs, "retired_metric")

    done = await run_metric(jobs)(str(job.id))

    assert done is not None
    assert done.status is JobStatus.FAILED
    assert done.error is not None
    assert "retired_metric" in done.error


async def test_progress_is_written_at_most_once_per_interval_and_the_end_always(
    jobs: CountingJobRepository,
) -> None:
    job = await queued_job(jobs)

    done = await run_metric(jobs, progress_interval=3600)(str(job.id))

    assert done is not None
    assert (done.status, done.progress) == (JobStatus.SUCCEEDED, 1.0)
    assert jobs.reports == []
    assert len(jobs.phases) == 2  # the start and the end: no write in between


class LeaseRecordingRepository(InMemoryJobRepository):
    def __init__(self) -> None:
        super().__init__()
        self.leases: list[dt.datetime | None] = []

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        self.leases.append(job.lease_expires_at)
        return await super().save(job, expected=expected)


async def test_each_write_of_a_run_renews_its_lease() -> None:
    jobs = LeaseRecordingRepository()
    job = await queued_job(jobs, "phased")

    done = await run_metric(jobs, metrics=[PhasedMetric()], lease=10)(str(job.id))

    assert done is not None
    assert done.lease_expires_at is None
    started, *progress, ended = jobs.leases
    assert ended is None
    renewals = [lease for lease in progress if lease is not None]
    assert started is not None
    assert len(renewals) == len(progress) > 0
    assert renewals == sorted(renewals)
    assert started < renewals[0]


async def test_a_heartbeat_renews_the_lease_and_brings_a_cancel_to_a_silent_run() -> None:
    jobs = CountingJobRepository()
    metric = SilentMetric()
    job = await queued_job(jobs, "silent")
    run = asyncio.create_task(
        run_metric(jobs, metrics=[metric], lease=0.2, progress_interval=3600)(str(job.id))
    )
    await metric.running.wait()
    running = await jobs.get(job.id)
    assert running is not None

    await asyncio.sleep(0.2)
    renewed = await jobs.get(job.id)
    await CancelJob(jobs, CLOCK)(str(job.id))
    done = await asyncio.wait_for(run, 5)

    assert renewed is not None
    assert renewed.lease_expires_at is not None
    assert running.lease_expires_at is not None
    assert renewed.lease_expires_at > running.lease_expires_at
    assert done is not None
    assert done.status is JobStatus.CANCELLED


class SilentMetric(Metric):
    """Reports nothing, and only polls `should_stop`: a long query, say."""

    name = "silent"
    description = "A test metric that never reports progress."
    parameters: Mapping[str, Any] = {"type": "object"}

    def __init__(self) -> None:
        self.running = asyncio.Event()

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        return {}

    async def run(self, params: Mapping[str, object], progress: Progress) -> JsonObject:
        self.running.set()
        for _ in range(500):
            if progress.should_stop():
                raise MetricStopped
            await asyncio.sleep(0.01)
        raise AssertionError("never told to stop")
