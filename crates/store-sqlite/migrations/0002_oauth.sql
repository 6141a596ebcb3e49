-- OAuth apps, consents, codes, token families and tokens, and the audit log.

CREATE TABLE clients (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id                   TEXT    NOT NULL UNIQUE,
    owner_id                    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX clients_owner ON clients (owner_id);
CREATE INDEX clients_status ON clients (status, id);

CREATE TABLE consents (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client        INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- A bit mask (ScopeSet::bits), so that a new consent merges with a bitwise OR.
    scopes        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    PRIMARY KEY (user_id, client)
) WITHOUT ROWID;
CREATE INDEX consents_client ON consents (client);

CREATE TABLE auth_codes (
    code_hash       BLOB    PRIMARY KEY,
    client          INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri    TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    code_challenge  TEXT,
    nonce           TEXT,
    auth_time       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
) WITHOUT ROWID;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
CREATE INDEX auth_codes_user_client ON auth_codes (user_id, client);

-- All tokens from one authorization. Revoking the family revokes them all.
CREATE TABLE token_families (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client      INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    code_hash   BLOB,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX token_families_user_client ON token_families (user_id, client);
CREATE INDEX token_families_code ON token_families (code_hash) WHERE code_hash IS NOT NULL;

CREATE TABLE tokens (
    token_hash  BLOB    PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id   INTEGER NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    scopes      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor_id  INTEGER,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '{}',
    ip        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_action ON audit_log (action, id);
