"""Pages of logs from a cache, around the real log reader: the use cases never know.

A page is kept under its `page_identity` (the table's version and the parsed query), so a
reload, which gives the table a new version, makes every page of the old one unreachable at
once; the cache's time to live clears them out later. What it costs and saves: a hit is one
cache round trip instead of a query; a miss adds two or three round trips to the query.

- Stampedes: identical reads in this process share one flight (one cache lookup, at most one
  query); across processes, the first to miss takes the cache's short lock and the others
  wait for its page for a little while (then read it themselves).
- The cache is never needed: every cache call has a short timeout, and a failure opens a
  circuit that sends reads straight to the database for `cooldown` seconds; then one read
  tries the cache again. Each opening is logged once, and everything is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from functools import partial
from typing import TypeVar

from adapters.caching.counters import CacheCounters
from domain.tables.errors import CacheUnavailable
from domain.tables.logs import LogPage, LogQuery, page_identity
from domain.tables.model import TableInfo
from domain.tables.ports import LogCache, LogReader

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_WAIT = 2.0
"""Seconds a read waits for another process computing the same page (the cache's lock lapses
after about as long), before it reads the page itself."""
POLL_FIRST = 0.005
POLL_MAX = 0.05


class Use(Enum):
    """What the circuit lets a read do with the cache."""

    SKIP = "skip"
    USE = "use"
    TRY = "try"
    """The one read that tries the cache again after the circuit's cooldown."""


class Circuit:
    """Stops asking a cache that failed for `cooldown` seconds; then lets one read try it, and
    closes again when that read gets an answer."""

    def __init__(self, cooldown: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown = cooldown
        self._clock = clock
        self._open_until: float | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def ask(self) -> Use:
        if self._open_until is None:
            return Use.USE
        now = self._clock()
        if now < self._open_until:
            return Use.SKIP
        # One trial per cooldown: the reads meanwhile keep skipping the cache.
        self._open_until = now + self._cooldown
        return Use.TRY

    def answered(self, use: Use) -> bool:
        """Records an answer from the cache; True when it closed the circuit."""
        if use is Use.TRY and self._open_until is not None:
            self._open_until = None
            return True
        return False

    def failed(self) -> bool:
        """Records a failure of the cache; True when it opened the circuit."""
        opened = self._open_until is None
        self._open_until = self._clock() + self._cooldown
        return opened


class CachedLogReader(LogReader):
    def __init__(
        self,
        reader: LogReader,
        cache: LogCache,
        counters: CacheCounters,
        *,
        cooldown: float = 5.0,
        lock_wait: float = LOCK_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._cache = cache
        self._counters = counters
        self._cooldown = cooldown
        self._lock_wait = lock_wait
        self._circuit = Circuit(cooldown, clock=clock)
        self._flights: dict[str, asyncio.Task[LogPage]] = {}

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        key = page_identity(table, query)
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._read(table, query))
            self._flights[key] = flight
            flight.add_done_callback(partial(self._landed, key))
        else:
            self._counters.coalesced += 1
        # A caller that goes away must not cancel the read the others wait for.
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Task[LogPage]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            # Retrieved here, since every caller may have gone away before it ended.
            flight.exception()

    async def _read(self, table: TableInfo, query: LogQuery) -> LogPage:
        use = self._circuit.ask()
        if use is Use.SKIP:
            self._counters.bypasses += 1
            return await self._reader.read(table, query)
        outcome, claimed = "misses", False
        try:
            page = await self._cached(self._cache.get(table, query))
            self._answered(use)
            if page is None:
                claimed = await self._cached(self._cache.claim(table, query))
                if not claimed:
                    page = await self._wait_for(table, query)
            if page is not None:
                outcome = "hits"
                return page
            page = await self._reader.read(table, query)
            try:
                await self._cached(self._cache.put(page))
            except _CacheFailed:
                outcome = "errors"
            return page
        except _CacheFailed:
            outcome = "errors"
            return await self._reader.read(table, query)
        finally:
            if claimed:
                try:
                    await self._cached(self._cache.release(table, query))
                except _CacheFailed:
                    outcome = "errors"
            setattr(self._counters, outcome, getattr(self._counters, outcome) + 1)

    async def _wait_for(self, table: TableInfo, query: LogQuery) -> LogPage | None:
        """The page another process is reading now, once it has put it; None if it takes
        longer than the lock's life."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        pause = POLL_FIRST
        while loop.time() < deadline:
            await asyncio.sleep(pause)
            page = await self._cached(self._cache.get(table, query))
            if page is not None:
                return page
            pause = min(pause * 2, POLL_MAX)
        return None

    async def _cached(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except CacheUnavailable as error:
            self._failed(error)
            raise _CacheFailed from error

    def _answered(self, use: Use) -> None:
        if self._circuit.answered(use):
            self._counters.circuit_open = False
            log.info("The log cache answers again: pages come from it")

    def _failed(self, error: CacheUnavailable) -> None:
        if self._circuit.failed():
            self._counters.openings += 1
            self._counters.circuit_open = True
            log.warning(
                "The log cache failed (%s): pages come from PostgreSQL for %g s, then it is "
                "tried again",
                error.detail,
                self._cooldown,
            )
        else:
            log.debug("The log cache failed again: %s", error.detail)


class _CacheFailed(Exception):
    """The cache failed (and the circuit heard of it): the read goes on without it."""
