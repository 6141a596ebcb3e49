//! The records Keyward keeps, as plain data. Lifecycle rules live in `accounts` and `oauth`.

mod client;
mod device;
mod oauth;
mod passkey;
mod resource;
mod session;
mod user;

pub use client::{
    AuthMethod, Client, ClientDetails, ClientKind, ClientMetadata, ClientPatch, ClientPk,
    ClientStatus, GrantType, NewClient,
};
pub use device::{DeviceCode, DeviceDecision, DeviceState, DeviceStatus, NewDeviceCode};
pub use oauth::{
    AccessContext, AuditEntry, AuthCode, CodeCheck, Consent, Identity, NewAuditEntry, NewFamily,
    NewToken, StoredKey, TokenKind, TokenRecord, UpstreamState,
};
pub use passkey::{NewPasskey, PasskeyUse, StoredPasskey, WebauthnChallenge};
pub use resource::{NewResource, Resource, ResourcePatch, ResourcePk, ResourceScope, TokenFormat};
pub use session::{DeveloperToken, NewSession, RECENT_SIGN_IN_SECS, Session, TwoFactorRecord};
pub use user::{NewUser, Role, User, UserId, UserStatus};
