"""The job entity: one run of a metric, as the job store records it."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from domain.errors import InvalidParameter

JobId = NewType("JobId", uuid.UUID)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: JobId
    metric: str
    status: JobStatus
    progress: float
    result: int | None
    error: str | None
    attempts: int
    cancel_requested: bool
    idempotency_key: str | None
    worker: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class FeedSignal(StrEnum):
    """What a job feed says besides a changed job."""

    SYNC = "sync"
    """From here on no change is missed: a watcher re-reads the jobs it shows now."""
    IDLE = "idle"
    """Nothing changed for a while (a chance to keep a connection alive)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """A job about to be queued."""

    id: JobId
    metric: str
    idempotency_key: str | None


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
