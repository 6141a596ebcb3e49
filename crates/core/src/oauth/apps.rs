//! Apps: registration by developers, review by admins, and the one-time secret.
//!
//! A confidential app's secret exists in clear text only in the one answer that shows it. When
//! review is on, no secret exists until the owner's first look after approval: it is generated
//! then, its hash stored, and it is never shown again (rotation makes a new one).

use super::app_edit::{self, AppEdit};
use super::audience::{self, ResourceGrants, is_well_formed};
use super::redirect_uri::{self, RedirectUriError};
use super::scope::ScopeSet;
use super::{CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::model::{
    AuthMethod, Client, ClientKind, ClientPatch, ClientPk, ClientStatus, GrantType, NewClient, User,
};
use crate::oidc::SigningAlg;
use crate::secret::{ALPHANUMERIC, Secret, random_string};
use crate::settings::{Settings, SettingsCache};
use crate::store::{Store, StoreError};
use serde_json::json;
use std::sync::Arc;

mod spend_limits;
pub use spend_limits::{LimitChangeError, LimitChanged, LimitUse};

pub const NAME_MAX: usize = 50;
pub const DESCRIPTION_MAX: usize = 500;
pub const REDIRECT_URIS_MAX: usize = 10;
/// The longest grace period a rotated secret may keep working.
pub const ROTATION_GRACE_MAX: i64 = 7 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("应用名称不能为空，且不能超过 50 个字符")]
    Name,
    #[error("应用描述不能超过 500 个字符")]
    Description,
    #[error("至少需要一个重定向 URI，最多 10 个")]
    RedirectUriCount,
    #[error("{0}")]
    RedirectUri(#[from] RedirectUriError),
    #[error("不支持的权限范围")]
    Scope,
    #[error("不支持的授权类型")]
    GrantType,
    #[error("不支持的 id_token 签名算法")]
    IdTokenAlg,
    #[error(
        "客户端认证方式无效：公开客户端只能用 none，private_key_jwt 需要 jwks 或 jwks_uri 之一"
    )]
    AuthMethod,
    #[error("jwks_uri 必须是带路径的 https 地址")]
    JwksUri,
    #[error("{0}")]
    Jwks(#[from] super::client_auth::JwksError),
    #[error("公开客户端不能使用 client_credentials")]
    PublicClientCredentials,
    #[error("应用不存在")]
    NotFound,
    #[error("资源列表无效：每项须是已注册资源的标识，最多 20 个")]
    Resource,
    #[error("该应用不使用密钥（公开客户端或 private_key_jwt）")]
    NoSecret,
    #[error("应用尚未通过审核")]
    NotApproved,
    #[error("宽限期不能超过 7 天")]
    Grace,
    #[error("该操作不适用于应用当前的状态")]
    WrongState,
    #[error("Logo 地址必须是 https 地址")]
    LogoUri,
    #[error("主页地址必须是 https 地址")]
    HomepageUri,
    #[error("隐私政策地址必须是 https 地址")]
    PolicyUri,
    #[error("自行注册的客户端不能在这里修改")]
    NotEditable,
    #[error("没有待审核的修改")]
    NoPendingChange,
    #[error("登出后重定向 URI：{0}")]
    PostLogoutUri(RedirectUriError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operator's policy for new apps could not be read.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
}

/// What a developer asks for.
#[derive(Debug, Default)]
pub struct AppForm {
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    /// `None`: the seed documents' `profile balance`.
    pub scopes: Option<String>,
    /// `None`: `authorization_code refresh_token`.
    pub grant_types: Option<Vec<String>>,
    pub public: bool,
    /// Where RP-initiated logout may send users back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    pub id_token_alg: Option<String>,
    /// `client_secret_basic` (default for a confidential app), `client_secret_post`,
    /// `private_key_jwt` or `none` (a public app's, and only theirs).
    pub token_endpoint_auth_method: Option<String>,
    /// The public JWK Set of a `private_key_jwt` app (RFC 7591 §2 `jwks`).
    pub jwks: Option<serde_json::Value>,
    /// Or where the app publishes it (`jwks_uri`, an https URL fetched through the outbound
    /// guard), so that it can rotate its keys without telling anyone.
    pub jwks_uri: Option<String>,
    /// https links shown on consent pages; empty or `None`: none.
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
}

/// How an app authenticates, with its keys for `private_key_jwt`.
struct AuthKeys {
    method: AuthMethod,
    jwks: Option<String>,
    jwks_uri: Option<String>,
}

/// The app's client authentication method and, for `private_key_jwt`, its validated JWK Set or
/// the https URL it is published at (exactly one). A public app uses `none` and only it does;
/// keys come with `private_key_jwt` only.
fn auth_method(form: &AppForm) -> Result<AuthKeys, AppError> {
    let method = match form.token_endpoint_auth_method.as_deref() {
        None | Some("") if form.public => AuthMethod::None,
        None | Some("") => AuthMethod::ClientSecretBasic,
        Some(name) => AuthMethod::parse(name).ok_or(AppError::AuthMethod)?,
    };
    if form.public != (method == AuthMethod::None) {
        return Err(AppError::AuthMethod);
    }
    let jwks_uri = form.jwks_uri.as_deref().filter(|u| !u.is_empty());
    let keys = |jwks, jwks_uri| AuthKeys {
        method,
        jwks,
        jwks_uri,
    };
    match (method, &form.jwks, jwks_uri) {
        (AuthMethod::PrivateKeyJwt, Some(jwks), None) => {
            Ok(keys(Some(super::client_auth::validate_jwks(jwks)?), None))
        }
        (AuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            super::metadata_document::check_url(uri).map_err(|_| AppError::JwksUri)?;
            Ok(keys(None, Some(uri.to_owned())))
        }
        (AuthMethod::PrivateKeyJwt, _, _) | (_, Some(_), _) | (_, _, Some(_)) => {
            Err(AppError::AuthMethod)
        }
        (_, None, None) => Ok(keys(None, None)),
    }
}

/// An admin's changes to an app; `None` keeps a field.
#[derive(Debug, Default)]
pub struct AdminEdit {
    pub trusted: Option<bool>,
    /// May ask users for `balance:spend`.
    pub may_spend: Option<bool>,
    /// The platform's billing service (charges any user with client credentials).
    pub billing_service: Option<bool>,
    pub scopes: Option<String>,
    /// `Some(None)`: any enabled API; `Some(Some(list))`: only those (RFC 8707 identifiers).
    pub resources: Option<Option<Vec<String>>>,
}

/// Records that a user lets an app have `scopes` and `resources`, in addition to what they
/// allowed it before: the built-in scopes merge in the store, the APIs here.
pub(crate) async fn save_consent_adding(
    store: &dyn Store,
    (user, client): (crate::model::UserId, ClientPk),
    scopes: ScopeSet,
    resources: &ResourceGrants,
    spend_limit: Option<crate::billing::limit::SpendLimit>,
    now: UnixTime,
) -> Result<(), StoreError> {
    let before = store.consent(user, client).await?;
    let all = before.map_or_else(|| resources.clone(), |c| c.resources.union(resources));
    store
        .save_consent(user, client, scopes, &all, spend_limit, now)
        .await
}

/// How many APIs an admin may list for one app.
pub const RESOURCES_MAX: usize = 20;

/// The operator's rules for new apps.
#[derive(Debug, Clone, Copy)]
pub struct AppPolicy {
    pub review_required: bool,
    pub allow_http_redirect_uris: bool,
}

impl AppPolicy {
    pub fn of(settings: &Settings) -> Self {
        Self {
            review_required: settings.app_review_required,
            allow_http_redirect_uris: settings.allow_http_redirect_uris,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Approve,
    Reject,
    Disable,
}

/// The developers' and the admins' actions on apps, and users' revocation of their grants; each
/// writes its own audit record (`ip` is the caller's address, for that record).
pub struct Apps {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<SettingsCache>,
}

impl Apps {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<SettingsCache>) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// Registers an app for `owner` under the operator's current policy for new apps.
    pub async fn create(
        &self,
        owner: &User,
        form: AppForm,
        ip: &str,
    ) -> Result<(Client, Option<Secret>), AppError> {
        let policy = AppPolicy::of(&*self.settings.get().await?);
        self.register(owner, form, policy, ip).await
    }

    /// Registers an app for `owner` under `policy`. Returns the app and, when it is approved at
    /// once and confidential, its secret (shown in this answer only).
    pub async fn register(
        &self,
        owner: &User,
        form: AppForm,
        policy: AppPolicy,
        ip: &str,
    ) -> Result<(Client, Option<Secret>), AppError> {
        let name = form.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            return Err(AppError::Name);
        }
        let description = form.description.trim().to_owned();
        if description.chars().count() > DESCRIPTION_MAX {
            return Err(AppError::Description);
        }
        let allow_http = policy.allow_http_redirect_uris;
        let uris = distinct_uris(&form.redirect_uris, |uri| {
            redirect_uri::validate_redirect(uri, allow_http, form.public)
        })?;
        let scopes = match form.scopes.as_deref() {
            None => ScopeSet::parse("profile balance").map_err(|_| AppError::Scope)?,
            Some(text) => ScopeSet::parse(text).map_err(|_| AppError::Scope)?,
        };
        if scopes.is_empty() {
            return Err(AppError::Scope);
        }
        let grant_types = match &form.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(names) => {
                let mut grants = Vec::new();
                for name in names {
                    let grant = GrantType::parse(name).ok_or(AppError::GrantType)?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                if grants.is_empty() {
                    return Err(AppError::GrantType);
                }
                grants
            }
        };
        // A redirect URI is needed only where there is a redirect (RFC 7591 §2): an app that
        // only uses client_credentials may have none.
        if uris.is_empty() && grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(AppError::RedirectUriCount);
        }
        if form.public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(AppError::PublicClientCredentials);
        }
        // Logout returns to a web page: no private-use schemes there.
        let logout_uris = distinct_uris(&form.post_logout_redirect_uris, |uri| {
            redirect_uri::validate(uri, allow_http)
        })?;
        let id_token_alg = match form.id_token_alg.as_deref() {
            None | Some("") => SigningAlg::Rs256,
            Some(name) => SigningAlg::parse(name).ok_or(AppError::IdTokenAlg)?,
        };

        let AuthKeys {
            method: auth_method,
            jwks,
            jwks_uri,
        } = auth_method(&form)?;

        let logo_uri = app_edit::new_link(form.logo_uri, AppError::LogoUri)?;
        let client_uri = app_edit::new_link(form.client_uri, AppError::HomepageUri)?;
        let policy_uri = app_edit::new_link(form.policy_uri, AppError::PolicyUri)?;

        let now = self.clock.now();
        let approved = !policy.review_required;
        let secret =
            (approved && auth_method.uses_secret()).then(|| Secret::generate(CLIENT_SECRET_PREFIX));
        let new = NewClient {
            client_id: format!("{CLIENT_ID_PREFIX}{}", random_string(ALPHANUMERIC, 24)),
            owner_id: Some(owner.id),
            name,
            description,
            redirect_uris: uris,
            post_logout_redirect_uris: logout_uris,
            allowed_scopes: scopes,
            grant_types,
            public: form.public,
            id_token_alg,
            auth_method,
            jwks,
            jwks_uri,
            kind: ClientKind::Console,
            registration_token_hash: None,
            metadata_expires_at: None,
            logo_uri,
            client_uri,
            policy_uri,
            status: if approved {
                ClientStatus::Approved
            } else {
                ClientStatus::Pending
            },
            secret_hash: secret.as_ref().map(Secret::hash),
            secret_revealed_at: secret.as_ref().map(|_| now),
            created_at: now,
        };
        let client = self.store.create_client(new).await?;
        let detail =
            json!({"name": client.name, "status": client.status.as_str(), "public": client.public});
        self.audit(Some(owner), action::APP_CREATED, &client, detail, ip)
            .await;
        if secret.is_some() {
            self.audit(Some(owner), action::SECRET_REVEALED, &client, json!({}), ip)
                .await;
        }
        Ok((client, secret))
    }

    /// The owner's view of one of their apps, without side effects.
    pub async fn show(&self, owner: &User, pk: ClientPk) -> Result<Client, AppError> {
        self.owned(owner, pk).await
    }

    /// The owner's view of one of their apps as `GET /api/oauth_apps/{id}` gives it (the seed
    /// documents' contract): the first view after approval of a confidential app generates its
    /// secret and returns it, once. Pages never call this; they reveal with [`Apps::reveal`].
    pub async fn view(
        &self,
        owner: &User,
        pk: ClientPk,
        ip: &str,
    ) -> Result<(Client, Option<Secret>), AppError> {
        match self.reveal(owner, pk, ip).await {
            Ok((client, secret)) => Ok((client, Some(secret))),
            Err(AppError::WrongState) => Ok((self.owned(owner, pk).await?, None)),
            Err(e) => Err(e),
        }
    }

    /// The owner's explicit request for the first secret of an approved confidential app: it is
    /// generated now and returned, once. `WrongState` when it was shown before (rotate instead),
    /// the app is not approved, or it uses no secret.
    pub async fn reveal(
        &self,
        owner: &User,
        pk: ClientPk,
        ip: &str,
    ) -> Result<(Client, Secret), AppError> {
        let client = self.owned(owner, pk).await?;
        if client.status != ClientStatus::Approved
            || !client.auth_method.uses_secret()
            || client.secret_revealed_at.is_some()
        {
            return Err(AppError::WrongState);
        }
        let secret = Secret::generate(CLIENT_SECRET_PREFIX);
        let now = self.clock.now();
        if !self.store.reveal_secret(pk, &secret.hash(), now).await? {
            // A concurrent first view won; this one shows nothing.
            return Err(AppError::WrongState);
        }
        let client = self.owned(owner, pk).await?;
        self.audit(Some(owner), action::SECRET_REVEALED, &client, json!({}), ip)
            .await;
        Ok((client, secret))
    }

    /// The owner changes their app: what widens it (or changes the name or logo users trust)
    /// waits for review when the operator requires it, the rest applies at once (see
    /// [`app_edit`]). A new edit replaces a pending one. Self-registered clients describe
    /// themselves and are not edited here.
    pub async fn edit(
        &self,
        owner: &User,
        pk: ClientPk,
        edit: AppEdit,
        ip: &str,
    ) -> Result<Client, AppError> {
        let client = self.owned(owner, pk).await?;
        if client.kind.self_registered() {
            return Err(AppError::NotEditable);
        }
        let policy = AppPolicy::of(&*self.settings.get().await?);
        let wanted = app_edit::requested(&client, edit, policy.allow_http_redirect_uris)?;
        let plan = app_edit::plan(&client, wanted, policy.review_required);
        let now = self.clock.now();
        let pending = plan.pending.as_ref().map(|change| (change, now));
        // What users trust changed without anyone reviewing it: no more "reviewed" mark.
        let unreviewed = app_edit::needs_review(&client, &plan.now);
        let reviewed = unreviewed.then_some(None);
        if !self
            .store
            .edit_client(pk, &plan.now, pending, reviewed, now)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let before = client.details();
        let detail = json!({
            "applied": app_edit::changed_fields(&before, &plan.now),
            "pending": plan.pending.as_ref().map(|p| app_edit::changed_fields(&plan.now, p)),
        });
        let client = self.owned(owner, pk).await?;
        self.audit(Some(owner), action::APP_EDITED, &client, detail, ip)
            .await;
        Ok(client)
    }

    /// The owner withdraws the change that waits for review; the configuration in force stays.
    pub async fn withdraw_change(
        &self,
        owner: &User,
        pk: ClientPk,
        ip: &str,
    ) -> Result<Client, AppError> {
        let client = self.owned(owner, pk).await?;
        self.settle_change(None, client, false, action::APP_CHANGE_WITHDRAWN, ip)
            .await
    }

    /// An admin's decision on an app's pending change: approving puts it in force as it was
    /// asked for, rejecting drops it; either way the app stays approved. `reviewer` is `None`
    /// for the operator on the command line.
    pub async fn review_change(
        &self,
        reviewer: Option<&User>,
        pk: ClientPk,
        approve: bool,
        ip: &str,
    ) -> Result<Client, AppError> {
        let client = self.by_pk(pk).await?;
        let what = if approve {
            action::APP_CHANGE_APPROVED
        } else {
            action::APP_CHANGE_REJECTED
        };
        self.settle_change(reviewer, client, approve, what, ip)
            .await
    }

    async fn settle_change(
        &self,
        actor: Option<&User>,
        client: Client,
        apply: bool,
        what: &'static str,
        ip: &str,
    ) -> Result<Client, AppError> {
        let Some(change) = client.pending_change.clone() else {
            return Err(AppError::NoPendingChange);
        };
        let details = if apply {
            change.clone()
        } else {
            client.details()
        };
        let now = self.clock.now();
        let reviewed = apply.then_some(Some(now));
        if !self
            .store
            .edit_client(client.id, &details, None, reviewed, now)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let detail = json!({"fields": app_edit::changed_fields(&client.details(), &change)});
        let client = self.by_pk(client.id).await?;
        self.audit(actor, what, &client, detail, ip).await;
        Ok(client)
    }

    /// A new secret, shown once. With `grace_secs`, the old one keeps working that long so the
    /// app can be redeployed without downtime.
    pub async fn rotate_secret(
        &self,
        owner: &User,
        pk: ClientPk,
        grace_secs: i64,
        ip: &str,
    ) -> Result<(Client, Secret), AppError> {
        if !(0..=ROTATION_GRACE_MAX).contains(&grace_secs) {
            return Err(AppError::Grace);
        }
        let client = self.owned(owner, pk).await?;
        if !client.auth_method.uses_secret() {
            return Err(AppError::NoSecret);
        }
        if client.status != ClientStatus::Approved {
            return Err(AppError::NotApproved);
        }
        let now = self.clock.now();
        let secret = Secret::generate(CLIENT_SECRET_PREFIX);
        let previous = (grace_secs > 0 && client.secret_hash.is_some()).then_some(now + grace_secs);
        if !self
            .store
            .rotate_secret(pk, &secret.hash(), previous, now)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let client = self.owned(owner, pk).await?;
        let detail = json!({"grace_seconds": grace_secs});
        self.audit(Some(owner), action::SECRET_ROTATED, &client, detail, ip)
            .await;
        Ok((client, secret))
    }

    pub async fn delete(&self, owner: &User, pk: ClientPk, ip: &str) -> Result<Client, AppError> {
        let client = self.owned(owner, pk).await?;
        self.store.delete_client(pk).await?;
        self.audit(Some(owner), action::APP_DELETED, &client, json!({}), ip)
            .await;
        Ok(client)
    }

    /// An admin's decision. Approving works from pending, rejected or disabled; rejecting only
    /// a pending app; disabling any approved or pending one. Tokens of an app that is no longer
    /// approved stop working at once (the token check joins on the app's status).
    /// `reviewer` is `None` for the operator on the command line.
    pub async fn review(
        &self,
        reviewer: Option<&User>,
        pk: ClientPk,
        decision: Review,
        note: &str,
        ip: &str,
    ) -> Result<Client, AppError> {
        let client = self.by_pk(pk).await?;
        let allowed = match decision {
            Review::Approve => client.status != ClientStatus::Approved,
            Review::Reject => client.status == ClientStatus::Pending,
            Review::Disable => matches!(
                client.status,
                ClientStatus::Approved | ClientStatus::Pending
            ),
        };
        if !allowed {
            return Err(AppError::WrongState);
        }
        let status = match decision {
            Review::Approve => ClientStatus::Approved,
            Review::Reject => ClientStatus::Rejected,
            Review::Disable => ClientStatus::Disabled,
        };
        let note: String = note.chars().take(500).collect();
        let patch = ClientPatch {
            status: Some(status),
            review_note: Some(note.clone()),
            ..ClientPatch::default()
        };
        self.store
            .patch_client(pk, &patch, self.clock.now())
            .await?;
        let client = self.by_pk(pk).await?;
        let what = match decision {
            Review::Approve => action::APP_APPROVED,
            Review::Reject => action::APP_REJECTED,
            Review::Disable => action::APP_DISABLED,
        };
        self.audit(reviewer, what, &client, json!({"reason": note}), ip)
            .await;
        Ok(client)
    }

    /// Admin edits that are not a review decision (the trusted flag, allowed scopes, the APIs
    /// the app is limited to).
    pub async fn update(
        &self,
        admin: &User,
        pk: ClientPk,
        edit: AdminEdit,
        ip: &str,
    ) -> Result<Client, AppError> {
        let AdminEdit {
            trusted,
            may_spend,
            billing_service,
            scopes,
            resources,
        } = edit;
        let allowed_scopes = scopes
            .as_deref()
            .map(|s| ScopeSet::parse(s).map_err(|_| AppError::Scope))
            .transpose()?;
        if allowed_scopes.is_some_and(ScopeSet::is_empty) {
            return Err(AppError::Scope);
        }
        if let Some(Some(list)) = &resources {
            if list.len() > RESOURCES_MAX {
                return Err(AppError::Resource);
            }
            for identifier in list {
                if !is_well_formed(identifier)
                    || self
                        .store
                        .resource_by_identifier(identifier)
                        .await?
                        .is_none()
                {
                    return Err(AppError::Resource);
                }
            }
        }
        // The stored scopes follow the flag, so that tokens read them as the directory does.
        let allowed_scopes = match may_spend {
            Some(allowed) => {
                let scopes = match allowed_scopes {
                    Some(scopes) => scopes,
                    None => self.by_pk(pk).await?.allowed_scopes,
                };
                Some(if allowed {
                    scopes.with(crate::oauth::scope::Scope::BalanceSpend)
                } else {
                    scopes.without(crate::oauth::scope::Scope::BalanceSpend)
                })
            }
            None => allowed_scopes,
        };
        let patch = ClientPatch {
            trusted,
            may_spend,
            billing_service,
            allowed_scopes,
            allowed_resources: resources.clone(),
            ..ClientPatch::default()
        };
        if !self
            .store
            .patch_client(pk, &patch, self.clock.now())
            .await?
        {
            return Err(AppError::NotFound);
        }
        let client = self.by_pk(pk).await?;
        let detail = json!({
            "trusted": trusted,
            "may_spend": may_spend,
            "billing_service": billing_service,
            "scopes": scopes,
            "resources": resources,
        });
        self.audit(Some(admin), action::APP_UPDATED, &client, detail, ip)
            .await;
        Ok(client)
    }

    /// Records that `user` lets `client` have `scopes` (the consent page's "approve"), so that
    /// later requests within them skip the page.
    pub async fn grant_consent(
        &self,
        user: &User,
        client: &Client,
        scopes: ScopeSet,
        resources: &ResourceGrants,
        spend_limit: Option<crate::billing::limit::SpendLimit>,
        ip: &str,
    ) -> Result<(), StoreError> {
        save_consent_adding(
            self.store.as_ref(),
            (user.id, client.id),
            scopes,
            resources,
            spend_limit,
            self.clock.now(),
        )
        .await?;
        let detail = json!({
            "spend_limit": spend_limit.map(|l| l.to_string()),
            "scopes": audience::scope_string(scopes, resources),
            "resources": resources.iter().map(|g| g.resource.as_str()).collect::<Vec<_>>(),
        });
        self.audit(Some(user), action::CONSENT_GRANTED, client, detail, ip)
            .await;
        Ok(())
    }

    /// Ends `user`'s authorization of the app `client_id`: the consent and every token issued
    /// under it. `false` when there was none (or no such app).
    pub async fn revoke_consent(
        &self,
        user: &User,
        client_id: &str,
        ip: &str,
    ) -> Result<bool, StoreError> {
        if client_id.len() > 128 {
            return Ok(false);
        }
        let Some(client) = self.store.client_by_client_id(client_id).await? else {
            return Ok(false);
        };
        if !self
            .store
            .revoke_consent(user.id, client.id, self.clock.now())
            .await?
        {
            return Ok(false);
        }
        self.audit(Some(user), action::CONSENT_REVOKED, &client, json!({}), ip)
            .await;
        Ok(true)
    }

    async fn audit(
        &self,
        actor: Option<&User>,
        what: &'static str,
        client: &Client,
        detail: serde_json::Value,
        ip: &str,
    ) {
        let now = self.clock.now();
        let target = client.client_id.clone();
        let actor = actor.map(|u| u.id);
        audit::record(self.store.as_ref(), now, actor, what, target, detail, ip).await;
    }

    async fn by_pk(&self, pk: ClientPk) -> Result<Client, AppError> {
        self.store.client_by_pk(pk).await?.ok_or(AppError::NotFound)
    }

    /// Another user's app is reported as missing, not as forbidden, so ids cannot be probed.
    async fn owned(&self, owner: &User, pk: ClientPk) -> Result<Client, AppError> {
        self.store
            .client_by_pk(pk)
            .await?
            .filter(|c| c.owner_id == Some(owner.id))
            .ok_or(AppError::NotFound)
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

/// The URIs of a registration, trimmed, each passed through `check` and kept once
/// (in the order given); more than `REDIRECT_URIS_MAX` is refused.
fn distinct_uris(
    raw: &[String],
    check: impl Fn(&str) -> Result<(), RedirectUriError>,
) -> Result<Vec<String>, AppError> {
    let mut uris: Vec<String> = Vec::new();
    for uri in raw.iter().map(|u| u.trim()) {
        check(uri)?;
        if !uris.iter().any(|u| u == uri) {
            uris.push(uri.to_owned());
        }
    }
    if uris.len() > REDIRECT_URIS_MAX {
        return Err(AppError::RedirectUriCount);
    }
    Ok(uris)
}
