"""Ports of the jobs context. The job store is the system of record; the queue only carries ids."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from domain.jobs.model import FeedSignal, Job, JobId, JobsPage


class JobRepository(Protocol):
    """The job store. It knows no rule of a job's life: it stores what `Job` decides, each
    change guarded by a compare-and-set."""

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        """Stores a new job; returns it and True.

        Returns the stored job and False when one has the same idempotency key. Raises
        TooManyJobs, storing nothing, when `max_active` jobs are already queued or running.
        """
        ...

    async def get(self, job_id: JobId) -> Job | None:
        """Returns the job, or None when there is none with that id."""
        ...

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        """Returns jobs newest first, starting after `before` when given."""
        ...

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        """Stores `job` over `expected` when the stored job is still at `expected.revision`,
        and returns it with the next revision; returns None, writing nothing, when another
        change was stored in between (compare-and-set)."""
        ...

    async def stalled(
        self, *, now: dt.datetime, published_before: dt.datetime, limit: int
    ) -> builtins.list[Job]:
        """Returns the jobs no worker will run as things stand: queued jobs whose message was
        last sent before `published_before`, and running jobs whose lease ran out by `now`;
        of each kind the `limit` that waited longest."""
        ...


class SweepLock(Protocol):
    def held(self) -> AbstractAsyncContextManager[bool]:
        """Enters with True when this process is now the only one sweeping the job store,
        until the block ends; with False, at once, when another process is."""
        ...


class TaskQueue(Protocol):
    async def enqueue(self, job_id: JobId) -> None:
        """Sends the job to the workers; raises QueueUnavailable, within seconds, when the
        broker cannot take it."""
        ...


class JobFeed(Protocol):
    def changes(self, *, idle_after: float) -> AsyncIterator[Job | FeedSignal]:
        """Yields each job as it changes, from the moment of the call on.

        Yields SYNC first once subscribed, and again whenever changes may have been missed
        (the feed lost its source for a while); IDLE after `idle_after` seconds without
        anything. Raises Unavailable when the feed cannot be set up.
        """
        ...


class WorkerProbe(Protocol):
    async def gone(self, worker: str) -> bool:
        """Whether the worker named so (as `Job.worker` names it) is known to be dead; False
        when it lives, or when this process cannot tell (another host)."""
        ...
