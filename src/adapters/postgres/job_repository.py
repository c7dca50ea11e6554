"""The job store in `experiments.jobs`: rows in, rows out, each change a compare-and-set."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from psycopg import sql
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.locks import RETENTION_LOCK
from domain.jobs.errors import TooManyJobs
from domain.jobs.model import ANY_JOB, Job, JobFilter, JobId, JobsPage, JobStatus
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
    "rerun_of",
    "published_at",
    "lease_expires_at",
    "republished",
    "losses",
)
COLUMNS = sql.SQL(", ").join(map(sql.Identifier, FIELDS))
CHANGED = tuple(
    name for name in FIELDS if name not in {"id", "metric", "params", "created_at", "rerun_of"}
)
"""What a change may write: everything but the job's identity and what it was asked to run."""

# Each statement is rendered once, here, to the bytes psycopg sends: composing one at every call
# (quoting each identifier for the connection's encoding) took a tenth of a launch's time.
SELECT_BY_KEY = (
    sql.SQL("SELECT {} FROM experiments.jobs WHERE idempotency_key = %s").format(COLUMNS).as_bytes()
)
ADMIT = (
    sql.SQL("""
WITH slot AS (
    SELECT count FROM experiments.active_jobs FOR UPDATE
), existing AS (
    SELECT {columns} FROM experiments.jobs WHERE idempotency_key = %(idempotency_key)s
), inserted AS (
    INSERT INTO experiments.jobs ({columns})
    SELECT {values} FROM slot
    WHERE slot.count < %(max_active)s AND NOT EXISTS (SELECT FROM existing)
    RETURNING 1
)
SELECT false AS created, (SELECT count FROM slot) AS active, {columns} FROM existing
UNION ALL
SELECT true, (SELECT count FROM slot), {nothing} FROM inserted
UNION ALL
SELECT false, slot.count, {nothing} FROM slot
WHERE NOT EXISTS (SELECT FROM existing) AND NOT EXISTS (SELECT FROM inserted)
""")
    .format(
        columns=COLUMNS,
        values=sql.SQL(", ").join(sql.Placeholder(name) for name in FIELDS),
        nothing=sql.SQL(", ").join(sql.SQL("NULL") for _ in FIELDS),
    )
    .as_bytes()
)
"""A launch in one statement: the job of its idempotency key if there is one, else whether the
new job went in, if the active count (migration 0006's row, locked so launches pass the cap
one at a time) is under the cap, else only that count. Always exactly one row. A new job is
not read back: no trigger changes a row as it goes in, so it is the job that was given."""
SELECT_ONE = sql.SQL("SELECT {} FROM experiments.jobs WHERE id = %s").format(COLUMNS).as_bytes()
SELECT_PAGE = (
    sql.SQL("""
SELECT {} FROM experiments.jobs
WHERE (%(before)s::uuid IS NULL
       OR (created_at, id) < (SELECT created_at, id FROM experiments.jobs WHERE id = %(before)s))
  AND (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
  AND (%(metric)s::text IS NULL OR metric = %(metric)s::text)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
""")
    .format(COLUMNS)
    .as_bytes()
)
LOCK_RETENTION = "SELECT pg_try_advisory_xact_lock(%s, 0)"
DELETE_FINISHED = (
    sql.SQL("""
DELETE FROM experiments.jobs WHERE id IN (
    SELECT id FROM experiments.jobs
    WHERE status IN ({}) AND finished_at < %(before)s
    ORDER BY finished_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
""")
    .format(
        sql.SQL(", ").join(sql.Literal(status.value) for status in JobStatus if status.is_final)
    )
    .as_bytes()
)
SAVE = (
    sql.SQL(
        "UPDATE experiments.jobs SET {} WHERE id = %(id)s AND revision = %(expected)s RETURNING {}"
    )
    .format(
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
            for name in CHANGED
        ),
        COLUMNS,
    )
    .as_bytes()
)
SELECT_STALLED = (
    sql.SQL("""
(SELECT {columns} FROM experiments.jobs
 WHERE status = 'queued' AND published_at < %(published_before)s
 ORDER BY published_at LIMIT %(limit)s)
UNION ALL
(SELECT {columns} FROM experiments.jobs
 WHERE status = 'running' AND lease_expires_at < %(now)s
 ORDER BY lease_expires_at LIMIT %(limit)s)
""")
    .format(columns=COLUMNS)
    .as_bytes()
)
"""Each half walks its partial index (migration 0008), oldest first."""


class PostgresJobRepository(JobRepository):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        values = _row(job) | {"max_active": max_active}
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            try:
                await cur.execute(ADMIT, values, prepare=True)
            except UniqueViolation:
                # The same key launched concurrently and committed while this launch waited
                # for the count: that launch's job is the answer.
                await cur.execute(SELECT_BY_KEY, (job.idempotency_key,))
                return job_from_row(_one(await cur.fetchone())), False
            row = _one(await cur.fetchone())
        if row["created"]:
            return job, True
        if row["id"] is None:
            raise TooManyJobs(row["active"])
        return job_from_row(row), False

    async def get(self, job_id: JobId) -> Job | None:
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_ONE, (job_id,))
            row = await cur.fetchone()
        return job_from_row(row) if row else None

    async def list(
        self, *, limit: int, before: JobId | None = None, only: JobFilter = ANY_JOB
    ) -> JobsPage:
        statuses = sorted(status.value for status in only.statuses) or None
        values = {"before": before, "limit": limit + 1, "statuses": statuses, "metric": only.metric}
        async with database_errors(), self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT_PAGE, values)
            rows = await cur.fetchall()
        jobs = [job_from_row(row) for row in rows[:limit]]
        return JobsPage(jobs=jobs, next_cursor=jobs[-1].id if len(rows) > limit else None)

    async def delete_finished(self, *, before: dt.datetime, batch: int) -> int | None:
        async with database_errors(), self._pool.connection() as conn, conn.transaction():
            locked = await (await conn.execute(LOCK_RETENTION, (RETENTION_LOCK,))).fetchone()
            if not (locked and locked[0]):
                return None
            cur = await conn.execute(DELETE_FINISHED, {"before": before, "batch": batch})
            return cur.rowcount

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


def _one(row: dict[str, Any] | None) -> dict[str, Any]:
    assert row is not None, "the statement returns one row"
    return row


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
        rerun_of=JobId(_uuid(row["rerun_of"])) if row.get("rerun_of") is not None else None,
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
