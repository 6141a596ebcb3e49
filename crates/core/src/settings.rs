//! Runtime settings an admin changes without a restart (`/api/admin/settings`). Stored as one JSON
//! document so that adding a field needs no migration; absent fields take their defaults.

use crate::limits::Limit;
use crate::oauth::tokens::MAX_REFRESH_GRACE_SECS;
use serde::{Deserialize, Serialize};

mod cache;
mod change;
pub use cache::{SettingsCache, SettingsError};
pub use change::{SettingsChange, SettingsUpdate, SettingsUpdateError, apply_changes};

/// The longest refund window an operator may set: a year.
pub const MAX_REFUND_WINDOW_SECS: i64 = 366 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Any new account at all (new-api `RegisterEnabled`).
    pub register_enabled: bool,
    /// New accounts with a password (new-api `PasswordRegisterEnabled`).
    pub password_register_enabled: bool,
    /// Logging in with a password (new-api `PasswordLoginEnabled`).
    pub password_login_enabled: bool,
    /// Password registration needs an e-mail address proved by a code (new-api
    /// `EmailVerificationEnabled`); needs SMTP.
    pub email_verification_enabled: bool,
    /// Quota given to every new account (new-api `QuotaForNewUser`).
    pub quota_for_new_user: i64,
    /// New apps wait for an admin's approval before they can be used.
    pub app_review_required: bool,
    /// Let apps register plain-http redirect URIs on hosts other than loopback.
    pub allow_http_redirect_uris: bool,
    /// Quota units per unit of currency: `balance_formatted = (quota − used_quota) / this`.
    pub quota_per_unit: i64,
    /// The currency a unit of balance is in, as pages write it before an amount (`$`, `¥`).
    pub currency_symbol: String,
    /// How long after a charge the app that made it may refund it (issue #19): 1 s to 1 year,
    /// 30 days by default.
    pub refund_window_secs: i64,
    /// Where `/api/oauth2/topup` sends users; empty means this server's `/topup` page.
    pub topup_url: String,

    // Upstream providers. Client secrets and tokens live in the vault, not here.
    pub github_enabled: bool,
    pub github_client_id: String,
    pub github_web_base: String,
    pub github_api_base: String,
    pub github_register_enabled: bool,
    pub oidc_enabled: bool,
    pub oidc_client_id: String,
    /// Discovery is read from the issuer unless the three endpoints and the JWKS URI are set.
    pub oidc_issuer: String,
    pub oidc_authorization_endpoint: String,
    pub oidc_token_endpoint: String,
    pub oidc_userinfo_endpoint: String,
    pub oidc_jwks_uri: String,
    pub oidc_scopes: String,
    pub oidc_register_enabled: bool,
    pub linuxdo_enabled: bool,
    pub linuxdo_client_id: String,
    pub linuxdo_authorize_url: String,
    pub linuxdo_token_url: String,
    pub linuxdo_user_url: String,
    pub linuxdo_minimum_trust_level: i64,
    pub linuxdo_register_enabled: bool,
    pub wechat_enabled: bool,
    pub wechat_server_address: String,
    pub wechat_qrcode_url: String,
    pub wechat_register_enabled: bool,
    pub telegram_enabled: bool,
    pub telegram_bot_name: String,
    /// How old a Telegram login may be, in seconds.
    pub telegram_max_age_secs: i64,
    /// new-api never registers from Telegram; off by default here too.
    pub telegram_register_enabled: bool,

    // E-mail.
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_username: String,
    pub smtp_from: String,
    /// `starttls`, `tls` (implicit, port 465) or `none` (only for a relay on this machine).
    pub smtp_security: String,

    // The platform's brand: every page's title, header and footer, the mails and the name
    // authenticator apps show beside a TOTP code. Neutral by default.
    /// The platform's name.
    pub system_name: String,
    /// An https address of the platform's logo; empty: none (an uploaded logo wins).
    pub logo_url: String,
    /// An uploaded logo (PNG, JPEG, GIF or WebP), base64; served at `/brand/logo`.
    pub logo_upload: String,
    /// `#rrggbb` for the header and the buttons; empty: the neutral default.
    pub accent_color: String,
    /// A line of plain text at the foot of every page (an address, a company name).
    pub footer_text: String,
    /// Where the platform's terms and privacy policy are; empty: no link.
    pub terms_url: String,
    pub privacy_url: String,

    // Refresh tokens.
    /// Seconds after a rotation in which presenting the old refresh token again is taken for an
    /// honest retry and answered with the same new pair, while that pair is unused. 0 (the
    /// default) is strict rotation: any reuse revokes the family. At most
    /// [`MAX_REFRESH_GRACE_SECS`].
    pub refresh_reuse_grace_seconds: i64,

    // Rate limits: a maximum per fixed window, counted in the database (shared by every node on
    // PostgreSQL). A maximum of 0 turns that limit off. Answers over a limit are 429 with
    // `Retry-After`.
    /// Accounts registered with a password from one IP.
    pub register_max_per_ip: i64,
    pub register_window_secs: i64,
    /// Failed token requests (client authentication or grant) per client_id and per IP; while
    /// over, even correct requests are refused.
    pub token_failures_max_per_client: i64,
    pub token_failures_max_per_ip: i64,
    pub token_failures_window_secs: i64,
    /// E-mails sent (verification codes, reset links) per address and per IP.
    pub mail_max_per_address: i64,
    pub mail_max_per_ip: i64,
    pub mail_window_secs: i64,
    /// Wrong WeChat codes per IP, and per account when binding.
    pub wechat_failures_max_per_ip: i64,
    pub wechat_failures_max_per_account: i64,
    pub wechat_failures_window_secs: i64,
    /// Wrong TOTP or recovery codes per account (login, enabling, disabling).
    pub totp_failures_max_per_account: i64,
    pub totp_failures_window_secs: i64,

    // Clients that describe themselves: never trusted, their users always asked.
    /// Whether a `client_id` that is an https URL is taken for a Client ID Metadata Document.
    pub client_metadata_documents: Switch,
    /// Development and tests only: lets metadata documents (and `jwks_uri`) on loopback
    /// addresses through the outbound guard.
    pub client_metadata_allow_loopback: bool,
    /// Hosts whose metadata documents are accepted (exact names, or `*.example.com` for any
    /// subdomain); empty: any host not denied.
    pub client_metadata_allowed_hosts: Vec<String>,
    /// Hosts whose metadata documents are refused, in the same form; wins over the allow list.
    pub client_metadata_denied_hosts: Vec<String>,
    /// Dynamic client registration (RFC 7591) at `/oauth2/register`.
    pub dynamic_registration: DynamicRegistration,
    /// Registrations from one IP.
    pub dynamic_registration_max_per_ip: i64,
    pub dynamic_registration_window_secs: i64,
    /// Dynamic clients that never authorized anyone are deleted after this many days.
    pub dynamic_client_purge_days: i64,
    /// The most of Keyward's own scopes a self-registered client may ask for.
    pub self_registered_client_scopes: String,
    /// The APIs (resource identifiers) a self-registered client may ask for; none by default.
    pub self_registered_client_resources: Vec<String>,
    /// A deleted account's user name cannot be registered again (nor derived by an upstream
    /// sign-up) for this many days (0: free at once). 90 by default: long enough that links,
    /// mentions and the platforms' caches of the old name have gone stale before someone else
    /// can answer to it, as GitHub holds a deleted account's name for 90 days.
    pub deleted_username_hold_days: i64,
}

