"""PostgreSQL's errors, classified by SQLSTATE into the domain's errors.

Only a failure to reach the server is "unavailable": connection exceptions (class 08), a
server shutting down or starting (57P01-57P03), too many connections (53300), a broken
connection (no SQLSTATE) and a pool that gave no connection in time. A statement stopped by
its timeout or a cancel (57014), a lock not obtained in time (55P03), a deadlock or
serialization failure (40P01, 40001) and an idle transaction ended (25P03) are "busy"; disk
full and out of memory (class 53) are "exhausted"; a program limit (class 54: too many
columns, a row or statement too large) is "beyond limits". Anything else is a bug and is
left to propagate. Details never carry the driver's message, which names hosts and ports;
the log has it.
"""

from __future__ import annotations

import logging
from types import TracebackType

import psycopg
import psycopg_pool

from domain.shared.errors import (
    BeyondLimits,
    DatabaseBusy,
    DatabaseExhausted,
    DatabaseUnavailable,
    DomainError,
)

log = logging.getLogger(__name__)

UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
BUSY = {
    "57014": "PostgreSQL stopped the statement: it ran past its time limit or was cancelled.",
    "55P03": "A lock the statement needed is held by another session; it waited too long.",
    "40P01": "The statement was chosen as the victim of a deadlock.",
    "40001": "The transaction could not be serialized with a concurrent one.",
    "25P03": "The session was ended after its transaction sat idle too long.",
}


def classified(error: psycopg.Error | psycopg_pool.PoolTimeout) -> DomainError | None:
    """The domain error `error` means, or None for one that is a bug."""
    if isinstance(error, psycopg_pool.PoolTimeout):
        return DatabaseUnavailable("No database connection came free in time.")
    state = error.sqlstate
    if state is None:
        if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return DatabaseUnavailable("PostgreSQL cannot be reached.")
        return None
    if state.startswith("08") or state in UNREACHABLE_STATES:
        return DatabaseUnavailable("PostgreSQL cannot be reached, or is restarting.")
    if state in BUSY:
        return DatabaseBusy(BUSY[state])
    if state.startswith("53"):
        return DatabaseExhausted("PostgreSQL is out of disk space or memory.")
    if state.startswith("54"):
        return BeyondLimits(f"This exceeds a limit of PostgreSQL: {_first_line(error)}.")
    return None


def beyond_limits(error: BaseException) -> bool:
    """A program limit (class 54): what was asked, not the server, is at fault."""
    return isinstance(error, psycopg.Error) and (error.sqlstate or "").startswith("54")


class database_errors:
    """Reports PostgreSQL's errors as the domain's, by what they mean (see the module).

    A class named like a function (`async with database_errors():`) rather than
    `@asynccontextmanager`: it wraps every statement of every request,
    and entering a generator-based manager costs several times more."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not isinstance(error, psycopg.Error | psycopg_pool.PoolTimeout):
            return
        translated = classified(error)
        if translated is None:
            return
        log.warning("PostgreSQL: %s (%s)", _first_line(error), type(error).__name__)
        raise translated from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__
