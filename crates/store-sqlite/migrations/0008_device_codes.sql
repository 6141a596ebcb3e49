-- Device authorizations (RFC 8628): both codes stored only as SHA-256 hashes.

CREATE TABLE device_codes (
    device_code_hash  BLOB    PRIMARY KEY,
    user_code_hash    BLOB    NOT NULL UNIQUE,
    client            INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes            TEXT    NOT NULL,
    -- The APIs asked for (RFC 8707), as ResourceGrants::to_storage.
    resources         TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    -- Who approved (or denied) it, and when they logged in (the id_token's auth_time).
    user_id           INTEGER REFERENCES users (id) ON DELETE CASCADE,
    auth_time         INTEGER,
    interval_secs     INTEGER NOT NULL,
    last_polled_at    INTEGER,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    decided_at        INTEGER
) WITHOUT ROWID;
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX device_codes_client ON device_codes (client);
