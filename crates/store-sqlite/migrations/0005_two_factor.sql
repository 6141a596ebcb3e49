-- Two-factor authentication (TOTP) and half-finished logins that wait for the second factor.

ALTER TABLE users ADD COLUMN totp_secret BLOB;            -- encrypted with the master key
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]'; -- SHA-256 hex of each

-- A session with mfa_pending = 1 proves the first factor only: it authorizes nothing but the
-- second-factor step.
ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;
