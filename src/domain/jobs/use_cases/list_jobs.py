from __future__ import annotations

from domain.jobs.model import JobsPage, parse_job_id
from domain.jobs.ports import JobRepository
from domain.shared.errors import InvalidParameter

MAX_PAGE = 100


class ListJobs:
    """Lists jobs newest first, `limit` (1 to 100) at a time; `cursor` continues a listing."""

    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(self, *, limit: int = 20, cursor: str | None = None) -> JobsPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidParameter("limit", f"it must be between 1 and {MAX_PAGE}.")
        before = parse_job_id(cursor, "cursor") if cursor is not None else None
        return await self._jobs.list(limit=limit, before=before)
