from __future__ import annotations

from collections.abc import Awaitable, Callable

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from domain.health.ports import DatabaseProbe
from domain.shared.errors import DomainError


class PostgresDatabaseProbe(DatabaseProbe):
    """Asks the pool for a connection and a `SELECT 1`. The pool may be given as a way to get
    it: when PostgreSQL was down as the process started, getting it fails (it is opened and
    migrated first), and that too is "does not answer"."""

    def __init__(
        self,
        pool: AsyncConnectionPool | Callable[[], Awaitable[AsyncConnectionPool]],
        *,
        timeout: float = 2.0,
    ) -> None:
        self._pool = pool
        self._timeout = timeout

    async def ping(self) -> bool:
        try:
            pool = self._pool if isinstance(self._pool, AsyncConnectionPool) else await self._pool()
            async with pool.connection(timeout=self._timeout) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, PoolTimeout, DomainError):
            return False
        return True
