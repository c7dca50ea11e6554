"""One sweeper at a time, across every worker: a transaction-level advisory lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.locks import SWEEP_LOCK
from domain.jobs.ports import SweepLock


class PostgresSweepLock(SweepLock):
    """`pg_try_advisory_xact_lock` in a transaction that lasts the round: released at its end,
    and by PostgreSQL when the process holding it dies, so a lost sweeper never blocks the
    next one."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def held(self) -> AsyncIterator[bool]:
        async with database_errors(), self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s, 0)", (SWEEP_LOCK,))
            row = await cur.fetchone()
            yield bool(row and row[0])
