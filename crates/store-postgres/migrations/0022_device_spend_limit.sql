-- The spending limit an app suggests at the device authorization endpoint (issue #19), as at the
-- authorize endpoint: it pre-fills the device consent page's limit form. Both NULL without one.
ALTER TABLE device_codes ADD COLUMN spend_limit BIGINT;
ALTER TABLE device_codes ADD COLUMN spend_period TEXT;
