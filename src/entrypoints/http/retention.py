"""The deletion of old finished jobs, run by every API process in the background.

Each process tries once an hour (and soon after it starts); `PurgeJobs` lets one process at
a time delete, so several API processes share the work without racing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from dishka import AsyncContainer

from domain.jobs.use_cases.purge_jobs import PurgeJobs
from domain.shared.errors import DomainError

log = logging.getLogger(__name__)

EVERY = 3600.0
"""Seconds between two purges by one process."""
FIRST_AFTER = 30.0
"""Seconds after the start before the first: a start is busy enough."""


@asynccontextmanager
async def retention(
    container: AsyncContainer,
    days: int | None,
    *,
    every: float = EVERY,
    first_after: float = FIRST_AFTER,
) -> AsyncIterator[None]:
    """Deletes jobs finished more than `days` ago while the block runs; nothing when None."""
    if days is None:
        yield
        return
    task = asyncio.create_task(
        _purge_forever(container, dt.timedelta(days=days), every, first_after)
    )
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _purge_forever(
    container: AsyncContainer, keep: dt.timedelta, every: float, first_after: float
) -> None:
    await asyncio.sleep(first_after)
    purge = await container.get(PurgeJobs)
    while True:
        try:
            await purge(retention=keep)
        except DomainError as error:  # PostgreSQL away: the next round tries again
            log.warning("Could not delete old jobs: %s", error.detail)
        await asyncio.sleep(every)