/// A feature that is on or off (`"on"`/`"off"` in the settings document).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    #[default]
    On,
    Off,
}

/// Who may use a dynamically registered client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicRegistration {
    /// `/oauth2/register` answers 404 and is not advertised.
    #[default]
    Off,
    /// A new client waits in the admins' approval queue.
    Review,
    /// A new client can be used at once, within the limits set for self-registered clients.
    Open,
}

impl Settings {
    pub fn register_per_ip(&self) -> Limit {
        Limit::new(self.register_max_per_ip, self.register_window_secs)
    }

    pub fn token_failures_per_client(&self) -> Limit {
        Limit::new(
            self.token_failures_max_per_client,
            self.token_failures_window_secs,
        )
    }

    pub fn token_failures_per_ip(&self) -> Limit {
        Limit::new(
            self.token_failures_max_per_ip,
            self.token_failures_window_secs,
        )
    }

    pub fn mail_per_address(&self) -> Limit {
        Limit::new(self.mail_max_per_address, self.mail_window_secs)
    }

    pub fn mail_per_ip(&self) -> Limit {
        Limit::new(self.mail_max_per_ip, self.mail_window_secs)
    }

    pub fn wechat_failures_per_ip(&self) -> Limit {
        Limit::new(
            self.wechat_failures_max_per_ip,
            self.wechat_failures_window_secs,
        )
    }

