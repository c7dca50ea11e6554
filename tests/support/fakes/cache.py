"""The log cache in memory, with the time to live and the lapsing lock of the Redis one.

Two fakes sharing one `InMemoryCacheServer` behave as two processes sharing one Redis. Set
`down` on the server to have every call fail as an unreachable cache does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from domain.tables.errors import CacheUnavailable
from domain.tables.logs import LogPage, LogQuery, page_identity
from domain.tables.model import TableInfo
from domain.tables.ports import LogCache


@dataclass
class InMemoryCacheServer:
    pages: dict[str, tuple[float, LogPage]] = field(default_factory=dict)
    locks: dict[str, tuple[float, object]] = field(default_factory=dict)
    down: bool = False
    calls: int = 0
    """Every call made to the cache, answered or not."""


class InMemoryLogCache(LogCache):
    def __init__(
        self,
        server: InMemoryCacheServer | None = None,
        *,
        ttl: float = 300.0,
        lock_ttl: float = 2.0,
    ) -> None:
        self.server = server if server is not None else InMemoryCacheServer()
        self.ttl = ttl
        self.lock_ttl = lock_ttl
        self._tokens: dict[str, object] = {}

    async def get(self, table: TableInfo, query: LogQuery) -> LogPage | None:
        self._answer()
        key = page_identity(table, query)
        kept = self.server.pages.get(key)
        if kept is None or kept[0] <= time.monotonic():
            self.server.pages.pop(key, None)
            return None
        page = kept[1]
        # As Redis gives back a copy for the table and query asked, never the stored object.
        return LogPage(
            table=table,
            query=query,
            rows=[dict(row) for row in page.rows],
            next_cursor=page.next_cursor,
        )

    async def put(self, page: LogPage) -> None:
        self._answer()
        key = page_identity(page.table, page.query)
        self.server.pages[key] = (time.monotonic() + self.ttl, page)

    async def claim(self, table: TableInfo, query: LogQuery) -> bool:
        self._answer()
        key = page_identity(table, query)
        held = self.server.locks.get(key)
        if held is not None and held[0] > time.monotonic():
            return False
        token = object()
        self.server.locks[key] = (time.monotonic() + self.lock_ttl, token)
        self._tokens[key] = token
        return True

    async def release(self, table: TableInfo, query: LogQuery) -> None:
        self._answer()
        key = page_identity(table, query)
        token = self._tokens.pop(key, None)
        held = self.server.locks.get(key)
        if held is not None and held[1] is token and held[0] > time.monotonic():
            del self.server.locks[key]

    def _answer(self) -> None:
        self.server.calls += 1
        if self.server.down:
            raise CacheUnavailable("the cache is unreachable (down on purpose)")
