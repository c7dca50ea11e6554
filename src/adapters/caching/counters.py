"""The log cache's counters: one small object, read by /health now and by a metrics exporter
later."""

from __future__ import annotations

from domain.health.model import CacheStats
from domain.health.ports import CacheMonitor


class CacheCounters(CacheMonitor):
    """Counts what `CachedLogReader` does (see `CacheStats` for what each counter means)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.circuit_open = False
        self.openings = 0
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.bypasses = 0
        self.coalesced = 0

    async def stats(self) -> CacheStats | None:
        if not self.enabled:
            return None
        return CacheStats(
            circuit_open=self.circuit_open,
            openings=self.openings,
            hits=self.hits,
            misses=self.misses,
            errors=self.errors,
            bypasses=self.bypasses,
            coalesced=self.coalesced,
        )
