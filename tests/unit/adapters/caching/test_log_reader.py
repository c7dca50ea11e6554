"""The page cache around the log reader: hits, one read for many, the lock across processes,
and a cache that fails, which is never needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from adapters.caching.catalog_snapshot import SnapshotTableCatalog
from adapters.caching.counters import CacheCounters
from adapters.caching.log_reader import CachedLogReader
from domain.health.model import CacheStats
from domain.tables.errors import TableChanged
from domain.tables.logs import LogPage, LogQuery
from domain.tables.model import TableInfo
from domain.tables.use_cases.fetch_logs import FetchLogs
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes import InMemoryCacheServer, InMemoryLogCache, InMemoryTables
from tests.unit.adapters.caching.test_catalog_snapshot import CountingCatalog

CSV = "date,user_id,v\n2024-01-01,a,1\n2024-01-02,b,2\n2024-01-03,a,3\n"
COOLDOWN = 5.0


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    tables: InMemoryTables
    server: InMemoryCacheServer
    counters: CacheCounters
    clock: Clock
    reader: CachedLogReader
    make_reader: Callable[..., CachedLogReader] = field(repr=False)

    @property
    def database_reads(self) -> int:
        return len(self.tables.reader.queries)

    async def table(self, text: str = CSV, mtime_ns: int = 1) -> TableInfo:
        source = self.tables.sources.put("t", text, mtime_ns=mtime_ns)
        return await self.tables.loader.load(source)

    async def stats(self) -> CacheStats:
        stats = await self.counters.stats()
        assert stats is not None
        return stats


@pytest.fixture
def setup() -> Setup:
    tables, server, counters, clock = (
        InMemoryTables(),
        InMemoryCacheServer(),
        CacheCounters(),
        Clock(),
    )

    def make_reader(**options: float) -> CachedLogReader:
        return CachedLogReader(
            tables.reader,
            InMemoryLogCache(server),
            counters,
            cooldown=COOLDOWN,
            clock=clock,
            **options,
        )

    return Setup(tables, server, counters, clock, make_reader(), make_reader)


async def test_a_missed_page_is_read_once_then_served_from_the_cache(setup: Setup) -> None:
    table = await setup.table()

    first = await setup.reader.read(table, LogQuery())
    second = await setup.reader.read(table, LogQuery())

    assert first == second
    assert [row["v"] for row in second.rows] == [3, 2, 1]
    assert setup.database_reads == 1
    stats = await setup.stats()
    assert (stats.misses, stats.hits, stats.errors, stats.bypasses) == (1, 1, 0, 0)


async def test_a_reloaded_table_never_gets_a_page_of_its_old_version(setup: Setup) -> None:
    old = await setup.table()
    await setup.reader.read(old, LogQuery())

    new = await setup.table(CSV + "2024-01-04,b,4\n", mtime_ns=2)
    page = await setup.reader.read(new, LogQuery())

    assert new.version == old.version + 1
    assert [row["v"] for row in page.rows] == [4, 3, 2, 1]
    assert page.table == new


async def test_each_query_has_its_own_page(setup: Setup) -> None:
    table = await setup.table()

    everyone = await setup.reader.read(table, LogQuery())
    user_a = await setup.reader.read(table, LogQuery(user_id="a"))

    assert [row["v"] for row in everyone.rows] == [3, 2, 1]
    assert [row["v"] for row in user_a.rows] == [3, 1]


async def test_identical_reads_at_once_share_one_read_of_the_database(setup: Setup) -> None:
    table = await setup.table()

    pages = await asyncio.gather(*(setup.reader.read(table, LogQuery()) for _ in range(20)))

    assert len({id(page) for page in pages}) == 1
    assert setup.database_reads == 1
    stats = await setup.stats()
    assert (stats.misses, stats.coalesced) == (1, 19)


async def test_a_read_waits_for_the_page_another_process_is_reading(setup: Setup) -> None:
    table = await setup.table()
    other = InMemoryLogCache(setup.server)
    assert await other.claim(table, LogQuery())

    waiting = asyncio.create_task(setup.reader.read(table, LogQuery()))
    await asyncio.sleep(0.05)
    computed = await setup.tables.reader.read(table, LogQuery())
    await other.put(computed)
    page = await waiting

    assert page == computed
    assert setup.database_reads == 1
    assert (await setup.stats()).hits == 1


async def test_a_read_does_not_wait_long_for_a_process_that_never_puts_its_page(
    setup: Setup,
) -> None:
    table = await setup.table()
    assert await InMemoryLogCache(setup.server).claim(table, LogQuery())
    reader = setup.make_reader(lock_wait=0.05)

    page = await reader.read(table, LogQuery())

    assert [row["v"] for row in page.rows] == [3, 2, 1]
    assert setup.database_reads == 1
    assert await InMemoryLogCache(setup.server).get(table, LogQuery()) == page


async def test_a_failing_cache_is_left_alone_then_tried_again_and_logged_once_per_opening(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    table = await setup.table()
    setup.server.down = True
    caplog.set_level(logging.INFO, logger="adapters.caching.log_reader")

    pages = [await setup.reader.read(table, LogQuery()) for _ in range(5)]
    calls_while_open = setup.server.calls
    opened = await setup.stats()
    setup.clock.now += COOLDOWN
    await setup.reader.read(table, LogQuery())
    after_failed_trial = await setup.stats()
    setup.server.down = False
    setup.clock.now += COOLDOWN
    await setup.reader.read(table, LogQuery())
    closed = await setup.stats()

    assert all([row["v"] for row in page.rows] == [3, 2, 1] for page in pages)
    assert calls_while_open == 1
    assert (opened.circuit_open, opened.openings, opened.errors, opened.bypasses) == (
        True,
        1,
        1,
        4,
    )
    assert (after_failed_trial.circuit_open, after_failed_trial.openings) == (True, 1)
    assert after_failed_trial.errors == 2
    assert (closed.circuit_open, closed.misses) == (False, 1)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "PostgreSQL" in warnings[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_page_the_cache_fails_to_keep_is_still_served(setup: Setup) -> None:
    table = await setup.table()

    class FailingPut(InMemoryLogCache):
        async def put(self, page: LogPage) -> None:
            self.server.down = True
            await super().put(page)

    reader = CachedLogReader(
        setup.tables.reader, FailingPut(setup.server), setup.counters, clock=setup.clock
    )

    page = await reader.read(table, LogQuery())

    assert [row["v"] for row in page.rows] == [3, 2, 1]
    stats = await setup.stats()
    assert (stats.errors, stats.misses, stats.circuit_open) == (1, 0, True)


async def test_a_failed_read_of_the_database_releases_the_lock_and_reaches_the_caller(
    setup: Setup,
) -> None:
    table = await setup.table()
    setup.tables.reader.changing = 1

    with pytest.raises(TableChanged):
        await setup.reader.read(table, LogQuery())

    assert await InMemoryLogCache(setup.server).claim(table, LogQuery())


async def test_a_caller_that_goes_away_leaves_the_read_to_the_others(setup: Setup) -> None:
    table = await setup.table()
    assert await InMemoryLogCache(setup.server, lock_ttl=0.05).claim(table, LogQuery())
    reader = setup.make_reader(lock_wait=0.1)

    leaving = asyncio.create_task(reader.read(table, LogQuery()))
    staying = asyncio.create_task(reader.read(table, LogQuery()))
    await asyncio.sleep(0.01)
    leaving.cancel()
    page = await staying

    assert leaving.cancelled()
    assert [row["v"] for row in page.rows] == [3, 2, 1]
    assert setup.database_reads == 1


async def test_a_cached_page_costs_no_read_of_the_catalog_or_of_the_database(
    setup: Setup,
) -> None:
    await setup.table()
    catalog = CountingCatalog(setup.tables.database)
    current = [True]
    snapshot = SnapshotTableCatalog(catalog, current=lambda: current[0])
    load_table = LoadTable(setup.tables.sources, snapshot, setup.tables.loader)
    fetch_logs = FetchLogs(load_table, setup.reader)
    first = await fetch_logs("t", user_id="a")
    reads, calls = catalog.reads, setup.server.calls

    again = [await fetch_logs("t", user_id="a") for _ in range(5)]

    assert again == [first] * 5
    assert catalog.reads == reads
    assert setup.database_reads == 1
    assert setup.server.calls == calls + 5
