from __future__ import annotations

import datetime as dt

from domain.jobs.ports import JobRepository
from domain.shared.clock import Clock

BATCH = 1000
"""Jobs deleted per statement: short transactions, whatever the backlog."""


class PurgeJobs:
    """Deletes the jobs that finished more than `retention` ago, in batches; returns how many.

    - Queued and running jobs are never deleted, however old.
    - One process deletes at a time; the others find it busy and delete nothing (None).
    - A job run again keeps running, and keeps its record: only the link to the deleted one
      is dropped.
    """

    def __init__(self, jobs: JobRepository, clock: Clock) -> None:
        self._jobs = jobs
        self._clock = clock

    async def __call__(self, *, retention: dt.timedelta, batch: int = BATCH) -> int | None:
        before = self._clock.now() - retention
        deleted = 0
        while True:
            count = await self._jobs.delete_finished(before=before, batch=batch)
            if count is None:
                return None if deleted == 0 else deleted
            deleted += count
            if count < batch:
                return deleted
