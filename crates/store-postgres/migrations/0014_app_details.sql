-- What consent pages show about an app beyond its name (RFC 7591 §2 names: logo_uri,
-- client_uri for the homepage, policy_uri), and a change its owner asked for that waits for an
-- admin's review: the whole requested configuration as JSON (core's ClientDetails), the
-- approved one staying in force meanwhile. reviewed_at: when an admin last approved the app or
-- a change of it; cleared when its name, logo, redirect URIs or scopes change unreviewed.
ALTER TABLE clients ADD COLUMN logo_uri TEXT;
ALTER TABLE clients ADD COLUMN client_uri TEXT;
ALTER TABLE clients ADD COLUMN policy_uri TEXT;
ALTER TABLE clients ADD COLUMN pending_change TEXT;
ALTER TABLE clients ADD COLUMN pending_since BIGINT;
ALTER TABLE clients ADD COLUMN reviewed_at BIGINT;
