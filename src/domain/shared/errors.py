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
    title = "Database unavailable"


class Overloaded(DomainError):
    """Too much work is already waiting; come back later."""

    title = "Overloaded"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
