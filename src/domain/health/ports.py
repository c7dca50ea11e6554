"""Ports of the health context."""

from __future__ import annotations

from typing import Protocol

from domain.health.model import CacheStats


class DatabaseProbe(Protocol):
    async def ping(self) -> bool:
        """Returns True when the database answers a trivial query."""
        ...


class CacheMonitor(Protocol):
    async def stats(self) -> CacheStats | None:
        """Returns the log cache's counters; None when the service runs without a cache."""
        ...


class BrokerProbe(Protocol):
    async def ping(self) -> bool:
        """Returns True when the broker answers."""
        ...


class CacheProbe(Protocol):
    async def ping(self) -> bool | None:
        """Returns True when the page cache answers; None when the service has none."""
        ...


class JobCensus(Protocol):
    async def by_status(self) -> dict[str, int]:
        """How many jobs are in each status (every status named, zeros included)."""
        ...


class QueueDepth(Protocol):
    async def depth(self) -> int:
        """How many messages wait in the broker's queue for a worker."""
        ...
