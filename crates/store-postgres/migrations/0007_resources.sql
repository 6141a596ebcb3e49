-- Resource servers (RFC 8707): the APIs tokens can be bound to, and what each grant covers.

CREATE TABLE resources (
    id                     BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identifier             TEXT    NOT NULL,
    name_zh                TEXT    NOT NULL,
    name_en                TEXT    NOT NULL,
    scopes                 TEXT    NOT NULL,  -- JSON [{name, description_zh, description_en}]
    token_format           TEXT    NOT NULL CHECK (token_format IN ('opaque', 'jwt')),
    signing_alg            TEXT    NOT NULL,
    access_token_ttl_secs  BIGINT  NOT NULL CHECK (access_token_ttl_secs > 0),
    introspection_client   TEXT,  -- a client_id
    enabled                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    CONSTRAINT resources_identifier_key UNIQUE (identifier)
);

-- JSON array of identifiers; NULL: any enabled resource.
ALTER TABLE clients ADD COLUMN allowed_resources TEXT;
-- ResourceGrants::to_storage: '' for none.
ALTER TABLE consents ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';
