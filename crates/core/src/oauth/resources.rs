//! Resource servers: the APIs and MCP servers an admin registers so that apps can ask for tokens
//! bound to them (RFC 8707), each with its own scopes, token format and lifetime.

use super::audience::{MAX_RESOURCES_PER_REQUEST, TargetError, is_well_formed};
use super::scope::Scope;
use crate::audit::{self, action};
use crate::clock::Clock;
use crate::model::{
    Client, NewResource, Resource, ResourcePatch, ResourcePk, ResourceScope, TokenFormat, User,
};
use crate::oidc::SigningAlg;
use crate::store::{Store, StoreError};
use serde_json::json;
use std::sync::Arc;

pub const NAME_MAX: usize = 50;
pub const SCOPES_MAX: usize = 50;
pub const SCOPE_NAME_MAX: usize = 64;
pub const SCOPE_DESCRIPTION_MAX: usize = 200;
/// The bounds of an access token's lifetime. A JWT cannot be recalled before it expires, so its
/// lifetime is short; the signing keys stay published at least this long after they retire.
pub const TTL_MIN: i64 = 60;
pub const OPAQUE_TTL_MAX: i64 = 24 * 3600;
pub const JWT_TTL_MAX: i64 = 3600;
pub const OPAQUE_TTL_DEFAULT: i64 = 3600;
pub const JWT_TTL_DEFAULT: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error(
        "资源标识必须是绝对 https URI（仅回环地址可用 http），不能含片段或用户信息，最长 512 个字符"
    )]
    Identifier,
    #[error("资源标识不能是本站的 issuer")]
    IssuerIdentifier,
    #[error("资源名称不能为空，且不能超过 50 个字符")]
    Name,
    #[error(
        "权限名称无效：1 到 64 个可见 ASCII 字符，不含空格、引号和反斜杠，不能重复，也不能是内置权限"
    )]
    ScopeName,
    #[error("权限说明不能超过 200 个字符")]
    ScopeDescription,
    #[error("最多 50 个权限")]
    ScopeCount,
    #[error("不支持的访问令牌格式")]
    TokenFormat,
    #[error("不支持的签名算法")]
    SigningAlg,
    #[error("访问令牌有效期超出范围（不透明令牌 60 到 86400 秒，JWT 60 到 3600 秒）")]
    Ttl,
    #[error("资源不存在")]
    NotFound,
    #[error("该资源标识已被注册")]
    Taken,
    #[error("用于令牌内省的应用必须是已存在的机密客户端")]
    IntrospectionClient,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an admin sends to register or change a resource; `None` keeps a field (or, at
/// registration, takes its default).
#[derive(Debug, Default, Clone)]
pub struct ResourceForm {
    pub identifier: String,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub scopes: Option<Vec<ResourceScope>>,
    pub token_format: Option<String>,
    pub signing_alg: Option<String>,
    pub access_token_ttl_secs: Option<i64>,
    /// The `client_id` of a confidential app the API introspects with; empty removes it.
    pub introspection_client_id: Option<String>,
    pub enabled: Option<bool>,
}

pub struct Resources {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    issuer: String,
}

impl Resources {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, issuer: String) -> Self {
        Self {
            store,
            clock,
            issuer,
        }
    }

    pub async fn list(&self) -> Result<Vec<Resource>, ResourceError> {
        Ok(self.store.list_resources().await?)
    }

    pub async fn get(&self, id: ResourcePk) -> Result<Resource, ResourceError> {
        self.store
            .resource_by_id(id)
            .await?
            .ok_or(ResourceError::NotFound)
    }

    /// Registers an API. Its identifier is fixed from now on: tokens carry it as `aud`.
    pub async fn create(
        &self,
        admin: &User,
        form: ResourceForm,
        ip: &str,
    ) -> Result<Resource, ResourceError> {
        let identifier = form.identifier.trim().to_owned();
        check_identifier(&identifier)?;
        if identifier == self.issuer {
            return Err(ResourceError::IssuerIdentifier);
        }
        let name = check_name(form.name.as_deref().unwrap_or_default())?;
        let name_en = match form.name_en.as_deref().map(str::trim) {
            Some(en) if !en.is_empty() => check_name(en)?,
            _ => name.clone(),
        };
        let token_format =
            parse_format(form.token_format.as_deref())?.unwrap_or(TokenFormat::Opaque);
        let ttl = form
            .access_token_ttl_secs
            .unwrap_or(default_ttl(token_format));
        check_ttl(token_format, ttl)?;
        let resource = self
            .store
            .create_resource(NewResource {
                identifier,
                name_zh: name,
                name_en,
                scopes: check_scopes(form.scopes.unwrap_or_default())?,
                token_format,
                signing_alg: parse_alg(form.signing_alg.as_deref())?.unwrap_or(SigningAlg::Rs256),
                access_token_ttl_secs: ttl,
                introspection_client_id: self
                    .introspection_client(form.introspection_client_id)
                    .await?
                    .flatten(),
                created_at: self.clock.now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(crate::store::Conflict::ResourceIdentifier) => {
                    ResourceError::Taken
                }
                e => e.into(),
            })?;
        self.audit(admin, action::RESOURCE_CREATED, &resource, ip)
            .await;
        Ok(resource)
    }

    /// Changes a resource. Disabling it makes its opaque tokens inactive at once and refuses new
    /// ones; its JWTs live out their short lifetime.
    pub async fn update(
        &self,
        admin: &User,
        id: ResourcePk,
        form: ResourceForm,
        ip: &str,
    ) -> Result<Resource, ResourceError> {
        let current = self.get(id).await?;
        let name_zh = form.name.as_deref().map(check_name).transpose()?;
        let name_en = form.name_en.as_deref().map(check_name).transpose()?;
        let token_format = parse_format(form.token_format.as_deref())?;
        let format = token_format.unwrap_or(current.token_format);
        let ttl = match (form.access_token_ttl_secs, token_format) {
            (Some(ttl), _) => ttl,
            // A new format without a lifetime takes that format's default.
            (None, Some(f)) if f != current.token_format => default_ttl(f),
            (None, _) => current.access_token_ttl_secs,
        };
        check_ttl(format, ttl)?;
        let patch = ResourcePatch {
            name_zh,
            name_en,
            scopes: form.scopes.map(check_scopes).transpose()?,
            token_format: Some(format),
            signing_alg: parse_alg(form.signing_alg.as_deref())?,
            access_token_ttl_secs: Some(ttl),
            introspection_client_id: self
                .introspection_client(form.introspection_client_id)
                .await?,
            enabled: form.enabled,
        };
        if !self
            .store
            .patch_resource(id, &patch, self.clock.now())
            .await?
        {
            return Err(ResourceError::NotFound);
        }
        let resource = self.get(id).await?;
        self.audit(admin, action::RESOURCE_UPDATED, &resource, ip)
            .await;
        Ok(resource)
    }

    /// `None`: unchanged; `Some(None)`: removed; `Some(Some(id))`: a confidential app's id.
    async fn introspection_client(
        &self,
        client_id: Option<String>,
    ) -> Result<Option<Option<String>>, ResourceError> {
        let Some(client_id) = client_id.map(|c| c.trim().to_owned()) else {
            return Ok(None);
        };
        if client_id.is_empty() {
            return Ok(Some(None));
        }
        if client_id.len() > 128 {
            return Err(ResourceError::IntrospectionClient);
        }
        match self.store.client_by_client_id(&client_id).await? {
            Some(client) if !client.public => Ok(Some(Some(client_id))),
            _ => Err(ResourceError::IntrospectionClient),
        }
    }

    async fn audit(&self, admin: &User, action: &'static str, resource: &Resource, ip: &str) {
        let detail = json!({
            "id": resource.id,
            "scopes": resource.scopes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            "token_format": resource.token_format.as_str(),
            "access_token_ttl_secs": resource.access_token_ttl_secs,
            "enabled": resource.enabled,
            "introspection_client_id": resource.introspection_client_id,
        });
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(admin.id),
            action,
            resource.identifier.clone(),
            detail,
            ip,
        )
        .await;
    }
}

