-- Accounts, sessions, developer tokens, throttling and settings.
-- Times are Unix seconds; secrets are stored only as SHA-256 (32-byte BLOBs).

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid            TEXT    NOT NULL UNIQUE,
    username        TEXT    NOT NULL,
    -- Lower-cased in Rust, so that "Alice" and "alice" are one name on every backend.
    username_lower  TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    email           TEXT,
    email_verified  INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    password_hash   TEXT,
    avatar_url      TEXT    NOT NULL DEFAULT '',
    level           INTEGER NOT NULL DEFAULT 0,
    role            INTEGER NOT NULL DEFAULT 1 CHECK (role IN (1, 10, 100)),
    status          INTEGER NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
    quota           INTEGER NOT NULL DEFAULT 0 CHECK (quota >= 0),
    used_quota      INTEGER NOT NULL DEFAULT 0 CHECK (used_quota >= 0),
    aff_code        TEXT    NOT NULL,
    inviter_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_login_at   INTEGER
);
CREATE UNIQUE INDEX users_username_lower ON users (username_lower);
CREATE UNIQUE INDEX users_aff_code ON users (aff_code);
-- Only a verified address is exclusive: an unverified claim must not lock out its real owner.
CREATE UNIQUE INDEX users_verified_email ON users (email) WHERE email_verified = 1;
CREATE INDEX users_role ON users (role) WHERE role >= 10;

-- Upstream identities (GitHub, OIDC, LinuxDO, WeChat, Telegram): one account per identity,
-- one identity per provider per account.
CREATE TABLE identities (
    provider    TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE UNIQUE INDEX identities_user_provider ON identities (user_id, provider);

CREATE TABLE sessions (
    id_hash       BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE developer_tokens (
    token_hash    BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) WITHOUT ROWID;

-- Fixed-window failure counters (login attempts...), shared by every node.
CREATE TABLE throttle (
    key           TEXT    PRIMARY KEY,
    count         INTEGER NOT NULL,
    window_start  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
