"""A bound on open event streams, per client address and per process.

Each open `/jobs/events` stream costs a task and a share of every job change's fan-out; four
thousand of them slowed every endpoint to seconds. Past `per_client` streams from one address
a new one is a 429, past `total` in the process a 503, each with `Retry-After`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS, HTTP_503_SERVICE_UNAVAILABLE

RETRY_AFTER = 10
"""Seconds a refused stream is told to wait; the page's fallback polls meanwhile."""
REFUSED = {"Retry-After": str(RETRY_AFTER), "Connection": "close"}
"""A refused stream's connection is closed with its answer: thousands of refused clients
must not keep thousands of connections and take the server's connection cap with them."""


class StreamSlots:
    def __init__(self, *, total: int, per_client: int) -> None:
        self._total = total
        self._per_client = per_client
        self._open: Counter[str] = Counter()
        self._count = 0

    @property
    def open(self) -> int:
        return self._count

    def take(self, client: str) -> Callable[[], None]:
        """A slot for `client`, or the problem that refuses it; returns its release (which
        may be called more than once)."""
        if self._open[client] >= self._per_client:
            raise HTTPException(
                status_code=HTTP_429_TOO_MANY_REQUESTS,
                detail=f"This client has {self._per_client} event streams open already, the "
                "most one may have; close one, or retry later.",
                headers=REFUSED,
            )
        if self._count >= self._total:
            raise HTTPException(
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"This server has {self._total} event streams open, the most it "
                "serves; retry later.",
                headers=REFUSED,
            )
        self._open[client] += 1
        self._count += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._count -= 1
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]

        return release
