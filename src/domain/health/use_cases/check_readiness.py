from __future__ import annotations

import asyncio

from domain.health.errors import NotReady
from domain.health.model import Readiness
from domain.health.ports import BrokerProbe, CacheProbe, DatabaseProbe


class CheckReadiness:
    """Whether this process can serve: PostgreSQL, the broker and the cache, each asked.

    - Ready when PostgreSQL and the broker both answer; otherwise not ready (503): a launch
      could not be queued, or nothing could be read.
    - The cache is never needed: without it the service is ready but degraded.
    - The three are asked at once, each within its own short timeout.
    """

    def __init__(self, database: DatabaseProbe, broker: BrokerProbe, cache: CacheProbe) -> None:
        self._database = database
        self._broker = broker
        self._cache = cache

    async def __call__(self) -> Readiness:
        database, broker, cache = await asyncio.gather(
            self._database.ping(), self._broker.ping(), self._cache.ping()
        )
        readiness = Readiness(database=database, broker=broker, cache=cache)
        if not readiness.ready:
            raise NotReady(readiness)
        return readiness
