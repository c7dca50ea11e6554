from __future__ import annotations

from domain.health.model import CacheStats
from domain.health.ports import CacheMonitor


class CheckCache:
    """Reports how the log cache serves: its counters, and whether its circuit is open.

    - The cache is never needed: one that is down, slow or full leaves the service healthy
      (pages are read from the database), and shows here as errors, bypasses and an open
      circuit.
    - A service run without a cache has nothing to report.
    """

    def __init__(self, cache: CacheMonitor) -> None:
        self._cache = cache

    async def __call__(self) -> CacheStats | None:
        return await self._cache.stats()
