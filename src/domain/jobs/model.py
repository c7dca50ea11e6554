"""The job entity: one run of a metric, and the rules of its life from queued to final.

Each transition is a pure method returning the job's next state, or None when the change does
not apply to the state it is given (a stale attempt, a finished job). The job store only
persists the result, with a compare-and-set on the revision it was computed from
(`domain.jobs.store.update_job`), so every rule and every message below exists once.

A running attempt holds a lease (`lease_expires_at`) that its worker renews with each progress
write and a heartbeat between them; a lease that ran out means the worker is gone, and the
sweeper gives the job back to the queue (docs/adr/0014-job-leases-and-a-sweeper.md).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NewType

from domain.shared.errors import InvalidParameter
from domain.shared.metrics import JsonObject, MetricResult

JobId = NewType("JobId", uuid.UUID)

MAX_ERROR_LENGTH = 2000
"""Characters of an error message kept with a job: enough for any message, bounded for any
exception text."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self not in _ACTIVE

    @property
    def is_active(self) -> bool:
        """Queued or running: the job holds one of the `max_active_jobs` slots."""
        return self in _ACTIVE


_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: JobId
    metric: str
    params: JsonObject
    """The metric's parameters as it validated them: every default filled in."""
    status: JobStatus
    progress: float
    phase: str | None
    """What the run is doing (`aggregating`, `testing`), for metrics that say."""
    result: MetricResult | None
    error: str | None
    attempts: int
    cancel_requested: bool
    idempotency_key: str | None
    worker: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    revision: int
    """Counts the job's stored changes: the job store writes a change only over the revision
    it was computed from (optimistic concurrency), and HTTP uses it as the job's ETag."""
    published_at: dt.datetime
    """When the job's message was last sent to the broker (at launch, or again by the
    sweeper): a queued job not started long after it has lost its message."""
    lease_expires_at: dt.datetime | None = None
    """While running: until when its worker holds it. Renewed by every progress write and
    heartbeat; past it, the worker counts as gone."""
    republished: int = 0
    """Times the sweeper sent its message again (lost by the broker, never published, or its
    worker gone)."""
    losses: int = 0
    """Times the worker running it was lost (its lease ran out, or its process died)."""

    @classmethod
    def queued(
        cls,
        *,
        id: JobId,
        metric: str,
        idempotency_key: str | None,
        now: dt.datetime,
        params: JsonObject | None = None,
    ) -> Job:
        """A new job, waiting for a worker."""
        return cls(
            id=id,
            metric=metric,
            params=dict(params or {}),
            status=JobStatus.QUEUED,
            progress=0.0,
            phase=None,
            result=None,
            error=None,
            attempts=0,
            cancel_requested=False,
            idempotency_key=idempotency_key,
            worker=None,
            created_at=now,
            started_at=None,
            finished_at=None,
            revision=1,
            published_at=now,
        )

    def runs(self, attempt: int) -> bool:
        """Whether `attempt` is the job's current, running attempt: the only one that may write."""
        return self.status is JobStatus.RUNNING and self.attempts == attempt

    def holds_lease(self, now: dt.datetime) -> bool:
        """Whether a worker is running the job under a lease that has not run out."""
        return (
            self.status is JobStatus.RUNNING
            and self.lease_expires_at is not None
            and now < self.lease_expires_at
        )

    def start(
        self,
        *,
        worker: str,
        max_attempts: int,
        now: dt.datetime,
        lease: float,
        holder_gone: bool = False,
    ) -> Job | None:
        """A delivery of the job to `worker`; None when there is nothing to run: the job is
        final, or a worker runs it under a live lease (a duplicate message, which uses no
        attempt) unless that worker is known to be gone (`holder_gone`).

        A running job whose lease ran out starts again as a new attempt, counting a loss. A
        cancel requested beforehand wins: the job ends cancelled without running. Past
        `max_attempts` the job fails instead of starting once more.
        """
        if self.status.is_final:
            return None
        if self.holds_lease(now) and not holder_gone:
            return None
        job = self
        if self.status is JobStatus.RUNNING:
            job = replace(self, losses=self.losses + 1)
        if job.cancel_requested:
            return replace(
                job,
                status=JobStatus.CANCELLED,
                progress=0.0,
                error=None,
                worker=worker,
                finished_at=now,
                lease_expires_at=None,
            )
        if job.attempts + 1 > max_attempts:
            return job._gave_up(now=now, worker=worker)
        return replace(
            job,
            status=JobStatus.RUNNING,
            attempts=job.attempts + 1,
            progress=0.0,
            phase=None,
            error=None,
            worker=worker,
            started_at=now,
            finished_at=None,
            lease_expires_at=now + dt.timedelta(seconds=lease),
        )

    def _gave_up(self, *, now: dt.datetime, worker: str | None) -> Job:
        return replace(
            self,
            status=JobStatus.FAILED,
            progress=0.0,
            error=f"Gave up after {self.attempts} attempts: "
            "the worker running it was lost each time.",
            worker=worker,
            finished_at=now,
            lease_expires_at=None,
        )

    def lease_expired(self, *, now: dt.datetime, max_attempts: int) -> Job | None:
        """A running job whose lease ran out: its worker is gone (killed, its host lost). It
        goes back to `queued`, counting a loss, to be published again; with a cancel pending
        it ends cancelled, and when it has used `max_attempts` it fails. None when its lease
        still holds, or it does not run."""
        if self.status is not JobStatus.RUNNING or self.holds_lease(now):
            return None
        lost = replace(self, losses=self.losses + 1, lease_expires_at=None)
        if lost.cancel_requested:
            return replace(lost, status=JobStatus.CANCELLED, finished_at=now)
        if lost.attempts >= max_attempts:
            return lost._gave_up(now=now, worker=lost.worker)
        return replace(
            lost,
            status=JobStatus.QUEUED,
            progress=0.0,
            phase=None,
            worker=None,
            published_at=now,
            republished=lost.republished + 1,
        )

    def republish(self, *, now: dt.datetime, after: float) -> Job | None:
        """A queued job whose message was last sent more than `after` seconds ago: the broker
        lost it, or it was never sent (the API died first). Its message is sent again; a copy
        of one still in the queue is harmless, `start` ignores it. None otherwise."""
        if self.status is not JobStatus.QUEUED:
            return None
        if now - self.published_at < dt.timedelta(seconds=after):
            return None
        return replace(self, published_at=now, republished=self.republished + 1)

    def progressed(
        self,
        *,
        attempt: int,
        progress: float,
        now: dt.datetime,
        lease: float,
        phase: str | None = None,
    ) -> Job | None:
        """The progress (and phase, when the run names one) of that attempt recorded, and its
        lease renewed for `lease` seconds from `now` (a heartbeat is the same progress again);
        None when the attempt no longer runs."""
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress {progress} is outside 0..1")
        if not self.runs(attempt):
            return None
        return replace(
            self,
            progress=progress,
            phase=phase if phase is not None else self.phase,
            lease_expires_at=now + dt.timedelta(seconds=lease),
        )

    def should_stop(self, attempt: int) -> bool:
        """Whether a run of that attempt must stop: a cancel was asked for, or it no longer
        runs (a newer attempt or a final status took over)."""
        return self.cancel_requested or not self.runs(attempt)

    def finished(
        self,
        *,
        attempt: int,
        now: dt.datetime,
        result: MetricResult | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> Job | None:
        """That attempt's end: cancelled, else failed with `error`, else succeeded with
        `result`. None when the attempt no longer runs: it writes nothing."""
        if not self.runs(attempt):
            return None
        ended = replace(self, finished_at=now, lease_expires_at=None)
        if cancelled:
            return replace(ended, status=JobStatus.CANCELLED)
        if error is not None:
            return replace(ended, status=JobStatus.FAILED, error=error[:MAX_ERROR_LENGTH])
        return replace(ended, status=JobStatus.SUCCEEDED, result=result, progress=1.0)

    def timed_out(self, *, attempt: int, time_limit: float, now: dt.datetime) -> Job | None:
        """That attempt stopped by the time limit."""
        return self.finished(
            attempt=attempt, now=now, error=f"Stopped after the time limit of {time_limit:g} s."
        )

    def crashed(self, *, attempt: int, error: BaseException, now: dt.datetime) -> Job | None:
        """That attempt ended by an error of the computation itself."""
        return self.finished(attempt=attempt, now=now, error=f"{type(error).__name__}: {error}")

    def cancel(self, *, now: dt.datetime) -> Job | None:
        """A user's cancel: a queued job ends at once; a running one is asked to stop at its
        next check. None when the job is final: a finished job stays as it is."""
        if self.status is JobStatus.QUEUED:
            return replace(self, status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now)
        if self.status is JobStatus.RUNNING and not self.cancel_requested:
            return replace(self, cancel_requested=True)
        return None

    @property
    def cancelled_by_request(self) -> bool:
        """Cancelled because a user asked: asking again is answered with the job, not refused."""
        return self.status is JobStatus.CANCELLED and self.cancel_requested

    def not_queued(self, *, reason: str, now: dt.datetime) -> Job | None:
        """The broker did not take the job's message: it fails and frees its idempotency key,
        so a retry with the same key launches anew."""
        if self.status is not JobStatus.QUEUED:
            return None
        return replace(
            self,
            status=JobStatus.FAILED,
            error=f"Could not be queued: {reason}"[:MAX_ERROR_LENGTH],
            idempotency_key=None,
            finished_at=now,
        )


class FeedSignal(StrEnum):
    """What a job feed says besides a changed job."""

    SYNC = "sync"
    """From here on no change is missed: a watcher re-reads the jobs it shows now."""
    IDLE = "idle"
    """Nothing changed for a while (a chance to keep a connection alive)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobsPage:
    jobs: list[Job]
    next_cursor: JobId | None


def new_job_id() -> JobId:
    return JobId(uuid.uuid4())


def parse_job_id(text: str, parameter: str = "job_id") -> JobId:
    try:
        return JobId(uuid.UUID(text))
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not a job id (a UUID).") from None


IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
"""1 to 255 visible ASCII characters: what any HTTP client can send in a header unchanged."""


def check_idempotency_key(key: str) -> str:
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidParameter(
            "Idempotency-Key", "it must be 1 to 255 visible ASCII characters, without spaces."
        )
    return key
