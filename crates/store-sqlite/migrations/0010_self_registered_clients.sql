-- no-transaction
-- Clients that register themselves: by a Client ID Metadata Document (the client_id is the URL
-- of its JSON) or by dynamic registration (RFC 7591). They have no owner, so owner_id becomes
-- nullable, which SQLite can only do by rebuilding the table (its documented twelve steps):
-- foreign keys must be off while the old table is dropped, or every consent, code and token
-- would cascade away with it, and PRAGMA foreign_keys cannot change inside a transaction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE clients_new (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id                   TEXT    NOT NULL UNIQUE,
    -- NULL for a self-registered client.
    owner_id                    INTEGER REFERENCES users (id) ON DELETE CASCADE,
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
INSERT INTO clients_new (id, client_id, owner_id, name, description, redirect_uris,
    post_logout_redirect_uris, allowed_scopes, grant_types, public, secret_hash,
    previous_secret_hash, previous_secret_expires_at, secret_revealed_at, status, review_note,
    trusted, created_at, updated_at, id_token_alg, allowed_resources, token_endpoint_auth_method,
    jwks)
SELECT id, client_id, owner_id, name, description, redirect_uris, post_logout_redirect_uris,
    allowed_scopes, grant_types, public, secret_hash, previous_secret_hash,
    previous_secret_expires_at, secret_revealed_at, status, review_note, trusted, created_at,
    updated_at, id_token_alg, allowed_resources, token_endpoint_auth_method, jwks
FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE INDEX clients_owner ON clients (owner_id);
CREATE INDEX clients_status ON clients (status, id);
CREATE INDEX clients_kind ON clients (kind, id);
COMMIT;
PRAGMA foreign_keys = ON;
