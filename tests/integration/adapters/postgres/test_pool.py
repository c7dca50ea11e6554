from __future__ import annotations

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.pool import SessionLimits, create_pool
from tests.support.polling import eventually_sync


async def test_every_session_runs_under_the_configured_bounds(clean_database: str) -> None:
    limits = SessionLimits(statement_timeout=12.5, lock_timeout=3, idle_in_transaction_timeout=0)
    pool = create_pool(clean_database, max_size=1, limits=limits)
    await pool.open()
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),"
                " current_setting('idle_in_transaction_session_timeout'),"
                " current_setting('client_connection_check_interval')"
            )
            assert await cur.fetchone() == ("12500ms", "3s", "0", "1s")
    finally:
        await pool.close()


async def test_a_statement_past_its_timeout_is_stopped(clean_database: str) -> None:
    pool = create_pool(clean_database, max_size=1, limits=SessionLimits(statement_timeout=0.2))
    await pool.open()
    try:
        async with pool.connection() as conn:
            with pytest.raises(psycopg.errors.QueryCanceled) as raised:
                await conn.execute("SELECT pg_sleep(5)")
            assert raised.value.sqlstate == "57014"
    finally:
        await pool.close()


@pytest.mark.parametrize("size", [3, 12])
async def test_connections_the_server_dropped_are_replaced_before_a_request_meets_them(
    clean_database: str, size: int
) -> None:
    # A full pool, as the API keeps it. Were the dead connections handed out one at a time,
    # with psycopg's backoff between (1, 2, 4 s), a request would outlast its 3 s.
    pool = create_pool(clean_database, min_size=size, max_size=size, timeout=3)
    await pool.open(wait=True)
    try:
        pids = await _backend_pids(pool, size)
        # What a PostgreSQL restart does to each session: a FATAL 57P01, then the socket shut.
        with psycopg.connect(clean_database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,))

            def gone() -> bool:
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                ).fetchone()
                return row == (0,)

            eventually_sync(gone, within=10, what="the sessions to end")
        for _ in range(size):
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT pg_backend_pid()")
                row = await cur.fetchone()
                assert row is not None
                assert row[0] not in pids
    finally:
        await pool.close()


async def _backend_pids(pool: AsyncConnectionPool, count: int) -> list[int]:
    held = [await pool.getconn() for _ in range(count)]
    try:
        pids = []
        for conn in held:
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
            assert row is not None
            pids.append(row[0])
        return pids
    finally:
        for conn in held:
            await pool.putconn(conn)
