"""The job store in `experiments.jobs`: rows in, rows out, each change a compare-and-set."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.locks import LAUNCH_LOCK
from domain.jobs.errors import TooManyJobs
from domain.jobs.model import Job, JobId, JobsPage, JobStatus
from domain.jobs.ports import JobRepository

FIELDS = (
    "id",
    "metric",
    "params",
    "status",
    "progress",
    "phase",
    "result",
    "error",
    "attempts",
    "cancel_requested",
    "idempotency_key",
    "worker",
    "created_at",
    "started_at",
    "finished_at",
    "revision",
    "published_at",
    "lease_expires_at",
    "republished",
    "losses",
)
COLUMNS = sql.SQL(", ").join(map(sql.Identifier, FIELDS))
CHANGED = tuple(name for name in FIELDS if name not in {"id", "metric", "params", "created_at"})
"""What a change may write: everything but the job's identity and what it was asked to run."""

SELECT_BY_KEY = sql.SQL("SELECT {} FROM experiments.jobs WHERE idempotency_key = %s").format(
    COLUMNS
)
COUNT_ACTIVE = sql.SQL("SELECT count(*) FROM experiments.jobs WHERE status IN ({})").format(
    sql.SQL(", ").join(sql.Literal(status.value) for status in JobStatus if status.is_active)
)
INSERT = sql.SQL("INSERT INTO experiments.jobs ({}) VALUES ({}) RETURNING {}").format(
    COLUMNS, sql.SQL(", ").join(sql.Placeholder(name) for name in FIELDS), COLUMNS
)
SELECT_ONE = sql.SQL("SELECT {} FROM experiments.jobs WHERE id = %s").format(COLUMNS)
SELECT_PAGE = sql.SQL("""
SELECT {} FROM experiments.jobs
WHERE %(before)s::uuid IS NULL
   OR (created_at, id) < (SELECT created_at, id FROM experiments.jobs WHERE id = %(before)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
""").format(COLUMNS)
SAVE = sql.SQL(
    "UPDATE experiments.jobs SET {} WHERE id = %(id)s AND revision = %(expected)s RETURNING {}"
).format(
    sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in CHANGED
    ),
    COLUMNS,
)
SELECT_STALLED = sql.SQL("""
(SELECT {columns} FROM experiments.jobs
 WHERE status = 'queued' AND published_at < %(published_before)s
 ORDER BY published_at LIMIT %(limit)s)
UNION ALL
(SELECT {columns} FROM experiments.jobs
 WHERE status = 'running' AND lease_expires_at < %(now)s
 ORDER BY lease_expires_at LIMIT %(limit)s)
""").format(columns=COLUMNS)
"""Each half walks its partial index (migration 0007), oldest first."""
SELECT_COUNTERS = "SELECT name, value FROM experiments.job_counters"
"""The totals for monitoring: `republished` (messages the sweeper sent again) and `lost`
(workers lost while running a job), kept by a trigger on the jobs."""


class PostgresJobRepository(JobRepository):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        async with database_errors(), self._pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            # Launches queue up here so the count and the insert cannot interleave.
            await cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LAUNCH_LOCK,))
            if job.idempotency_key is not None:
                await cur.execute(SELECT_BY_KEY, (job.idempotency_key,))
                existing = await cur.fetchone()
                if existing is not None:
                    return job_from_row(existing), False
            await cur.execute(COUNT_ACTIVE)
            active = (await cur.fetchone() or {"count": 0})["count"]
            if active >= max_active:
                raise TooManyJobs(active)
            await cur.execute(INSERT, _row(job))
            row = await cur.fetchone()
        assert row is not None
        return job_from_row(row), True

    async def get(self, job_id: JobId) -> Job | None:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_ONE, (job_id,))
            row = await cur.fetchone()
        return job_from_row(row) if row else None

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_PAGE, {"before": before, "limit": limit + 1})
            rows = await cur.fetchall()
        jobs = [job_from_row(row) for row in rows[:limit]]
        return JobsPage(jobs=jobs, next_cursor=jobs[-1].id if len(rows) > limit else None)

    async def save(self, job: Job, *, expected: Job) -> Job | None:
        row = _row(replace(job, revision=expected.revision + 1)) | {"expected": expected.revision}
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SAVE, row)
            saved = await cur.fetchone()
        return job_from_row(saved) if saved else None

    async def stalled(
        self, *, now: dt.datetime, published_before: dt.datetime, limit: int
    ) -> builtins.list[Job]:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                SELECT_STALLED, {"now": now, "published_before": published_before, "limit": limit}
            )
            return [job_from_row(row) for row in await cur.fetchall()]

    async def recovery_counts(self) -> dict[str, int]:
        """`republished` and `lost` since the jobs table exists, for a metrics endpoint."""
        async with database_errors(), self._pool.connection() as conn:
            cur = await conn.execute(SELECT_COUNTERS)
            return {name: int(value) for name, value in await cur.fetchall()}


def _row(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in FIELDS} | {
        "status": job.status.value,
        "params": Json(job.params),
        "result": Json(job.result) if job.result is not None else None,
    }


def job_from_row(row: Mapping[str, Any]) -> Job:
    """A job from its row, as the driver reads it or as `row_to_json` sends it (the job feed's
    notifications): ids and timestamps may come as text there. `params` and `result` are
    json columns: the driver and `json.loads` read them alike, integers of any size exactly."""
    return Job(
        id=JobId(_uuid(row["id"])),
        metric=row["metric"],
        params=dict(row["params"]),
        status=JobStatus(row["status"]),
        progress=float(row["progress"]),
        phase=row["phase"],
        result=row["result"],
        error=row["error"],
        attempts=row["attempts"],
        cancel_requested=row["cancel_requested"],
        idempotency_key=row["idempotency_key"],
        worker=row["worker"],
        created_at=_moment(row["created_at"]),
        started_at=_moment(row["started_at"]) if row["started_at"] is not None else None,
        finished_at=_moment(row["finished_at"]) if row["finished_at"] is not None else None,
        revision=row["revision"],
        published_at=_moment(row["published_at"]),
        lease_expires_at=(
            _moment(row["lease_expires_at"]) if row["lease_expires_at"] is not None else None
        ),
        republished=row["republished"],
        losses=row["losses"],
    )


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _moment(value: dt.datetime | str) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
