-- The export and the security activity read the audit records about one user: those targeting
-- the user's id and those the user did.
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
