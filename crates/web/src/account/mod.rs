//! The account API (new-api conventions): register, login, logout, self, developer token.

pub mod activity;
pub mod authorizations;
pub mod deletion;
pub mod email_change;
pub mod export;
pub mod identities;
pub mod ledger;
pub mod login;
pub mod logout;
pub mod me;
pub mod passkeys;
pub mod register;
pub mod status;
pub mod token;
pub mod topup;
pub mod two_factor;
pub mod view;
