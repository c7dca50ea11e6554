"""Caching over HTTP, against real PostgreSQL and Redis: never stale, revalidation with 304,
and a cache that is down, slow or full, which is never needed."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.notifications import PostgresNotifications
from devtools.embedded import embedded_cache_redis, free_port
from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.integration.entrypoints.test_http_job_events import events
from tests.support.live_server import serving
from tests.support.polling import eventually
from tests.support.service_app import settings_with
from tests.support.services import CACHE_TIMEOUT
from tests.support.tcp import silent_server

USERS = ("u1", "u2", "u3")
QUERIES: list[dict[str, str]] = [
    {"table_name": "race"},
    {"table_name": "race", "user_id": "u2"},
    {"table_name": "race", "from_date": "2024-01-20"},
]
HANG_GUARD = 120
"""Seconds after which a test that should take a moment has hung (not a speed claim)."""


def write_generation(path: Path, generation: int, *, text: str | None = None) -> None:
    """Replaces `path` in one step (a reader opens the old file or the new one, never half of
    one) with version `generation` of the race table: 30 + generation rows, each marked with
    its generation, and a modification time of its own."""
    if text is None:
        lines = ["date,user_id,gen,n"]
        lines += [
            f"2024-01-{1 + n % 28:02d} {n % 24:02d}:00:00,{USERS[n % 3]},{generation},{n}"
            for n in range(30 + generation)
        ]
        text = "\n".join(lines) + "\n"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.utime(temporary, ns=(generation * 10**9, generation * 10**9))
    os.replace(temporary, path)


def expected_ns(generation: int, params: dict[str, str]) -> list[int]:
    """The `n` of the rows /logs must return for `params`, computed without the service."""
    rows = [
        (f"2024-01-{1 + n % 28:02d} {n % 24:02d}:00:00", USERS[n % 3], n)
        for n in range(30 + generation)
    ]
    kept = [
        (date, n)
        for date, user, n in rows
        if params.get("user_id") in (None, user) and date >= params.get("from_date", "")
    ]
    return [n for _, n in sorted(kept, reverse=True)][:100]


@pytest.fixture
def cached_env(service_env: dict[str, str], redis_url: str, cache_prefix: str) -> dict[str, str]:
    return {
        **service_env,
        "CACHE_URL": redis_url,
        "CACHE_PREFIX": cache_prefix,
        "CACHE_TIMEOUT": str(CACHE_TIMEOUT),
    }


@pytest.fixture(params=["cached", "uncached"])
async def any_client(
    request: pytest.FixtureRequest, service_env: dict[str, str]
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client of the service with its page cache, and one without (the catalog snapshot is
    on in both, as by default)."""
    env = request.getfixturevalue("cached_env") if request.param == "cached" else service_env
    async with AsyncTestClient(app=create_app(Settings.from_env(env))) as client:
        yield client


