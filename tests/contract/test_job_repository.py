"""The same assertions over the in-memory fake and the PostgreSQL job store, so they agree."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.job_repository import PostgresJobRepository
from adapters.postgres.locks import RETENTION_LOCK
from adapters.system_clock import SystemClock
from domain.jobs.model import Job, JobFilter, JobStatus, new_job_id
from domain.jobs.store import update_job
from domain.shared.errors import Overloaded
from tests.support.fakes import InMemoryJobRepository
from tests.support.jobs import JobStore


@pytest.fixture(params=["in_memory", "postgres"])
def jobs(request: pytest.FixtureRequest, pool: AsyncConnectionPool) -> JobStore:
    """The job store, driven through the domain's transitions as the use cases drive it."""
    if request.param == "in_memory":
        return JobStore(InMemoryJobRepository(), SystemClock())
    return JobStore(PostgresJobRepository(pool), SystemClock())


def new(key: str | None = None) -> Job:
    return Job.queued(
        id=new_job_id(), metric="calculate_metric", idempotency_key=key, now=SystemClock().now()
    )


async def test_a_new_job_is_queued(jobs: JobStore) -> None:
    job, created = await jobs.jobs.add(new(), max_active=10)

    assert created
    assert (job.status, job.progress, job.attempts, job.result) == (JobStatus.QUEUED, 0, 0, None)
    assert await jobs.jobs.get(job.id) == job


async def test_an_idempotency_key_returns_the_first_job(jobs: JobStore) -> None:
    first, _ = await jobs.jobs.add(new("k"), max_active=10)

    again, created = await jobs.jobs.add(new("k"), max_active=10)

    assert not created
    assert again.id == first.id


async def test_adding_past_max_active_raises_and_adds_nothing(jobs: JobStore) -> None:
    await jobs.jobs.add(new(), max_active=1)

    with pytest.raises(Overloaded):
        await jobs.jobs.add(new(), max_active=1)

    assert len((await jobs.jobs.list(limit=10)).jobs) == 1


async def test_a_finished_or_cancelled_job_frees_its_slot(jobs: JobStore) -> None:
    first, _ = await jobs.jobs.add(new(), max_active=2)
    second, _ = await jobs.jobs.add(new(), max_active=2)
    await jobs.start(first.id, worker="w:1", max_attempts=3)
    await jobs.finish(first.id, 1, result=1)
    await jobs.cancel(second.id)

    both = [await jobs.jobs.add(new(), max_active=2) for _ in range(2)]

    assert all(created for _, created in both)
    with pytest.raises(Overloaded):
        await jobs.jobs.add(new(), max_active=2)


async def test_start_progress_finish_in_order(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)

    started = await jobs.start(job.id, worker="w:1", max_attempts=3)
    keep_going = await jobs.report_progress(job.id, 1, 0.5)
    done = await jobs.finish(job.id, 1, result=2**70 + 1)

    assert started is not None
    assert started.status is JobStatus.RUNNING
    assert (started.attempts, started.worker) == (1, "w:1")
    assert keep_going is True
    assert done is not None
    assert (done.status, done.result, done.progress) == (JobStatus.SUCCEEDED, 2**70 + 1, 1.0)
    assert done.finished_at is not None


