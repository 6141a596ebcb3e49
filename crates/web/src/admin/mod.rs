//! The admin API (`/api/admin/...`), for admin sessions and admins' developer tokens.

pub mod apps;
pub mod audit;
pub mod settings;
pub mod users;
