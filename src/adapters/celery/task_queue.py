from __future__ import annotations

import asyncio
import logging

from celery import Celery

from adapters.celery.app import RUN_METRIC_TASK
from domain.jobs.errors import QueueUnavailable
from domain.jobs.model import JobId
from domain.jobs.ports import TaskQueue

log = logging.getLogger(__name__)


class CeleryTaskQueue(TaskQueue):
    """Publishes by task name, in a thread (kombu is blocking), within a bounded time."""

    def __init__(self, app: Celery, *, timeout: float = 3.0) -> None:
        self._app = app
        self._timeout = timeout

    async def enqueue(self, job_id: JobId) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._publish, job_id), self._timeout)
        except TimeoutError as error:
            raise QueueUnavailable(
                f"the broker did not take the job within {self._timeout:g} s"
            ) from error
        except Exception as error:
            log.warning("Could not publish job %s: %r", job_id, error)
            raise QueueUnavailable(f"the broker is unreachable ({error})") from error

    def _publish(self, job_id: JobId) -> None:
        self._app.send_task(RUN_METRIC_TASK, args=[str(job_id)], retry=False)
