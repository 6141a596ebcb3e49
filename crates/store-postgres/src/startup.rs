//! The lock one node at a time holds while it migrates the schema and sets up what there must
//! be one of (the first admin, the signing keys): a session-level advisory lock per schema, on
//! a connection of its own (not the pool's: a pooled connection would go back to the pool still
//! holding it). The server releases it if the connection or the node dies.

use crate::{PostgresStore, backend};
use keyward_core::store::StoreResult;
use sqlx::{Connection as _, PgConnection};

/// Keyward's start-up lock: with the schema's hash, the two keys of `pg_advisory_lock`.
const LOCK: &str =
    "SELECT pg_advisory_lock(hashtext('keyward.startup'), hashtext(current_schema()))";
const UNLOCK: &str =
    "SELECT pg_advisory_unlock(hashtext('keyward.startup'), hashtext(current_schema()))";

/// Held until [`StartupLock::release`], or until dropped (its connection closes).
pub struct StartupLock {
    pub(crate) connection: PgConnection,
}

impl StartupLock {
    pub async fn release(mut self) -> StoreResult<()> {
        sqlx::query(UNLOCK)
            .execute(&mut self.connection)
            .await
            .map_err(backend)?;
        self.connection.close().await.map_err(backend)
    }
}

impl PostgresStore {
    /// Waits for, then takes, the start-up lock of this database's schema.
    pub async fn lock_startup(&self) -> StoreResult<StartupLock> {
        let options = self.pool.connect_options();
        let mut connection = PgConnection::connect_with(&options)
            .await
            .map_err(backend)?;
        sqlx::query(LOCK)
            .execute(&mut connection)
            .await
            .map_err(backend)?;
        Ok(StartupLock { connection })
    }
}
