from __future__ import annotations

import base64
import json
import time

import pytest
import redis

from adapters.celery.app import RUN_METRIC_TASK, QueueConfig, create_celery
from adapters.celery.task_queue import CeleryTaskQueue
from domain.jobs.errors import QueueUnavailable
from domain.jobs.model import new_job_id


async def test_enqueue_sends_the_job_id_by_task_name(redis_url: str, queue_name: str) -> None:
    queue = CeleryTaskQueue(
        create_celery(QueueConfig(broker_url=redis_url, queue=queue_name, kill_after=60))
    )
    job_id = new_job_id()

    await queue.enqueue(job_id)

    client = redis.Redis.from_url(redis_url)
    try:
        [raw] = client.lrange(queue_name, 0, -1)
        message = json.loads(raw)
        assert message["headers"]["task"] == RUN_METRIC_TASK
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        assert args == [str(job_id)]
    finally:
        client.delete(queue_name)
        client.close()


async def test_an_unreachable_broker_is_reported_within_seconds() -> None:
    config = QueueConfig(
        broker_url="redis://127.0.0.1:1/0", queue="experiments", kill_after=60, publish_timeout=1
    )
    queue = CeleryTaskQueue(create_celery(config), timeout=2)
    started = time.monotonic()

    with pytest.raises(QueueUnavailable):
        await queue.enqueue(new_job_id())

    assert time.monotonic() - started < 3
