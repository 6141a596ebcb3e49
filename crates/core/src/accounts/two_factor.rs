//! TOTP (RFC 6238) as a second factor, with single-use recovery codes. The secret is encrypted
//! with the master key; each time step is accepted once; every way of logging in ends here
//! when the account has it on. Every code entered takes a slot of the account's budget before
//! it is checked, so a burst of guesses cannot outrun the limit.

use super::admin::{self, UserEditError};
use super::notices::{self, Notice};
use super::{Change, ClientInfo};
use crate::audit::{self, action};
use crate::clock::Clock;
use crate::limits::{self, Keyed, LimitError, RateLimiter};
use crate::model::{TwoFactorRecord, User, UserId};
use crate::oidc::MasterKey;
use crate::secret::{SecretHash, random_bytes, random_string};
use crate::settings::{Settings, SettingsCache};
use crate::store::{Store, StoreError, UserPatch};
use crate::telemetry::{self, LoginMethod};
use std::sync::Arc;
use totp_rs::{Builder, Totp};

const LABEL: &str = "keyward-totp-secret";
const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("两步验证已开启")]
    AlreadyEnabled,
    #[error("两步验证未开启")]
    NotEnabled,
    #[error("请先生成两步验证密钥")]
    NotStarted,
    #[error("验证码错误")]
    WrongCode,
    #[error("尝试次数过多，请 {retry_after} 秒后再试")]
    Throttled { retry_after: i64 },
    #[error("two-factor secret unusable: {0}")]
    Secret(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for TwoFactorError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::Throttled { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

/// Where a code is entered: each has its own per-account budget, so that someone guessing at
/// the login step cannot lock the logged-in owner out of managing two-factor, or the reverse.
#[derive(Debug, Clone, Copy)]
pub enum CodeUse {
    Login,
    Manage,
}

/// The account's budget of wrong TOTP and recovery codes for `purpose`.
fn code_budget(user: UserId, purpose: CodeUse, settings: &Settings) -> [Keyed; 1] {
    let kind = match purpose {
        CodeUse::Login => "totp:login",
        CodeUse::Manage => "totp:manage",
    };
    [(
        limits::key(kind, &user.to_string()),
        settings.totp_failures_per_account(),
    )]
}

/// Shown once, at enrolment.
#[derive(Debug, serde::Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_url: String,
    pub backup_codes: Vec<String>,
}

pub struct TwoFactor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master: MasterKey,
    /// The platform's name, the issuer authenticator apps show beside the code.
    settings: Arc<SettingsCache>,
    limiter: RateLimiter,
}

fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, TwoFactorError> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| TwoFactorError::Secret(format!("{e:?}")))
}

fn hash_list(codes: &[String]) -> String {
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| hex(&SecretHash::of(&normalize(c))))
        .collect();
    serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into())
}

/// Two-factor off: no secret, no recovery codes.
fn off() -> TwoFactorRecord {
    TwoFactorRecord {
        recovery_codes: "[]".into(),
        ..TwoFactorRecord::default()
    }
}

fn normalize(code: &str) -> String {
    code.trim().replace('-', "").to_ascii_lowercase()
}

