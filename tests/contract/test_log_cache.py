"""The same assertions over the in-memory log cache and the Redis one: what comes back, under
which keys, for how long, the lock on computing a page, and a cache that cannot be reached."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from adapters.redis.log_cache import RedisLogCache, create_cache_client
from devtools.embedded import free_port
from domain.tables.errors import CacheUnavailable
from domain.tables.logs import LogCursor, LogPage, LogQuery
from domain.tables.model import Column, ColumnType, Fingerprint, TableInfo, TableName
from domain.tables.ports import LogCache
from tests.support.fakes import InMemoryCacheServer, InMemoryLogCache
from tests.support.polling import eventually
from tests.support.services import CACHE_TIMEOUT

SALES = TableInfo(
    name=TableName("sales"),
    source_file="sales.csv",
    fingerprint=Fingerprint(size=100, mtime_ns=1, sha256="ab" * 32),
    columns=(
        Column(name="sale_id", type=ColumnType.BIGINT),
        Column(name="price", type=ColumnType.NUMERIC),
        Column(name="paid", type=ColumnType.BOOLEAN),
        Column(name="day", type=ColumnType.DATE),
        Column(name="date", type=ColumnType.TIMESTAMP),
        Column(name="at", type=ColumnType.TIMESTAMPTZ),
        Column(name="user id", type=ColumnType.TEXT),
    ),
    row_count=3,
    date_column="date",
    user_column="user id",
    min_date=dt.datetime(2024, 1, 1),
    max_date=dt.datetime(2024, 1, 3),
    loaded_at=dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
    version=3,
)
ROWS = [
    {
        "sale_id": 9_007_199_254_740_993,
        "price": Decimal("123456789012345678.25"),
        "paid": True,
        "day": dt.date(2024, 1, 3),
        "date": dt.datetime(2024, 1, 3, 23, 59, 59, 999999),
        "at": dt.datetime(2024, 1, 3, 20, 0, tzinfo=dt.UTC),
        "user id": "000096",
    },
    {
        "sale_id": -2,
        "price": Decimal("12.50"),
        "paid": False,
        "day": dt.date(1, 1, 1),
        "date": dt.datetime(2024, 1, 2, 0, 0),
        "at": dt.datetime(2024, 1, 2, 0, 0, 0, 1, tzinfo=dt.UTC),
        "user id": 'Zoë, "quoted", ключ',
    },
    {
        "sale_id": 0,
        "price": Decimal("-0"),
        "paid": None,
        "day": None,
        "date": None,
        "at": None,
        "user id": None,
    },
]
QUERY = LogQuery(from_date=dt.datetime(2024, 1, 2), user_id="000096")
PAGE = LogPage(
    table=SALES,
    query=QUERY,
    rows=ROWS,
    next_cursor=LogCursor(date=dt.datetime(2024, 1, 2, 0, 0), row=17),
)


@dataclass
class Caches:
    make: Callable[..., LogCache]
    """A cache client (another process, if called again) of the one cache; ttl, lock_ttl."""
    unreachable: Callable[[], LogCache]


@pytest.fixture(params=["in_memory", "redis"])
async def caches(request: pytest.FixtureRequest) -> AsyncIterator[Caches]:
    if request.param == "in_memory":
        server = InMemoryCacheServer()
        yield Caches(
            make=lambda **options: InMemoryLogCache(server, **options),
            unreachable=lambda: InMemoryLogCache(InMemoryCacheServer(down=True)),
        )
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("cache_prefix")
    opened: list[RedisLogCache] = []

    def redis_cache(target: str = url, **options: float) -> RedisLogCache:
        client = create_cache_client(target, timeout=CACHE_TIMEOUT)
        cache = RedisLogCache(
            client,
            ttl=options.get("ttl", 300.0),
            timeout=CACHE_TIMEOUT,
            prefix=prefix,
            lock_ttl=options.get("lock_ttl", 2.0),
        )
        opened.append(cache)
        return cache

    yield Caches(
        make=redis_cache,
        # Nothing listens there: refused at once.
        unreachable=lambda: redis_cache(f"redis://127.0.0.1:{free_port()}/0"),
    )
    for cache in opened:
        await cache.close()


async def test_a_kept_page_comes_back_with_every_value_as_it_was(caches: Caches) -> None:
    cache = caches.make()
    await cache.put(PAGE)

    got = await caches.make().get(SALES, QUERY)

    assert got == PAGE
    assert got is not None
    for kept, original in zip(got.rows, ROWS, strict=True):
        assert [(type(v), repr(v)) for v in kept.values()] == [
            (type(v), repr(v)) for v in original.values()
        ]
        assert list(kept) == list(original)
    assert got.next_cursor is not None
    assert repr(got.next_cursor.date) == repr(dt.datetime(2024, 1, 2, 0, 0))


async def test_pages_of_tables_without_dates_and_empty_pages_come_back(caches: Caches) -> None:
    plain = replace(
        SALES,
        name=TableName("plain"),
        columns=(Column(name="n", type=ColumnType.BIGINT),),
        date_column=None,
        user_column=None,
    )
    cursor_page = LogPage(
        table=plain, query=LogQuery(), rows=[{"n": 1}], next_cursor=LogCursor(date=None, row=4)
    )
    empty = LogPage(table=SALES, query=LogQuery(user_id="nobody"), rows=[], next_cursor=None)
    cache = caches.make()
    await cache.put(cursor_page)
    await cache.put(empty)

    assert await cache.get(plain, LogQuery()) == cursor_page
    assert await cache.get(SALES, LogQuery(user_id="nobody")) == empty


async def test_a_page_is_found_only_for_its_version_of_the_table_and_its_query(
    caches: Caches,
) -> None:
    cache = caches.make()
    await cache.put(PAGE)
    other_queries = [
        LogQuery(),
        replace(QUERY, from_date=dt.date(2024, 1, 2)),
        replace(QUERY, from_date=dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
        replace(QUERY, user_id="000097"),
        replace(QUERY, after=LogCursor(date=dt.datetime(2024, 1, 2), row=17)),
        replace(QUERY, limit=50),
    ]
    other_tables = [
        replace(SALES, version=4),
        replace(SALES, name=TableName("sales_2")),
        # A catalog built again from nothing numbers from 1 again: when and what was loaded
        # tell its versions apart.
        replace(SALES, loaded_at=SALES.loaded_at + dt.timedelta(microseconds=1)),
        replace(SALES, fingerprint=replace(SALES.fingerprint, sha256="cd" * 32)),
    ]

    assert await cache.get(SALES, QUERY) == PAGE
    for query in other_queries:
        assert await cache.get(SALES, query) is None, query
    for table in other_tables:
        assert await cache.get(table, QUERY) is None, table


async def test_a_touched_table_keeps_its_pages(caches: Caches) -> None:
    cache = caches.make()
    await cache.put(PAGE)
    touched = replace(SALES, fingerprint=replace(SALES.fingerprint, size=101, mtime_ns=2))

    assert await cache.get(touched, QUERY) is not None


async def test_a_page_is_forgotten_after_its_time_to_live(caches: Caches) -> None:
    cache = caches.make(ttl=0.2)
    await cache.put(PAGE)

    assert await cache.get(SALES, QUERY) == PAGE

    async def gone() -> bool:
        return await cache.get(SALES, QUERY) is None

    await eventually(gone, within=5, what="the page to expire")


async def test_the_lock_on_a_page_is_held_by_one_until_released(caches: Caches) -> None:
    first, second = caches.make(), caches.make()

    assert await first.claim(SALES, QUERY) is True
    assert await second.claim(SALES, QUERY) is False
    assert await second.claim(SALES, LogQuery()) is True
    await first.release(SALES, QUERY)
    assert await second.claim(SALES, QUERY) is True


async def test_a_lock_lapses_by_itself_and_its_late_release_frees_no_one_else(
    caches: Caches,
) -> None:
    late, other, third = (caches.make(lock_ttl=0.2) for _ in range(3))
    assert await late.claim(SALES, QUERY) is True

    async def lapsed() -> bool:
        return await other.claim(SALES, QUERY)

    await eventually(lapsed, within=5, what="the lock to lapse")
    await late.release(SALES, QUERY)

    assert await third.claim(SALES, QUERY) is False


async def test_releasing_a_lock_never_taken_does_nothing(caches: Caches) -> None:
    holder, stranger = caches.make(), caches.make()
    assert await holder.claim(SALES, QUERY) is True

    await stranger.release(SALES, QUERY)

    assert await stranger.claim(SALES, QUERY) is False


async def test_an_unreachable_cache_says_so_on_every_call(caches: Caches) -> None:
    cache = caches.unreachable()

    for call in (
        cache.get(SALES, QUERY),
        cache.put(PAGE),
        cache.claim(SALES, QUERY),
    ):
        with pytest.raises(CacheUnavailable):
            await call
