-- What an app spent in the current window of the user's limit, kept on the consent (issue #19):
-- a charge read it instead of summing every ledger entry of the window, which grew with each
-- charge (about 1 ms per charge after ten thousand in a month). `spent_in_window` is charges
-- minus refunds of this app on this user at or after `spent_window_start`; a charge in a window
-- that moved on (a new day or month) sums that window's few entries once and starts again.
ALTER TABLE consents ADD COLUMN spent_window_start INTEGER;
ALTER TABLE consents ADD COLUMN spent_in_window INTEGER NOT NULL DEFAULT 0;