    pub fn wechat_failures_per_account(&self) -> Limit {
        Limit::new(
            self.wechat_failures_max_per_account,
            self.wechat_failures_window_secs,
        )
    }

    pub fn dynamic_registration_per_ip(&self) -> Limit {
        Limit::new(
            self.dynamic_registration_max_per_ip,
            self.dynamic_registration_window_secs,
        )
    }

    pub fn totp_failures_per_account(&self) -> Limit {
        Limit::new(
            self.totp_failures_max_per_account,
            self.totp_failures_window_secs,
        )
    }

    /// The longest rate-limit window, so that purging old counters never cuts one short.
    pub fn longest_limit_window(&self) -> i64 {
        [
            self.register_window_secs,
            self.token_failures_window_secs,
            self.mail_window_secs,
            self.wechat_failures_window_secs,
            self.totp_failures_window_secs,
            self.dynamic_registration_window_secs,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Why these values cannot be used, if they cannot.
    pub fn check_limits(&self) -> Result<(), &'static str> {
        if !(0..=MAX_REFRESH_GRACE_SECS).contains(&self.refresh_reuse_grace_seconds) {
            return Err("refresh_reuse_grace_seconds 必须在 0 到 120 之间");
        }
        let maxima = [
            self.register_max_per_ip,
            self.token_failures_max_per_client,
            self.token_failures_max_per_ip,
            self.mail_max_per_address,
            self.mail_max_per_ip,
            self.wechat_failures_max_per_ip,
            self.wechat_failures_max_per_account,
            self.totp_failures_max_per_account,
            self.dynamic_registration_max_per_ip,
        ];
        if maxima.iter().any(|m| *m < 0) {
            return Err("频率限制的次数不能为负");
        }
        let windows = [
            self.register_window_secs,
            self.token_failures_window_secs,
            self.mail_window_secs,
            self.wechat_failures_window_secs,
            self.totp_failures_window_secs,
            self.dynamic_registration_window_secs,
        ];
        if windows
            .iter()
            .any(|w| !(1..=MAX_LIMIT_WINDOW_SECS).contains(w))
        {
            return Err("频率限制的时间窗口必须在 1 秒到 1 天之间");
        }
        Ok(())
    }
}

/// The longest rate-limit window an operator may set.
pub const MAX_LIMIT_WINDOW_SECS: i64 = 86_400;

impl Default for Settings {
    fn default() -> Self {
        Self {
            register_enabled: true,
            password_register_enabled: true,
            password_login_enabled: true,
            email_verification_enabled: false,
            quota_for_new_user: 0,
            app_review_required: true,
            allow_http_redirect_uris: false,
            quota_per_unit: 1000,
            refund_window_secs: crate::billing::spend::DEFAULT_REFUND_WINDOW_SECS,
            currency_symbol: "$".into(),
            topup_url: String::new(),
            github_enabled: false,
            github_client_id: String::new(),
            github_web_base: "https://github.com".into(),
            github_api_base: "https://api.github.com".into(),
            github_register_enabled: true,
            oidc_enabled: false,
            oidc_client_id: String::new(),
            oidc_issuer: String::new(),
            oidc_authorization_endpoint: String::new(),
            oidc_token_endpoint: String::new(),
            oidc_userinfo_endpoint: String::new(),
            oidc_jwks_uri: String::new(),
            oidc_scopes: "openid profile email".into(),
            oidc_register_enabled: true,
            linuxdo_enabled: false,
            linuxdo_client_id: String::new(),
            linuxdo_authorize_url: "https://connect.linux.do/oauth2/authorize".into(),
            linuxdo_token_url: "https://connect.linux.do/oauth2/token".into(),
            linuxdo_user_url: "https://connect.linux.do/api/user".into(),
            linuxdo_minimum_trust_level: 0,
            linuxdo_register_enabled: true,
            wechat_enabled: false,
            wechat_server_address: String::new(),
            wechat_qrcode_url: String::new(),
            wechat_register_enabled: true,
            telegram_enabled: false,
            telegram_bot_name: String::new(),
            telegram_max_age_secs: 86_400,
            telegram_register_enabled: false,
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_from: String::new(),
            smtp_security: "starttls".into(),
            system_name: "Keyward".into(),
            logo_url: String::new(),
            logo_upload: String::new(),
            accent_color: String::new(),
            footer_text: String::new(),
            terms_url: String::new(),
            privacy_url: String::new(),
            refresh_reuse_grace_seconds: 0,
            register_max_per_ip: 30,
            register_window_secs: 3600,
            token_failures_max_per_client: 100,
            token_failures_max_per_ip: 100,
            token_failures_window_secs: 900,
            mail_max_per_address: 3,
            mail_max_per_ip: 20,
            mail_window_secs: 900,
            wechat_failures_max_per_ip: 10,
            wechat_failures_max_per_account: 10,
            wechat_failures_window_secs: 900,
            totp_failures_max_per_account: 5,
            totp_failures_window_secs: 900,
            client_metadata_documents: Switch::On,
            client_metadata_allow_loopback: false,
            client_metadata_allowed_hosts: Vec::new(),
            client_metadata_denied_hosts: Vec::new(),
            dynamic_registration: DynamicRegistration::Off,
            dynamic_registration_max_per_ip: 10,
            dynamic_registration_window_secs: 3600,
            dynamic_client_purge_days: 30,
            self_registered_client_scopes: "openid profile offline_access".into(),
            self_registered_client_resources: Vec::new(),
            deleted_username_hold_days: 90,
        }
    }
}

/// Why a settings document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSettings {
    #[error("数值不能为负")]
    Negative,
    #[error("quota_for_new_user 不能超过 {}", crate::billing::MAX_QUOTA)]
    QuotaTooLarge,
    #[error("quota_per_unit 必须为正数")]
    QuotaPerUnit,
    #[error("refund_window_secs 必须在 1 秒到 1 年之间")]
    RefundWindow,
    #[error("topup_url 必须是 http(s) 地址或站内路径")]
    TopupUrl,
    #[error("SMTP 设置不正确")]
    Smtp,
    /// E-mail verification with no mail server: every registration would wait for a code
    /// that is never sent.
    #[error("无法开启邮箱验证，请先配置邮件（SMTP）服务器")]
    VerificationWithoutMail,
    /// A brand setting that pages cannot show.
    #[error("{0}")]
    Brand(BrandProblem),
    /// A provider cannot be switched on without what it needs (new-api's rule and message).
    #[error("{0}")]
    ProviderIncomplete(&'static str),
    /// A rate limit or the refresh grace window out of its bounds.
    #[error("{0}")]
    Limits(&'static str),
    /// A rule for self-registered clients that cannot be applied.
    #[error("{0}")]
    SelfRegistered(&'static str),
}

/// The most hosts on each metadata-document list and APIs on the self-registered list.
pub const MAX_LISTED: usize = 100;

/// Whether `pattern` is a host name, or `*.` and one, as the metadata-document host lists take.
fn host_pattern_ok(pattern: &str) -> bool {
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Whether `host` is named by `pattern` (an exact name, or `*.` for any subdomain).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => pattern == host,
    }
}

impl Settings {
    /// Whether a metadata document may be fetched from `host` (lower-case): not denied, and
    /// allowed when there is an allow list.
    pub fn metadata_host_allowed(&self, host: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|p| host_matches(p, host));
        !listed(&self.client_metadata_denied_hosts)
            && (self.client_metadata_allowed_hosts.is_empty()
                || listed(&self.client_metadata_allowed_hosts))
    }

    fn check_self_registered(&self) -> Result<(), &'static str> {
        let hosts = [
            &self.client_metadata_allowed_hosts,
            &self.client_metadata_denied_hosts,
        ];
        if hosts
            .iter()
            .any(|list| list.len() > MAX_LISTED || !list.iter().all(|h| host_pattern_ok(h)))
        {
            return Err("元数据文档的主机名单只能包含小写主机名或 *.域名，且每份不超过 100 个");
        }
        if crate::oauth::scope::ScopeSet::parse(&self.self_registered_client_scopes).is_err() {
            return Err("self_registered_client_scopes 含有未知的权限范围");
        }
        if self.self_registered_client_resources.len() > MAX_LISTED
            || self
                .self_registered_client_resources
                .iter()
                .any(|r| r.is_empty() || r.len() > 2048)
        {
            return Err("self_registered_client_resources 最多 100 个 API 标识");
        }
        if !(1..=3650).contains(&self.dynamic_client_purge_days) {
            return Err("dynamic_client_purge_days 必须在 1 到 3650 之间");
        }
        if !(0..=3650).contains(&self.deleted_username_hold_days) {
            return Err("deleted_username_hold_days 必须在 0 到 3650 之间");
        }
        Ok(())
    }
}

