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
pub mod docs;
pub mod errors;
pub mod login;
pub mod problem;
pub mod session;
pub(crate) mod spend_form;
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
        logout_client_mismatch:
            "client_id 与 id_token_hint 不符",
            "The client_id does not match the id_token_hint.";
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
        spend_limit_legend: "消费限额", "Spending limit";
        spend_limit_hint:
            "该应用在每个周期内最多可从你的余额中扣除这么多；你可以随时修改或撤销。",
            "The most this app may take from your balance per period; you can change or revoke it at any time.";
        spend_amount_label: "金额", "Amount";
        spend_period_label: "周期", "Period";
        spend_per_day: "每天（UTC）", "per day (UTC)";
        spend_per_month: "每月（UTC）", "per month (UTC)";
        spend_in_total: "总计", "in total";
        error_title: "出错了", "Something went wrong";
        error_code: "错误代码（供开发者排查）：", "Error code (for the app's developer):";
        error_ways_on: "接下来", "Where to go from here";
        back_to_app: "返回", "Back to";
        go_home: "回到首页", "Go to the home page";
        not_found: "没有这个页面", "There is no page at this address.";
        hint_fix_the_app:
            "把你带到这里的应用发出的请求有误，只有它的开发者能修复。请返回该应用，并把下面的错误代码告诉开发者。",
            "The app that sent you here made a request that cannot be served; only its developer can fix it. Go back to the app and give its developer the code below.";
        hint_start_again:
            "这个请求已经失效。请回到应用重新开始登录。",
            "This request is no longer valid. Go back to the app and start signing in again.";
        hint_reload:
            "页面已过期。请重新打开该页面后再试一次。",
            "This page is out of date. Open it again and retry.";
        hint_not_allowed:
            "当前账户没有权限。如果你有别的账户，请退出后用它登录。",
            "Your account may not do this. If you have another account, log out and sign in with it.";
        hint_check_address:
            "请检查地址是否输入正确，或从首页重新进入。",
            "Check the address, or start again from the home page.";
        hint_try_later:
            "这是我们这边的问题，请稍后再试。",
            "This is a problem on our side. Please try again in a little while.";
        hint_go_back:
            "请返回上一页，修改后再试。",
            "Go back to the previous page, correct what you entered and try again.";
        scope_openid: "确认你的身份", "Confirm who you are";
        scope_profile: "读取你的用户名、显示名称、头像和等级", "Read your user name, display name, avatar and level";
        scope_email: "读取你的邮箱地址", "Read your e-mail address";
        scope_balance: "读取你的账户余额", "Read your account balance";
        scope_offline: "在你离开后继续访问（刷新令牌）", "Keep access when you are away (refresh tokens)";
        scope_spend:
            "从你的余额中扣费，不超过你设定的限额；每笔都记入账单，你可随时撤销",
            "Spend from your balance, up to the limit you set; every charge is on your statement and you can revoke it at any time";
        logout_title: "退出登录", "Log out";
        logout_question: "要退出当前账户吗？", "Do you want to log out?";
        logout_button: "退出登录", "Log out";
        cancel: "取消", "Cancel";
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
        nav_ledger: "账单", "Balance history";
        nav_admin: "管理后台", "Admin";
        nav_logout: "退出登录", "Log out";
        /// The button that opens the navigation on narrow screens.
        nav_menu: "菜单", "Menu";
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
                Access::Spend => self.scope_spend,
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
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    axum::extract::Query(query): axum::extract::Query<LangQuery>,
) -> Response {
    let lang = if query.to == "en" { "en" } else { "zh" };
    let back = safe_return_to(&query.return_to).unwrap_or("/");
    let cookie = axum_extra::extract::cookie::Cookie::build((LANG_COOKIE, lang))
        .path("/")
        .max_age(time::Duration::days(365))
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .http_only(true)
        // Not `__Host-`: every page reads it by its one name. `Secure` keeps it off plain http.
        .secure(state.config.https())
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
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
}

/// Whether the client would rather read HTML than JSON, by its `Accept` header: a browser's
/// navigation names `text/html`; API clients name `application/json` or only `*/*`. Ties go to
/// HTML, a header without either to JSON.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (mut html, mut json) = (0u16, 0u16);
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(parse_weight))
            .next()
            .unwrap_or(Some(1000))
            .unwrap_or(0);
        match kind.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(weight),
            "application/json" => json = json.max(weight),
            _ => {}
        }
    }
    html > 0 && html >= json
}