fn hex(hash: &SecretHash) -> String {
    hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

impl TwoFactor {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
        settings: Arc<SettingsCache>,
    ) -> Self {
        Self {
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            store,
            clock,
            master,
            settings,
        }
    }

    fn open(&self, user: &User, record: &TwoFactorRecord) -> Result<Totp, TwoFactorError> {
        let sealed = record.secret.as_ref().ok_or(TwoFactorError::NotStarted)?;
        let secret = self
            .master
            .decrypt(LABEL, sealed)
            .map_err(|e| TwoFactorError::Secret(e.to_string()))?;
        totp(secret, &user.username, &self.issuer())
    }

    /// The system name as an `otpauth` issuer, which may not hold a colon.
    fn issuer(&self) -> String {
        self.settings.latest().system_name.replace(':', " ")
    }

    /// A new secret and recovery codes, not yet active until a code from the app confirms it.
    pub async fn begin(&self, user: &User) -> Result<Enrolment, TwoFactorError> {
        let current = self.store.two_factor(user.id).await?;
        if current.enabled {
            return Err(TwoFactorError::AlreadyEnabled);
        }
        let secret = random_bytes(20);
        // The name the authenticator app keeps: read fresh, else as last read.
        if let Err(e) = self.settings.get().await {
            tracing::warn!(error = %e, "settings unavailable; the TOTP issuer is the last name read");
        }
        let generator = totp(secret.clone(), &user.username, &self.issuer())?;
        let url = generator
            .to_url()
            .map_err(|e| TwoFactorError::Secret(format!("{e:?}")))?;
        let base32 = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("secret="))
            .unwrap_or_default()
            .to_owned();
        let backup_codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let raw = random_string(b"abcdefghjkmnpqrstuvwxyz23456789", 10);
                format!("{}-{}", &raw[..5], &raw[5..])
            })
            .collect();
        let sealed = self
            .master
            .encrypt(LABEL, &secret)
            .map_err(|e| TwoFactorError::Secret(e.to_string()))?;
        let record = TwoFactorRecord {
            secret: Some(sealed),
            enabled: false,
            last_step: 0,
            recovery_codes: hash_list(&backup_codes),
        };
        self.save(user, &record).await?;
        Ok(Enrolment {
            secret: base32,
            otpauth_url: url,
            backup_codes,
        })
    }

    /// Runs one code check as an attempt against `user`'s budget for `purpose`; a right code
    /// forgets the wrong ones before it (they were the owner's typos).
    async fn guarded(
        &self,
        user: &User,
        purpose: CodeUse,
        settings: &Settings,
        check: impl Future<Output = Result<(), TwoFactorError>>,
    ) -> Result<(), TwoFactorError> {
        let budget = code_budget(user.id, purpose, settings);
        self.limiter
            .attempt(
                &budget,
                |outcome| matches!(outcome, Err(TwoFactorError::WrongCode)),
                check,
            )
            .await?;
        for (key, _) in &budget {
            self.limiter.clear(key).await?;
        }
        Ok(())
    }

    /// Turns two-factor on after checking a code from the user's app.
    pub async fn enable(
        &self,
        user: &User,
        code: &str,
        settings: &Settings,
        ip: &str,
    ) -> Result<(), TwoFactorError> {
        self.guarded(user, CodeUse::Manage, settings, async {
            let mut record = self.store.two_factor(user.id).await?;
            if record.enabled {
                return Err(TwoFactorError::AlreadyEnabled);
            }
            let generator = self.open(user, &record)?;
            let step = self
                .matching_step(&generator, code)
                .ok_or(TwoFactorError::WrongCode)?;
            record.enabled = true;
            record.last_step = step;
            self.save(user, &record).await
        })
        .await?;
        self.audit(user.id, user.id, action::TWO_FACTOR_ENABLED, ip)
            .await;
        Ok(())
    }

    /// Turns two-factor off; needs a current code or a recovery code. Wrong codes count like
    /// second-factor logins (in their own budget), so a stolen session cannot guess its way to
    /// switching it off.
    pub async fn disable(
        &self,
        user: &User,
        code: &str,
        settings: &Settings,
        change: &Change<'_>,
    ) -> Result<(), TwoFactorError> {
        self.guarded(user, CodeUse::Manage, settings, async {
            if !self.store.two_factor(user.id).await?.enabled {
                return Err(TwoFactorError::NotEnabled);
            }
            self.require_code(user, code).await?;
            self.save(user, &off()).await
        })
        .await?;
        self.audit(user.id, user.id, action::TWO_FACTOR_DISABLED, change.ip)
            .await;
        notices::send(change.mail, user, &Notice::TwoFactorDisabled).await;
        Ok(())
    }

    /// An admin turns `id`'s two-factor off (a user who lost their device and recovery codes),
    /// under the rank rules of every admin change; audited with the admin as actor, and the
    /// user is told by mail.
    pub async fn reset_by_admin(
        &self,
        actor: &User,
        id: UserId,
        change: &Change<'_>,
    ) -> Result<User, UserEditError> {
        let target = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserEditError::NotFound)?;
        admin::check(actor, &target, &UserPatch::default())?;
        if !target.totp_enabled {
            return Err(UserEditError::TwoFactorOff);
        }
        self.store
            .set_two_factor(id, &off(), self.clock.now())
            .await?;
        tracing::info!(
            admin.id = actor.id,
            user.id = id,
            "two-factor reset by admin"
        );
        self.audit(actor.id, id, action::TWO_FACTOR_RESET, change.ip)
            .await;
        notices::send(change.mail, &target, &Notice::TwoFactorReset).await;
        self.store
            .user_by_id(id)
            .await?
            .ok_or(UserEditError::NotFound)
    }

    async fn audit(&self, actor: UserId, user: UserId, what: &'static str, ip: &str) {
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(actor),
            what,
            user.to_string(),
            serde_json::json!({}),
            ip,
        )
        .await;
    }

    /// The second step of a login: `WrongCode` unless `code` is a right one (see `verify`). A
    /// wrong code is recorded as a failed sign-in of the account (never the code).
    pub async fn complete_login(
        &self,
        user: &User,
        code: &str,
        settings: &Settings,
        client: &ClientInfo,
    ) -> Result<(), TwoFactorError> {
        let outcome = self
            .guarded(
                user,
                CodeUse::Login,
                settings,
                self.require_code(user, code),
            )
            .await;
        let counted = match &outcome {
            Ok(()) => Some("ok"),
            Err(TwoFactorError::WrongCode) => Some("wrong_second_factor"),
            Err(TwoFactorError::Throttled { .. }) => Some("throttled"),
            Err(_) => None,
        };
        if let Some(result) = counted {
            telemetry::login(LoginMethod::Named("second_factor"), result);
            if result != "ok" {
                tracing::warn!(
                    target: telemetry::SECURITY_TARGET,
                    event = "login_failed",
                    method = "second_factor",
                    reason = result,
                    user.id = user.id,
                    user.name = %user.username,
                    client = %client.ip,
                    "second factor refused"
                );
            }
        }
        if matches!(outcome, Err(TwoFactorError::WrongCode)) {
            let detail = serde_json::json!({
                "login": user.username,
                "reason": "wrong_second_factor",
                "user_agent": client.user_agent.chars().take(256).collect::<String>(),
            });
            audit::record(
                self.store.as_ref(),
                self.clock.now(),
                None,
                action::SIGN_IN_FAILED,
                user.id.to_string(),
                detail,
                &client.ip.chars().take(64).collect::<String>(),
            )
            .await;
        }
        outcome
    }

    /// `WrongCode` unless `code` is a right second factor (see `verify`).
    async fn require_code(&self, user: &User, code: &str) -> Result<(), TwoFactorError> {
        if self.verify(user, code).await? {
            Ok(())
        } else {
            Err(TwoFactorError::WrongCode)
        }
    }

    async fn save(&self, user: &User, record: &TwoFactorRecord) -> Result<(), TwoFactorError> {
        Ok(self
            .store
            .set_two_factor(user.id, record, self.clock.now())
            .await?)
    }

    /// Checks a second factor: a TOTP code for a time step not used before, or an unused
    /// recovery code (which is then spent).
    async fn verify(&self, user: &User, code: &str) -> Result<bool, TwoFactorError> {
        let record = self.store.two_factor(user.id).await?;
        if !record.enabled || code.len() > 32 {
            return Ok(false);
        }
        let generator = self.open(user, &record)?;
        if let Some(step) = self.matching_step(&generator, code) {
            return Ok(self.store.advance_totp_step(user.id, step).await?);
        }
        let wanted = hex(&SecretHash::of(&normalize(code)));
        let mut hashes: Vec<String> =
            serde_json::from_str(&record.recovery_codes).unwrap_or_default();
        let before = hashes.len();
        hashes.retain(|h| !crate::secret::constant_time_eq(h.as_bytes(), wanted.as_bytes()));
        if hashes.len() == before {
            return Ok(false);
        }
        let new = serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into());
        Ok(self
            .store
            .replace_recovery_codes(user.id, &record.recovery_codes, &new)
            .await?)
    }

    fn matching_step(&self, generator: &Totp, code: &str) -> Option<i64> {
        let now = u64::try_from(self.clock.now()).ok()?;
        let step = generator.check(code.trim(), now)?;
        i64::try_from(step).ok()
    }

    /// The current code, for tests driving an enrolment.
    pub fn code_for(otpauth_url: &str, time: u64) -> Option<String> {
        let generator = Totp::from_url(otpauth_url).ok()?;
        Some(generator.generate(time).to_string())
    }
}