impl Settings {
    /// Whether sign-up asks for a mailed code while no mail can be sent.
    pub fn verification_without_mail(&self) -> bool {
        self.email_verification_enabled && self.smtp_host.trim().is_empty()
    }

    /// `secret_set(name)` says whether the vault holds (or is about to hold) that secret.
    pub fn validate(&self, secret_set: impl Fn(&str) -> bool) -> Result<(), InvalidSettings> {
        if self.quota_for_new_user < 0 || self.linuxdo_minimum_trust_level < 0 {
            return Err(InvalidSettings::Negative);
        }
        if self.quota_for_new_user > crate::billing::MAX_QUOTA {
            return Err(InvalidSettings::QuotaTooLarge);
        }
        self.check_limits().map_err(InvalidSettings::Limits)?;
        self.check_self_registered()
            .map_err(InvalidSettings::SelfRegistered)?;
        if self.quota_per_unit <= 0 {
            return Err(InvalidSettings::QuotaPerUnit);
        }
        if !(1..=MAX_REFUND_WINDOW_SECS).contains(&self.refund_window_secs) {
            return Err(InvalidSettings::RefundWindow);
        }
        let url_ok = |u: &str| {
            u.is_empty()
                || u.starts_with("https://")
                || u.starts_with("http://")
                || u.starts_with('/')
        };
        if !url_ok(&self.topup_url) {
            return Err(InvalidSettings::TopupUrl);
        }
        if !["starttls", "tls", "none"].contains(&self.smtp_security.as_str())
            || !(1..=65535).contains(&self.smtp_port)
        {
            return Err(InvalidSettings::Smtp);
        }
        check_brand(self).map_err(InvalidSettings::Brand)?;
        let missing = |enabled: bool, needs: &[bool]| enabled && needs.iter().any(|ok| !ok);
        let rules: [(bool, &[bool], &'static str); 5] = [
            (
                self.github_enabled,
                &[
                    !self.github_client_id.is_empty(),
                    secret_set("github_client_secret"),
                ],
                "无法启用 GitHub OAuth，请先填入 GitHub Client Id 以及 GitHub Client Secret！",
            ),
            (
                self.oidc_enabled,
                &[
                    !self.oidc_client_id.is_empty(),
                    !self.oidc_issuer.is_empty(),
                ],
                "无法启用 OIDC 登录，请先填入 Client Id 与 Issuer！",
            ),
            (
                self.linuxdo_enabled,
                &[
                    !self.linuxdo_client_id.is_empty(),
                    secret_set("linuxdo_client_secret"),
                ],
                "无法启用 Linux DO OAuth，请先填入 Client Id 以及 Client Secret！",
            ),
            (
                self.wechat_enabled,
                &[
                    !self.wechat_server_address.is_empty(),
                    secret_set("wechat_server_token"),
                ],
                "无法启用微信登录，请先填入微信登录相关配置信息！",
            ),
            (
                self.telegram_enabled,
                &[secret_set("telegram_bot_token")],
                "无法启用 Telegram OAuth，请先填入 Telegram Bot Token！",
            ),
        ];
        for (enabled, needs, message) in rules {
            if missing(enabled, needs) {
                return Err(InvalidSettings::ProviderIncomplete(message));
            }
        }
        Ok(())
    }
}

/// Why a brand setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BrandProblem {
    #[error("系统名称须为 1 到 40 个字符，且不含控制字符")]
    Name,
    #[error("Logo 地址须为 https 地址")]
    LogoUrl,
    #[error("上传的 Logo 须为 PNG、JPEG、GIF 或 WebP 图片，且不超过 128 KB")]
    LogoUpload,
    #[error("主题色须为 #rrggbb 形式")]
    AccentColor,
    #[error("货币符号最多 8 个字符")]
    Currency,
    #[error("页脚文字最多 200 个字符，且不含控制字符")]
    Footer,
    #[error("服务条款和隐私政策须为 http(s) 地址")]
    PolicyUrl,
}

