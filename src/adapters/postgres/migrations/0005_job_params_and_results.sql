-- A job runs one of several metrics: it keeps the parameters it was launched with, the phase
-- its run is in, and a result that is an exact integer (calculate_metric) or a JSON object
-- (ab_test) in one column.
--
-- json, not jsonb: it keeps the text it was given, so numbers read back exactly as written
-- (floats in their shortest round-trip form, integers of any size) and objects in their
-- order. jsonb would keep them as exact numerics too, but print 1e-300 with 300 zeros: the
-- trigger sends each changed row with pg_notify, whose payload must stay under 8000 bytes.
ALTER TABLE experiments.jobs
    ADD COLUMN params json NOT NULL DEFAULT '{}',
    ADD COLUMN phase text,
    ALTER COLUMN result TYPE json USING to_json(result);
