-- A running job is its worker's while its lease lasts; the worker renews it with every progress
-- write. A sweeper (docs/adr/0014-job-leases-and-a-sweeper.md) queues again the running jobs
-- whose lease ran out, and sends again the queued jobs whose message was sent long ago and
-- never started: the two partial indexes find both without a scan.
ALTER TABLE experiments.jobs
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN published_at timestamptz,
    ADD COLUMN republished integer NOT NULL DEFAULT 0,
    ADD COLUMN losses integer NOT NULL DEFAULT 0;
-- A job running when this migration runs was started by a release without leases: its lease
-- starts now, so that it is recovered if its worker is gone, not failed.
UPDATE experiments.jobs SET published_at = created_at;
UPDATE experiments.jobs SET lease_expires_at = now() WHERE status = 'running';
ALTER TABLE experiments.jobs ALTER COLUMN published_at SET NOT NULL;

CREATE INDEX jobs_queued_by_publication ON experiments.jobs (published_at)
    WHERE status = 'queued';
CREATE INDEX jobs_running_by_lease ON experiments.jobs (lease_expires_at)
    WHERE status = 'running';

-- Totals for monitoring (/metrics), kept by a trigger so that reading them is one small
-- table, whatever the number of jobs: messages the sweeper sent again, and workers lost.
CREATE TABLE experiments.job_counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL DEFAULT 0
);
INSERT INTO experiments.job_counters (name, value)
    SELECT 'republished', coalesce(sum(republished), 0) FROM experiments.jobs
    UNION ALL
    SELECT 'lost', coalesce(sum(losses), 0) FROM experiments.jobs;

CREATE FUNCTION experiments.count_job_recovery() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE experiments.job_counters
       SET value = value + CASE name
           WHEN 'republished' THEN NEW.republished - OLD.republished
           ELSE NEW.losses - OLD.losses
       END
     WHERE name IN ('republished', 'lost');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_count_recovery AFTER UPDATE ON experiments.jobs
    FOR EACH ROW
    WHEN (NEW.republished <> OLD.republished OR NEW.losses <> OLD.losses)
    EXECUTE FUNCTION experiments.count_job_recovery();
