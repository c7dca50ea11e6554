-- How each loaded file was written: its encoding (a Python codec name), delimiter and quote.
-- Tables loaded before were read as UTF-8 with commas and double quotes.
ALTER TABLE experiments.tables
    ADD COLUMN encoding text NOT NULL DEFAULT 'utf-8',
    ADD COLUMN delimiter text NOT NULL DEFAULT ',',
    ADD COLUMN quote text NOT NULL DEFAULT '"';
ALTER TABLE experiments.tables
    ALTER COLUMN encoding DROP DEFAULT,
    ALTER COLUMN delimiter DROP DEFAULT,
    ALTER COLUMN quote DROP DEFAULT;
