from __future__ import annotations

from adapters.caching.counters import CacheCounters
from domain.health.model import CacheStats
from domain.health.use_cases.check_cache import CheckCache


async def test_the_cache_reports_its_counters_and_circuit() -> None:
    counters = CacheCounters()
    counters.hits, counters.misses, counters.circuit_open, counters.openings = 3, 1, True, 1

    stats = await CheckCache(counters)()

    assert stats == CacheStats(
        circuit_open=True, openings=1, hits=3, misses=1, errors=0, bypasses=0, coalesced=0
    )


async def test_without_a_cache_there_is_nothing_to_report() -> None:
    assert await CheckCache(CacheCounters(enabled=False))() is None
