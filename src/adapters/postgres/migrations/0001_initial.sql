-- The schema of the first release, which created it with CREATE ... IF NOT EXISTS at start.
-- A database that has it without the migrations table is taken to be at this version.
-- The schema experiments itself is created by the migration runner, to hold its history.
CREATE SCHEMA csv;
CREATE TABLE experiments.tables (
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
CREATE TABLE experiments.jobs (
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
CREATE INDEX jobs_newest_first ON experiments.jobs (created_at DESC, id DESC);
CREATE INDEX jobs_active ON experiments.jobs (status)
    WHERE status IN ('queued', 'running');
CREATE FUNCTION experiments.notify_job_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('experiments_jobs', row_to_json(NEW)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_change AFTER INSERT OR UPDATE ON experiments.jobs
    FOR EACH ROW EXECUTE FUNCTION experiments.notify_job_change();
CREATE TABLE experiments.load_errors (
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
