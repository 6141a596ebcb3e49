//! Server-rendered pages: shared texts, headers and helpers.

pub mod account;
pub mod admin;
pub mod admin_topup;
#[cfg(test)]
mod all_templates;
pub mod brand;
pub mod chrome;
pub mod console;
pub mod device;
pub mod errors;
pub mod login;
pub mod session;
pub mod trust;

pub use chrome::Chrome;
pub use errors::{PageMessage, Refusal};
pub use session::{PageAdmin, PagePost, PageUser, TokenOnly};

use askama::Template;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::scope::{Access, ScopeSet};

/// Declares `$name`, the words of some pages as one `&'static str` field each, and its two
/// values `ZH` and `EN`. Each word is written once, in Chinese then English, side by side: no
/// language can miss a word, and a reader sees both at once.
macro_rules! page_words {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$field_doc:meta])* $field:ident: $zh:literal, $en:literal; )*
        }
    ) => {
        $(#[$doc])*
        pub struct $name {
            $( $(#[$field_doc])* pub $field: &'static str, )*
        }

        pub static ZH: $name = $name { $( $field: $zh, )* };

        pub static EN: $name = $name { $( $field: $en, )* };
    };
}
pub(crate) use page_words;

/// The page gallery: each template rendered with sample data, by name.
#[cfg(test)]
pub(crate) type Gallery = Vec<(&'static str, String)>;

/// Page structs that carry a frame (their words, navigation and form token) deref to it, so
/// their templates read the frame's fields as their own.
macro_rules! framed {
    ($frame:ty => $($page:ty),+ $(,)?) => {
        $(impl std::ops::Deref for $page {
            type Target = $frame;

            fn deref(&self) -> &$frame {
                &self.frame
            }
        })+
    };
}
pub(crate) use framed;

page_words! {
    /// The words on the pages, in one language.
    Texts {
        lang: "zh-CN", "en";
        malformed_request: "请求参数格式错误", "The request is malformed.";
        session_ended_start_again:
            "登录已过期，请重新开始授权",
            "Your session ended; start again from the app.";
        request_invalid_start_again:
            "请求已失效，请重新开始授权",
            "This request is no longer valid; start again from the app.";
        invalid_id_token_hint: "id_token_hint 无效", "The id_token_hint is not valid.";
        unregistered_logout_uri:
            "未注册的退出后重定向 URI",
            "This post_logout_redirect_uri is not registered for the app.";
        temporarily_unavailable: "服务暂时不可用", "The service is temporarily unavailable.";
        page_expired: "页面已过期，请刷新后重试", "The page expired; please reload it.";
        page_forbidden: "无权访问此页面", "You may not open this page.";
        wechat: "微信", "WeChat";
        login_title: "登录", "Log in";
        username: "用户名或邮箱", "User name or e-mail";
        password: "密码", "Password";
        login_button: "登录", "Log in";
        consent_title: "授权", "Authorize";
        consent_intro: "该应用请求访问你的账户：", "This app asks to access your account:";
        consent_resource: "以及代表你访问以下服务：", "And to act for you at:";
        client_from: "应用自称来自", "This app says it comes from";
        client_not_reviewed:
            "本站未审核此应用：名称和说明由它自己提供。只有在你信任该网站时才授权。",
            "Not reviewed by this platform: the app described itself. Authorize only if you trust that site.";
        signed_in_as: "当前登录：", "Signed in as";
        redirect_to: "授权后将跳转到", "You will be sent to";
        approve: "授权", "Authorize";
        deny: "拒绝", "Deny";
        error_title: "出错了", "Something went wrong";
        scope_openid: "确认你的身份", "Confirm who you are";
        scope_profile: "读取你的用户名、显示名称、头像和等级", "Read your user name, display name, avatar and level";
        scope_email: "读取你的邮箱地址", "Read your e-mail address";
        scope_balance: "读取你的账户余额", "Read your account balance";
        scope_offline: "在你离开后继续访问（刷新令牌）", "Keep access when you are away (refresh tokens)";
        logout_title: "退出登录", "Log out";
        logout_question: "要退出当前账户吗？", "Do you want to log out?";
        logout_button: "退出登录", "Log out";
        logged_out: "你已退出登录。", "You are logged out.";
        second_factor_title: "两步验证", "Two-factor check";
        second_factor_intro:
            "请输入身份验证器中的 6 位验证码，或一个恢复码。",
            "Enter the 6-digit code from your authenticator app, or a recovery code.";
        second_factor_code: "验证码", "Code";
        /// The other language: its code for `/lang?to=` and its name on the switch.
        other_lang: "en", "zh";
        switch_label: "English", "中文";
        nav_label: "账户导航", "Account";
        nav_apps: "我的应用", "My apps";
        nav_authorizations: "已授权应用", "Connected apps";
        nav_security: "账户安全", "Security";
        nav_topup: "充值", "Top up";
        nav_admin: "管理后台", "Admin";
        nav_logout: "退出登录", "Log out";
        terms: "服务条款", "Terms";
        privacy: "隐私政策", "Privacy";
    }
}

/// The pages' languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Texts {
    pub fn language(&self) -> Lang {
        if self.lang == EN.lang {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// A core error in this page's language, in place of its `Display` (the APIs' text).
    pub fn error(&self, e: &impl PageMessage) -> String {
        e.in_lang(self.language()).into_owned()
    }

    /// What a grant of `scopes` lets the app read or do, one line each, from the one rule in
    /// core (`ScopeSet::access`): the consent page and the list of connected apps.
    pub fn access_words(&self, scopes: ScopeSet) -> Vec<&'static str> {
        scopes
            .access()
            .map(|a| match a {
                Access::Identity => self.scope_openid,
                Access::Profile => self.scope_profile,
                Access::Email => self.scope_email,
                Access::Balance => self.scope_balance,
                Access::Offline => self.scope_offline,
            })
            .collect()
    }
}

/// The cookie the language switch sets; it wins over `Accept-Language`.
pub const LANG_COOKIE: &str = "keyward_lang";

/// The visitor's choice from the switch, else the browser's preferred language; Chinese by
/// default.
pub fn texts(headers: &HeaderMap) -> &'static Texts {
    let chosen = axum_extra::extract::CookieJar::from_headers(headers)
        .get(LANG_COOKIE)
        .map(|c| c.value().to_owned());
    match chosen.as_deref() {
        Some("en") => return &EN,
        Some("zh") => return &ZH,
        _ => {}
    }
    let preferred = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(preferred_language);
    match preferred {
        Some(Lang::En) => &EN,
        Some(Lang::Zh) | None => &ZH,
    }
}

/// The language an `Accept-Language` header (RFC 9110 §12.5.4) prefers among ours: the highest
/// weight wins, ties go to the earlier entry; `*` stands for each language not named; a
/// language named with `q=0` is refused; tags we do not speak and malformed entries are
/// ignored. `None` when nothing we speak is acceptable.
pub fn preferred_language(header: &str) -> Option<Lang> {
    /// Weight in thousandths and position of the entry that gave it.
    type Weight = Option<(u16, usize)>;
    let mut named: [Weight; 2] = [None, None];
    let mut wildcard: Weight = None;
    for (position, entry) in header.split(',').enumerate() {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut weight = Some(1000);
        for param in parts {
            if let Some(q) = param
                .trim()
                .strip_prefix("q=")
                .or_else(|| param.trim().strip_prefix("Q="))
            {
                weight = parse_weight(q);
            }
        }
        let Some(weight) = weight else { continue };
        let slot = match tag.split('-').next().unwrap_or_default() {
            "*" => &mut wildcard,
            "zh" => &mut named[0],
            "en" => &mut named[1],
            _ => continue,
        };
        // The best entry for a language counts (`en-GB;q=0.2, en;q=0.8` is 0.8).
        if slot.is_none_or(|(w, _)| weight > w) {
            *slot = Some((weight, position));
        }
    }
    let candidates = [(Lang::Zh, named[0]), (Lang::En, named[1])];
    candidates
        .into_iter()
        .filter_map(|(lang, weight)| weight.or(wildcard).map(|w| (lang, w)))
        .filter(|(_, (weight, _))| *weight > 0)
        .min_by_key(|(_, (weight, position))| (std::cmp::Reverse(*weight), *position))
        .map(|(lang, _)| lang)
}

/// A `q` value: 0 to 1 with at most three decimals, as thousandths.
fn parse_weight(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = match whole {
        "0" => format!("{fraction:0<3}").parse::<u16>().ok()?,
        "1" if fraction.bytes().all(|b| b == b'0') => 1000,
        _ => return None,
    };
    Some(thousandths)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LangQuery {
    to: String,
    return_to: String,
}

/// `GET /lang?to=en|zh&return_to=/path`: remembers the choice for a year and goes back.
pub async fn switch_language(
    axum::extract::Query(query): axum::extract::Query<LangQuery>,
) -> Response {
    let lang = if query.to == "en" { "en" } else { "zh" };
    let back = safe_return_to(&query.return_to).unwrap_or("/");
    let cookie = axum_extra::extract::cookie::Cookie::build((LANG_COOKIE, lang))
        .path("/")
        .max_age(time::Duration::days(365))
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .http_only(true)
        .build();
    let mut response = login::redirect(back);
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// Renders a page with the headers every page carries: no inline script or style, no framing.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'self'; \
                     connect-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; \
                     base-uri 'none'",
                ),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
}

pub fn error_page(status: StatusCode, t: &'static Texts, message: &str) -> Response {
    render(
        status,
        &ErrorPage {
            t,
            chrome: Chrome::bare(t, "/"),
            message,
        },
    )
}

/// The status of a page that answers a form: 422 when it says why the form failed.
pub fn form_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// `2026-05-01 08:30 UTC`, the form every page shows times in; `None` out of range.
pub fn utc_minutes(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    ))
}

