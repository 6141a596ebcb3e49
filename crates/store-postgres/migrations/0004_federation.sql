-- Upstream login flows, e-mail verification codes, and operator secrets.

-- One row per upstream login/bind attempt, deleted when its callback arrives (used or not).
CREATE TABLE upstream_states (
    state_hash     BYTEA   PRIMARY KEY,
    -- SHA-256 of the flow cookie of the browser that started it.
    browser_hash   BYTEA   NOT NULL,
    -- Empty when the flow was started without naming its provider (new-api's SPA).
    provider       TEXT    NOT NULL DEFAULT '',
    intent         TEXT    NOT NULL CHECK (intent IN ('login', 'bind')),
    user_id        BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    aff_code       TEXT    NOT NULL DEFAULT '',
    pkce_verifier  TEXT,
    nonce          TEXT,
    return_to      TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX upstream_states_expires ON upstream_states (expires_at);

-- One live code per (purpose, address); a new one replaces the old.
CREATE TABLE verification_codes (
    purpose     TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    user_id     BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    code_hash   BYTEA   NOT NULL,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (purpose, email)
);

-- Provider client secrets, bot tokens, SMTP passwords: encrypted with the master key.
CREATE TABLE operator_secrets (
    name        TEXT    PRIMARY KEY,
    ciphertext  BYTEA   NOT NULL,
    updated_at  BIGINT  NOT NULL
);
