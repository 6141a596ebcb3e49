//! Upgrades: a database at every earlier schema migrates to the current one (`schema`), and the
//! databases kept in `fixtures/upgrade/`, one per release, still serve their users and tokens
//! once a node of this release has migrated them (`fixture`). docs/operations.md, "Upgrades".

mod dump;
mod fixture;
mod schema;
