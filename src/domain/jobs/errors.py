"""Errors of the jobs context."""

from __future__ import annotations

from domain.shared.errors import Conflict, NotFound, Overloaded, Unavailable, Unprocessable


class JobNotFound(NotFound):
    title = "Job not found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"There is no job {job_id}.")


class JobAlreadyFinished(Conflict):
    title = "Job already finished"

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"Job {job_id} has already finished ({status}); it cannot be cancelled.")


class JobStillActive(Conflict):
    title = "Job still active"

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"Job {job_id} is still {status}; only a finished job can be run again.")


class IdempotencyKeyReused(Unprocessable):
    title = "Idempotency key reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The Idempotency-Key {key!r} was used for a launch with another metric or other "
            "parameters; use a new key for a different launch."
        )


class QueueUnavailable(Unavailable):
    title = "Task queue unavailable"


class TooManyJobs(Overloaded):
    """As many jobs as allowed are queued or running: launching is refused, nothing created."""

    title = "Too many jobs"
    RETRY_AFTER = 10

    def __init__(self, active: int) -> None:
        super().__init__(
            f"{active} jobs are queued or running, the most allowed; try again later.",
            retry_after=self.RETRY_AFTER,
        )
