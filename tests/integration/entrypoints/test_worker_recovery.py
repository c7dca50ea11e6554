"""No job is ever stuck, with real worker processes: a worker that vanishes, a message delivered
twice, a message Redis lost, a Redis that is down or full when a worker starts.

Leases and sweeps are short here (JOB_LEASE, JOB_SWEEP_INTERVAL, JOB_REPUBLISH_AFTER), so
each case takes seconds; the defaults recover within a minute.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.celery.app import QueueConfig, create_celery
from adapters.celery.task_queue import celery_task_queue
from domain.jobs.model import parse_job_id
from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.own_servers import OwnRedis
from tests.support.polling import eventually
from tests.support.worker_process import WorkerProcess, started_worker

FAST_RECOVERY = {
    "JOB_LEASE": "2",
    "JOB_SWEEP_INTERVAL": "0.5",
    "JOB_REPUBLISH_AFTER": "2",
}
LONG_RUN = str(6 * 10**6)
"""Iterations of a run of a few seconds: long enough to be caught running."""


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    return {**service_env, **FAST_RECOVERY, "METRIC_ITERATIONS": "200000"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture
def worker(service_env: dict[str, str]) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts real worker processes on demand, ready unless asked not to wait."""
    stack: list[Any] = []

    def start(concurrency: int = 1, wait: bool = True, **variables: str) -> WorkerProcess:
        context = started_worker({**service_env, **variables}, concurrency=concurrency)
        stack.append(context)
        process: WorkerProcess = context.__enter__()
        if wait:
            process.wait_ready()
        return process

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


