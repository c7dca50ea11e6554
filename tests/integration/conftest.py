"""Real services for integration tests.

PostgreSQL comes from TEST_POSTGRES_URL when it is set (each run creates and drops a database
of its own there), else from a testcontainers container; Redis likewise from TEST_REDIS_URL
(each test uses a queue of its own), else from a container.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.pool import create_pool, ensure_schema


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    name = f"experiments_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    try:
        yield make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = os.environ.get("TEST_REDIS_URL")
    if server:
        yield server
        return
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7-alpine") as container:
        host = container.get_container_host_ip()
        yield f"redis://{host}:{container.get_exposed_port(6379)}/0"


@pytest.fixture
def queue_name() -> str:
    return f"experiments-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clean_database(postgres_url: str) -> str:
    """The test database with none of this service's schemas: each test starts from nothing."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS csv CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS experiments CASCADE")
    return postgres_url


@pytest.fixture
async def pool(clean_database: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = create_pool(clean_database, max_size=60)
    await pool.open()
    await ensure_schema(pool)
    yield pool
    await pool.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
