"""Group commit for an adapter's calls: those that arrive while one runs wait, and run
together in the next (docs/adr/0022-publishing-from-the-event-loop.md,
docs/adr/0023-launches-admitted-together.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Grouped(Generic[T, R]):
    """Runs `run` over groups of the items given to it, one group at a time, in arrival order.

    `run(items)` answers each item, in order, with its result or the exception it raised;
    when `run` itself raises, every item of the group gets that error. `joins(group, item)`
    says whether `item` may go in the same group: the first that may not starts the next one.
    A caller that gave up (cancelled, timed out) before its group was formed is left out of
    it. When the loop closes under a group, its callers and those waiting are cancelled.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        joins: Callable[[list[T], T], bool] | None = None,
    ) -> None:
        self._run = run
        self._joins = joins
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._run_waiting())
        return await future

    async def _run_waiting(self) -> None:
        try:
            while True:
                items, futures = self._next_group()
                if not items:
                    break
                try:
                    outcomes: Sequence[R | Exception] = await self._run(items)
                except asyncio.CancelledError:
                    for future in futures:
                        future.cancel()
                    raise
                except Exception as error:
                    outcomes = [error] * len(items)
                for future, outcome in zip(futures, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._running = None
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()

    def _next_group(self) -> tuple[list[T], list[asyncio.Future[R]]]:
        items: list[T] = []
        futures: list[asyncio.Future[R]] = []
        taken = 0
        for item, future in self._waiting:
            if items and self._joins is not None and not self._joins(items, item):
                break
            taken += 1
            if not future.done():
                items.append(item)
                futures.append(future)
        del self._waiting[:taken]
        return items, futures