async def launch(client: AsyncTestClient[Litestar]) -> str:
    response = await client.post("/launch")
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def job_when(
    client: AsyncTestClient[Litestar],
    job_id: str,
    until: Callable[[dict[str, Any]], bool],
    within: float = 60,
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
        return job if until(job) else None

    return await eventually(check, within=within, what=f"job {job_id}", every=0.1)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in {"succeeded", "failed", "cancelled"}


def running_with_progress(job: dict[str, Any]) -> bool:
    return finished(job) or (job["status"] == "running" and job["progress"] > 0)


def running_on(workers: list[WorkerProcess], job: dict[str, Any]) -> int:
    """The main process of the worker whose child runs the job (each leads its own group)."""
    child = int(job["worker"].rsplit(":", 1)[1])
    [main] = [w.process.pid for w in workers if os.getpgid(child) == w.process.pid]
    return main


def stored_counts(settings: Settings, job_id: str) -> tuple[int, int]:
    """The job's `republished` and `losses`, which the API does not show."""
    import psycopg

    with psycopg.connect(settings.database.url) as conn:
        row = conn.execute(
            "SELECT republished, losses FROM experiments.jobs WHERE id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


async def test_a_job_whose_worker_host_is_lost_runs_again_elsewhere_and_succeeds(
    client: AsyncTestClient[Litestar],
    worker: Callable[..., WorkerProcess],
    settings: Settings,
) -> None:
    workers = [worker(METRIC_ITERATIONS=LONG_RUN) for _ in range(2)]
    job_id = await launch(client)
    running = await job_when(client, job_id, running_with_progress)
    assert running["status"] == "running", running

    os.killpg(running_on(workers, running), signal.SIGKILL)  # main and children at once

    job = await job_when(client, job_id, finished)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["worker"] != running["worker"]
    assert stored_counts(settings, job_id) == (1, 1)


async def test_a_job_whose_worker_main_process_is_killed_is_not_left_running(
    client: AsyncTestClient[Litestar],
    worker: Callable[..., WorkerProcess],
) -> None:
    workers = [worker(METRIC_ITERATIONS=LONG_RUN) for _ in range(2)]
    job_id = await launch(client)
    running = await job_when(client, job_id, running_with_progress)
    assert running["status"] == "running", running

    os.kill(running_on(workers, running), signal.SIGKILL)  # its orphaned child may finish

    job = await job_when(client, job_id, finished)
    assert job["status"] == "succeeded", job
    assert job["attempts"] in {1, 2}
    assert job["progress"] == 1.0


async def test_a_duplicate_delivered_while_the_job_runs_does_nothing_and_uses_no_attempt(
    client: AsyncTestClient[Litestar],
    worker: Callable[..., WorkerProcess],
    settings: Settings,
) -> None:
    worker(concurrency=2, METRIC_ITERATIONS=LONG_RUN)
    job_id = await launch(client)
    running = await job_when(client, job_id, running_with_progress)
    assert running["status"] == "running", running
    config = QueueConfig(broker_url=settings.broker.url, queue=settings.broker.queue, kill_after=60)
    broker = redis.Redis.from_url(settings.broker.url)

    async with celery_task_queue(create_celery(config), config) as queue:
        await queue.enqueue(parse_job_id(job_id))
        await queue.enqueue(parse_job_id(job_id))

    def duplicates_taken() -> bool:
        return broker.llen(settings.broker.queue) == 0

    await eventually(_sync(duplicates_taken), within=30, what="the duplicates delivered")
    during = (await client.get(f"/jobs/{job_id}")).json()
    job = await job_when(client, job_id, finished)
    broker.close()
    assert (during["status"], during["attempts"]) == ("running", 1), during
    assert job["status"] == "succeeded", job
    assert (job["attempts"], job["worker"]) == (1, running["worker"])
    assert stored_counts(settings, job_id) == (0, 0)


async def test_a_queued_job_whose_message_redis_lost_is_sent_again_and_succeeds(
    client: AsyncTestClient[Litestar],
    worker: Callable[..., WorkerProcess],
    settings: Settings,
) -> None:
    job_id = await launch(client)
    broker = redis.Redis.from_url(settings.broker.url)
    assert broker.delete(settings.broker.queue) == 1
    broker.close()

    worker()

    job = await job_when(client, job_id, finished)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    republished, losses = stored_counts(settings, job_id)
    assert republished >= 1
    assert losses == 0


def _sync(check: Callable[[], bool]) -> Callable[[], Any]:
    async def run() -> bool:
        return check()

    return run


@pytest.fixture
def redis_dir(tmp_path: Path) -> Path:
    path = tmp_path / "redis"
    path.mkdir()
    return path


async def test_a_worker_started_before_redis_is_up_serves_once_it_is(
    service_env: dict[str, str], worker: Callable[..., WorkerProcess], redis_dir: Path
) -> None:
    server = OwnRedis(redis_dir, appendonly=False)
    try:
        env = {**service_env, "REDIS_URL": server.url}
        started = worker(wait=False, REDIS_URL=server.url)
        assert not started.ready.wait(3)
        assert started.process.poll() is None, started.text

        server.start()

        started.wait_ready(within=60)
        await _a_job_succeeds(env)
    finally:
        server.stop()


async def test_a_worker_started_while_redis_refuses_writes_serves_once_memory_is_freed(
    service_env: dict[str, str], worker: Callable[..., WorkerProcess], redis_dir: Path
) -> None:
    server = OwnRedis(redis_dir, appendonly=False, maxmemory="2mb")
    server.start()
    try:
        env = {**service_env, "REDIS_URL": server.url}
        assert server.fill() > 0
        started = worker(wait=False, REDIS_URL=server.url)
        await eventually(
            _sync(lambda: "maxmemory" in started.text), within=30, what="an OOM refusal"
        )
        assert not started.ready.wait(2)
        assert started.process.poll() is None, started.text

        with server.client() as client:
            client.flushall()
            # Room for the worker's and the API's own connections too: 2 MB is about Redis's
            # baseline, so a few more clients put it past the limit again.
            client.config_set("maxmemory", "64mb")

        started.wait_ready(within=60)
        await _a_job_succeeds(env)
    finally:
        server.stop()


async def _a_job_succeeds(env: dict[str, str]) -> None:
    async with AsyncTestClient(app=create_app(Settings.from_env(env))) as client:
        job_id = await launch(client)
        job = await job_when(client, job_id, finished)
    assert job["status"] == "succeeded", job
