"""Migrations take any database this service has known to the current schema, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres import migrations
from adapters.postgres.migrations import Migration, MigrationError, migrate
from adapters.postgres.pool import create_pool

FIRST_RELEASE = Path(__file__).with_name("first_release_schema.sql").read_text()

SHAPE = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
    || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = 'experiments'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'experiments'
UNION ALL
SELECT 'trigger', tgname || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'experiments' AND NOT t.tgisinternal
UNION ALL
SELECT 'schema', nspname FROM pg_namespace WHERE nspname IN ('experiments', 'csv')
ORDER BY 1, 2
"""
"""What the schema is made of, to compare two databases by."""


@pytest.fixture
async def empty_pool(clean_database: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = create_pool(clean_database, max_size=20)
    await pool.open()
    yield pool
    await pool.close()


async def shape(pool: AsyncConnectionPool) -> list[tuple[str, str]]:
    async with pool.connection() as conn:
        cur = await conn.execute(SHAPE)
        return [(kind, text) for kind, text in await cur.fetchall()]


async def applied(pool: AsyncConnectionPool) -> list[tuple[int, str]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT version, name FROM experiments.schema_migrations ORDER BY version"
        )
        return [(version, name) for version, name in await cur.fetchall()]


def test_the_migrations_are_numbered_from_one_without_gaps() -> None:
    history = migrations.migrations()

    assert [m.version for m in history] == list(range(1, len(history) + 1))
    assert history[0].name == "initial"


async def test_an_empty_database_gets_every_migration_in_order(
    empty_pool: AsyncConnectionPool,
) -> None:
    done = await migrate(empty_pool)

    history = migrations.migrations()
    assert done == [m.version for m in history]
    assert await applied(empty_pool) == [(m.version, m.name) for m in history]


async def test_a_second_start_applies_nothing(empty_pool: AsyncConnectionPool) -> None:
    await migrate(empty_pool)
    before = await shape(empty_pool)

    assert await migrate(empty_pool) == []
    assert await shape(empty_pool) == before


async def test_a_database_of_the_first_release_ends_as_an_empty_one_does(
    empty_pool: AsyncConnectionPool,
) -> None:
    await migrate(empty_pool)
    from_empty = await shape(empty_pool)
    async with empty_pool.connection() as conn:
        await conn.execute("DROP SCHEMA experiments CASCADE; DROP SCHEMA csv CASCADE")
        await conn.execute(FIRST_RELEASE.encode())
        await conn.execute(
            "INSERT INTO experiments.jobs (id, metric) VALUES (gen_random_uuid(), 'kept')"
        )

    done = await migrate(empty_pool)

    assert 1 not in done
    assert done == [m.version for m in migrations.migrations()][1:]
    assert await shape(empty_pool) == from_empty
    async with empty_pool.connection() as conn:
        cur = await conn.execute("SELECT metric, revision FROM experiments.jobs")
        assert await cur.fetchall() == [("kept", 1)]


async def test_concurrent_starts_migrate_once(empty_pool: AsyncConnectionPool) -> None:
    results = await asyncio.gather(*(migrate(empty_pool) for _ in range(8)))

    assert sorted(len(done) for done in results)[:-1] == [0] * 7
    assert len(await applied(empty_pool)) == len(migrations.migrations())


async def test_an_applied_migration_that_was_edited_is_an_error(
    empty_pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(empty_pool)
    history = migrations.migrations()
    edited = [
        Migration(version=1, name="initial", sql=history[0].sql + "\n-- edited"),
        *history[1:],
    ]
    monkeypatch.setattr(migrations, "migrations", lambda: edited)

    with pytest.raises(MigrationError, match=r"migration 1 \(initial\) was changed"):
        await migrate(empty_pool)


async def test_a_failing_migration_leaves_the_schema_as_it_was(
    empty_pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(empty_pool)
    before = await shape(empty_pool)
    history = migrations.migrations()
    broken = Migration(
        version=len(history) + 1,
        name="broken",
        sql="ALTER TABLE experiments.jobs ADD COLUMN extra int; SELECT 1/0;",
    )
    monkeypatch.setattr(migrations, "migrations", lambda: [*history, broken])

    with pytest.raises(psycopg.errors.DivisionByZero):
        await migrate(empty_pool)

    assert await shape(empty_pool) == before
    assert len(await applied(empty_pool)) == len(history)
