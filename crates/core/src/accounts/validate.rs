//! Account fields, parsed once at the edge into types that can only hold valid values.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("用户名长度须为 1-20 个字符，只能包含字母、数字、下划线、点和连字符")]
    Username,
    #[error("密码长度须为 8-128 个字符")]
    Password,
    #[error("显示名称不能超过 20 个字符，且不能包含控制字符")]
    DisplayName,
    #[error("邮箱地址格式不正确")]
    Email,
}

pub const USERNAME_MAX: usize = 20;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// A user name: 1–20 letters, digits, `_`, `.` or `-` (new-api's limit is 20). No `@`, so a user
/// name can never be mistaken for an e-mail address at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let count = raw.chars().count();
        let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '-');
        if count == 0 || count > USERNAME_MAX || !raw.chars().all(ok_char) {
            return Err(FieldError::Username);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 8–128 characters. The upper bound keeps hashing cost bounded; new-api's
/// limit of 20 is too low for pass-phrases.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let count = raw.chars().count();
        if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&count) {
            return Err(FieldError::Password);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

pub fn display_name(raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > USERNAME_MAX || trimmed.chars().any(char::is_control) {
        return Err(FieldError::DisplayName);
    }
    Ok(trimmed.to_owned())
}

/// A lower-cased e-mail address with one `@`, a dotted domain, and nothing that could smuggle a
/// header or a second address.
pub fn email(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim().to_lowercase();
    let Some((local, domain)) = value.split_once('@') else {
        return Err(FieldError::Email);
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>(),;:\"[]\\@".contains(c);
    let valid = value.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !local.chars().any(bad_char)
        && !domain.chars().any(bad_char);
    if valid {
        Ok(value)
    } else {
        Err(FieldError::Email)
    }
}

/// The key a login identifier is looked up and throttled by.
pub fn login_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("张三_01.x-y").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a@b.c").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("a\u{0}b").is_err());
        assert!(Username::parse(&"x".repeat(21)).is_err());
        assert!(Username::parse(&"字".repeat(20)).is_ok());
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("12345678").is_ok());
        assert!(NewPassword::parse("1234567").is_err());
        assert!(NewPassword::parse(&"p".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("12345678").expect("valid")),
            "NewPassword(<redacted>)"
        );
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Bob@Example.COM ").as_deref(), Ok("bob@example.com"));
        for bad in [
            "bob",
            "bob@",
            "@x.y",
            "bob@localhost",
            "a b@x.y",
            "a@b@c.d",
            "a@x.y\r\nBcc: z",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }
}
