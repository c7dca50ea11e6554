"""Job changes from PostgreSQL's LISTEN/NOTIFY, shared by every watcher of a process.

A trigger on `experiments.jobs` sends each changed row as JSON on the `experiments_jobs`
channel; one connection per process listens and fans the rows out, so a thousand open pages
cost one connection and no queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg
from psycopg import AsyncConnection, sql

from adapters.postgres.job_repository import job_from_row
from domain.jobs.model import FeedSignal, Job, JobId
from domain.jobs.ports import JobFeed
from domain.shared.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

CHANNEL = "experiments_jobs"


@dataclass(eq=False, slots=True)
class _Watcher:
    latest: dict[JobId, Job] = field(default_factory=dict)
    missed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PostgresJobFeed(JobFeed):
    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        self._watchers: set[_Watcher] = set()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def changes(self, *, idle_after: float) -> AsyncIterator[Job | FeedSignal]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen())
        try:
            await asyncio.wait_for(self._listening.wait(), self._connect_timeout)
        except TimeoutError:
            raise DatabaseUnavailable(
                "PostgreSQL does not answer: job changes cannot be watched."
            ) from None
        watcher = _Watcher()
        self._watchers.add(watcher)
        try:
            yield FeedSignal.SYNC
            while True:
                try:
                    await asyncio.wait_for(watcher.wake.wait(), idle_after)
                except TimeoutError:
                    yield FeedSignal.IDLE
                    continue
                watcher.wake.clear()
                if watcher.missed:
                    watcher.missed = False
                    watcher.latest.clear()
                    yield FeedSignal.SYNC
                latest, watcher.latest = watcher.latest, {}
                for job in latest.values():
                    yield job
        finally:
            self._watchers.discard(watcher)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        backoff, lost = 0.5, False
        while True:
            try:
                conn = await AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=round(self._connect_timeout)
                )
                async with conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    if lost:
                        self._tell_all_missed()
                    self._listening.set()
                    backoff, lost = 0.5, False
                    async for notify in conn.notifies():
                        self._publish(job_from_row(json.loads(notify.payload)))
            except psycopg.Error as error:
                if self._listening.is_set():
                    log.warning("Lost the job feed (%s); reconnecting", error)
                self._listening.clear()
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    def _publish(self, job: Job) -> None:
        for watcher in self._watchers:
            watcher.latest[job.id] = job
            watcher.wake.set()

    def _tell_all_missed(self) -> None:
        for watcher in self._watchers:
            watcher.missed = True
            watcher.wake.set()
