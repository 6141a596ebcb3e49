-- private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9): how each app
-- authenticates at the token, introspection, revocation and device authorization endpoints,
-- its public JWK Set, and the assertion ids (jti) already used, each kept until its exp.

ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic'
    CHECK (token_endpoint_auth_method IN
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'));
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE public;
-- A JSON JWK Set of public keys, for private_key_jwt.
ALTER TABLE clients ADD COLUMN jwks TEXT;

CREATE TABLE client_assertion_jtis (
    client      BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    jti         TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (client, jti)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);
