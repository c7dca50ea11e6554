"""The in-memory task queue and Celery's agree on what a publish does and how it fails."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
import redis

from adapters.celery.app import QueueConfig, create_celery
from adapters.celery.task_queue import celery_task_queue
from domain.jobs.errors import QueueUnavailable
from domain.jobs.model import new_job_id
from domain.jobs.ports import TaskQueue
from tests.support.fakes import InMemoryTaskQueue

UNREACHABLE = "redis://127.0.0.1:1/0"

Queues = Callable[[bool], Awaitable[tuple[TaskQueue, Callable[[], int]]]]
"""Makes a queue, up or down, and a way to count what it holds."""


@pytest.fixture(params=["in_memory", "celery"])
async def queues(request: pytest.FixtureRequest) -> AsyncIterator[Queues]:
    if request.param == "in_memory":

        async def fake(up: bool) -> tuple[TaskQueue, Callable[[], int]]:
            queue = InMemoryTaskQueue()
            queue.down = not up
            return queue, lambda: len(queue.enqueued)

        yield fake
        return
    redis_url: str = request.getfixturevalue("redis_url")
    name: str = request.getfixturevalue("queue_name")
    client = redis.Redis.from_url(redis_url)
    async with AsyncExitStack() as opened:

        async def real(up: bool) -> tuple[TaskQueue, Callable[[], int]]:
            config = QueueConfig(
                broker_url=redis_url if up else UNREACHABLE,
                queue=name,
                kill_after=60,
                publish_timeout=1,
            )
            queue = await opened.enter_async_context(
                celery_task_queue(create_celery(config), config, within=2)
            )
            return queue, lambda: client.llen(name)

        yield real
    client.close()


async def test_an_enqueued_job_waits_in_the_queue(queues: Queues) -> None:
    queue, waiting = await queues(True)

    await queue.enqueue(new_job_id())
    await queue.enqueue(new_job_id())

    assert waiting() == 2


async def test_a_queue_that_cannot_take_a_job_says_so_within_seconds(queues: Queues) -> None:
    queue, _ = await queues(False)
    started = time.monotonic()

    with pytest.raises(QueueUnavailable):
        await queue.enqueue(new_job_id())

    assert time.monotonic() - started < 5
