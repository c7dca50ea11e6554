"""Job changes from PostgreSQL's LISTEN/NOTIFY, shared by every watcher of a process.

A trigger on `experiments.jobs` sends each changed row as JSON on the `experiments_jobs`
channel; the process's one listening connection (`PostgresNotifications`) hands the rows to
this feed, which fans them out, so a thousand open pages cost one connection and no queries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from adapters.postgres.job_repository import job_from_row
from adapters.postgres.notifications import PostgresNotifications
from domain.jobs.model import FeedSignal, Job, JobId
from domain.jobs.ports import JobFeed
from domain.shared.errors import DatabaseUnavailable

CHANNEL = "experiments_jobs"


@dataclass(eq=False, slots=True)
class _Watcher:
    latest: dict[JobId, Job] = field(default_factory=dict)
    missed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PostgresJobFeed(JobFeed):
    def __init__(
        self, notifications: PostgresNotifications, *, connect_timeout: float = 5.0
    ) -> None:
        self._notifications = notifications
        self._connect_timeout = connect_timeout
        self._watchers: set[_Watcher] = set()
        notifications.subscribe(CHANNEL, on_notify=self._on_notify, on_state=self._on_state)

    async def changes(self, *, idle_after: float) -> AsyncIterator[Job | FeedSignal]:
        if not await self._notifications.wait_listening(self._connect_timeout):
            raise DatabaseUnavailable("PostgreSQL does not answer: job changes cannot be watched.")
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

    def _on_notify(self, payload: str) -> None:
        # Every change of every job is heard; one nobody watches is not even read.
        if self._watchers:
            self._publish(job_from_row(json.loads(payload)))

    def _on_state(self, listening: bool) -> None:
        # Whatever changed while the connection was down was not heard: watchers re-read.
        if listening:
            self._tell_all_missed()

    def _publish(self, job: Job) -> None:
        for watcher in self._watchers:
            watcher.latest[job.id] = job
            watcher.wake.set()

    def _tell_all_missed(self) -> None:
        for watcher in self._watchers:
            watcher.missed = True
            watcher.wake.set()