/// The largest uploaded logo, in bytes once decoded.
pub const MAX_LOGO_BYTES: usize = 128 * 1024;

/// The media type of an uploaded logo, by its first bytes; `None` for anything else (SVG
/// included: it can carry script).
pub fn logo_media_type(bytes: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 5] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"RIFF", "image/webp"),
    ];
    let (_, kind) = KINDS.iter().find(|(magic, _)| bytes.starts_with(magic))?;
    // RIFF is WebP only with its form type at offset 8.
    (*kind != "image/webp" || bytes.get(8..12) == Some(b"WEBP")).then_some(*kind)
}

/// The decoded uploaded logo and its media type, when there is a valid one.
pub fn decode_logo(upload: &str) -> Option<(Vec<u8>, &'static str)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(upload.trim())
        .ok()?;
    let kind = logo_media_type(&bytes)?;
    (bytes.len() <= MAX_LOGO_BYTES).then_some((bytes, kind))
}

/// `#rrggbb` as its three channels.
pub fn parse_hex_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

fn check_brand(s: &Settings) -> Result<(), BrandProblem> {
    let plain =
        |text: &str, max: usize| text.chars().count() <= max && !text.chars().any(char::is_control);
    if s.system_name.trim().is_empty() || !plain(&s.system_name, 40) {
        return Err(BrandProblem::Name);
    }
    // Shown as an <img> on every page: the rule of an app's own logo.
    if !s.logo_url.is_empty() && !crate::oauth::redirect_uri::is_https_link(&s.logo_url) {
        return Err(BrandProblem::LogoUrl);
    }
    if !s.logo_upload.is_empty() && decode_logo(&s.logo_upload).is_none() {
        return Err(BrandProblem::LogoUpload);
    }
    if !s.accent_color.is_empty() && parse_hex_color(&s.accent_color).is_none() {
        return Err(BrandProblem::AccentColor);
    }
    if s.currency_symbol.chars().count() > 8 || s.currency_symbol.chars().any(char::is_control) {
        return Err(BrandProblem::Currency);
    }
    if !plain(&s.footer_text, 200) {
        return Err(BrandProblem::Footer);
    }
    let web = |u: &str| {
        u.is_empty() || ((u.starts_with("https://") || u.starts_with("http://")) && plain(u, 2048))
    };
    if !web(&s.terms_url) || !web(&s.privacy_url) {
        return Err(BrandProblem::PolicyUrl);
    }
    Ok(())
}