/// The enabled APIs a request names in `resource`, for `client` (RFC 8707 §2). Keyward's own
/// issuer URL names Keyward's built-in APIs and is skipped. An app may name any enabled API
/// unless an admin limited it to some; with `listed_only` (client credentials, where no user
/// consents) only the APIs an admin listed for the app.
pub async fn resolve(
    store: &dyn Store,
    client: &Client,
    requested: &[String],
    issuer: &str,
    listed_only: bool,
) -> Result<Vec<Resource>, ResolveError> {
    if requested.len() > MAX_RESOURCES_PER_REQUEST {
        return Err(TargetError::InvalidTarget("too many resources").into());
    }
    let mut found: Vec<Resource> = Vec::with_capacity(requested.len());
    for identifier in requested {
        if identifier == issuer || found.iter().any(|r| &r.identifier == identifier) {
            continue;
        }
        if !is_well_formed(identifier) {
            return Err(TargetError::InvalidTarget("malformed resource").into());
        }
        let listed = client
            .allowed_resources
            .as_ref()
            .map(|list| list.iter().any(|r| r == identifier));
        if listed == Some(false) || (listed_only && listed.is_none()) {
            return Err(
                TargetError::InvalidTarget("the resource is not allowed for this app").into(),
            );
        }
        let resource = store
            .resource_by_identifier(identifier)
            .await?
            .filter(|r| r.enabled)
            .ok_or(TargetError::InvalidTarget("unknown or disabled resource"))?;
        found.push(resource);
    }
    Ok(found)
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_identifier(identifier: &str) -> Result<(), ResourceError> {
    let url = url::Url::parse(identifier).map_err(|_| ResourceError::Identifier)?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    };
    if !secure
        || !is_well_formed(identifier)
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ResourceError::Identifier);
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String, ResourceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ResourceError::Name);
    }
    Ok(name.to_owned())
}

