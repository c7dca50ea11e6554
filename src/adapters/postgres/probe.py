from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from domain.health.ports import DatabaseProbe


class PostgresDatabaseProbe(DatabaseProbe):
    def __init__(self, pool: AsyncConnectionPool, *, timeout: float = 2.0) -> None:
        self._pool = pool
        self._timeout = timeout

    async def ping(self) -> bool:
        try:
            async with self._pool.connection(timeout=self._timeout) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, PoolTimeout):
            return False
        return True
