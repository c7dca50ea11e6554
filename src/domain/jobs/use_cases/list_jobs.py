from __future__ import annotations

from collections.abc import Collection

from domain.jobs.model import JobFilter, JobsPage, JobStatus, parse_job_id
from domain.jobs.ports import JobRepository
from domain.shared.errors import InvalidParameter

MAX_PAGE = 100
MAX_METRIC_LENGTH = 200


class ListJobs:
    """Lists jobs newest first, `limit` (1 to 100) at a time; `cursor` continues a listing.

    - `status` keeps the jobs in any of the statuses named (all of them when none is);
      `metric`, the jobs of that metric. A cursor continues the listing it came from, with
      the same filters.
    """

    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(
        self,
        *,
        limit: int = 20,
        cursor: str | None = None,
        status: Collection[str] = (),
        metric: str | None = None,
    ) -> JobsPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidParameter("limit", f"it must be between 1 and {MAX_PAGE}.")
        before = parse_job_id(cursor, "cursor") if cursor is not None else None
        if metric is not None and not 1 <= len(metric) <= MAX_METRIC_LENGTH:
            raise InvalidParameter("metric", f"it must be 1 to {MAX_METRIC_LENGTH} characters.")
        return await self._jobs.list(
            limit=limit,
            before=before,
            only=JobFilter(statuses=frozenset(map(_status, status)), metric=metric),
        )


def _status(text: str) -> JobStatus:
    try:
        return JobStatus(text)
    except ValueError:
        known = ", ".join(status.value for status in JobStatus)
        raise InvalidParameter("status", f"{text!r} is not a status ({known}).") from None
