from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
import redis

from adapters.celery.app import RUN_METRIC_TASK, QueueConfig, create_celery
from adapters.celery.task_queue import celery_task_queue
from domain.jobs.errors import QueueUnavailable
from domain.jobs.model import new_job_id


def _queued(redis_url: str, queue_name: str) -> list[dict[str, Any]]:
    """The queue's messages, oldest (the next a worker takes) first."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [json.loads(raw) for raw in reversed(client.lrange(queue_name, 0, -1))]
    finally:
        client.delete(queue_name)
        client.close()


async def test_enqueue_sends_the_job_id_by_task_name(redis_url: str, queue_name: str) -> None:
    config = QueueConfig(broker_url=redis_url, queue=queue_name, kill_after=60)
    job_id = new_job_id()

    async with celery_task_queue(create_celery(config), config) as queue:
        await queue.enqueue(job_id)

    [message] = _queued(redis_url, queue_name)
    assert message["headers"]["task"] == RUN_METRIC_TASK
    args, _, _ = json.loads(base64.b64decode(message["body"]))
    assert args == [str(job_id)]


async def test_the_message_is_the_one_celery_send_task_writes(
    redis_url: str, queue_name: str
) -> None:
    """Field for field, but for the ids that are new in every message and `reply_to`, the
    app's id for the thread that sends (no result is ever sent back: results are ignored)."""
    config = QueueConfig(broker_url=redis_url, queue=queue_name, kill_after=60)
    app = create_celery(config)
    job_id = new_job_id()
    await asyncio.to_thread(app.send_task, RUN_METRIC_TASK, args=[str(job_id)], retry=False)
    async with celery_task_queue(app, config) as queue:
        await queue.enqueue(job_id)

    celerys, ours = _queued(redis_url, queue_name)

    def without_ids(message: dict[str, Any]) -> dict[str, Any]:
        headers = {k: v for k, v in message["headers"].items() if k not in {"id", "root_id"}}
        properties = {
            k: v
            for k, v in message["properties"].items()
            if k not in {"correlation_id", "delivery_tag", "reply_to"}
        }
        return message | {"headers": headers, "properties": properties}

    assert without_ids(ours) == without_ids(celerys)
    task_id = ours["headers"]["id"]
    assert ours["headers"]["root_id"] == ours["properties"]["correlation_id"] == task_id
    assert ours["properties"]["delivery_tag"] != celerys["properties"]["delivery_tag"]


async def test_publishes_at_the_same_time_go_out_in_one_push_and_in_order(
    redis_url: str, queue_name: str
) -> None:
    config = QueueConfig(broker_url=redis_url, queue=queue_name, kill_after=60)
    probe = redis.Redis.from_url(redis_url)
    job_ids = [new_job_id() for _ in range(20)]

    def pushes_so_far() -> int:
        return int(probe.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))

    before = pushes_so_far()
    async with celery_task_queue(create_celery(config), config) as queue:
        await asyncio.gather(*(queue.enqueue(job_id) for job_id in job_ids))

    pushes = pushes_so_far() - before
    probe.close()
    queued = [json.loads(base64.b64decode(m["body"]))[0][0] for m in _queued(redis_url, queue_name)]
    assert queued == [str(job_id) for job_id in job_ids]
    assert pushes <= 2  # the first alone, the 19 that arrived while it went out together


async def test_an_unreachable_broker_is_reported_within_seconds() -> None:
    config = QueueConfig(
        broker_url="redis://127.0.0.1:1/0", queue="experiments", kill_after=60, publish_timeout=1
    )
    started = time.monotonic()

    async with celery_task_queue(create_celery(config), config, within=2) as queue:
        with pytest.raises(QueueUnavailable):
            await queue.enqueue(new_job_id())

    assert time.monotonic() - started < 3


async def test_every_publish_of_a_failed_push_is_told_so_and_the_next_push_works(
    redis_url: str, queue_name: str
) -> None:
    config = QueueConfig(broker_url=redis_url, queue=queue_name, kill_after=60)
    probe = redis.Redis.from_url(redis_url)
    probe.set(queue_name, "not a list")  # LPUSH onto a string fails: WRONGTYPE

    async with celery_task_queue(create_celery(config), config) as queue:
        failed = await asyncio.gather(
            *(queue.enqueue(new_job_id()) for _ in range(5)), return_exceptions=True
        )
        probe.delete(queue_name)
        await queue.enqueue(new_job_id())

    probe.close()
    assert all(isinstance(error, QueueUnavailable) for error in failed), failed
    assert len(_queued(redis_url, queue_name)) == 1
