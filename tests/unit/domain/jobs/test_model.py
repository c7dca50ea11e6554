"""The lease rules of `Job`: who may start it, when it counts as lost, when it is sent again."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from domain.jobs.model import Job, JobStatus, new_job_id
from tests.support.fakes import EPOCH

LEASE = 30.0


def at(seconds: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


def queued() -> Job:
    return Job.queued(id=new_job_id(), metric="calculate_metric", idempotency_key=None, now=at(0))


def running(*, attempts: int = 1, lease: float = LEASE) -> Job:
    """Started at 1 s, for its attempt number `attempts`, with a lease until `lease` s."""
    earlier = replace(queued(), attempts=attempts - 1)
    started = earlier.start(worker="w:1", max_attempts=9, now=at(1), lease=lease - 1)
    assert started is not None
    return started


def test_a_new_job_counts_as_sent_at_its_launch() -> None:
    job = queued()

    assert (job.published_at, job.lease_expires_at, job.republished, job.losses) == (
        at(0),
        None,
        0,
        0,
    )


def test_a_start_takes_a_lease_of_the_given_seconds() -> None:
    started = queued().start(worker="w:1", max_attempts=3, now=at(5), lease=LEASE)

    assert started is not None
    assert started.lease_expires_at == at(5 + LEASE)
    assert started.holds_lease(at(5 + LEASE - 0.001))
    assert not started.holds_lease(at(5 + LEASE))


def test_a_start_under_a_live_lease_does_nothing_and_uses_no_attempt() -> None:
    job = running()

    assert job.start(worker="w:2", max_attempts=3, now=at(10), lease=LEASE) is None


def test_a_start_under_a_live_lease_of_a_worker_known_gone_takes_over_counting_a_loss() -> None:
    job = running()

    taken = job.start(worker="w:2", max_attempts=3, now=at(10), lease=LEASE, holder_gone=True)

    assert taken is not None
    assert (taken.attempts, taken.losses, taken.worker) == (job.attempts + 1, 1, "w:2")


def test_a_start_after_the_lease_ran_out_is_a_new_attempt_counting_a_loss() -> None:
    job = running()

    taken = job.start(worker="w:2", max_attempts=3, now=at(LEASE + 1), lease=LEASE)

    assert taken is not None
    assert (taken.status, taken.attempts, taken.losses) == (JobStatus.RUNNING, 2, 1)
    assert taken.lease_expires_at == at(2 * LEASE + 1)


def test_progress_renews_the_lease_of_the_running_attempt_only() -> None:
    job = running()

    renewed = job.progressed(attempt=job.attempts, progress=0.5, now=at(20), lease=LEASE)
    stale = job.progressed(attempt=job.attempts - 1, progress=0.5, now=at(20), lease=LEASE)

    assert renewed is not None
    assert renewed.lease_expires_at == at(20 + LEASE)
    assert stale is None


def test_an_end_gives_the_lease_up() -> None:
    job = running()

    done = job.finished(attempt=job.attempts, now=at(3), result=1)

    assert done is not None
    assert done.lease_expires_at is None


def test_a_live_lease_is_not_expired() -> None:
    assert running().lease_expired(now=at(LEASE - 0.5), max_attempts=3) is None


def test_an_expired_lease_queues_the_job_again_as_a_loss_sent_now() -> None:
    job = running()

    requeued = job.lease_expired(now=at(LEASE + 2), max_attempts=3)

    assert requeued is not None
    assert requeued.status is JobStatus.QUEUED
    assert (requeued.attempts, requeued.losses, requeued.republished) == (1, 1, 1)
    assert (requeued.worker, requeued.lease_expires_at, requeued.progress) == (None, None, 0.0)
    assert requeued.published_at == at(LEASE + 2)
    again = requeued.start(worker="w:2", max_attempts=3, now=at(LEASE + 3), lease=LEASE)
    assert again is not None
    assert (again.status, again.attempts) == (JobStatus.RUNNING, 2)


def test_an_expired_lease_with_a_cancel_pending_ends_the_job_cancelled() -> None:
    asked = running().cancel(now=at(2))
    assert asked is not None

    ended = asked.lease_expired(now=at(LEASE + 2), max_attempts=3)

    assert ended is not None
    assert (ended.status, ended.finished_at, ended.losses) == (
        JobStatus.CANCELLED,
        at(LEASE + 2),
        1,
    )


def test_an_expired_lease_of_the_last_attempt_fails_the_job_giving_up() -> None:
    job = running(attempts=3)

    failed = job.lease_expired(now=at(LEASE + 2), max_attempts=3)

    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error == "Gave up after 3 attempts: the worker running it was lost each time."
    assert failed.lease_expires_at is None


def test_a_queued_job_is_sent_again_only_once_it_waited_long_enough() -> None:
    job = queued()

    early = job.republish(now=at(29), after=30)
    late = job.republish(now=at(30), after=30)

    assert early is None
    assert late is not None
    assert (late.status, late.published_at, late.republished) == (JobStatus.QUEUED, at(30), 1)
    assert late.republish(now=at(31), after=30) is None


def test_only_a_queued_job_is_sent_again() -> None:
    assert running().republish(now=at(1000), after=30) is None
    cancelled = queued().cancel(now=at(1))
    assert cancelled is not None
    assert cancelled.republish(now=at(1000), after=30) is None
