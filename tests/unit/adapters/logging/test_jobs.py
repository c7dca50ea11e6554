from __future__ import annotations

import logging

import pytest

from adapters.logging.jobs import LoggedJobRepository
from tests.support.fakes import FakeClock, InMemoryJobRepository
from tests.support.jobs import JobStore


@pytest.fixture
def store() -> JobStore:
    return JobStore(LoggedJobRepository(InMemoryJobRepository()), FakeClock())


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, object, object]]:
    return [
        (record.levelname, record.getMessage(), getattr(record, "job_id", None), record.attempt)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "experiments.jobs"
    ]


async def test_a_job_s_life_is_logged_with_its_id_attempt_and_worker(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job, _ = await store.add()
    await store.start(job.id, worker="host:1", max_attempts=3)
    for step in range(1, 51):
        await store.report_progress(job.id, 1, step / 50)
    await store.finish(job.id, 1, result=42)

    logged = lines(caplog)

    assert [message for _, message, _, _ in logged] == [
        f"Job {job.id} queued (calculate_metric)",
        f"Job {job.id} started, attempt 1 on host:1",
        f"Job {job.id} at 25%",
        f"Job {job.id} at 50%",
        f"Job {job.id} at 75%",
        f"Job {job.id} succeeded",
    ]
    assert {job_id for _, _, job_id, _ in logged} == {str(job.id)}
    assert [attempt for _, _, _, attempt in logged] == [0, 1, 1, 1, 1, 1]
    assert caplog.records[-1].worker == "host:1"  # type: ignore[attr-defined]


async def test_a_failed_job_is_a_warning_with_its_error(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job, _ = await store.add()
    await store.start(job.id, worker="host:1", max_attempts=3)
    await store.finish(job.id, 1, error="ZeroDivisionError: division by zero")

    level, message, _, _ = lines(caplog)[-1]

    assert (level, message) == (
        "WARNING",
        f"Job {job.id} failed: ZeroDivisionError: division by zero",
    )


async def test_a_cancel_and_a_new_attempt_are_logged(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job, _ = await store.add()
    await store.start(job.id, worker="host:1", max_attempts=3, lease=0)
    await store.start(job.id, worker="host:2", max_attempts=3)
    await store.cancel(job.id)

    messages = [message for _, message, _, _ in lines(caplog)]

    assert messages[-3:] == [
        f"Job {job.id} lost its worker host:1 (attempt 1)",
        f"Job {job.id} started, attempt 2 on host:2",
        f"Job {job.id} asked to stop",
    ]


async def test_a_lost_worker_and_a_message_sent_again_are_logged_for_counting(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job, _ = await store.add()
    await store.start(job.id, worker="host:1", max_attempts=3, lease=0)

    await store.expire_lease(job.id, max_attempts=3)

    found = [(level, message) for level, message, _, _ in lines(caplog)][-2:]
    assert found == [
        ("WARNING", f"Job {job.id} lost its worker host:1 (attempt 1)"),
        ("INFO", f"Job {job.id} sent to the workers again (1 times so far)"),
    ]
    records = [r for r in caplog.records if r.name == "experiments.jobs"][-2:]
    assert [getattr(r, "lost", False) for r in records] == [True, False]
    assert [getattr(r, "republished", False) for r in records] == [False, True]
