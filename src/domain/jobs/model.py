"""The job entity: one run of a metric, and the rules of its life from queued to final.

Each transition is a pure method returning the job's next state, or None when the change does
not apply to the state it is given (a stale attempt, a finished job). The job store only
persists the result, with a compare-and-set on the revision it was computed from
(`domain.jobs.store.update_job`), so every rule and every message below exists once.
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
    rerun_of: JobId | None = None
    """The finished job this one runs again (`POST /jobs/{id}/rerun`), while that one is kept."""

    @classmethod
    def queued(
        cls,
        *,
        id: JobId,
        metric: str,
        idempotency_key: str | None,
        now: dt.datetime,
        params: JsonObject | None = None,
        rerun_of: JobId | None = None,
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
            rerun_of=rerun_of,
        )

    def asks_for(self, metric: str, params: JsonObject) -> bool:
        """Whether the job runs `metric` with `params` (as the metric checked them): what a
        launch with the same idempotency key must ask for, to be answered with this job."""
        return self.metric == metric and self.params == params

    def runs(self, attempt: int) -> bool:
        """Whether `attempt` is the job's current, running attempt: the only one that may write."""
        return self.status is JobStatus.RUNNING and self.attempts == attempt

    def start(self, *, worker: str, max_attempts: int, now: dt.datetime) -> Job | None:
        """A delivery of the job to `worker`; None when the job is final (nothing to run).

        A running job whose message came back (its worker was lost) starts again as a new
        attempt. A cancel requested beforehand wins: the job ends cancelled without running.
        Past `max_attempts` the job fails instead of starting once more.
        """
        if self.status.is_final:
            return None
        if self.cancel_requested:
            return replace(
                self,
                status=JobStatus.CANCELLED,
                progress=0.0,
                error=None,
                worker=worker,
                finished_at=now,
            )
        if self.attempts + 1 > max_attempts:
            return replace(
                self,
                status=JobStatus.FAILED,
                progress=0.0,
                error=f"Gave up after {self.attempts} attempts: "
                "the worker running it was lost each time.",
                worker=worker,
                finished_at=now,
            )
        return replace(
            self,
            status=JobStatus.RUNNING,
            attempts=self.attempts + 1,
            progress=0.0,
            phase=None,
            error=None,
            worker=worker,
            started_at=now,
            finished_at=None,
        )

    def progressed(self, *, attempt: int, progress: float, phase: str | None = None) -> Job | None:
        """The progress (and phase, when the run names one) of that attempt recorded; None
        when the attempt no longer runs."""
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress {progress} is outside 0..1")
        if not self.runs(attempt):
            return None
        return replace(self, progress=progress, phase=phase if phase is not None else self.phase)

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
        if cancelled:
            return replace(self, status=JobStatus.CANCELLED, finished_at=now)
        if error is not None:
            return replace(
                self, status=JobStatus.FAILED, error=error[:MAX_ERROR_LENGTH], finished_at=now
            )
        return replace(
            self, status=JobStatus.SUCCEEDED, result=result, progress=1.0, finished_at=now
        )

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

    def lost(self, *, now: dt.datetime) -> Job | None:
        """A run that outlived any time limit: its worker must be gone."""
        if self.status is not JobStatus.RUNNING:
            return None
        return replace(
            self,
            status=JobStatus.FAILED,
            error="Lost: its run outlived any time limit, so its worker must be gone.",
            finished_at=now,
        )

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


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFilter:
    """Which jobs a listing shows: any of `statuses` (all when empty) and of `metric` (any
    when None)."""

    statuses: frozenset[JobStatus] = frozenset()
    metric: str | None = None

    def admits(self, job: Job) -> bool:
        return (not self.statuses or job.status in self.statuses) and (
            self.metric is None or job.metric == self.metric
        )


ANY_JOB = JobFilter()


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
