-- Each node keeps the settings document in memory (keyward_core::settings::SettingsCache). Any
-- change to it, by Keyward or by hand, notifies every node listening on `keyward_changes` when it
-- commits (the function of 0015, with the table's name as the payload), and the nodes read it
-- again. (PostgreSQL only: SQLite nodes re-read the document every few seconds.)

CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_notify_change();
