-- Passkeys (WebAuthn credentials) and the challenges of their ceremonies.

-- The user handle a passkey carries (WebAuthn `user.id`): random, never the account id, so
-- that an authenticator shown to someone else reveals nothing about the account.
CREATE TABLE passkey_handles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle  BYTEA NOT NULL UNIQUE
);

CREATE TABLE passkeys (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,           -- the library's JSON: public key, counter, flags
    sign_count    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A ceremony's server-side state, under the SHA-256 of a secret only the browser that asked
-- holds (a cookie): single use, short-lived.
CREATE TABLE webauthn_challenges (
    id_hash    BYTEA PRIMARY KEY,
    purpose    TEXT NOT NULL,              -- enrol, sign_in, second_factor
    user_id    BIGINT REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges(expires_at);
