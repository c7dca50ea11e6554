"""The broker's Redis as health and metrics see it: whether it answers, how deep the queue
is, and the recovery counters every process shares."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as ConnectionLost

from domain.health.ports import BrokerProbe, CacheProbe, QueueDepth
from domain.shared.errors import Unavailable

log = logging.getLogger(__name__)


def create_client(url: str, *, timeout: float, max_connections: int, reconnects: int = 0) -> Redis:
    """A client that gives up after `timeout` seconds. A command whose connection turns out
    dead (Redis restarted since it was last used) is made again on a new one, `reconnects`
    times; nothing else is retried."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), reconnects, supported_errors=(ConnectionLost,)),
        max_connections=max_connections,
    )


def create_probe_client(url: str, *, timeout: float = 1.0) -> Redis:
    """A small client that gives up after `timeout` seconds and never retries."""
    return create_client(url, timeout=timeout, max_connections=4)


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
