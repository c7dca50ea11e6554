-- Jobs are written with a compare-and-set on a revision that every change increments, and
-- their progress is stored as the double the worker computed, so it reads back unchanged.
ALTER TABLE experiments.jobs
    ADD COLUMN revision integer NOT NULL DEFAULT 1,
    ALTER COLUMN progress TYPE double precision;
