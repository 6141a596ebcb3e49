-- Device authorizations (RFC 8628): both codes stored only as SHA-256 hashes.

CREATE TABLE device_codes (
    device_code_hash  BYTEA   PRIMARY KEY,
    user_code_hash    BYTEA   NOT NULL UNIQUE,
    client            BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes            TEXT    NOT NULL,
    -- The APIs asked for (RFC 8707), as ResourceGrants::to_storage.
    resources         TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    -- Who approved (or denied) it, and when they logged in (the id_token's auth_time).
    user_id           BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    auth_time         BIGINT,
    interval_secs     BIGINT  NOT NULL,
    last_polled_at    BIGINT,
    created_at        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    decided_at        BIGINT
);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX device_codes_client ON device_codes (client);
