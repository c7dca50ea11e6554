from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from domain.health.model import ServiceMetrics
from domain.health.ports import CacheMonitor, JobCensus, QueueDepth
from domain.shared.errors import DomainError
from domain.shared.recovery import RecoveryCounters

T = TypeVar("T")


class CollectMetrics:
    """What monitoring reads: jobs by status, the queue's depth, jobs lost and published
    again, and the page cache's counters.

    - Each figure is read on its own: one that cannot be read now is left out, the others
      are still reported (a scrape during an outage must say what it can).
    """

    def __init__(
        self,
        census: JobCensus,
        queue: QueueDepth,
        recoveries: RecoveryCounters,
        cache: CacheMonitor,
    ) -> None:
        self._census = census
        self._queue = queue
        self._recoveries = recoveries
        self._cache = cache

    async def __call__(self) -> ServiceMetrics:
        jobs, depth, totals, cache = await asyncio.gather(
            _or_none(self._census.by_status()),
            _or_none(self._queue.depth()),
            self._recoveries.totals(),
            self._cache.stats(),
        )
        return ServiceMetrics(
            jobs_by_status=jobs,
            queue_depth=depth,
            lost_jobs=totals.lost if totals else None,
            republished_jobs=totals.republished if totals else None,
            cache=cache,
        )


async def _or_none(read: Awaitable[T]) -> T | None:
    try:
        return await read
    except DomainError:
        return None