/// RFC 6749 §3.3 scope-token characters, and not a built-in scope's name.
fn check_scopes(scopes: Vec<ResourceScope>) -> Result<Vec<ResourceScope>, ResourceError> {
    if scopes.len() > SCOPES_MAX {
        return Err(ResourceError::ScopeCount);
    }
    let mut checked: Vec<ResourceScope> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let name = scope.name.trim();
        let token_char = |c: char| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c);
        if name.is_empty()
            || name.len() > SCOPE_NAME_MAX
            || !name.chars().all(token_char)
            || Scope::parse(name).is_some()
            || checked.iter().any(|s| s.name == name)
        {
            return Err(ResourceError::ScopeName);
        }
        let describe = |text: &str| {
            let text = text.trim();
            if text.chars().count() > SCOPE_DESCRIPTION_MAX || text.chars().any(char::is_control) {
                Err(ResourceError::ScopeDescription)
            } else {
                Ok(text.to_owned())
            }
        };
        let description_zh = describe(&scope.description_zh)?;
        let description_en = match describe(&scope.description_en)? {
            en if en.is_empty() => description_zh.clone(),
            en => en,
        };
        checked.push(ResourceScope {
            name: name.to_owned(),
            description_zh,
            description_en,
        });
    }
    Ok(checked)
}

fn default_ttl(format: TokenFormat) -> i64 {
    match format {
        TokenFormat::Opaque => OPAQUE_TTL_DEFAULT,
        TokenFormat::Jwt => JWT_TTL_DEFAULT,
    }
}

fn check_ttl(format: TokenFormat, ttl: i64) -> Result<(), ResourceError> {
    let max = match format {
        TokenFormat::Opaque => OPAQUE_TTL_MAX,
        TokenFormat::Jwt => JWT_TTL_MAX,
    };
    if (TTL_MIN..=max).contains(&ttl) {
        Ok(())
    } else {
        Err(ResourceError::Ttl)
    }
}

fn parse_format(text: Option<&str>) -> Result<Option<TokenFormat>, ResourceError> {
    text.map(|t| TokenFormat::parse(t).ok_or(ResourceError::TokenFormat))
        .transpose()
}

fn parse_alg(text: Option<&str>) -> Result<Option<SigningAlg>, ResourceError> {
    text.map(|t| SigningAlg::parse(t).ok_or(ResourceError::SigningAlg))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str) -> ResourceScope {
        ResourceScope {
            name: name.into(),
            description_zh: "读取".into(),
            description_en: String::new(),
        }
    }

    #[test]
    fn identifiers_are_https_or_loopback_http_without_fragment_or_userinfo() {
        for good in [
            "https://api.example.com",
            "https://mcp.example.com/mcp",
            "http://127.0.0.1:9000/api",
            "http://[::1]/",
            "http://localhost:3000",
        ] {
            assert!(check_identifier(good).is_ok(), "{good}");
        }
        for bad in [
            "http://api.example.com",
            "https://api.example.com/#x",
            "https://user:pw@api.example.com",
            "/api",
            "urn:example:api",
            "ftp://files.example.com",
        ] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_names_are_rfc6749_tokens_unique_and_not_builtin() {
        assert!(check_scopes(vec![scope("mcp:tools"), scope("files:read")]).is_ok());
        for bad in ["", "two words", "quote\"", "back\\slash", "profile", "é"] {
            assert!(check_scopes(vec![scope(bad)]).is_err(), "{bad:?}");
        }
        assert!(check_scopes(vec![scope("a"), scope("a")]).is_err());
        let checked = check_scopes(vec![scope("a")]).expect("checked");
        assert_eq!(
            checked[0].description_en, "读取",
            "English falls back to the first"
        );
    }

    #[test]
    fn jwt_lifetimes_are_short() {
        assert!(check_ttl(TokenFormat::Jwt, 3600).is_ok());
        assert!(check_ttl(TokenFormat::Jwt, 3601).is_err());
        assert!(check_ttl(TokenFormat::Opaque, 86_400).is_ok());
        assert!(check_ttl(TokenFormat::Opaque, 59).is_err());
    }
}
