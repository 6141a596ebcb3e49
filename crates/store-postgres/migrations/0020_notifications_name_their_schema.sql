-- The change notifications of 0015/0017/0019 named only the table, and notifications reach every
-- session listening on the database, whatever its schema: where several Keyward installations
-- share one database, one per schema, each node dropped its caches at every write of every other
-- installation. The payload is now `schema.table`; a node acts only on its own schema's
-- (changes.rs). Nodes of an older release read the new payload as unknown and drop everything,
-- which is what they did before for any change.

CREATE OR REPLACE FUNCTION keyward_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyward_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END
$$;
