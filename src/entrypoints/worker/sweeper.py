"""The job sweeper: a thread of the worker's main process that runs `RecoverJobs` every
`JOB_SWEEP_INTERVAL` seconds.

Every worker runs one; the sweep lock in PostgreSQL lets one of them sweep at a time, and
another takes over at its next round when that worker is gone
(docs/adr/0015-the-sweeper-in-every-worker.md). It has its own event loop and dishka
container, apart from the prefork children's.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from dishka import AsyncContainer

from domain.jobs.use_cases.recover_jobs import RecoverJobs
from entrypoints.config.settings import Settings
from entrypoints.di.providers import make_container

log = logging.getLogger(__name__)


class JobSweeper:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="job-sweeper", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._rounds())

    async def _rounds(self) -> None:
        interval = self._settings.jobs.sweep_interval
        container = make_container(self._settings)
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping.is_set():
                await self._round(container)
                await loop.run_in_executor(None, self._stopping.wait, interval)
        finally:
            await container.close()

    async def _round(self, container: AsyncContainer) -> None:
        try:
            async with container() as request:
                recover = await request.get(RecoverJobs)
                done = await recover()
        except Exception:
            # The database or the broker away for a while: the next round tries again.
            log.warning("The job sweep failed; trying again next round", exc_info=True)
            return
        if done.republished or done.requeued or done.failed or done.cancelled:
            log.info(
                "Job sweep: %d sent again, %d queued again after their worker was lost, "
                "%d failed, %d cancelled",
                done.republished,
                done.requeued,
                done.failed,
                done.cancelled,
            )
