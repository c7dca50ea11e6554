-- A job may run a finished one again (POST /jobs/{id}/rerun): it names it. The link is dropped,
-- not the new job, when retention deletes the old one.
ALTER TABLE experiments.jobs
    ADD COLUMN rerun_of uuid REFERENCES experiments.jobs (id) ON DELETE SET NULL;
CREATE INDEX jobs_rerun_of ON experiments.jobs (rerun_of) WHERE rerun_of IS NOT NULL;
-- Retention deletes finished jobs oldest first.
CREATE INDEX jobs_finished ON experiments.jobs (finished_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled');
