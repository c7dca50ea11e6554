"""Publishing a job to the workers: Celery's task message, pushed onto the broker's Redis list
from the event loop, with the publishes that arrive together sharing one `LPUSH`
(docs/adr/0022-publishing-from-the-event-loop.md)."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from celery import Celery
from kombu.serialization import dumps
from redis.asyncio import Redis

from adapters.celery.app import RUN_METRIC_TASK, QueueConfig
from adapters.grouping import Grouped
from adapters.redis.broker import create_client
from domain.jobs.errors import QueueUnavailable
from domain.jobs.model import JobId
from domain.jobs.ports import TaskQueue

log = logging.getLogger(__name__)


def create_broker_client(url: str, *, timeout: float) -> Redis:
    """The publisher's client of the broker, giving up after `timeout` seconds.

    A push whose connection turns out dead (Redis restarted since it was last used) is made
    once more on a new connection: nearly always it never reached Redis. A push that timed out
    is not: Redis may well have taken it. Either way a message may, rarely, go out twice, which
    is harmless (the worker fences on the job's state); a push that fails makes its launch fail
    (the job is marked failed, 503), and its client may retry with its Idempotency-Key.
    """
    return create_client(url, timeout=timeout, max_connections=2, reconnects=1)


@asynccontextmanager
async def celery_task_queue(
    app: Celery, config: QueueConfig, *, within: float = 3.0
) -> AsyncIterator[CeleryTaskQueue]:
    """The task queue of `config`, with a client of the broker of its own, closed at the end;
    a publish not taken `within` seconds fails."""
    client = create_broker_client(config.broker_url, timeout=config.publish_timeout)
    try:
        yield CeleryTaskQueue(app, client, timeout=within)
    finally:
        await client.aclose()


class CeleryTaskQueue(TaskQueue):
    """Queues `experiments.run_metric(job_id)` for the workers.

    The message is the one `Celery.send_task` writes, built by the same parts of Celery and
    kombu (`app.amqp.create_task_message`, kombu's serializer) and wrapped in the envelope of
    kombu's Redis transport; only the last step differs: instead of a blocking client in a
    thread, one per call, an asyncio client pushes it, and every publish that arrives while
    a push is under way goes out with the next one, in a single `LPUSH`. A launch that waits
    longer than `timeout` is told the broker is unavailable.
    """

    def __init__(self, app: Celery, client: Redis, *, timeout: float = 3.0) -> None:
        self._amqp = app.amqp
        self._reply_to = app.thread_oid
        self._queue: str = app.conf.task_default_queue
        self._client = client
        self._pushes: Grouped[bytes, None] = Grouped(self._push)
        self._timeout = timeout

    async def enqueue(self, job_id: JobId) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._pushes(self.message(job_id))
        except TimeoutError as error:
            raise QueueUnavailable(
                f"the broker did not take the job within {self._timeout:g} s"
            ) from error
        except Exception as error:
            log.warning("Could not publish job %s: %r", job_id, error)
            raise QueueUnavailable(f"the broker is unreachable ({error})") from error

    def message(self, job_id: JobId) -> bytes:
        """The message kombu's Redis transport would push for `send_task` of the job."""
        task_id = str(uuid.uuid4())
        task = self._amqp.create_task_message(
            task_id,
            RUN_METRIC_TASK,
            [str(job_id)],
            {},
            reply_to=self._reply_to,
            create_sent_event=False,
            ignore_result=None,
        )
        content_type, content_encoding, body = dumps(task.body, serializer="json")  # type: ignore[no-untyped-call]
        envelope: dict[str, Any] = {
            "body": base64.b64encode(body.encode() if isinstance(body, str) else body).decode(),
            "content-encoding": content_encoding,
            "content-type": content_type,
            "headers": task.headers,
            "properties": {
                **task.properties,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": self._queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
        return msgspec.json.encode(envelope)

    async def _push(self, messages: list[bytes]) -> list[None]:
        # `LPUSH key a b c` leaves `a` nearest the end that workers pop: order is kept.
        await self._client.lpush(self._queue, *messages)
        return [None] * len(messages)
