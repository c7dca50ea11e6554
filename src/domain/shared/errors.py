"""The error tree, by meaning. Adapters translate driver errors into these; the HTTP edge maps
each base class to a status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service reports to its users."""

    title = "Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not found"


class InvalidInput(DomainError):
    title = "Invalid input"

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.parameter = parameter


class Conflict(DomainError):
    title = "Conflict"


class Unprocessable(DomainError):
    """Well-formed, but it cannot be done as asked (a file that is not a table, a key that
    names another request)."""

    title = "Unprocessable"


class Unavailable(DomainError):
    title = "Service unavailable"


class InvalidParameter(InvalidInput):
    title = "Invalid parameter"

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"Invalid {parameter}: {detail}", parameter=parameter)


class DatabaseUnavailable(Unavailable):
    """PostgreSQL cannot be reached: down, restarting, refusing connections, or no pooled
    connection came free in time."""

    title = "Database unavailable"


class DatabaseBusy(Unavailable):
    """PostgreSQL answers, but this request's statement ran past its time, waited too long
    for a lock another session holds, or lost a deadlock: trying again later may work."""

    title = "Database busy"


class DatabaseExhausted(Unavailable):
    """PostgreSQL is out of disk space or memory: nothing this request can fix."""

    title = "Database out of resources"


class BeyondLimits(Unprocessable):
    """What was asked for exceeds one of PostgreSQL's fixed limits (a table of more than
    1,600 columns, a row or a statement too large): trying again will not help."""

    title = "Beyond the database's limits"


class Overloaded(DomainError):
    """Too much work is already waiting; come back later."""

    title = "Overloaded"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
