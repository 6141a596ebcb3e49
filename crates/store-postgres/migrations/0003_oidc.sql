-- OpenID Connect signing keys (private halves encrypted with the master key) and the
-- per-app id_token algorithm.

CREATE TABLE signing_keys (
    kid          TEXT    PRIMARY KEY,
    alg          TEXT    NOT NULL,
    private_key  BYTEA   NOT NULL,
    public_jwk   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    not_before   BIGINT  NOT NULL
);

ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';
