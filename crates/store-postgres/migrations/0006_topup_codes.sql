-- Top-up codes: shown once at generation, stored only as SHA-256; redeemed once.

CREATE TABLE topup_codes (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_hash    BYTEA   NOT NULL UNIQUE,
    label        TEXT    NOT NULL DEFAULT '',
    amount       BIGINT  NOT NULL CHECK (amount > 0),
    created_by   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    redeemed_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    redeemed_at  BIGINT
);
