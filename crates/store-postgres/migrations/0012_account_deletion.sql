-- Account deletion (#16).
--
-- Deleting an account deletes its users row, and with it (ON DELETE CASCADE) its sessions,
-- developer token, identities, two-factor record, consents, codes, device codes, upstream states,
-- mailed codes and token families with their tokens. Its apps are kept, disabled and without an
-- owner, for an admin to delete or approve again: they are not deleted from under the users who
-- authorized them.
ALTER TABLE clients DROP CONSTRAINT clients_owner_id_fkey;
ALTER TABLE clients ADD CONSTRAINT clients_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL;

-- A deleted account's user name, lower-cased as users.username_lower, cannot be taken again
-- until `until` (the setting deleted_username_hold_days at the time of the deletion).
CREATE TABLE username_holds (
    name_lower  TEXT    PRIMARY KEY,
    until       BIGINT  NOT NULL
);

-- Audit records whose actor was a deleted account keep this pseudonym instead of its id
-- (`deleted-user:<random>`, the same for every record of that account).
ALTER TABLE audit_log ADD COLUMN actor_pseudonym TEXT;
