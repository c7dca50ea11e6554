"""Pages of logs in a Redis of their own (`CACHE_URL`), never the broker's.

The broker's Redis runs `noeviction` with an append-only file so it never drops a message; a
cache filling it would stall the queue. The cache's runs `allkeys-lru` without persistence:
full, it forgets the least used pages.

A page is kept as MessagePack (msgspec), its rows as lists in the table's column order,
decoded with the column types, so that every value comes back as it went in: integers,
decimals with all their digits (as text), dates, timestamps with or without their zone,
booleans, text and nulls. Keys name the page by a hash of its `page_identity`, after a format
number that a change of this encoding must bump.

Every call is bounded by a short timeout (connecting, waiting for a pooled connection,
reading the answer), with no retries: a cache that does not answer at once is treated as
absent (CacheUnavailable), and the caller reads the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

import msgspec
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.lock import Lock
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import LockNotOwnedError, RedisError

from domain.tables.errors import CacheUnavailable
from domain.tables.logs import LogCursor, LogPage, LogQuery, Records, page_identity
from domain.tables.model import ColumnType, TableInfo
from domain.tables.ports import LogCache

log = logging.getLogger(__name__)

FORMAT = "v1"
"""Part of every key: bump it when the stored form of a page changes."""
LOCK_TTL = 2.0
"""Seconds the lock on computing a page lasts unless released (a process that dies holding
it blocks no one for longer)."""
MAX_CONNECTIONS = 64

PYTHON_TYPES: dict[ColumnType, Any] = {
    ColumnType.BIGINT: int,
    ColumnType.NUMERIC: Decimal,
    ColumnType.BOOLEAN: bool,
    ColumnType.DATE: dt.date,
    ColumnType.TIMESTAMP: Annotated[dt.datetime, msgspec.Meta(tz=False)],
    ColumnType.TIMESTAMPTZ: Annotated[dt.datetime, msgspec.Meta(tz=True)],
    ColumnType.TEXT: str,
}
"""What each column type's values are in a page (as the database adapter returns them)."""

_encoder = msgspec.msgpack.Encoder()


def create_cache_client(url: str, *, timeout: float) -> Redis:
    """A client that gives up after `timeout` seconds at every step and never retries."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return Redis.from_pool(pool)


class RedisLogCache(LogCache):
    def __init__(
        self,
        client: Redis,
        *,
        ttl: float,
        timeout: float,
        prefix: str = "experiments:",
        lock_ttl: float = LOCK_TTL,
    ) -> None:
        self._client = client
        self._ttl_ms = max(1, round(ttl * 1000))
        # Every step has its own timeout; this bounds a call that takes several (a script
        # loaded on first use, a connection made) and anything the client does not time.
        self._deadline = timeout * 4
        self._prefix = prefix
        self._lock_ttl = lock_ttl
        self._locks: dict[str, Lock] = {}

    async def get(self, table: TableInfo, query: LogQuery) -> LogPage | None:
        async with self._answer():
            data = await self._client.get(self._key("page", table, query))
        if not isinstance(data, bytes):  # None: not kept (the client never decodes)
            return None
        try:
            return decode_page(data, table, query)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
            # Not a page this code wrote for this table: as good as absent, and overwritten.
            log.warning("Ignoring an unreadable cached page of %s: %s", table.name, error)
            return None

    async def put(self, page: LogPage) -> None:
        data = encode_page(page)
        async with self._answer():
            await self._client.set(self._key("page", page.table, page.query), data, px=self._ttl_ms)

    async def claim(self, table: TableInfo, query: LogQuery) -> bool:
        key = self._key("lock", table, query)
        # SET NX PX with a token of its own; released only while the token is still there.
        lock = self._client.lock(key, timeout=self._lock_ttl, blocking=False, thread_local=False)
        async with self._answer():
            taken: bool = await lock.acquire()
        if taken:
            self._locks[key] = lock
        return taken

    async def release(self, table: TableInfo, query: LogQuery) -> None:
        lock = self._locks.pop(self._key("lock", table, query), None)
        if lock is None:
            return
        async with self._answer():
            # Lapsed meanwhile, and maybe someone else's now: theirs to release.
            with contextlib.suppress(LockNotOwnedError):
                await lock.release()

    async def close(self) -> None:
        await self._client.aclose()

    def _key(self, kind: str, table: TableInfo, query: LogQuery) -> str:
        digest = hashlib.blake2b(page_identity(table, query).encode(), digest_size=20)
        return f"{self._prefix}logs:{FORMAT}:{kind}:{digest.hexdigest()}"

    @asynccontextmanager
    async def _answer(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._deadline):
                yield
        except (RedisError, OSError, TimeoutError) as error:
            raise CacheUnavailable(
                f"Redis did not answer: {type(error).__name__}: {error}"
            ) from error


def encode_page(page: LogPage) -> bytes:
    names = [column.name for column in page.table.columns]
    cursor = page.next_cursor
    return _encoder.encode(
        (
            names,
            page.rows.values
            if isinstance(page.rows, Records) and list(page.rows.names) == names
            else [[row[name] for name in names] for row in page.rows],
            None if cursor is None else (cursor.date, cursor.row),
        )
    )


def decode_page(data: bytes, table: TableInfo, query: LogQuery) -> LogPage:
    """The page `encode_page` wrote for `table`; raises when it is not one."""
    names, rows, cursor = _decoder(
        tuple(column.type for column in table.columns),
        date_column.type if (date_column := table.column(table.date_column)) else None,
    ).decode(data)
    if names != [column.name for column in table.columns]:
        raise ValueError(f"the page is of columns {names}")
    return LogPage(
        table=table,
        query=query,
        rows=Records(names, rows),
        next_cursor=None if cursor is None else LogCursor(date=cursor[0], row=cursor[1]),
    )


@lru_cache(maxsize=512)
def _decoder(
    types: tuple[ColumnType, ...], date_type: ColumnType | None
) -> msgspec.msgpack.Decoder[Any]:
    row = tuple[tuple(PYTHON_TYPES[kind] | None for kind in types)]  # type: ignore[misc,valid-type]
    date = PYTHON_TYPES[date_type] | None if date_type is not None else None
    return msgspec.msgpack.Decoder(
        tuple[list[str], list[row], tuple[date, int] | None]  # type: ignore[valid-type]
    )
