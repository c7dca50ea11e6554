"""The Celery worker.

dishka's Celery integration is synchronous while the use cases are async: each worker process
keeps one event loop and one dishka container, made after the fork and closed at its exit,
and a task runs its use case on that loop (docs/adr/0001-async-use-cases-in-celery.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from celery import Celery
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from dishka import AsyncContainer

from adapters.celery.app import RUN_METRIC_TASK, create_celery
from domain.jobs.use_cases.run_metric import RunMetric
from domain.shared.errors import Unavailable
from entrypoints.config.logging import configure_logging
from entrypoints.config.settings import Settings
from entrypoints.di.providers import job_limits, make_container, queue_config
from entrypoints.worker.sweeper import JobSweeper

log = logging.getLogger(__name__)


class _ProcessRuntime:
    """The event loop and container of one worker process."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.container: AsyncContainer = make_container(settings)

    def run_metric(self, job_id: str) -> None:
        self.loop.run_until_complete(self._run_metric(job_id))

    async def _run_metric(self, job_id: str) -> None:
        async with self.container() as request:
            run_metric = await request.get(RunMetric)
            job = await run_metric(job_id)
        if job is None:
            log.info("Job %s: nothing to run", job_id, extra={"job_id": job_id})

    def close(self) -> None:
        self.loop.run_until_complete(self.container.close())
        self.loop.close()


def create_worker_app(settings: Settings) -> Celery:
    app = create_celery(queue_config(settings, job_limits(settings)))
    runtime: _ProcessRuntime | None = None

    def process_runtime() -> _ProcessRuntime:
        nonlocal runtime
        if runtime is None:
            runtime = _ProcessRuntime(settings)
        return runtime

    @worker_process_init.connect(weak=False)
    def start_process(**_: Any) -> None:
        configure_logging(settings.log.level)
        process_runtime()

    @worker_process_shutdown.connect(weak=False)
    def stop_process(**_: Any) -> None:
        if runtime is not None:
            runtime.close()

    # In the main process, once the children run and the broker answers: no job stays stuck.
    sweeper = JobSweeper(settings)

    @worker_ready.connect(weak=False)
    def start_sweeper(**_: Any) -> None:
        sweeper.start()

    @worker_shutdown.connect(weak=False)
    def stop_sweeper(**_: Any) -> None:
        sweeper.stop()

    # The job store being unreachable is not the job's fault: try again later rather than
    # acknowledge a message whose job could not even be marked.
    @app.task(
        name=RUN_METRIC_TASK,
        autoretry_for=(Unavailable,),
        retry_backoff=True,
        retry_backoff_max=300,
        max_retries=20,
        # A run killed at the hard time limit goes back to the queue as a new attempt (the
        # attempt counter ends it); acknowledging it would leave its job running forever.
        acks_on_timeout=False,
    )
    def run_metric(job_id: str) -> None:
        # Returns (and so acknowledges) at once for a duplicate of a job running elsewhere
        # under a live lease, or of a finished one.
        process_runtime().run_metric(job_id)

    return app


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log.level)
    app = create_worker_app(settings)
    app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log.level.upper()}",
            "--pool=prefork",
            f"--concurrency={settings.worker.concurrency}",
            f"--queues={settings.broker.queue}",
            "--hostname=experiments-%i@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )
