"""Errors by meaning. Adapters translate driver errors into these; the HTTP edge maps them."""

from __future__ import annotations

from collections.abc import Sequence


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


class Unavailable(DomainError):
    title = "Service unavailable"


class TableNotFound(NotFound):
    title = "Table not found"

    def __init__(self, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"There is no table named {name!r}. Known tables: {listed}.")
        self.name = name
        self.known = tuple(known)


class InvalidTableName(InvalidInput):
    title = "Invalid table name"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Invalid table_name {name!r}: {reason}.", parameter="table_name")


class InvalidParameter(InvalidInput):
    title = "Invalid parameter"

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"Invalid {parameter}: {detail}", parameter=parameter)


class MalformedSource(DomainError):
    """A CSV file that cannot be read as a table; the location names where it breaks."""

    title = "Malformed CSV file"

    def __init__(
        self, file_name: str, reason: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        where = "".join(
            [
                f", line {line}" if line is not None else "",
                f", column {column!r}" if column is not None else "",
            ]
        )
        super().__init__(f"{file_name}{where}: {reason}")
        self.file_name = file_name
        self.line = line
        self.column = column
        self.reason = reason


class TableChanged(Conflict):
    """The table was reloaded with other columns between reading its description and its rows."""

    title = "Table changed"

    def __init__(self, name: str) -> None:
        super().__init__(f"Table {name!r} was reloaded while it was being read; try again.")
        self.name = name


class DatabaseUnavailable(Unavailable):
    title = "Database unavailable"


class Overloaded(DomainError):
    """Too much work is already waiting; come back later."""

    title = "Too many jobs"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class JobNotFound(NotFound):
    title = "Job not found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"There is no job {job_id}.")


class JobAlreadyFinished(Conflict):
    title = "Job already finished"

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"Job {job_id} has already finished ({status}); it cannot be cancelled.")


class QueueUnavailable(Unavailable):
    title = "Task queue unavailable"
