"""Ports of the jobs side. The job store is the system of record; the queue only carries ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from domain.job import FeedSignal, Job, JobId, JobsPage, NewJob


class JobRepository(Protocol):
    """The job store. Every transition is one atomic, guarded step."""

    async def add(self, job: NewJob, *, max_active: int) -> tuple[Job, bool]:
        """Queues `job`; returns it and True.

        Returns the existing job and False when one has the same idempotency key. Raises
        Overloaded, adding nothing, when `max_active` jobs are already queued or running.
        """
        ...

    async def get(self, job_id: JobId) -> Job | None:
        """Returns the job, or None when there is none with that id."""
        ...

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        """Returns jobs newest first, starting after `before` when given."""
        ...

    async def start(self, job_id: JobId, *, worker: str, max_attempts: int) -> Job | None:
        """Moves a queued job, or a running one whose message came back, to running.

        Counts an attempt; past `max_attempts` the job fails instead. A cancel requested for a
        queued job ends it cancelled. Returns the job as it now is, or None when there is none.
        """
        ...

    async def report_progress(self, job_id: JobId, attempt: int, progress: float) -> bool:
        """Records progress of that attempt; returns False when the run should stop (a cancel
        was requested, or a newer attempt or a final status took over)."""
        ...

    async def finish(
        self,
        job_id: JobId,
        attempt: int,
        *,
        result: int | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> Job | None:
        """Ends that attempt: succeeded with `result`, failed with `error`, or cancelled.

        Returns None, writing nothing, when the attempt is no longer the job's current one."""
        ...

    async def fail_lost(self, *, running_for: float) -> int:
        """Fails the jobs running for more than `running_for` seconds since their last start,
        whose worker must be gone; returns how many there were."""
        ...

    async def fail_queued(self, job_id: JobId, error: str) -> None:
        """Fails a job still queued (its message could not be sent) and frees its idempotency
        key, so a retry with the same key launches anew."""
        ...

    async def cancel(self, job_id: JobId) -> Job | None:
        """Cancels a queued job at once, or asks a running one to stop at its next check.

        Returns the job as it now is (unchanged when it had finished), or None when absent."""
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
