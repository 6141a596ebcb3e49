//! The records Keyward keeps, as plain data. Lifecycle rules live in `accounts`.

mod session;
mod user;

pub use session::{DeveloperToken, NewSession, Session};
pub use user::{NewUser, Role, User, UserId, UserStatus};
