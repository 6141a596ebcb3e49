//! Which of this node's cached reads another node may have changed.
//!
//! A trigger on every cached table (migrations 0015, 0017, 0019) notifies the channel
//! `keyward_changes` with the schema and table's name when a change commits, whichever node or
//! person made it. Each node listens on a connection of its own and moves that table's generation on with
//! every notification; cached reads are tagged with the generation current before they were read
//! (`keyward_core::store::cache`), so the next read after a notification goes to the database.
//! Until the listener is connected, and from the moment its connection is lost until it is back,
//! nothing is served from memory.
//!
//! Each table has a generation of its own (the notification's payload names the table), so that
//! an app's change does not make every node re-read the settings, nor the reverse. The payload
//! names the schema too (migration 0020): notifications reach every listener on the database,
//! and another installation sharing it in a schema of its own must not empty this one's caches.
//!
//! What this does not give: exactness across nodes. A change committed at node A is seen at
//! node B when the notification arrives (well under a millisecond on a local network), not at
//! A's commit. That is why only what changes rarely and races with requests in flight anyway is
//! cached here: apps, the settings, signing keys, and the failure counters a token request reads
//! before its work (a burst at other nodes is counted exactly by their atomic increments; only
//! the read that refuses an address already over its budget may lag by that much). Bearer tokens
//! are checked against the database on every request, so a revocation at one node is refused at
//! every other at once.

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub(crate) const CHANNEL: &str = "keyward_changes";

/// How long to wait before connecting again after the listener failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A connection that died without a word (no reset, no end of stream) delivers nothing; every
/// this often the cache starts over anyway, which bounds what such a silence can hide.
const FORGET_EVERY: Duration = Duration::from_secs(30);

/// What a notification's payload (`schema.table`, migration 0020) says to a node whose tables
/// are in `schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    Moved(Table),
    /// Another installation's schema: nothing of ours changed.
    Elsewhere,
    /// A table or payload this release does not know: drop everything.
    Unknown,
}

impl Notice {
    fn read(payload: &str, schema: &str) -> Self {
        match payload.rsplit_once('.') {
            Some((of, _)) if of != schema => Self::Elsewhere,
            Some((_, table)) => Table::named(table).map_or(Self::Unknown, Self::Moved),
            None => Self::Unknown,
        }
    }
}

/// A cached table (each with a trigger, migrations 0015, 0017, 0019): each has a generation of
/// its own, so that a failure counted somewhere does not drop the apps cached everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Clients,
    Settings,
    SigningKeys,
    Throttle,
}

impl Table {
    const ALL: [Self; 4] = [
        Self::Clients,
        Self::Settings,
        Self::SigningKeys,
        Self::Throttle,
    ];

    fn named(table: &str) -> Option<Self> {
        Some(match table {
            "clients" => Self::Clients,
            "settings" => Self::Settings,
            "signing_keys" => Self::SigningKeys,
            "throttle" => Self::Throttle,
            _ => return None,
        })
    }
}

#[derive(Default)]
pub(crate) struct Changes {
    generations: [AtomicU64; Table::ALL.len()],
    listening: AtomicBool,
}

impl Changes {
    /// The generation to tag a cached read of `table` with, or `None` while notifications may
    /// be missed.
    pub(crate) fn generation(&self, table: Table) -> Option<u64> {
        // Generation first: a notification that lands between the two loads moves it on after
        // the read, so what is cached under the old one is never served.
        let generation = self.generations[table as usize].load(Ordering::Acquire);
        self.listening.load(Ordering::Acquire).then_some(generation)
    }

    /// A change this node made to `table` has committed: its own notification comes later, but
    /// its next request must not be served what was cached before.
    pub(crate) fn made_here(&self, table: Table) {
        self.moved(table);
    }

    fn moved(&self, table: Table) {
        self.generations[table as usize].fetch_add(1, Ordering::AcqRel);
    }

    /// A notification about `payload`, to a node whose tables are in `schema`.
    fn notified(&self, payload: &str, schema: &str) {
        match Notice::read(payload, schema) {
            Notice::Moved(table) => self.moved(table),
            Notice::Elsewhere => {}
            Notice::Unknown => self.forget_all(),
        }
    }

    fn forget_all(&self) {
        for table in Table::ALL {
            self.moved(table);
        }
    }

    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.forget_all();
    }
}

/// Listens for changes until the returned task is aborted (when the store is dropped).
pub(crate) fn listen(
    options: PgConnectOptions,
    changes: Arc<Changes>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match follow(&options, &changes).await {
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "lost the change notifications; retrying"),
            }
            changes.set_listening(false);
            tokio::time::sleep(RETRY_AFTER).await;
        }
    })
}

/// Follows the notifications on one connection; returns when it fails.
async fn follow(options: &PgConnectOptions, changes: &Changes) -> Result<(), sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone())
        .await?;
    // The schema this node's tables are in (the connection's search_path), as triggers name it.
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&pool)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    // Whatever changed before now was missed: start over.
    changes.set_listening(true);
    let mut forget = tokio::time::interval(FORGET_EVERY);
    loop {
        tokio::select! {
            received = listener.try_recv() => match received? {
                Some(notification) => changes.notified(notification.payload(), &schema),
                // The connection was lost and made again: what came in between is lost.
                None => changes.forget_all(),
            },
            _ = forget.tick() => changes.forget_all(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Changes, Notice, Table};

    #[test]
    fn only_this_schemas_changes_move_its_tables() {
        assert_eq!(
            Notice::read("public.clients", "public"),
            Notice::Moved(Table::Clients)
        );
        assert_eq!(
            Notice::read("kw_a.throttle", "kw_a"),
            Notice::Moved(Table::Throttle)
        );
        assert_eq!(Notice::read("kw_b.throttle", "kw_a"), Notice::Elsewhere);
        assert_eq!(Notice::read("kw_a.users", "kw_a"), Notice::Unknown);
        // The payload before migration 0020, from a trigger not yet replaced.
        assert_eq!(Notice::read("clients", "kw_a"), Notice::Unknown);

        let changes = Changes::default();
        changes.set_listening(true);
        let before = changes.generation(Table::Settings);
        changes.notified("kw_b.settings", "kw_a");
        assert_eq!(changes.generation(Table::Settings), before);
        changes.notified("kw_a.settings", "kw_a");
        assert_ne!(changes.generation(Table::Settings), before);
    }
}
