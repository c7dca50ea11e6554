from __future__ import annotations

from domain.health.ports import BrokerProbe, CacheProbe, DatabaseProbe, JobCensus, QueueDepth
from domain.shared.errors import DatabaseUnavailable


class InMemoryDatabaseProbe(DatabaseProbe):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up


class InMemoryBrokerProbe(BrokerProbe):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up


class InMemoryCacheProbe(CacheProbe):
    def __init__(self, *, up: bool | None = True) -> None:
        self.up = up

    async def ping(self) -> bool | None:
        return self.up


class InMemoryJobCensus(JobCensus):
    def __init__(self, counts: dict[str, int] | None = None, *, up: bool = True) -> None:
        self.counts = counts or {}
        self.up = up

    async def by_status(self) -> dict[str, int]:
        if not self.up:
            raise DatabaseUnavailable("PostgreSQL cannot be reached.")
        return dict(self.counts)


class InMemoryQueueDepth(QueueDepth):
    def __init__(self, depth: int = 0) -> None:
        self.value = depth

    async def depth(self) -> int:
        return self.value
