"""How many PostgreSQL sessions each kind of process holds."""

from __future__ import annotations

import asyncio

import psycopg
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from entrypoints.di.providers import make_container
from entrypoints.http.app import create_app
from tests.support.polling import eventually
from tests.support.service_app import settings_with

SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name = 'experiments'"
)


async def sessions(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        row = await (await admin.execute(SESSIONS)).fetchone()
    assert row is not None
    return int(row[0])


async def none_left(url: str) -> None:
    """Until the sessions of an earlier process in this database are gone (a backend leaves
    `pg_stat_activity` a moment after its client closed it)."""

    async def gone() -> bool:
        return await sessions(url) == 0

    await eventually(gone, within=10, what="no session of the service")


async def test_the_api_keeps_its_whole_pool_open_before_any_burst(
    service_env: dict[str, str],
) -> None:
    url = service_env["DATABASE_URL"]
    await none_left(url)
    settings = settings_with(service_env, DATABASE_POOL_SIZE=4)
    async with AsyncTestClient(app=create_app(settings)) as client:
        # One request at a time never makes a pool that grows on demand grow past one.
        for _ in range(3):
            assert (await client.get("/logs", params={"table_name": "df_sales"})).status_code == 200

        async def all_open() -> bool:
            return await sessions(url) == 4

        await eventually(all_open, within=10, what="the API's four connections to be open")
    await none_left(url)


async def test_a_worker_process_opens_only_the_connections_it_uses(
    service_env: dict[str, str],
) -> None:
    url = service_env["DATABASE_URL"]
    await none_left(url)
    container = make_container(settings_with(service_env, DATABASE_POOL_SIZE=4))
    try:
        pool = await container.get(AsyncConnectionPool)
        for _ in range(3):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
        # Time for a pool being filled to open all four (the API's does in less).
        await asyncio.sleep(1)
        # The migrations' request can come before the pool's first connection is open, and
        # a request that waits makes the pool grow by one.
        assert await sessions(url) <= 2
    finally:
        await container.close()
