"""The connection pool, and the bounds every one of its sessions runs under."""

from __future__ import annotations

import asyncio
import select
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLimits:
    """Seconds a session's statement may run, a statement may wait for a lock, and a
    transaction may sit idle before PostgreSQL ends it; 0 means no limit."""

    statement_timeout: float = 30.0
    lock_timeout: float = 5.0
    idle_in_transaction_timeout: float = 60.0
    client_check_interval: float = 1.0
    """How often a running statement checks that its client is still there (a killed
    process's query is stopped rather than run to its end)."""

    def options(self) -> str:
        settings = {
            "statement_timeout": self.statement_timeout,
            "lock_timeout": self.lock_timeout,
            "idle_in_transaction_session_timeout": self.idle_in_transaction_timeout,
            "client_connection_check_interval": self.client_check_interval,
        }
        return " ".join(f"-c {name}={round(value * 1000)}" for name, value in settings.items())


def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 20,
    timeout: float = 10.0,
    limits: SessionLimits | None = None,
) -> AsyncConnectionPool:
    """A closed pool; open it with `await pool.open()`. Sessions speak UTC and ISO dates, run
    under `limits`, and are in autocommit: a single statement costs no BEGIN and COMMIT round
    trips, and what must be atomic says so with `conn.transaction()`. A connection is checked
    as it is handed out (`SuspectCheck`), so one that PostgreSQL dropped (a restart) is
    replaced before a request meets it."""
    limits = limits or SessionLimits()
    check = SuspectCheck()
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=timeout,
        check=check,
        kwargs={
            "options": f"-c TimeZone=UTC -c DateStyle=ISO,YMD {limits.options()}",
            "application_name": "experiments",
            "connect_timeout": max(2, round(timeout)),
            "autocommit": True,
        },
    )
    check.pool = pool
    return pool


class SuspectCheck:
    """The pool's check, `AsyncConnectionPool.check_connection` (an empty round trip), run
    only when the idle connection's socket has something to read: a server that shut down or
    dropped the session has sent its last words (57P01) and closed it. Checking every
    connection would cost a round trip per request (about 200 µs measured, against 2 µs for
    this look).

    A connection found dropped so means the others of its time likely are too (a restart
    drops them all): the pool's idle ones are checked at once (`AsyncConnectionPool.check`),
    the dropped ones replaced, while the request waits out the pool's first backoff (1 s).
    Else the pool would hand them out one by one, sleeping 1, 2, 4 s between, and a full
    pool of 20 outlasts any request's timeout. The check is a task of its own, one at a
    time: run in the request's, a cancelled request would lose the connections it held out
    of the pool."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None
        self._sweep: asyncio.Task[None] | None = None

    async def __call__(self, conn: AsyncConnection) -> None:
        if conn.closed or conn.broken:
            await AsyncConnectionPool.check_connection(conn)
            return
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        if not readable:
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self.pool is not None and (self._sweep is None or self._sweep.done()):
                self._sweep = asyncio.create_task(self.pool.check())
                self._sweep.add_done_callback(_consumed)
            raise


def _consumed(task: asyncio.Task[None]) -> None:
    # A check that failed as a whole (the pool closed under it) has nobody to tell.
    if not task.cancelled():
        task.exception()


UNBOUNDED_STATEMENT = "SET LOCAL statement_timeout = 0"
"""For a transaction whose statements run long by design (loading a file, an analysis bounded
by its job's time limit); it still gives up waiting for a lock after `lock_timeout`."""

UNBOUNDED_IDLE = "SET LOCAL idle_in_transaction_session_timeout = 0"
"""For a load, whose transaction may wait on the file's reading and inference between
statements (a large file's inference can lag behind its COPY)."""

UNBOUNDED_LOCK_WAIT = "SET LOCAL lock_timeout = 0"
"""Before queueing on an advisory lock by design (loads, migrations): the wait is the point."""

BOUNDED_LOCK_WAIT = "SET LOCAL lock_timeout TO DEFAULT"
"""After it: the rest of the transaction waits for locks no longer than the session's bound."""
