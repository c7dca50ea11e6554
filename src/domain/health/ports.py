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
