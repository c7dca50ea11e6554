"""Applying a transition of `Job` to the job store, safely against concurrent writers."""

from __future__ import annotations

from collections.abc import Callable

from domain.jobs.model import Job, JobId
from domain.jobs.ports import JobRepository

Change = Callable[[Job], Job | None]
"""A transition: the job's next state, or None when it does not apply to the state given."""


async def update_job(
    jobs: JobRepository, job: Job | JobId, change: Change
) -> tuple[Job | None, bool]:
    """Applies `change` to the stored job; returns the job as it now is, and whether it changed.

    Given a `Job` (the state the caller last saw), the change is tried against that state
    first, which costs one write when nobody else wrote in between; given an id, the job is
    read first. When another writer got there first, the change is applied again to what it
    wrote. The job is None when there is no such job.
    """
    current = job if isinstance(job, Job) else await jobs.get(job)
    read = not isinstance(job, Job)
    while current is not None:
        changed = change(current)
        if changed is None and read:
            return current, False
        if changed is not None and (saved := await jobs.save(changed, expected=current)):
            return saved, True
        current, read = await jobs.get(current.id), True
    return None, False