@pytest.fixture(params=["cached", "uncached"])
async def two_processes(
    request: pytest.FixtureRequest, service_env: dict[str, str]
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two API instances on one database (and one cache, or none), each a real server with
    its own pool, LISTEN connection and snapshot, as two processes would be; a client of each.
    Requests to them run concurrently (the test client would run them one by one)."""
    env = request.getfixturevalue("cached_env") if request.param == "cached" else service_env
    settings = Settings.from_env(env)
    with serving(create_app(settings)) as first, serving(create_app(settings)) as second:
        async with (
            httpx.AsyncClient(base_url=first, timeout=30) as one,
            httpx.AsyncClient(base_url=second, timeout=30) as other,
        ):
            yield [one, other]


@pytest.fixture
async def cached_client(cached_env: dict[str, str]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(Settings.from_env(cached_env))) as client:
        yield client


async def cache_stats(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    stats: dict[str, Any] = body["cache"]
    return stats


async def test_readers_racing_reloads_get_one_whole_version_and_never_one_older_than_committed(
    two_processes: list[httpx.AsyncClient], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "race.csv"
    write_generation(path, 1)
    for client in two_processes:
        assert (await client.get("/logs", params=QUERIES[0])).status_code == 200
    committed = {1: time.monotonic()}
    seen: list[tuple[float, int, str]] = []
    stop = asyncio.Event()

    async def read(client: httpx.AsyncClient, params: dict[str, str]) -> None:
        while not stop.is_set():
            started = time.monotonic()
            response = await client.get("/logs", params=params)
            assert response.status_code == 200, response.text
            rows = response.json()["rows"]
            generations = {row["gen"] for row in rows}
            assert len(generations) == 1, generations
            generation = generations.pop()
            assert [row["n"] for row in rows] == expected_ns(generation, params), params
            seen.append((started, generation, response.headers["etag"]))

    async with asyncio.timeout(HANG_GUARD):
        readers = [
            asyncio.create_task(read(two_processes[i % 2], QUERIES[i % 3])) for i in range(16)
        ]
        for generation in range(2, 8):
            await asyncio.sleep(0.1)
            write_generation(path, generation)
            # Each reload is made by one process, in turn, while both serve readers.
            response = await two_processes[generation % 2].get("/logs", params=QUERIES[0])
            assert {row["gen"] for row in response.json()["rows"]} == {generation}
            committed[generation] = time.monotonic()
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*readers)

    for started, generation, _ in seen:
        newest = max(g for g, at in committed.items() if at <= started)
        assert generation >= newest, (generation, newest)
    generation_of: dict[str, int] = {}
    for _, generation, tag in seen:
        assert generation_of.setdefault(tag, generation) == generation, tag
    assert len({generation for _, generation, _ in seen}) > 2
    assert len(seen) > 50


async def test_a_failed_reload_keeps_serving_the_old_version_and_tables_says_why(
    two_processes: list[httpx.AsyncClient], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "race.csv"
    write_generation(path, 1)
    before = await two_processes[0].get("/logs", params=QUERIES[0])
    await two_processes[1].get("/logs", params=QUERIES[0])
    write_generation(path, 2, text="date,user_id,gen,n\n2024-01-01,u1,2\n")

    after = [await client.get("/logs", params=QUERIES[0]) for client in two_processes * 2]
    stale_tag = after[0].headers["etag"]
    revalidated = await two_processes[1].get(
        "/logs", params=QUERIES[0], headers={"If-None-Match": stale_tag}
    )
    listed = [(await client.get("/tables")).json()["tables"] for client in two_processes]

    # The same rows of the same version, and now the word that the current file failed: a
    # client holding the old copy gets the new body (its ETag changed), once.
    for response in after:
        assert response.status_code == 200
        body, old = response.json(), before.json()
        assert (body["rows"], body["version"]) == (old["rows"], old["version"])
        assert body["reload_failure"]["line"] == 2
        assert response.headers["etag"] == stale_tag != before.headers["etag"]
    assert revalidated.status_code == 304
    for tables in listed:
        race = next(table for table in tables if table["name"] == "race")
        assert race["state"] == "failed"
        assert race["version"] == 1
        assert "line 2" in race["error"]


async def test_logs_answer_304_to_their_etag_until_the_table_changes(
    any_client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "race.csv"
    write_generation(path, 1)
    first = await any_client.get("/logs", params=QUERIES[0])
    tag = first.headers["etag"]

    async def ask(if_none_match: str, params: dict[str, str] = QUERIES[0]) -> httpx.Response:
        return await any_client.get(
            "/logs", params=params, headers={"If-None-Match": if_none_match}
        )

    same = [await ask(value) for value in (tag, f"W/{tag}", f'"x", {tag}', "*")]
    other_tag = await ask('"logs-0"')
    other_query = await ask(tag, QUERIES[1])
    as_date = await any_client.get("/logs", params=QUERIES[2])
    as_moment = await ask(as_date.headers["etag"], {**QUERIES[2], "from_date": "2024-01-20T00:00"})
    write_generation(path, 1, text=path.read_text())  # touched: same content, a new time
    os.utime(path, ns=(5 * 10**9, 5 * 10**9))
    touched = await ask(tag)
    write_generation(path, 2)
    reloaded = await ask(tag)
    unknown = await any_client.get("/logs", params={"table_name": "nope"})

    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    assert tag.startswith('"')
    for response in same:
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == tag
        assert response.headers["cache-control"] == "no-cache"
    assert other_tag.status_code == 200
    assert other_tag.headers["etag"] == tag
    assert other_tag.json() == first.json()
    assert other_query.status_code == 200
    assert other_query.headers["etag"] != tag
    # One moment, spelled two ways, is one page.
    assert as_moment.status_code == 304
    assert as_moment.headers["etag"] == as_date.headers["etag"] != tag
    assert touched.status_code == 304
    assert reloaded.status_code == 200
    assert reloaded.headers["etag"] != tag
    assert {row["gen"] for row in reloaded.json()["rows"]} == {2}
    assert "etag" not in unknown.headers


async def test_tables_answer_304_to_their_etag_until_a_table_changes(
    any_client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    async def tag_of() -> str:
        response = await any_client.get("/tables")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        return response.headers["etag"]

    async def ask(tag: str) -> int:
        response = await any_client.get("/tables", headers={"If-None-Match": tag})
        return response.status_code

    path = seeded_data_dir / "race.csv"
    write_generation(path, 1)
    not_loaded = await tag_of()
    unchanged = await ask(not_loaded)
    await any_client.get("/logs", params=QUERIES[0])
    loaded = await tag_of()
    loaded_again = await ask(loaded)
    os.utime(path, ns=(9 * 10**9, 9 * 10**9))
    await any_client.get("/logs", params=QUERIES[0])
    touched = await ask(loaded)
    write_generation(path, 2)
    changed_on_disk = await tag_of()
    await any_client.get("/logs", params=QUERIES[0])
    reloaded = await tag_of()

    assert unchanged == 304
    assert loaded != not_loaded
    assert loaded_again == 304
    assert touched == 304
    assert len({not_loaded, loaded, changed_on_disk, reloaded}) == 4


async def test_a_finished_job_answers_304_and_one_still_queued_is_never_stored(
    cached_client: AsyncTestClient[Litestar],
) -> None:
    job_id = (await cached_client.post("/launch")).json()["job_id"]
    urls = [f"/jobs/{job_id}", f"/get_result?job_id={job_id}"]

    queued = [await cached_client.get(url) for url in urls]
    await cached_client.post(f"/jobs/{job_id}/cancel")
    finished = [await cached_client.get(url) for url in urls]
    tag = finished[0].headers["etag"]
    revalidated = [await cached_client.get(url, headers={"If-None-Match": tag}) for url in urls]
    stale = [await cached_client.get(url, headers={"If-None-Match": '"job-0"'}) for url in urls]

    for response in queued:
        assert response.json()["status"] == "queued"
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers
    for response in finished:
        assert response.json()["status"] == "cancelled"
        assert response.headers["cache-control"] == "max-age=86400, immutable"
        assert response.headers["etag"] == tag
    for response in revalidated:
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == tag
    for response in stale:
        assert response.status_code == 200
        assert response.json() == finished[0].json()


async def test_a_cached_page_needs_no_database_connection(
    cached_env: dict[str, str], seeded_data_dir: Path
) -> None:
    settings = settings_with(cached_env, DATABASE_POOL_SIZE=2, DATABASE_TIMEOUT=1)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        # The app runs on the test client's own loop, in its thread: reach it there.
        portal, container = client.blocking_portal, app.state.dishka_container
        notifications = portal.call(container.get, PostgresNotifications)
        pool = portal.call(container.get, AsyncConnectionPool)
        params = {"table_name": "df_sales", "user_id": "0ffc65"}
        await client.get("/logs", params=params)
        assert portal.call(notifications.wait_listening, 10)
        await client.get("/logs", params=params)  # the catalog, kept now
        warm = await client.get("/logs", params=params)
        held = [portal.call(pool.getconn), portal.call(pool.getconn)]
        try:
            cached = await client.get("/logs", params=params)
            uncached = await client.get("/logs", params={**params, "from_date": "2023-01-01"})
        finally:
            for conn in held:
                portal.call(pool.putconn, conn)

    assert cached.status_code == 200
    assert cached.json() == warm.json()
    assert uncached.status_code == 503


async def test_a_cache_that_stops_is_done_without_then_used_again_once_back(
    service_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = settings_with(
        service_env, CACHE_URL=f"redis://127.0.0.1:{port}/0", CACHE_COOLDOWN=0.2
    )
    caplog.set_level(logging.WARNING, logger="adapters.caching.log_reader")
    params = {"table_name": "df_sales"}
    async with AsyncTestClient(app=create_app(settings)) as client:
        with embedded_cache_redis(tmp_path / "cache", port=port):
            expected = (await client.get("/logs", params=params)).json()
            await client.get("/logs", params=params)
            up = await cache_stats(client)
        async with asyncio.timeout(HANG_GUARD):
            down = [await client.get("/logs", params=params) for _ in range(10)]
        while_down = await cache_stats(client)
        with embedded_cache_redis(tmp_path / "cache", port=port):

            async def used_again() -> dict[str, Any] | None:
                await client.get("/logs", params=params)
                stats = await cache_stats(client)
                return stats if stats["circuit"] == "closed" and stats["misses"] > 1 else None

            back = await eventually(used_again, within=30, what="the cache to be used again")

    assert (up["misses"], up["hits"]) == (1, 1)
    assert [response.status_code for response in down] == [200] * 10
    assert all(response.json() == expected for response in down)
    assert while_down["circuit"] == "open"
    assert while_down["openings"] == 1
    assert while_down["errors"] >= 1
    assert while_down["errors"] + while_down["bypasses"] == 10
    assert back["openings"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings


async def test_a_cache_that_accepts_and_never_answers_is_done_without(
    service_env: dict[str, str],
) -> None:
    params = {"table_name": "df_sales"}
    async with silent_server() as port:
        settings = settings_with(
            service_env,
            CACHE_URL=f"redis://127.0.0.1:{port}/0",
            CACHE_TIMEOUT=0.05,
            CACHE_COOLDOWN=600,
        )
        async with AsyncTestClient(app=create_app(settings)) as client:
            async with asyncio.timeout(HANG_GUARD):
                responses = [await client.get("/logs", params=params) for _ in range(20)]
            stats = await cache_stats(client)

    assert [response.status_code for response in responses] == [200] * 20
    assert len({response.text for response in responses}) == 1
    assert (stats["errors"], stats["bypasses"], stats["openings"]) == (1, 19, 1)
    assert stats["circuit"] == "open"


async def test_a_full_cache_that_refuses_writes_is_done_without(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    with embedded_cache_redis(tmp_path / "cache") as url:
        server = redis.Redis.from_url(url)
        # Misconfigured as the broker is (never evict), and fuller than its limit.
        for n in range(100):
            server.set(f"junk:{n}", "x" * 10_000)
        used = int(server.info("memory")["used_memory"])
        server.config_set("maxmemory-policy", "noeviction")
        server.config_set("maxmemory", str(used // 2))
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            server.set("one:more", "x")
        server.close()
        settings = settings_with(service_env, CACHE_URL=url, CACHE_COOLDOWN=600)
        async with AsyncTestClient(app=create_app(settings)) as client:
            responses = [
                await client.get("/logs", params={"table_name": "df_sales"}) for _ in range(3)
            ]
            stats = await cache_stats(client)

    assert [response.status_code for response in responses] == [200] * 3
    assert (stats["errors"], stats["bypasses"], stats["circuit"]) == (1, 2, "open")


async def test_without_a_cache_health_reports_none(client: AsyncTestClient[Litestar]) -> None:
    body = (await client.get("/health")).json()

    assert "cache" not in body


async def test_the_job_feed_and_the_catalog_snapshot_share_one_listening_connection(
    settings: Settings, clean_database: str
) -> None:
    with serving(create_app(settings)) as base_url:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=10) as client,
            client.stream("GET", "/jobs/events") as stream,
        ):
            assert await anext(events(stream.aiter_lines())) == ("sync", {})
            await client.get("/logs", params={"table_name": "df_sales"})
            await client.get("/tables")
            with psycopg.connect(clean_database) as conn:
                listeners = conn.execute(
                    "SELECT count(*), bool_and(query LIKE 'LISTEN%%') FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND application_name = 'experiments-listener'"
                ).fetchone()

    assert listeners == (1, True)


@pytest.fixture
def redis_keys(redis_url: str, cache_prefix: str) -> Iterator[Any]:
    client = redis.Redis.from_url(redis_url)
    yield lambda: sorted(key.decode() for key in client.scan_iter(f"{cache_prefix}*"))
    client.close()


async def test_pages_are_kept_in_the_cache_redis_under_the_prefix_with_a_time_to_live(
    cached_env: dict[str, str], redis_url: str, cache_prefix: str, redis_keys: Any
) -> None:
    settings = settings_with(cached_env, CACHE_TTL=120)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await client.get("/logs", params={"table_name": "df_sales"})
        await client.get("/logs", params={"table_name": "df_sales", "user_id": "0ffc65"})
    keys = redis_keys()
    server = redis.Redis.from_url(redis_url)
    ttls = [server.pttl(key) for key in keys]
    server.close()

    assert len(keys) == 2
    assert all(key.startswith(f"{cache_prefix}logs:v1:page:") for key in keys)
    assert all(0 < ttl <= 120_000 for ttl in ttls)
