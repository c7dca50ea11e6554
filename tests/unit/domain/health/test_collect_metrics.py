from __future__ import annotations

from adapters.caching.counters import CacheCounters
from domain.health.use_cases.collect_metrics import CollectMetrics
from tests.support.fakes import InMemoryJobCensus, InMemoryQueueDepth, InMemoryRecoveryCounters


async def test_every_figure_is_collected() -> None:
    recoveries = InMemoryRecoveryCounters()
    recoveries.lost, recoveries.republished = 2, 1
    counters = CacheCounters()
    counters.hits = 7
    collect = CollectMetrics(
        InMemoryJobCensus({"queued": 3, "running": 1}), InMemoryQueueDepth(3), recoveries, counters
    )

    figures = await collect()

    assert figures.jobs_by_status == {"queued": 3, "running": 1}
    assert figures.queue_depth == 3
    assert (figures.lost_jobs, figures.republished_jobs) == (2, 1)
    assert figures.cache is not None
    assert figures.cache.hits == 7


async def test_a_figure_that_cannot_be_read_is_left_out_and_the_others_reported() -> None:
    recoveries = InMemoryRecoveryCounters()
    recoveries.readable = False
    collect = CollectMetrics(
        InMemoryJobCensus(up=False), InMemoryQueueDepth(5), recoveries, CacheCounters(enabled=False)
    )

    figures = await collect()

    assert figures.jobs_by_status is None
    assert figures.queue_depth == 5
    assert figures.lost_jobs is None
    assert figures.cache is None
