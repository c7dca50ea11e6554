from __future__ import annotations

import pytest

from domain.health.errors import NotReady
from domain.health.model import Readiness
from domain.health.use_cases.check_readiness import CheckReadiness
from tests.support.fakes import InMemoryBrokerProbe, InMemoryCacheProbe, InMemoryDatabaseProbe


def check(
    *, database: bool = True, broker: bool = True, cache: bool | None = True
) -> CheckReadiness:
    return CheckReadiness(
        InMemoryDatabaseProbe(up=database),
        InMemoryBrokerProbe(up=broker),
        InMemoryCacheProbe(up=cache),
    )


async def test_ready_when_every_service_answers() -> None:
    readiness = await check()()
    assert readiness == Readiness(database=True, broker=True, cache=True)
    assert not readiness.degraded


async def test_a_cache_down_is_degraded_but_ready() -> None:
    readiness = await check(cache=False)()
    assert readiness.ready
    assert readiness.degraded


async def test_no_cache_at_all_is_ready_and_not_degraded() -> None:
    readiness = await check(cache=None)()
    assert readiness.ready
    assert not readiness.degraded


@pytest.mark.parametrize(
    ("database", "broker", "detail"),
    [
        (False, True, "PostgreSQL does not answer."),
        (True, False, "the broker does not answer."),
        (False, False, "PostgreSQL and the broker do not answer."),
    ],
)
async def test_not_ready_when_postgres_or_the_broker_is_down(
    database: bool, broker: bool, detail: str
) -> None:
    with pytest.raises(NotReady) as raised:
        await check(database=database, broker=broker)()
    assert raised.value.detail == detail
    assert raised.value.readiness == Readiness(database=database, broker=broker, cache=True)
