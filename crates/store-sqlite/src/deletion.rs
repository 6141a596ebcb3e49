//! Deleting an account in one transaction (`DeletionStore`).

use crate::SqliteStore;
use crate::db::{all_rows, execute, first_row};
use crate::oauth::cut_off_client;
use crate::rows::audit_entry_from_row;
use async_trait::async_trait;
use keyward_core::model::Role;
use keyward_core::store::{AccountDeletion, DeletionOutcome, DeletionStore, StoreResult};
use rusqlite::{Connection, params};

#[async_trait]
impl DeletionStore for SqliteStore {
    async fn delete_account(&self, deletion: &AccountDeletion) -> StoreResult<DeletionOutcome> {
        self.db().write(|tx| delete_account(tx, deletion)).await
    }
}

fn delete_account(tx: &Connection, d: &AccountDeletion) -> StoreResult<DeletionOutcome> {
    let role: Option<i64> = first_row(tx, "SELECT role FROM users WHERE id = ?1", [d.user], |r| {
        r.get(0)
    })?;
    let Some(role) = role else {
        return Ok(DeletionOutcome::NotFound);
    };
    if role == Role::Root.as_i64() {
        // Writes are serialized (one writer, `BEGIN IMMEDIATE`): no other deletion can count
        // the same roots concurrently.
        let roots: Option<i64> = first_row(
            tx,
            "SELECT count(*) FROM users WHERE role = ?1",
            [Role::Root.as_i64()],
            |r| r.get(0),
        )?;
        if roots.unwrap_or(0) <= 1 {
            return Ok(DeletionOutcome::LastRoot);
        }
    }

    // The account's apps: approved and pending ones are disabled, and every one loses its
    // codes and tokens; the row's deletion leaves them without an owner.
    let apps: Vec<(i64, String, String)> = all_rows(
        tx,
        "SELECT id, client_id, status FROM clients WHERE owner_id = ?1 ORDER BY id",
        [d.user],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut disabled_apps = Vec::new();
    for (pk, client_id, status) in apps {
        if status == "approved" || status == "pending" {
            execute(
                tx,
                "UPDATE clients SET status = 'disabled', review_note = ?2, updated_at = ?3 \
                 WHERE id = ?1",
                params![pk, d.app_note, d.now],
            )?;
            disabled_apps.push(client_id);
        }
        cut_off_client(tx, pk, d.now)?;
    }

    // The audit log keeps a pseudonym. Candidates: records by or about the account, and any
    // that mentions its e-mail address (`rewrite` decides).
    let mut candidates = all_rows(
        tx,
        "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
         WHERE actor_id = ?1 OR target = ?2",
        params![d.user, d.user.to_string()],
        audit_entry_from_row,
    )?;
    if let Some(email) = d.email.as_deref().filter(|e| !e.is_empty()) {
        candidates.extend(all_rows(
            tx,
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
             WHERE instr(lower(detail), ?1) > 0 OR instr(lower(target), ?1) > 0",
            [email.to_lowercase()],
            audit_entry_from_row,
        )?);
    }
    candidates.sort_by_key(|e| e.id);
    candidates.dedup_by_key(|e| e.id);
    for entry in &candidates {
        if let Some(new) = d.rewrite(entry) {
            execute(
                tx,
                "UPDATE audit_log SET actor_id = ?2, actor_pseudonym = ?3, target = ?4, \
                 detail = ?5, ip = ?6 WHERE id = ?1",
                params![
                    entry.id,
                    new.actor_id,
                    new.actor_pseudonym,
                    new.target,
                    new.detail,
                    new.ip
                ],
            )?;
        }
    }

    execute(
        tx,
        "INSERT INTO username_holds (name_lower, until) VALUES (?1, ?2) \
         ON CONFLICT (name_lower) DO UPDATE SET until = max(until, excluded.until)",
        params![d.hold_name, d.hold_until],
    )?;
    if let Some(email) = &d.email {
        execute(
            tx,
            "DELETE FROM verification_codes WHERE lower(email) = lower(?1)",
            [email],
        )?;
    }
    // Everything else of the account goes with its row (ON DELETE CASCADE; apps: SET NULL).
    execute(tx, "DELETE FROM users WHERE id = ?1", [d.user])?;
    let record = &d.record;
    let pseudonym = record.actor_id.is_none().then_some(&d.pseudonym);
    execute(
        tx,
        "INSERT INTO audit_log (at, actor_id, actor_pseudonym, action, target, detail, ip) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            record.at,
            record.actor_id,
            pseudonym,
            record.action,
            record.target,
            record.detail,
            record.ip
        ],
    )?;
    Ok(DeletionOutcome::Deleted { disabled_apps })
}
