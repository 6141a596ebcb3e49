-- no-transaction
-- Account deletion (#16).
--
-- Deleting an account deletes its users row, and with it (ON DELETE CASCADE) its sessions,
-- developer token, identities, two-factor record, consents, codes, device codes, upstream states,
-- mailed codes and token families with their tokens. Its apps are kept, disabled and without an
-- owner, for an admin to delete or approve again: they are not deleted from under the users who
-- authorized them. So clients.owner_id becomes ON DELETE SET NULL, which SQLite can only do by
-- rebuilding the table (as in 0010: foreign keys off while the old table is dropped, or every
-- consent, code and token of every app would cascade away with it).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE clients_new (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id                   TEXT    NOT NULL UNIQUE,
    -- NULL for a self-registered client, and for the app of a deleted account (kept, disabled).
    owner_id                    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name                        TEXT    NOT NULL,
    description                 TEXT    NOT NULL DEFAULT '',
    redirect_uris               TEXT    NOT NULL,  -- JSON array
    post_logout_redirect_uris   TEXT    NOT NULL DEFAULT '[]',
    allowed_scopes              TEXT    NOT NULL,  -- space-separated
    grant_types                 TEXT    NOT NULL,  -- space-separated
    public                      INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    secret_hash                 BLOB,
    previous_secret_hash        BLOB,
    previous_secret_expires_at  INTEGER,
    secret_revealed_at          INTEGER,
    status                      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'disabled')),
    review_note                 TEXT    NOT NULL DEFAULT '',
    trusted                     INTEGER NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1)),
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    id_token_alg                TEXT    NOT NULL DEFAULT 'RS256',
    allowed_resources           TEXT,
    token_endpoint_auth_method  TEXT    NOT NULL DEFAULT 'client_secret_basic'
        CHECK (token_endpoint_auth_method IN
            ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks                        TEXT,
    -- How the client came to be: 'console' (a developer's app), 'dynamic' (RFC 7591) or
    -- 'metadata_document' (its client_id is the https URL of its metadata).
    kind                        TEXT    NOT NULL DEFAULT 'console'
        CHECK (kind IN ('console', 'dynamic', 'metadata_document')),
    -- Where the client's JWK Set is fetched (through the outbound guard), instead of jwks.
    jwks_uri                    TEXT,
    -- RFC 7592: the hash of the token that reads, updates and deletes a dynamic registration.
    registration_token_hash     BLOB,
    -- A metadata-document client's document is fetched again after this time.
    metadata_expires_at         INTEGER,
    -- The last time the client authorized a user or obtained a token.
    last_used_at                INTEGER
);
INSERT INTO clients_new SELECT id, client_id, owner_id, name, description, redirect_uris,
    post_logout_redirect_uris, allowed_scopes, grant_types, public, secret_hash,
    previous_secret_hash, previous_secret_expires_at, secret_revealed_at, status, review_note,
    trusted, created_at, updated_at, id_token_alg, allowed_resources, token_endpoint_auth_method,
    jwks, kind, jwks_uri, registration_token_hash, metadata_expires_at, last_used_at
FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE INDEX clients_owner ON clients (owner_id);
CREATE INDEX clients_status ON clients (status, id);
CREATE INDEX clients_kind ON clients (kind, id);
COMMIT;
PRAGMA foreign_keys = ON;

-- A deleted account's user name, lower-cased as users.username_lower, cannot be taken again
-- until `until` (the setting deleted_username_hold_days at the time of the deletion).
CREATE TABLE username_holds (
    name_lower  TEXT    PRIMARY KEY,
    until       INTEGER NOT NULL
);

-- Audit records whose actor was a deleted account keep this pseudonym instead of its id
-- (`deleted-user:<random>`, the same for every record of that account).
ALTER TABLE audit_log ADD COLUMN actor_pseudonym TEXT;
