-- Top-up codes: shown once at generation, stored only as SHA-256; redeemed once.

CREATE TABLE topup_codes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash    BLOB    NOT NULL UNIQUE,
    label        TEXT    NOT NULL DEFAULT '',
    amount       INTEGER NOT NULL CHECK (amount > 0),
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    redeemed_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    redeemed_at  INTEGER
);
