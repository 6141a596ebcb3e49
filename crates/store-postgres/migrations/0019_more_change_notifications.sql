-- Each node also keeps the signing keys and the failure counters it last read in memory
-- (changes.rs): a key rotated at one node is used and published at every other as soon as the
-- notification arrives, and a failure counted at one node is read again everywhere. Same
-- trigger function as 0015, whose payload (the table's name) tells the nodes what to drop.
-- (PostgreSQL only, like 0015: SQLite nodes see each other's commits through the file's
-- data_version.)

CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_notify_change();

CREATE TRIGGER throttle_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON throttle
    FOR EACH STATEMENT EXECUTE FUNCTION keyward_notify_change();
