-- OAuth apps, consents, codes, token families and tokens, and the audit log.

CREATE TABLE clients (
    id                          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id                   TEXT    NOT NULL UNIQUE,
    owner_id                    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                        TEXT    NOT NULL,
    description                 TEXT    NOT NULL DEFAULT '',
    redirect_uris               TEXT    NOT NULL,  -- JSON array
    post_logout_redirect_uris   TEXT    NOT NULL DEFAULT '[]',
    allowed_scopes              TEXT    NOT NULL,  -- space-separated
    grant_types                 TEXT    NOT NULL,  -- space-separated
    public                      BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash                 BYTEA,
    previous_secret_hash        BYTEA,
    previous_secret_expires_at  BIGINT ,
    secret_revealed_at          BIGINT ,
    status                      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'disabled')),
    review_note                 TEXT    NOT NULL DEFAULT '',
    trusted                     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL
);
CREATE INDEX clients_owner ON clients (owner_id);
CREATE INDEX clients_status ON clients (status, id);

CREATE TABLE consents (
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client        BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- A bit mask (ScopeSet::bits), so that a new consent merges with a bitwise OR.
    scopes        BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    last_used_at  BIGINT ,
    PRIMARY KEY (user_id, client)
);
CREATE INDEX consents_client ON consents (client);

CREATE TABLE auth_codes (
    code_hash       BYTEA   PRIMARY KEY,
    client          BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri    TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    code_challenge  TEXT,
    nonce           TEXT,
    auth_time       BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    used_at         BIGINT 
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
CREATE INDEX auth_codes_user_client ON auth_codes (user_id, client);

-- All tokens from one authorization. Revoking the family revokes them all.
CREATE TABLE token_families (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client      BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    code_hash   BYTEA,
    auth_time   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT 
);
CREATE INDEX token_families_user_client ON token_families (user_id, client);
CREATE INDEX token_families_code ON token_families (code_hash) WHERE code_hash IS NOT NULL;

CREATE TABLE tokens (
    token_hash  BYTEA   PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id   BIGINT  NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    scopes      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT ,
    revoked_at  BIGINT 
);
CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE audit_log (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT  NOT NULL,
    actor_id  BIGINT ,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '{}',
    ip        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_action ON audit_log (action, id);