/// The settings (and vault secrets) that decide where recovery mail and identity assertions
/// come from: whoever controls them receives any user's reset link, or vouches for any upstream
/// identity, and so can take over any account, root's included. Only root may change them.
pub const ROOT_ONLY: &[&str] = &[
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_from",
    "smtp_security",
    "smtp_password",
    "github_client_id",
    "github_web_base",
    "github_api_base",
    "github_client_secret",
    "oidc_client_id",
    "oidc_issuer",
    "oidc_authorization_endpoint",
    "oidc_token_endpoint",
    "oidc_userinfo_endpoint",
    "oidc_jwks_uri",
    "oidc_client_secret",
    "linuxdo_client_id",
    "linuxdo_authorize_url",
    "linuxdo_token_url",
    "linuxdo_user_url",
    "linuxdo_client_secret",
    "wechat_server_address",
    "wechat_server_token",
    "telegram_bot_token",
];

pub fn is_root_only(name: &str) -> bool {
    ROOT_ONLY.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_settings_are_validated() {
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        let svg = base64::engine::general_purpose::STANDARD.encode(b"<svg onload=alert(1)>");
        let huge = base64::engine::general_purpose::STANDARD
            .encode([b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; MAX_LOGO_BYTES]].concat());
        let check = |change: &dyn Fn(&mut Settings)| {
            let mut s = Settings::default();
            change(&mut s);
            check_brand(&s)
        };
        assert_eq!(check(&|_| {}), Ok(()));
        assert_eq!(check(&|s| s.system_name = "MyForum 论坛".into()), Ok(()));
        assert_eq!(
            check(&|s| s.system_name = " ".into()),
            Err(BrandProblem::Name)
        );
        assert_eq!(
            check(&|s| s.system_name = "a\nb".into()),
            Err(BrandProblem::Name)
        );
        assert_eq!(
            check(&|s| s.system_name = "x".repeat(41)),
            Err(BrandProblem::Name)
        );
        assert_eq!(
            check(&|s| s.logo_url = "https://cdn.example/l.png".into()),
            Ok(())
        );
        assert_eq!(
            check(&|s| s.logo_url = "http://cdn.example/l.png".into()),
            Err(BrandProblem::LogoUrl)
        );
        assert_eq!(
            check(&|s| s.logo_url = "javascript:alert(1)".into()),
            Err(BrandProblem::LogoUrl)
        );
        assert_eq!(check(&|s| s.logo_upload = png.clone()), Ok(()));
        assert_eq!(
            check(&|s| s.logo_upload = svg.clone()),
            Err(BrandProblem::LogoUpload)
        );
        assert_eq!(
            check(&|s| s.logo_upload = huge.clone()),
            Err(BrandProblem::LogoUpload)
        );
        assert_eq!(check(&|s| s.accent_color = "#0a7F3c".into()), Ok(()));
        for bad in ["red", "#fff", "#12345g", "0a7f3c", "#0a7f3c;x"] {
            assert_eq!(
                check(&|s| s.accent_color = bad.into()),
                Err(BrandProblem::AccentColor),
                "{bad}"
            );
        }
        assert_eq!(check(&|s| s.footer_text = "© MyForum".into()), Ok(()));
        assert_eq!(
            check(&|s| s.footer_text = "x".repeat(201)),
            Err(BrandProblem::Footer)
        );
        assert_eq!(
            check(&|s| s.terms_url = "https://forum.example/tos".into()),
            Ok(())
        );
        assert_eq!(
            check(&|s| s.privacy_url = "javascript:alert(1)".into()),
            Err(BrandProblem::PolicyUrl)
        );
    }

    #[test]
    fn logo_kinds_are_told_by_their_first_bytes() {
        assert_eq!(logo_media_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(logo_media_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(logo_media_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(logo_media_type(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(logo_media_type(b"<?xml"), None);
    }

    #[test]
    fn host_patterns_name_a_host_or_its_subdomains_only() {
        assert!(host_matches("agent.example", "agent.example"));
        assert!(!host_matches("agent.example", "x.agent.example"));
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "badexample.com"));
        assert!(!host_matches("*.example.com", ".example.com"));
    }

    #[test]
    fn the_deny_list_wins_and_an_allow_list_admits_only_its_hosts() {
        let mut s = Settings::default();
        assert!(s.metadata_host_allowed("agent.example"));
        s.client_metadata_allowed_hosts = vec!["*.example".into()];
        assert!(s.metadata_host_allowed("agent.example"));
        assert!(!s.metadata_host_allowed("agent.other"));
        s.client_metadata_denied_hosts = vec!["agent.example".into()];
        assert!(!s.metadata_host_allowed("agent.example"));
    }

    #[test]
    fn self_registered_rules_are_validated() {
        let ok = |change: fn(&mut Settings)| {
            let mut s = Settings::default();
            change(&mut s);
            s.check_self_registered().is_ok()
        };
        assert!(ok(|_| {}));
        assert!(!ok(
            |s| s.client_metadata_denied_hosts = vec!["Evil.Example".into()]
        ));
        assert!(!ok(
            |s| s.client_metadata_allowed_hosts = vec!["a..b".into()]
        ));
        assert!(!ok(|s| s.client_metadata_allowed_hosts = vec!["*.".into()]));
        assert!(ok(
            |s| s.client_metadata_allowed_hosts = vec!["*.example.com".into()]
        ));
        assert!(!ok(
            |s| s.self_registered_client_scopes = "openid admin".into()
        ));
        assert!(!ok(|s| s.dynamic_client_purge_days = 0));
        assert!(ok(|s| s.deleted_username_hold_days = 0));
        assert!(!ok(|s| s.deleted_username_hold_days = -1));
        assert!(!ok(|s| s.deleted_username_hold_days = 3651));
        assert!(!ok(
            |s| s.client_metadata_denied_hosts = vec!["a.example".into(); 101]
        ));
    }
}
