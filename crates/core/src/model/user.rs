use crate::clock::UnixTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The numeric id new-api clients know users by (family B `userinfo.id`, family E `data.id`).
pub type UserId = i64;

/// Roles carry new-api's numbers, because its clients compare them (`role >= 10` is an admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum Role {
    User = 1,
    Admin = 10,
    Root = 100,
}

impl Role {
    pub fn as_i64(self) -> i64 {
        self as i64
    }

    pub fn from_i64(value: i64) -> Option<Self> {
        match value {
            1 => Some(Self::User),
            10 => Some(Self::Admin),
            100 => Some(Self::Root),
            _ => None,
        }
    }

    /// `user`, `admin`, `root`, or the number.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "user" | "common" => Some(Self::User),
            "admin" => Some(Self::Admin),
            "root" => Some(Self::Root),
            other => other.parse().ok().and_then(Self::from_i64),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
            Self::Root => "root",
        }
    }

    pub fn is_admin(self) -> bool {
        self >= Self::Admin
    }
}

impl From<Role> for i64 {
    fn from(role: Role) -> Self {
        role.as_i64()
    }
}

impl TryFrom<i64> for Role {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::from_i64(value).ok_or_else(|| format!("unknown role {value}"))
    }
}

/// new-api's status numbers: 1 enabled, 2 disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum UserStatus {
    Enabled = 1,
    Disabled = 2,
}

impl UserStatus {
    pub fn as_i64(self) -> i64 {
        self as i64
    }

    pub fn from_i64(value: i64) -> Option<Self> {
        match value {
            1 => Some(Self::Enabled),
            2 => Some(Self::Disabled),
            _ => None,
        }
    }
}

impl From<UserStatus> for i64 {
    fn from(status: UserStatus) -> Self {
        status.as_i64()
    }
}

impl TryFrom<i64> for UserStatus {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::from_i64(value).ok_or_else(|| format!("unknown status {value}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub uuid: Uuid,
    pub username: String,
    pub display_name: String,
    /// Lower-cased. Unique among verified addresses only, so an unverified claim cannot block
    /// the real owner.
    pub email: Option<String>,
    pub email_verified: bool,
    /// Argon2id PHC string; `None` for accounts that only log in through an upstream provider.
    pub password_hash: Option<String>,
    pub avatar_url: String,
    pub level: i64,
    pub role: Role,
    pub status: UserStatus,
    /// Integer quota units; balance = (quota − used_quota) / quota_per_unit.
    pub quota: i64,
    pub used_quota: i64,
    pub aff_code: String,
    pub inviter_id: Option<UserId>,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
    /// Logins need a second factor (TOTP or a recovery code).
    pub totp_enabled: bool,
}

impl User {
    /// 2libra's public user number, derived from the id so it needs no column of its own.
    pub fn user_number(&self) -> String {
        format!("u_{}", 100_000 + self.id)
    }

    pub fn is_enabled(&self) -> bool {
        self.status == UserStatus::Enabled
    }
}

/// What creating a user needs; the store assigns `id` and `created_at`.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub uuid: Uuid,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub role: Role,
    pub quota: i64,
    pub aff_code: String,
    pub inviter_id: Option<UserId>,
    pub created_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_names_and_new_api_numbers() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("100"), Some(Role::Root));
        assert_eq!(Role::parse("Root"), Some(Role::Root));
        assert_eq!(Role::parse("5"), None);
        assert!(Role::Root.is_admin() && Role::Admin.is_admin() && !Role::User.is_admin());
    }

    #[test]
    fn user_number_is_stable_and_prefixed() {
        let user = User {
            id: 23,
            uuid: Uuid::nil(),
            username: "a".into(),
            display_name: "a".into(),
            email: None,
            email_verified: false,
            password_hash: None,
            avatar_url: String::new(),
            level: 0,
            role: Role::User,
            status: UserStatus::Enabled,
            quota: 0,
            used_quota: 0,
            aff_code: "x".into(),
            inviter_id: None,
            created_at: 0,
            last_login_at: None,
            totp_enabled: false,
        };
        assert_eq!(user.user_number(), "u_100023");
    }
}
