//! E-mail codes: their purposes and limits, shared by binding an address, registering with one
//! and resetting a password.

/// A 6-digit code that proves the owner of an address (binding, registration).
pub const VERIFY: &str = "verify";
/// A password-reset link's token.
pub const RESET: &str = "reset";
/// Wrong guesses a code survives.
pub const MAX_ATTEMPTS: i64 = 5;