async def test_a_stale_attempt_writes_nothing(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(job.id, worker="w:1", max_attempts=3, lease=0)
    await jobs.start(job.id, worker="w:2", max_attempts=3)

    assert await jobs.report_progress(job.id, 1, 0.3) is False
    assert await jobs.finish(job.id, 1, result=1) is None
    current = await jobs.jobs.get(job.id)
    assert current is not None
    assert (current.status, current.attempts, current.worker) == (JobStatus.RUNNING, 2, "w:2")


async def test_past_max_attempts_a_start_fails_the_job(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    for _ in range(2):
        await jobs.start(job.id, worker="w", max_attempts=2, lease=0)

    third = await jobs.start(job.id, worker="w", max_attempts=2)

    assert third is not None
    assert (third.status, third.attempts, third.losses) == (JobStatus.FAILED, 2, 2)
    assert third.error is not None
    assert "2 attempts" in third.error


async def test_a_finished_job_is_never_started_again(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(job.id, worker="w", max_attempts=3)
    await jobs.finish(job.id, 1, error="boom")

    again = await jobs.start(job.id, worker="w", max_attempts=3)

    assert again is not None
    assert (again.status, again.attempts, again.error) == (JobStatus.FAILED, 1, "boom")


async def test_cancel_ends_a_queued_job_and_flags_a_running_one(jobs: JobStore) -> None:
    queued, _ = await jobs.jobs.add(new(), max_active=10)
    running, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(running.id, worker="w", max_attempts=3)

    cancelled = await jobs.cancel(queued.id)
    flagged = await jobs.cancel(running.id)

    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    assert flagged is not None
    assert (flagged.status, flagged.cancel_requested) == (JobStatus.RUNNING, True)
    assert await jobs.report_progress(running.id, 1, 0.1) is False
    assert await jobs.start(queued.id, worker="w", max_attempts=3) == cancelled


async def test_a_delivery_under_a_live_lease_changes_nothing(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    started = await jobs.start(job.id, worker="w:1", max_attempts=3)

    again = await jobs.start(job.id, worker="w:2", max_attempts=3)

    assert again == started
    assert await jobs.jobs.get(job.id) == started


async def test_an_expired_lease_queues_the_job_again_counting_a_loss(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    started = await jobs.start(job.id, worker="w:1", max_attempts=3, lease=0)
    assert started is not None

    requeued = await jobs.expire_lease(job.id, max_attempts=3)
    restarted = await jobs.start(job.id, worker="w:2", max_attempts=3)

    assert requeued is not None
    assert (requeued.status, requeued.worker, requeued.lease_expires_at) == (
        JobStatus.QUEUED,
        None,
        None,
    )
    assert (requeued.losses, requeued.republished, requeued.attempts) == (1, 1, 1)
    assert started.published_at < requeued.published_at
    assert restarted is not None
    assert (restarted.status, restarted.attempts, restarted.worker) == (
        JobStatus.RUNNING,
        2,
        "w:2",
    )
    assert await jobs.report_progress(job.id, 1, 0.5) is False


async def test_stalled_lists_old_queued_jobs_and_expired_leases_only(jobs: JobStore) -> None:
    old_queued, _ = await jobs.jobs.add(new(), max_active=10)
    expired, _ = await jobs.jobs.add(new(), max_active=10)
    leased, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(expired.id, worker="w:1", max_attempts=3, lease=0)
    await jobs.start(leased.id, worker="w:2", max_attempts=3, lease=3600)
    finished, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(finished.id, worker="w:3", max_attempts=3, lease=0)
    await jobs.finish(finished.id, 1, result=1)
    await asyncio.sleep(0.01)
    now = SystemClock().now()
    fresh, _ = await jobs.jobs.add(new(), max_active=10)

    stalled = await jobs.jobs.stalled(now=now, published_before=now, limit=10)
    none_old = await jobs.jobs.stalled(
        now=now, published_before=now - dt.timedelta(hours=1), limit=10
    )

    assert [job.id for job in stalled] == [old_queued.id, expired.id]
    assert [job.id for job in none_old] == [expired.id]
    assert fresh.id not in {job.id for job in stalled}
    assert await jobs.jobs.stalled(now=now, published_before=now, limit=1) == stalled


async def test_a_job_keeps_its_lease_and_counts_exactly(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    started = await jobs.start(job.id, worker="w:1", max_attempts=3, lease=12.5)
    assert started is not None
    assert started.started_at is not None
    assert started.lease_expires_at == started.started_at + dt.timedelta(seconds=12.5)

    assert await jobs.report_progress(job.id, 1, 0.5, lease=60) is True

    renewed = await jobs.jobs.get(job.id)
    assert renewed is not None
    assert renewed.lease_expires_at is not None
    assert renewed.lease_expires_at > started.lease_expires_at
    done = await jobs.finish(job.id, 1, result=3)
    assert done is not None
    assert done.lease_expires_at is None
    assert await jobs.jobs.get(job.id) == done


async def test_fail_queued_leaves_no_job_queued_and_frees_its_key(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new("k"), max_active=10)

    await jobs.fail_queued(job.id, "broker down")
    retried, created = await jobs.jobs.add(new("k"), max_active=10)

    failed = await jobs.jobs.get(job.id)
    assert failed is not None
    assert (failed.status, failed.error) == (JobStatus.FAILED, "Could not be queued: broker down")
    assert created
    assert retried.id != job.id


async def test_list_pages_newest_first(jobs: JobStore) -> None:
    added = [(await jobs.jobs.add(new(), max_active=10))[0].id for _ in range(5)]

    first = await jobs.jobs.list(limit=3)
    second = await jobs.jobs.list(limit=3, before=first.next_cursor)

    assert [j.id for j in first.jobs + second.jobs] == added[::-1]
    assert second.next_cursor is None


async def test_concurrent_launches_never_pass_the_cap(pool: AsyncConnectionPool) -> None:
    jobs = PostgresJobRepository(pool)

    outcomes = await asyncio.gather(
        *(jobs.add(new(), max_active=5) for _ in range(30)), return_exceptions=True
    )

    assert sum(isinstance(o, tuple) for o in outcomes) == 5
    assert sum(isinstance(o, Overloaded) for o in outcomes) == 25


async def test_concurrent_launches_with_one_key_make_one_job(pool: AsyncConnectionPool) -> None:
    jobs = PostgresJobRepository(pool)

    outcomes = await asyncio.gather(*(jobs.add(new("same"), max_active=50) for _ in range(20)))

    assert len({job.id for job, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1


async def test_a_save_over_a_stale_revision_writes_nothing(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    started = await jobs.start(job.id, worker="w", max_attempts=3)
    assert started is not None

    stale = await jobs.jobs.save(replace(job, error="from a stale read"), expected=job)

    assert stale is None
    assert await jobs.jobs.get(job.id) == started
    assert started.revision == job.revision + 1


async def test_a_save_stores_every_field_and_counts_a_revision(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new("key"), max_active=10)
    moment = job.created_at + dt.timedelta(seconds=1)
    changed = replace(
        job,
        status=JobStatus.FAILED,
        progress=0.123456789,
        error="é" * 10,
        attempts=2,
        cancel_requested=True,
        idempotency_key=None,
        worker="host:1",
        started_at=moment,
        finished_at=moment,
        published_at=moment,
        lease_expires_at=moment + dt.timedelta(seconds=30),
        republished=4,
        losses=2,
    )

    saved = await jobs.jobs.save(changed, expected=job)

    assert saved == replace(changed, revision=job.revision + 1)
    assert await jobs.jobs.get(job.id) == saved


RESULT = {
    "test": "welch_t",
    "p_value": 0.1 + 0.2,
    "tiny": 1e-300,
    "huge": 1.7976931348623157e308,
    "negative_zero": -0.0,
    "exact": 2**80 + 1,
    "relative_difference": None,
    "srm": False,
    "control": {"users": 2815, "mean": 371.7442273534636},
}


async def test_a_job_keeps_its_parameters_phase_and_structured_result_exactly(
    jobs: JobStore,
) -> None:
    params = {"table": "df_sales", "alpha": 0.05, "assignments": {"control": "0"}, "cuped": True}
    job, _ = await jobs.jobs.add(
        Job.queued(
            id=new_job_id(),
            metric="ab_test",
            params=params,
            idempotency_key=None,
            now=SystemClock().now(),
        ),
        max_active=10,
    )
    started = await jobs.start(job.id, worker="w", max_attempts=3)
    assert started is not None
    now = SystemClock().now()
    progressed, _ = await update_job(
        jobs.jobs,
        started,
        lambda j: j.progressed(attempt=1, progress=0.8, phase="testing", now=now, lease=30),
    )
    assert progressed is not None
    done, _ = await update_job(
        jobs.jobs, progressed, lambda j: j.finished(attempt=1, now=now, result=RESULT)
    )

    stored = await jobs.jobs.get(job.id)
    assert stored == done
    assert stored is not None
    assert (stored.params, stored.result, stored.phase) == (params, RESULT, "testing")
    assert isinstance(stored.result, dict)
    assert repr(stored.result["p_value"]) == repr(0.1 + 0.2)
    assert str(stored.result["negative_zero"]) == "-0.0"


async def test_a_save_never_changes_what_a_job_was_asked_to_run(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)

    saved = await jobs.jobs.save(
        replace(job, metric="other", params={"sneaked": 1}, progress=0.5), expected=job
    )

    assert saved is not None
    assert (saved.metric, saved.params, saved.progress) == ("calculate_metric", {}, 0.5)
    assert await jobs.jobs.get(job.id) == saved


async def test_list_keeps_the_jobs_a_filter_admits_with_its_cursor(jobs: JobStore) -> None:
    added = [(await jobs.jobs.add(new(), max_active=10))[0] for _ in range(5)]
    for job in added[:3]:
        await jobs.cancel(job.id)
    only = JobFilter(statuses=frozenset({JobStatus.CANCELLED}), metric="calculate_metric")

    first = await jobs.jobs.list(limit=2, only=only)
    second = await jobs.jobs.list(limit=2, before=first.next_cursor, only=only)
    queued = await jobs.jobs.list(limit=10, only=JobFilter(statuses=frozenset({JobStatus.QUEUED})))
    other = await jobs.jobs.list(limit=10, only=JobFilter(metric="ab_test"))

    assert [j.id for j in first.jobs + second.jobs] == [j.id for j in added[:3]][::-1]
    assert second.next_cursor is None
    assert [j.id for j in queued.jobs] == [j.id for j in added[3:]][::-1]
    assert other.jobs == []


async def test_delete_finished_deletes_old_finished_jobs_oldest_first_never_active_ones(
    jobs: JobStore,
) -> None:
    old = [(await jobs.jobs.add(new(), max_active=10))[0] for _ in range(3)]
    for job in old:
        await jobs.cancel(job.id)
    running, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.start(running.id, worker="w:1", max_attempts=3)
    queued, _ = await jobs.jobs.add(new(), max_active=10)
    later = SystemClock().now() + dt.timedelta(days=1)

    first = await jobs.jobs.delete_finished(before=later, batch=2)
    second = await jobs.jobs.delete_finished(before=later, batch=2)
    third = await jobs.jobs.delete_finished(before=later, batch=2)

    assert (first, second, third) == (2, 1, 0)
    left = {j.id for j in (await jobs.jobs.list(limit=10)).jobs}
    assert left == {running.id, queued.id}


async def test_delete_finished_keeps_jobs_finished_after_the_moment(jobs: JobStore) -> None:
    job, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.cancel(job.id)

    deleted = await jobs.jobs.delete_finished(before=job.created_at, batch=10)

    assert deleted == 0
    assert await jobs.jobs.get(job.id) is not None


async def test_a_rerun_keeps_its_record_when_the_job_it_ran_again_is_deleted(
    jobs: JobStore,
) -> None:
    original, _ = await jobs.jobs.add(new(), max_active=10)
    await jobs.cancel(original.id)
    clock = SystemClock()
    rerun, _ = await jobs.jobs.add(
        Job.queued(
            id=new_job_id(),
            metric="calculate_metric",
            idempotency_key=None,
            now=clock.now(),
            rerun_of=original.id,
        ),
        max_active=10,
    )
    assert rerun.rerun_of == original.id

    await jobs.jobs.delete_finished(before=clock.now() + dt.timedelta(days=1), batch=10)

    kept = await jobs.jobs.get(rerun.id)
    assert kept is not None
    assert kept.rerun_of is None
    assert kept.status is JobStatus.QUEUED


async def test_only_one_process_deletes_at_a_time(pool: AsyncConnectionPool) -> None:
    jobs = PostgresJobRepository(pool)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (RETENTION_LOCK,))

        busy = await jobs.delete_finished(before=SystemClock().now(), batch=10)

    assert busy is None
    assert await jobs.delete_finished(before=SystemClock().now(), batch=10) == 0


async def test_a_job_reads_back_as_it_was_added_whatever_its_parameters(jobs: JobStore) -> None:
    first, _ = await jobs.jobs.add(new(), max_active=10)
    params = {"table": "ventes_é", "big": 10**30, "nested": {"list": [1, 2.5, None, True]}}
    job = Job.queued(
        id=new_job_id(),
        metric="ab_test",
        idempotency_key="clé 🔑",
        now=SystemClock().now(),
        params=params,
        rerun_of=first.id,
    )

    added, created = await jobs.jobs.add(job, max_active=10)

    assert created
    assert added == job
    assert await jobs.jobs.get(job.id) == job


async def test_launches_at_one_moment_are_answered_each_in_arrival_order(
    jobs: JobStore,
) -> None:
    earlier, _ = await jobs.jobs.add(new("earlier"), max_active=4)
    asked = [new(), new("earlier"), new("k"), new("k"), new(), new(), new()]

    outcomes = await asyncio.gather(
        *(jobs.jobs.add(job, max_active=4) for job in asked), return_exceptions=True
    )

    new_one, replayed, keyed, keyed_again, second, *refused = outcomes
    assert new_one == (asked[0], True)
    assert replayed == (earlier, False)
    assert keyed == (asked[2], True)
    assert keyed_again == (asked[2], False)
    assert second == (asked[4], True)
    assert all(isinstance(outcome, Overloaded) for outcome in refused), refused
    # Each is told the count with the launches admitted before it: the cap, 4.
    assert {
        outcome.detail.split()[0] for outcome in refused if isinstance(outcome, Overloaded)
    } == {"4"}
    listed = {job.id for job in (await jobs.jobs.list(limit=10)).jobs}
    assert listed == {earlier.id, asked[0].id, asked[2].id, asked[4].id}


async def test_a_key_launched_at_once_by_two_processes_makes_one_job(
    pool: AsyncConnectionPool,
) -> None:
    """Each store stands for an API process: their statements meet in the key's index."""
    one, other = PostgresJobRepository(pool), PostgresJobRepository(pool)

    outcomes = await asyncio.gather(
        *(
            store.add(new(key), max_active=100)
            for _ in range(5)
            for key in ("a", "b", "c")
            for store in (one, other)
        )
    )

    by_key: dict[str | None, set[object]] = {}
    for job, _ in outcomes:
        by_key.setdefault(job.idempotency_key, set()).add(job.id)
    assert {key: len(ids) for key, ids in by_key.items()} == {"a": 1, "b": 1, "c": 1}
    assert sum(created for _, created in outcomes) == 3


async def test_a_launch_given_up_before_its_statement_adds_nothing(
    pool: AsyncConnectionPool,
) -> None:
    jobs = PostgresJobRepository(pool)
    first, given_up = new(), new()
    async with pool.connection() as conn, conn.transaction():
        # The active count held: the first launch's statement waits for it.
        await conn.execute("SELECT count FROM experiments.active_jobs FOR UPDATE")
        adding = asyncio.create_task(jobs.add(first, max_active=10))
        await asyncio.sleep(0.2)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(jobs.add(given_up, max_active=10), 0.2)

    assert await adding == (first, True)
    assert await jobs.get(given_up.id) is None


async def test_a_launch_refused_by_the_database_fails_alone(pool: AsyncConnectionPool) -> None:
    """A re-run of a job deleted meanwhile breaks its foreign key: the launches that shared
    its statement are admitted all the same."""
    jobs = PostgresJobRepository(pool)
    orphan = Job.queued(
        id=new_job_id(),
        metric="calculate_metric",
        idempotency_key=None,
        now=SystemClock().now(),
        rerun_of=new_job_id(),
    )
    others = [new(), new("kept")]

    before, failed, after = await asyncio.gather(
        jobs.add(others[0], max_active=10),
        jobs.add(orphan, max_active=10),
        jobs.add(others[1], max_active=10),
        return_exceptions=True,
    )

    assert (before, after) == ((others[0], True), (others[1], True))
    assert isinstance(failed, psycopg.errors.ForeignKeyViolation), failed
    assert await jobs.get(orphan.id) is None
    assert {job.id for job in (await jobs.list(limit=10)).jobs} == {j.id for j in others}
