"""The recovery totals, as the job store keeps them (migration 0008's trigger)."""

from __future__ import annotations

from psycopg import Error
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from domain.shared.recovery import RecoveryCounters, RecoveryTotals

SELECT_COUNTERS = "SELECT name, value FROM experiments.job_counters"


class PostgresRecoveryCounters(RecoveryCounters):
    """`experiments.job_counters`: a trigger adds each loss and each message sent again in the
    same transaction as the job's change, so the totals are exact, shared by every process,
    and kept when old jobs are deleted."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def totals(self) -> RecoveryTotals | None:
        try:
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(SELECT_COUNTERS)).fetchall()
        except (Error, PoolTimeout):
            return None
        counts = {name: int(value) for name, value in rows}
        return RecoveryTotals(lost=counts.get("lost", 0), republished=counts.get("republished", 0))
