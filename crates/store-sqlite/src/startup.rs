//! The lock one node at a time holds while it migrates the schema and sets up what there must
//! be one of (the first admin, the signing keys): an exclusive `flock` on `<database>.lock`,
//! which the system releases if the process dies. A file of its own, because closing any
//! descriptor of the database file itself would drop SQLite's own locks on it.

use crate::{SqliteStore, backend};
use keyward_core::store::StoreResult;
use std::fs::{File, OpenOptions};

/// Held until [`StartupLock::release`] or drop.
pub struct StartupLock {
    file: File,
}

impl StartupLock {
    pub fn release(self) -> StoreResult<()> {
        self.file.unlock().map_err(backend)
    }
}

impl SqliteStore {
    /// Waits for, then takes, the start-up lock of this database.
    pub async fn lock_startup(&self) -> StoreResult<StartupLock> {
        let mut path = self.options.get_filename().as_os_str().to_owned();
        path.push(".lock");
        tokio::task::spawn_blocking(move || {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(StartupLock { file })
        })
        .await
        .map_err(backend)?
        .map_err(backend)
    }
}
