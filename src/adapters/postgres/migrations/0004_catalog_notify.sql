-- Each API process keeps the catalog in memory; every change to it (a load, a touched file's
-- new stat, a failure recorded or forgotten) is sent at commit on the experiments_catalog
-- channel, with the table's name, so that every process drops its copy at once.
CREATE FUNCTION experiments.notify_catalog_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'experiments_catalog',
        CASE TG_OP WHEN 'DELETE' THEN OLD.name ELSE NEW.name END
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER tables_notify_change AFTER INSERT OR UPDATE OR DELETE ON experiments.tables
    FOR EACH ROW EXECUTE FUNCTION experiments.notify_catalog_change();
CREATE TRIGGER load_errors_notify_change AFTER INSERT OR UPDATE OR DELETE
    ON experiments.load_errors
    FOR EACH ROW EXECUTE FUNCTION experiments.notify_catalog_change();
