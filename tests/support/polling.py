"""Waiting for something that happens elsewhere (a worker, a server, a browser): one way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    what: str,
    every: float = 0.05,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """Awaits `check` until it gives something true, and returns that; fails after `within`
    seconds naming `what`. Errors of the `ignoring` kinds count as not yet."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            if result := await check():
                return result
            last = result
        except ignoring as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {within:g} s; last: {last!r}")
        await asyncio.sleep(every)


def eventually_sync(
    check: Callable[[], T | None],
    *,
    within: float,
    what: str,
    every: float = 0.2,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """`eventually` for blocking code."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            if result := check():
                return result
            last = result
        except ignoring as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {within:g} s; last: {last!r}")
        time.sleep(every)
