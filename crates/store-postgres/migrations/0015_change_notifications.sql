-- Each node keeps apps by client_id in memory (changes.rs). Any change to the clients table, by
-- Keyward or by hand, notifies every node listening on `keyward_changes` when it commits, and
-- the nodes drop what they cached. A statement-level trigger, so that no write path can forget.
-- (PostgreSQL only: SQLite nodes see each other's commits through the file's data_version, so
-- the SQLite tree has no 0015.)

CREATE FUNCTION keyward_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyward_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_notify_change();
