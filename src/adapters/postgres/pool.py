"""The connection pool, and the DDL of the schemas this service owns."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors

DATA_SCHEMA = "csv"
SCHEMA_LOCK = 7_321_000
"""Advisory lock keys (first half) of this service; the second half names what is locked."""

SCHEMA_DDL = """
CREATE SCHEMA IF NOT EXISTS experiments;
CREATE SCHEMA IF NOT EXISTS csv;
CREATE TABLE IF NOT EXISTS experiments.tables (
    name         text PRIMARY KEY,
    source_file  text NOT NULL,
    size_bytes   bigint NOT NULL,
    mtime_ns     bigint NOT NULL,
    sha256       text NOT NULL,
    row_count    bigint NOT NULL,
    columns      jsonb NOT NULL,
    date_column  text,
    user_column  text,
    min_date     text,
    max_date     text,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS experiments.jobs (
    id               uuid PRIMARY KEY,
    metric           text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress         real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    result           numeric,
    error            text,
    attempts         integer NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    idempotency_key  text UNIQUE,
    worker           text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX IF NOT EXISTS jobs_newest_first ON experiments.jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_active ON experiments.jobs (status)
    WHERE status IN ('queued', 'running');
CREATE OR REPLACE FUNCTION experiments.notify_job_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('experiments_jobs', row_to_json(NEW)::text);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER jobs_notify_change AFTER INSERT OR UPDATE ON experiments.jobs
    FOR EACH ROW EXECUTE FUNCTION experiments.notify_job_change();
CREATE TABLE IF NOT EXISTS experiments.load_errors (
    name         text PRIMARY KEY,
    source_file  text NOT NULL,
    size_bytes   bigint NOT NULL,
    mtime_ns     bigint NOT NULL,
    message      text NOT NULL,
    line         integer,
    column_name  text,
    reason       text NOT NULL,
    failed_at    timestamptz NOT NULL DEFAULT now()
);
"""


def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 20, timeout: float = 10.0
) -> AsyncConnectionPool:
    """A closed pool; open it with `await pool.open()`. Sessions speak UTC and ISO dates."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=timeout,
        kwargs={
            "options": "-c TimeZone=UTC -c DateStyle=ISO,YMD",
            "application_name": "experiments",
            "connect_timeout": max(2, round(timeout)),
        },
    )


async def ensure_schema(pool: AsyncConnectionPool) -> None:
    """Creates this service's schemas and catalog tables when missing; safe to run concurrently."""
    async with database_errors(), pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (SCHEMA_LOCK,))
        await conn.execute(SCHEMA_DDL)
