-- Resource servers (RFC 8707): the APIs tokens can be bound to, and what each grant covers.

CREATE TABLE resources (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier             TEXT    NOT NULL UNIQUE,
    name_zh                TEXT    NOT NULL,
    name_en                TEXT    NOT NULL,
    scopes                 TEXT    NOT NULL,  -- JSON [{name, description_zh, description_en}]
    token_format           TEXT    NOT NULL CHECK (token_format IN ('opaque', 'jwt')),
    signing_alg            TEXT    NOT NULL,
    access_token_ttl_secs  INTEGER NOT NULL CHECK (access_token_ttl_secs > 0),
    introspection_client   TEXT,  -- a client_id
    enabled                INTEGER NOT NULL DEFAULT 1,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

-- JSON array of identifiers; NULL: any enabled resource.
ALTER TABLE clients ADD COLUMN allowed_resources TEXT;
-- ResourceGrants::to_storage: '' for none.
ALTER TABLE consents ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';
