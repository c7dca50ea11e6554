"""The broker's Redis as health and metrics see it: whether it answers, how deep the queue
is, and the recovery counters every process shares."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from domain.health.ports import BrokerProbe, CacheProbe, QueueDepth
from domain.shared.errors import Unavailable
from domain.shared.recovery import RecoveryCounters, RecoveryTotals

log = logging.getLogger(__name__)


def create_probe_client(url: str, *, timeout: float = 1.0) -> Redis:
    """A small client that gives up after `timeout` seconds and never retries."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=4,
    )


class RedisBrokerProbe(BrokerProbe):
    def __init__(self, client: Redis) -> None:
        self._client = client

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except Exception:
            return False


class RedisCacheProbe(CacheProbe):
    """The page cache's Redis; None without one."""

    def __init__(self, client: Redis | None) -> None:
        self._client = client

    async def ping(self) -> bool | None:
        if self._client is None:
            return None
        try:
            return bool(await self._client.ping())
        except Exception:
            return False


class RedisQueueDepth(QueueDepth):
    """Celery's Redis transport keeps a queue as a list named after it."""

    def __init__(self, client: Redis, queue: str) -> None:
        self._client = client
        self._queue = queue

    async def depth(self) -> int:
        try:
            return int(await self._client.llen(self._queue))
        except Exception as error:
            raise Unavailable("The broker does not answer.") from error


class RedisRecoveryCounters(RecoveryCounters):
    """Counters in the broker's Redis, under keys named after the queue, so that every
    process (the one that recovers, the one that is scraped) sees the same totals. They
    start again from zero if that Redis loses its data, as Prometheus counters may."""

    def __init__(self, client: Redis, queue: str) -> None:
        self._client = client
        self._lost = f"experiments:recovery:{queue}:lost"
        self._republished = f"experiments:recovery:{queue}:republished"

    async def count_lost(self, jobs: int = 1) -> None:
        await self._add(self._lost, jobs)

    async def count_republished(self, jobs: int = 1) -> None:
        await self._add(self._republished, jobs)

    async def totals(self) -> RecoveryTotals | None:
        try:
            lost, republished = await self._client.mget(self._lost, self._republished)
        except Exception:
            return None
        return RecoveryTotals(lost=int(lost or 0), republished=int(republished or 0))

    async def _add(self, key: str, jobs: int) -> None:
        try:
            await self._client.incrby(key, jobs)
        except Exception as error:
            log.warning("Could not count %d job(s) in %s: %r", jobs, key, error)