/// The answer for an address nothing is routed to: the error page for browsers, the API
/// family's JSON error for everyone else.
pub async fn not_found(headers: HeaderMap) -> Response {
    if prefers_html(&headers) {
        let t = texts(&headers);
        return problem::show(
            t,
            &problem::Problem::new(
                StatusCode::NOT_FOUND,
                problem::Code::NotFound,
                t.not_found,
                problem::Hint::CheckAddress,
            ),
        );
    }
    crate::envelope::ApiError::NotFound("未找到").into_response()
}

/// The page for a form whose CSRF token is not this session's: stale, or forged.
pub fn page_expired(t: &'static Texts) -> Response {
    let problem = problem::Problem::new(
        StatusCode::FORBIDDEN,
        problem::Code::PageExpired,
        t.page_expired,
        problem::Hint::Reload,
    );
    problem::show(t, &problem)
}

/// The error page for a failure known by its status and message (see [`problem`] for one
/// known by its kind).
pub fn error_page(status: StatusCode, t: &'static Texts, message: &str) -> Response {
    problem::show(t, &problem::Problem::of_status(status, message))
}

/// Why a form failed, as its page shows it: attached to the field it is about (the input gets
/// `aria-invalid` and `aria-describedby="FIELD-error"`, the message follows it as
/// `<p id="FIELD-error" class="error">`), or said for the form as a whole (`field` empty).
#[derive(Debug, Default, Clone)]
pub struct FormError {
    field: &'static str,
    message: Option<String>,
}

impl FormError {
    /// Nothing went wrong.
    pub fn none() -> Self {
        Self::default()
    }

    /// About the form as a whole (shown above it).
    pub fn form(message: impl Into<String>) -> Self {
        Self {
            field: "",
            message: Some(message.into()),
        }
    }

    /// About the field whose `id` is `field`.
    pub fn at(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: Some(message.into()),
        }
    }

    /// `message`, if any, about the form as a whole.
    pub fn of(message: Option<String>) -> Self {
        Self { field: "", message }
    }

    /// `message`, if any, about `field`.
    pub fn of_field(field: &'static str, message: Option<String>) -> Self {
        Self { field, message }
    }

    pub fn is_some(&self) -> bool {
        self.message.is_some()
    }

    /// The message said for the whole form, not attached to a field.
    pub fn general(&self) -> Option<&str> {
        self.message.as_deref().filter(|_| self.field.is_empty())
    }

    /// Whether the message is about `field`.
    pub fn on(&self, field: &str) -> bool {
        self.message.is_some() && !self.field.is_empty() && self.field == field
    }

    /// The message about `field`, if it is the one.
    pub fn message_on(&self, field: &str) -> Option<&str> {
        self.message.as_deref().filter(|_| self.on(field))
    }

    /// The same message said for the whole form when its field is among `hidden` (not on the
    /// page as it is rendered), so that no message is lost.
    pub fn unless_hidden(mut self, hidden: &[&str]) -> Self {
        if hidden.contains(&self.field) {
            self.field = "";
        }
        self
    }

    /// The text, wherever it is shown.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
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
    use super::{FormError, Lang, preferred_language, safe_return_to};

    #[test]
    fn a_problem_is_said_at_its_field_or_for_the_form() {
        let at = FormError::at("email", "bad");
        assert!(at.on("email") && !at.on("code"));
        assert_eq!(at.message_on("email"), Some("bad"));
        assert_eq!(at.general(), None);
        let moved = at.unless_hidden(&["email", "code"]);
        assert!(!moved.on("email"));
        assert_eq!(moved.general(), Some("bad"), "never lost");
        assert!(!FormError::none().on(""));
        assert_eq!(FormError::of(Some("x".into())).general(), Some("x"));
        assert_eq!(FormError::of_field("key", None).message(), None);
    }

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
    fn browsers_get_html_and_api_clients_json() {
        let html = |accept: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                axum::http::header::ACCEPT,
                axum::http::HeaderValue::from_str(accept).expect("header"),
            );
            super::prefers_html(&headers)
        };
        // Chromium's and Firefox's navigations.
        assert!(html(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
        ));
        assert!(html(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!html("*/*"));
        assert!(!html("application/json"));
        assert!(!html("application/json, text/plain, */*"));
        assert!(!html("application/json, text/html;q=0.5"));
        assert!(!html("text/html;q=0"));
        assert!(html("text/html;q=0.5, application/json;q=0.5"));
        assert!(!super::prefers_html(&axum::http::HeaderMap::new()));
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
