//! Deleting an account in one transaction (`DeletionStore`).

use crate::oauth::cut_off_client;
use crate::rows::audit_entry_from_row;
use crate::{PostgresStore, backend, execute, fetch_all};
use async_trait::async_trait;
use keyward_core::model::Role;
use keyward_core::store::{AccountDeletion, DeletionOutcome, DeletionStore, StoreResult};
use sqlx::Row;

const AUDIT_COLUMNS: &str = "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip \
     FROM audit_log";

#[async_trait]
impl DeletionStore for PostgresStore {
    async fn delete_account(&self, d: &AccountDeletion) -> StoreResult<DeletionOutcome> {
        let mut tx = self.begin().await?;
        // The root accounts are locked first, so that two roots deleting each other at once
        // cannot both see the other one left.
        let roots = fetch_all(
            &mut *tx,
            sqlx::query("SELECT id FROM users WHERE role = $1 ORDER BY id FOR UPDATE")
                .bind(Role::Root.as_i64()),
            |r| r.try_get::<i64, _>(0),
        )
        .await?;
        let role = fetch_all(
            &mut *tx,
            sqlx::query("SELECT role FROM users WHERE id = $1 FOR UPDATE").bind(d.user),
            |r| r.try_get::<i64, _>(0),
        )
        .await?;
        let Some(&role) = role.first() else {
            return Ok(DeletionOutcome::NotFound);
        };
        if role == Role::Root.as_i64() && roots.len() <= 1 {
            return Ok(DeletionOutcome::LastRoot);
        }

        // The account's apps: approved and pending ones are disabled, and every one loses its
        // codes and tokens; the row's deletion leaves them without an owner.
        let apps = fetch_all(
            &mut *tx,
            sqlx::query(
                "SELECT id, client_id, status FROM clients WHERE owner_id = $1 ORDER BY id \
                 FOR UPDATE",
            )
            .bind(d.user),
            |r| {
                Ok((
                    r.try_get::<i64, _>(0)?,
                    r.try_get::<String, _>(1)?,
                    r.try_get::<String, _>(2)?,
                ))
            },
        )
        .await?;
        let mut disabled_apps = Vec::new();
        for (pk, client_id, status) in apps {
            if status == "approved" || status == "pending" {
                let disable = sqlx::query(
                    "UPDATE clients SET status = 'disabled', review_note = $2, updated_at = $3 \
                     WHERE id = $1",
                );
                execute(&mut *tx, disable.bind(pk).bind(&d.app_note).bind(d.now)).await?;
                disabled_apps.push(client_id);
            }
            cut_off_client(&mut tx, pk, d.now).await?;
        }

        // The audit log keeps a pseudonym. Candidates: records by or about the account, and any
        // that mentions its e-mail address (`rewrite` decides).
        let mut candidates = fetch_all(
            &mut *tx,
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{AUDIT_COLUMNS} WHERE actor_id = $1 OR target = $2"
            )))
            .bind(d.user)
            .bind(d.user.to_string()),
            audit_entry_from_row,
        )
        .await?;
        if let Some(email) = d.email.as_deref().filter(|e| !e.is_empty()) {
            candidates.extend(
                fetch_all(
                    &mut *tx,
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{AUDIT_COLUMNS} WHERE strpos(lower(detail), $1) > 0 \
                         OR strpos(lower(target), $1) > 0"
                    )))
                    .bind(email.to_lowercase()),
                    audit_entry_from_row,
                )
                .await?,
            );
        }
        candidates.sort_by_key(|e| e.id);
        candidates.dedup_by_key(|e| e.id);
        for entry in &candidates {
            if let Some(new) = d.rewrite(entry) {
                let update = sqlx::query(
                    "UPDATE audit_log SET actor_id = $2, actor_pseudonym = $3, target = $4, \
                     detail = $5, ip = $6 WHERE id = $1",
                )
                .bind(entry.id)
                .bind(new.actor_id)
                .bind(new.actor_pseudonym)
                .bind(new.target)
                .bind(new.detail)
                .bind(new.ip);
                execute(&mut *tx, update).await?;
            }
        }

        let hold = sqlx::query(
            "INSERT INTO username_holds (name_lower, until) VALUES ($1, $2) \
             ON CONFLICT (name_lower) DO UPDATE \
             SET until = GREATEST(username_holds.until, EXCLUDED.until)",
        );
        execute(&mut *tx, hold.bind(&d.hold_name).bind(d.hold_until)).await?;
        if let Some(email) = &d.email {
            let codes =
                sqlx::query("DELETE FROM verification_codes WHERE lower(email) = lower($1)");
            execute(&mut *tx, codes.bind(email)).await?;
        }
        // Everything else of the account goes with its row (ON DELETE CASCADE; apps: SET NULL).
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM users WHERE id = $1").bind(d.user),
        )
        .await?;
        let record = &d.record;
        let pseudonym = record.actor_id.is_none().then_some(&d.pseudonym);
        let insert = sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_pseudonym, action, target, detail, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.at)
        .bind(record.actor_id)
        .bind(pseudonym)
        .bind(record.action)
        .bind(&record.target)
        .bind(&record.detail)
        .bind(&record.ip);
        execute(&mut *tx, insert).await?;
        tx.commit().await.map_err(backend)?;
        // Its apps were disabled, and deleted with the account.
        self.changes.made_here(crate::changes::Table::Clients);
        Ok(DeletionOutcome::Deleted { disabled_apps })
    }
}
