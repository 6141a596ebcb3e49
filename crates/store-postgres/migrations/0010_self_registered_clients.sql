-- Clients that register themselves: by a Client ID Metadata Document (the client_id is the URL
-- of its JSON) or by dynamic registration (RFC 7591). They have no owner.
ALTER TABLE clients ALTER COLUMN owner_id DROP NOT NULL;
-- How the client came to be: 'console' (a developer's app), 'dynamic' (RFC 7591) or
-- 'metadata_document' (its client_id is the https URL of its metadata).
ALTER TABLE clients ADD COLUMN kind TEXT NOT NULL DEFAULT 'console'
    CHECK (kind IN ('console', 'dynamic', 'metadata_document'));
-- Where the client's JWK Set is fetched (through the outbound guard), instead of jwks.
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
-- RFC 7592: the hash of the token that reads, updates and deletes a dynamic registration.
ALTER TABLE clients ADD COLUMN registration_token_hash BYTEA;
-- A metadata-document client's document is fetched again after this time.
ALTER TABLE clients ADD COLUMN metadata_expires_at BIGINT;
-- The last time the client authorized a user or obtained a token.
ALTER TABLE clients ADD COLUMN last_used_at BIGINT;
CREATE INDEX clients_kind ON clients (kind, id);