/// The page for a failure that is ours, not the user's: logged, never shown.
pub fn unavailable(t: &'static Texts, what: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %what, "page failed");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        t,
        t.temporarily_unavailable,
    )
}

/// The words for an upstream flow's failure code in a page's `?error=`: fixed, in the page's
/// language; an unknown code gets a generic message. Never the query's own text (it would let
/// anyone put words on this site's pages).
pub fn flow_failure(t: &Texts, code: Option<&str>) -> Option<&'static str> {
    let code = code.filter(|c| !c.is_empty())?;
    let (zh, en) = crate::federation::FlowFailure::from_code(code).message();
    Some(if t.lang == "en" { en } else { zh })
}

/// A `return_to` that stays on this site: a path, never `//host` or `/\host`, which browsers
/// would treat as another origin.
pub fn safe_return_to(value: &str) -> Option<&str> {
    let ok = value.starts_with('/')
        && !value.starts_with("//")
        && !value.starts_with("/\\")
        && value.len() <= 4096
        && !value.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(value)
}

/// A path as the value of a `return_to` query parameter.
pub fn encode_return_to(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `GET /static/keyward.css`: one stylesheet, kept in a file per part of the site.
pub async fn stylesheet() -> Response {
    static_file(
        concat!(
            include_str!("../../static/keyward.css"),
            include_str!("../../static/apps.css"),
            include_str!("../../static/admin.css"),
        ),
        "text/css; charset=utf-8",
    )
}

/// `GET /static/keyward.js`: progressive enhancement (copy buttons); no page needs it.
pub async fn script() -> Response {
    static_file(
        include_str!("../../static/keyward.js"),
        "text/javascript; charset=utf-8",
    )
}

/// `GET /docs/{name}`: the integration guides the developer console links to, as text.
pub async fn docs(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let text = match name.as_str() {
        "integration-guide.en.md" => include_str!("../../../../docs/integration-guide.en.md"),
        "integration-guide.zh-CN.md" => {
            include_str!("../../../../docs/integration-guide.zh-CN.md")
        }
        "api-reference.md" => include_str!("../../../../docs/api-reference.md"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    static_file(text, "text/plain; charset=utf-8")
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{Lang, preferred_language, safe_return_to};

    #[test]
    fn accept_language_weights_are_honoured() {
        let cases = [
            ("zh-CN;q=0.1, en;q=0.9", Some(Lang::En)),
            ("en-US,en;q=0.9", Some(Lang::En)),
            ("zh-CN,zh;q=0.9,en;q=0.8", Some(Lang::Zh)),
            ("fr-FR, en;q=0.5, zh;q=0.4", Some(Lang::En)),
            // Ties go to the earlier entry.
            ("en;q=0.5, zh;q=0.5", Some(Lang::En)),
            ("zh;q=0.5, en;q=0.5", Some(Lang::Zh)),
            // `*` stands for what is not named; q=0 refuses.
            ("en;q=0.1, *;q=0.9", Some(Lang::Zh)),
            ("zh;q=0, *", Some(Lang::En)),
            ("*", Some(Lang::Zh)),
            ("en;q=0, zh;q=0", None),
            // The best entry for a language counts.
            ("zh;q=0.5, en-GB;q=0.2, en;q=0.8", Some(Lang::En)),
            // Unknown tags and malformed weights are ignored.
            ("fr, de", None),
            ("en;q=2, zh;q=0.3", Some(Lang::Zh)),
            ("en;q=abc, zh;q=0.001", Some(Lang::Zh)),
            ("en;q=0.0001, zh;q=0.2", Some(Lang::Zh)),
            ("EN-us;Q=0.7 , zh-TW;q=0.6", Some(Lang::En)),
            ("english, zh", Some(Lang::Zh)),
            ("", None),
            (",,;;", None),
        ];
        for (header, expected) in cases {
            assert_eq!(preferred_language(header), expected, "{header:?}");
        }
    }

    #[test]
    fn return_to_stays_on_site() {
        assert_eq!(
            safe_return_to("/oauth/authorize?x=1"),
            Some("/oauth/authorize?x=1")
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\nb",
            "/a\\b",
            "",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
    }
}
