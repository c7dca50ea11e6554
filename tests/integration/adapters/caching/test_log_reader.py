"""A stampede across processes on the real Redis: many processes missing one page at once
read the database once, and every one of them gets the page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.caching.counters import CacheCounters
from adapters.caching.log_reader import CachedLogReader
from adapters.redis.log_cache import RedisLogCache, create_cache_client
from domain.tables.logs import LogPage, LogQuery
from domain.tables.model import TableInfo
from tests.support.fakes import InMemoryTables
from tests.support.fakes.tables import InMemoryLogReader
from tests.support.services import CACHE_TIMEOUT

PROCESSES = 6


class SlowReader(InMemoryLogReader):
    """Takes a moment over each read, as a query does, so that the misses overlap."""

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        await asyncio.sleep(0.2)
        return await super().read(table, query)


@pytest.fixture
async def caches(redis_url: str, cache_prefix: str) -> AsyncIterator[list[RedisLogCache]]:
    # Each process connected before the stampede: what is measured is the coalescing.
    clients = [create_cache_client(redis_url, timeout=CACHE_TIMEOUT) for _ in range(PROCESSES)]
    await asyncio.gather(*(client.ping() for client in clients))
    caches = [
        RedisLogCache(client, ttl=60, timeout=CACHE_TIMEOUT, prefix=cache_prefix)
        for client in clients
    ]
    yield caches
    for cache in caches:
        await cache.close()


async def test_processes_missing_one_page_at_once_read_the_database_once(
    caches: list[RedisLogCache],
) -> None:
    tables = InMemoryTables()
    table = await tables.loader.load(tables.sources.put("t", "date,v\n2024-01-01,1\n"))
    reader = SlowReader(tables.database)
    counters = [CacheCounters() for _ in caches]
    processes = [
        CachedLogReader(reader, cache, counted)
        for cache, counted in zip(caches, counters, strict=True)
    ]

    pages = await asyncio.gather(
        *(process.read(table, LogQuery()) for process in processes for _ in range(3))
    )

    assert len(reader.queries) == 1
    assert all(page == pages[0] for page in pages)
    assert sum(c.misses for c in counters) == 1
    assert sum(c.hits for c in counters) == PROCESSES - 1
    assert sum(c.coalesced for c in counters) == PROCESSES * 2
