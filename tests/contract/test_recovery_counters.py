"""The in-memory recovery counters and the Redis ones agree: counts add up, and every process
(here: a second adapter on the same Redis) reads the same totals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from adapters.redis.broker import RedisRecoveryCounters, create_probe_client
from domain.shared.recovery import RecoveryCounters, RecoveryTotals
from tests.support.fakes import InMemoryRecoveryCounters


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[Redis]:
    client = create_probe_client(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["in_memory", "redis"])
def counters(request: pytest.FixtureRequest) -> Callable[[], RecoveryCounters]:
    if request.param == "in_memory":
        shared = InMemoryRecoveryCounters()
        return lambda: shared
    client: Redis = request.getfixturevalue("broker")
    # The test's own queue: its keys, these counters' included, are deleted after.
    queue: str = request.getfixturevalue("queue_name")
    return lambda: RedisRecoveryCounters(client, queue)


async def test_counts_add_up_and_every_process_reads_the_same(
    counters: Callable[[], RecoveryCounters],
) -> None:
    sweeper, scraped = counters(), counters()
    assert await scraped.totals() == RecoveryTotals(lost=0, republished=0)

    await sweeper.count_lost()
    await sweeper.count_lost(2)
    await sweeper.count_republished(4)

    assert await scraped.totals() == RecoveryTotals(lost=3, republished=4)


async def test_counting_never_raises_and_totals_say_none_when_unreadable() -> None:
    client = create_probe_client("redis://127.0.0.1:1/0", timeout=0.2)
    down = RedisRecoveryCounters(client, "nowhere")
    await down.count_lost()
    await down.count_republished()
    assert await down.totals() is None
    await client.aclose()
