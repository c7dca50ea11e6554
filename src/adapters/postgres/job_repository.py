from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.pool import SCHEMA_LOCK
from domain.errors import Overloaded
from domain.job import Job, JobId, JobsPage, JobStatus, NewJob
from domain.ports.jobs import JobRepository

LAUNCH_LOCK = SCHEMA_LOCK + 2
JOB_COLUMNS = sql.SQL(", ").join(
    map(
        sql.Identifier,
        (
            "id",
            "metric",
            "status",
            "progress",
            "result",
            "error",
            "attempts",
            "cancel_requested",
            "idempotency_key",
            "worker",
            "created_at",
            "started_at",
            "finished_at",
        ),
    )
)

SELECT_BY_KEY = sql.SQL("SELECT {columns} FROM experiments.jobs WHERE idempotency_key = %s").format(
    columns=JOB_COLUMNS
)
COUNT_ACTIVE = "SELECT count(*) FROM experiments.jobs WHERE status IN ('queued', 'running')"
INSERT = sql.SQL("""
INSERT INTO experiments.jobs (id, metric, idempotency_key) VALUES (%s, %s, %s)
RETURNING {columns}
""").format(columns=JOB_COLUMNS)
SELECT_ONE = sql.SQL("SELECT {columns} FROM experiments.jobs WHERE id = %s").format(
    columns=JOB_COLUMNS
)
SELECT_PAGE = sql.SQL("""
SELECT {columns} FROM experiments.jobs
WHERE %(before)s::uuid IS NULL
   OR (created_at, id) < (SELECT created_at, id FROM experiments.jobs WHERE id = %(before)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
""").format(columns=JOB_COLUMNS)
START = sql.SQL("""
UPDATE experiments.jobs SET
    attempts = attempts + CASE
        WHEN cancel_requested OR attempts + 1 > %(max_attempts)s THEN 0 ELSE 1 END,
    status = CASE
        WHEN cancel_requested THEN 'cancelled'
        WHEN attempts + 1 > %(max_attempts)s THEN 'failed'
        ELSE 'running' END,
    error = CASE
        WHEN NOT cancel_requested AND attempts + 1 > %(max_attempts)s
        THEN 'Gave up after ' || attempts || ' attempts: the worker running it was lost each time.'
        END,
    started_at = CASE
        WHEN cancel_requested OR attempts + 1 > %(max_attempts)s THEN started_at
        ELSE clock_timestamp() END,
    finished_at = CASE
        WHEN cancel_requested OR attempts + 1 > %(max_attempts)s THEN clock_timestamp() END,
    progress = 0,
    worker = %(worker)s
WHERE id = %(id)s AND status IN ('queued', 'running')
RETURNING {columns}
""").format(columns=JOB_COLUMNS)
PROGRESS = """
UPDATE experiments.jobs SET progress = %(progress)s
WHERE id = %(id)s AND attempts = %(attempt)s AND status = 'running'
RETURNING NOT cancel_requested
"""
FINISH = sql.SQL("""
UPDATE experiments.jobs SET
    status = %(status)s, result = %(result)s, error = left(%(error)s, 2000),
    progress = CASE WHEN %(status)s = 'succeeded' THEN 1 ELSE progress END,
    finished_at = clock_timestamp()
WHERE id = %(id)s AND attempts = %(attempt)s AND status = 'running'
RETURNING {columns}
""").format(columns=JOB_COLUMNS)
FAIL_LOST = """
UPDATE experiments.jobs SET status = 'failed', finished_at = clock_timestamp(),
    error = 'Lost: its run outlived any time limit, so its worker must be gone.'
WHERE status = 'running' AND started_at < clock_timestamp() - make_interval(secs => %s)
"""
FAIL_QUEUED = """
UPDATE experiments.jobs SET status = 'failed', error = left(%s, 2000),
    finished_at = clock_timestamp(), idempotency_key = NULL
WHERE id = %s AND status = 'queued'
"""
CANCEL = sql.SQL("""
UPDATE experiments.jobs SET
    cancel_requested = status IN ('queued', 'running') OR cancel_requested,
    status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status = 'queued' THEN clock_timestamp() ELSE finished_at END
WHERE id = %s
RETURNING {columns}
""").format(columns=JOB_COLUMNS)


class PostgresJobRepository(JobRepository):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def add(self, job: NewJob, *, max_active: int) -> tuple[Job, bool]:
        async with database_errors(), self._pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            # Launches queue up here so the count and the insert cannot interleave.
            await cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LAUNCH_LOCK,))
            if job.idempotency_key is not None:
                await cur.execute(SELECT_BY_KEY, (job.idempotency_key,))
                existing = await cur.fetchone()
                if existing is not None:
                    return _job(existing), False
            await cur.execute(COUNT_ACTIVE)
            active = (await cur.fetchone() or {"count": 0})["count"]
            if active >= max_active:
                raise Overloaded(
                    f"{active} jobs are queued or running, the most allowed; try again later.",
                    retry_after=10,
                )
            await cur.execute(INSERT, (job.id, job.metric, job.idempotency_key))
            row = await cur.fetchone()
        assert row is not None
        return _job(row), True

    async def get(self, job_id: JobId) -> Job | None:
        return await self._one(SELECT_ONE, (job_id,))

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_PAGE, {"before": before, "limit": limit + 1})
            rows = await cur.fetchall()
        jobs = [_job(row) for row in rows[:limit]]
        return JobsPage(jobs=jobs, next_cursor=jobs[-1].id if len(rows) > limit else None)

    async def start(self, job_id: JobId, *, worker: str, max_attempts: int) -> Job | None:
        started = await self._one(
            START, {"id": job_id, "worker": worker, "max_attempts": max_attempts}
        )
        return started or await self.get(job_id)

    async def report_progress(self, job_id: JobId, attempt: int, progress: float) -> bool:
        async with database_errors(), self._pool.connection() as conn:
            cur = await conn.execute(
                PROGRESS, {"id": job_id, "attempt": attempt, "progress": progress}
            )
            row = await cur.fetchone()
        return bool(row and row[0])

    async def finish(
        self,
        job_id: JobId,
        attempt: int,
        *,
        result: int | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> Job | None:
        status = (
            JobStatus.CANCELLED
            if cancelled
            else JobStatus.FAILED
            if error is not None
            else JobStatus.SUCCEEDED
        )
        return await self._one(
            FINISH,
            {
                "id": job_id,
                "attempt": attempt,
                "status": status.value,
                "result": result,
                "error": error,
            },
        )

    async def fail_lost(self, *, running_for: float) -> int:
        async with database_errors(), self._pool.connection() as conn:
            cur = await conn.execute(FAIL_LOST, (running_for,))
            return cur.rowcount

    async def fail_queued(self, job_id: JobId, error: str) -> None:
        async with database_errors(), self._pool.connection() as conn:
            await conn.execute(FAIL_QUEUED, (error, job_id))

    async def cancel(self, job_id: JobId) -> Job | None:
        return await self._one(CANCEL, (job_id,))

    async def _one(self, query: sql.Composed, params: Any) -> Job | None:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            row = await cur.fetchone()
        return _job(row) if row else None


def _job(row: dict[str, Any]) -> Job:
    result = row["result"]
    return Job(
        id=JobId(row["id"]),
        metric=row["metric"],
        status=JobStatus(row["status"]),
        progress=float(row["progress"]),
        result=int(result) if result is not None else None,
        error=row["error"],
        attempts=row["attempts"],
        cancel_requested=row["cancel_requested"],
        idempotency_key=row["idempotency_key"],
        worker=row["worker"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
