"""The in-memory probe and PostgreSQL's agree: True when the database answers, else False."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.pool import create_pool
from adapters.postgres.probe import PostgresDatabaseProbe
from domain.health.ports import DatabaseProbe
from tests.support.fakes import InMemoryDatabaseProbe


@pytest.fixture
async def unreachable_pool() -> AsyncIterator[AsyncConnectionPool]:
    """A pool of a server that is not there (nothing listens on port 1)."""
    pool = create_pool("postgresql://postgres@127.0.0.1:1/none", min_size=0, timeout=1)
    await pool.open(wait=False)
    yield pool
    await pool.close()


@pytest.fixture(params=["in_memory", "postgres"])
def probes(request: pytest.FixtureRequest) -> Callable[[bool], DatabaseProbe]:
    if request.param == "in_memory":
        return lambda up: InMemoryDatabaseProbe(up=up)
    pool: AsyncConnectionPool = request.getfixturevalue("pool")
    unreachable: AsyncConnectionPool = request.getfixturevalue("unreachable_pool")
    return lambda up: PostgresDatabaseProbe(pool if up else unreachable, timeout=1)


async def test_a_database_that_answers_is_up(probes: Callable[[bool], DatabaseProbe]) -> None:
    assert await probes(True).ping() is True


async def test_a_database_that_does_not_answer_is_down(
    probes: Callable[[bool], DatabaseProbe],
) -> None:
    assert await probes(False).ping() is False
