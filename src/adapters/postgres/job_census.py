from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from domain.health.ports import JobCensus
from domain.jobs.model import JobStatus

BY_STATUS = "SELECT status, count(*) FROM experiments.jobs GROUP BY status"


class PostgresJobCensus(JobCensus):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def by_status(self) -> dict[str, int]:
        async with database_errors(), self._pool.connection() as conn:
            rows = await (await conn.execute(BY_STATUS)).fetchall()
        counts = {str(status): 0 for status in JobStatus}
        counts.update({str(status): count for status, count in rows})
        return counts
