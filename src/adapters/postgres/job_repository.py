"""The job store in `experiments.jobs`: rows in, rows out, each change a compare-and-set."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import msgspec
from psycopg import DataError, IntegrityError, sql
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from adapters.grouping import Grouped
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
), given AS (
    SELECT * FROM json_populate_recordset(NULL::experiments.jobs, %(jobs)s::json)
    WITH ORDINALITY
), existing AS (
    SELECT given.ordinality AS n, {stored}
    FROM given JOIN experiments.jobs AS job ON job.idempotency_key = given.idempotency_key
), admitted AS (
    SELECT given.*, row_number() OVER (ORDER BY given.ordinality) AS rank
    FROM given WHERE given.ordinality NOT IN (SELECT n FROM existing)
), inserted AS (
    INSERT INTO experiments.jobs ({columns})
    SELECT {new} FROM admitted, slot WHERE slot.count + admitted.rank <= %(max_active)s
    RETURNING id
)
SELECT inserted.id IS NOT NULL AS created, (SELECT count FROM slot) AS active, {found}
FROM given
LEFT JOIN inserted ON inserted.id = given.id
LEFT JOIN existing ON existing.n = given.ordinality
ORDER BY given.ordinality
""")
    .format(
        columns=COLUMNS,
        stored=sql.SQL(", ").join(sql.Identifier("job", name) for name in FIELDS),
        new=sql.SQL(", ").join(sql.Identifier("admitted", name) for name in FIELDS),
        found=sql.SQL(", ").join(sql.Identifier("existing", name) for name in FIELDS),
    )
    .as_bytes()
)
"""Launches in one statement, a row for each job given (a JSON array of them), in order: the
job of its idempotency key if there is one (no two given share a key), else whether it went
in, which it does while the active count (migration 0006's row, locked so statements pass the
cap one at a time) plus the new jobs before it stays under the cap; else only that count. A
new job is not read back: no trigger changes a row as it goes in, so it is the job given."""
MAX_GROUP = 100
"""At most this many launches in one statement."""
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


_Outcome = tuple[Job, bool] | Exception
"""A launch's job and whether it is new, or why it was not admitted (`TooManyJobs`, ...)."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """A launch waiting for its statement."""

    job: Job
    max_active: int


def _can_share(group: builtins.list[_Asked], asked: _Asked) -> bool:
    """Whether a launch may join a statement: it holds no more than `MAX_GROUP`, one cap, and
    no key twice."""
    key = asked.job.idempotency_key
    return (
        len(group) < MAX_GROUP
        and asked.max_active == group[0].max_active
        and (key is None or all(other.job.idempotency_key != key for other in group))
    )


class PostgresJobRepository(JobRepository):
    """The job store. Launches made at the same moment share one statement (`add`): those
    that arrive while a statement runs go in the next one (group commit: under load a
    launch's statement, connection and commit are shared)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._admissions: Grouped[_Asked, tuple[Job, bool]] = Grouped(
            self._admit_group, joins=_can_share
        )

    async def add(self, job: Job, *, max_active: int) -> tuple[Job, bool]:
        return await self._admissions(_Asked(job, max_active))

    async def _admit_group(self, group: builtins.list[_Asked]) -> builtins.list[_Outcome]:
        try:
            async with database_errors():
                return await self._admit_together(group)
        except (IntegrityError, DataError):
            # A key launched elsewhere committed while this statement waited for the count,
            # or one launch's row is refused (a re-run of a job deleted meanwhile): each
            # launch alone, so that each gets its own answer.
            return [await self._admit_alone(asked) for asked in group]

    async def _admit_alone(self, asked: _Asked) -> _Outcome:
        try:
            async with database_errors():
                try:
                    [outcome] = await self._admit_together([asked])
                except UniqueViolation:
                    # The key's job is the answer.
                    async with self._pool.connection() as conn:
                        cur = conn.cursor(row_factory=dict_row)
                        await cur.execute(SELECT_BY_KEY, (asked.job.idempotency_key,))
                        return job_from_row(_one(await cur.fetchone())), False
        except Exception as error:
            return error
        return outcome

    async def _admit_together(self, group: builtins.list[_Asked]) -> builtins.list[_Outcome]:
        given = msgspec.json.encode([_fields(asked.job) for asked in group])
        values = {"jobs": given.decode(), "max_active": group[0].max_active}
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(ADMIT, values, prepare=True)
            rows = await cur.fetchall()
        # A launch refused is told the count with the jobs admitted before it.
        admitted = sum(row["created"] for row in rows)
        outcomes: builtins.list[_Outcome] = []
        for asked, row in zip(group, rows, strict=True):
            if row["created"]:
                outcomes.append((asked.job, True))
            elif row["id"] is not None:
                outcomes.append((job_from_row(row), False))
            else:
                outcomes.append(TooManyJobs(row["active"] + admitted))
        return outcomes

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


def _fields(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in FIELDS}


def _row(job: Job) -> dict[str, Any]:
    """The job's fields as psycopg parameters."""
    return _fields(job) | {
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
