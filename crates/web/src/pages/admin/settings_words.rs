//! The settings pages' words: which page each setting is on, and its label and help text in
//! Chinese and English. A setting without a line here fails the test below, so none is ever
//! shown by its raw key alone.

/// The settings pages, in the order of their sub-navigation: slug, Chinese, English.
pub const SECTIONS: &[(&str, &str, &str)] = &[
    ("access", "注册与登录", "Sign-up and sign-in"),
    ("providers", "第三方登录", "Sign-in providers"),
    ("mail", "邮件", "E-mail"),
    ("apps", "应用与客户端", "Apps and clients"),
    ("billing", "额度与充值", "Quota and top-up"),
    ("brand", "品牌", "Branding"),
    ("limits", "频率限制", "Rate limits"),
];

/// One setting's words.
pub struct SettingWords {
    pub key: &'static str,
    /// One of [`SECTIONS`]' slugs.
    pub section: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    pub help_zh: &'static str,
    pub help_en: &'static str,
}

macro_rules! settings {
    ($( $key:literal in $section:literal: $lzh:literal, $len:literal; $hzh:literal, $hen:literal; )*) => {
        &[$( SettingWords {
            key: $key,
            section: $section,
            label_zh: $lzh,
            label_en: $len,
            help_zh: $hzh,
            help_en: $hen,
        }, )*]
    };
}

/// Every setting and vault secret, in the order shown.
pub const SETTINGS: &[SettingWords] = settings! {
    "register_enabled" in "access": "允许新用户注册", "Allow new accounts";
        "关闭后，任何方式（密码或第三方登录）都不能创建新账户。",
        "When off, no new account can be created by any means (password or sign-in provider).";
    "password_register_enabled" in "access": "允许用密码注册", "Allow sign-up with a password";
        "关闭后，新用户只能通过第三方登录注册。",
        "When off, new users can only sign up through a sign-in provider.";
    "password_login_enabled" in "access": "允许密码登录", "Allow password sign-in";
        "关闭后，只能用第三方登录或通行密钥登录。请先确认管理员自己还有别的登录方式。",
        "When off, only sign-in providers and passkeys work. Make sure admins have another way in first.";
    "email_verification_enabled" in "access": "密码注册需要验证邮箱", "Password sign-up needs a verified e-mail";
        "注册时须填写邮箱并输入寄到该邮箱的验证码。需要先配置邮件（SMTP）。",
        "Sign-up asks for an e-mail address and the code mailed to it. Needs e-mail (SMTP) set up first.";
    "quota_for_new_user" in "access": "新用户初始额度", "Quota for new accounts";
        "每个新账户获得的额度（额度单位，不是货币）。",
        "The quota every new account starts with (quota units, not currency).";
    "deleted_username_hold_days" in "access": "已注销用户名的保留天数", "Days a deleted user name stays reserved";
        "账户注销后，其用户名在这些天内不能被再次注册（0 为立即释放）。",
        "After an account is deleted, nobody can take its user name for this many days (0: free at once).";

    "github_enabled" in "providers": "启用 GitHub 登录", "Enable GitHub sign-in";
        "需要先在 GitHub 创建 OAuth App，并填写下面的 Client ID 和 Client Secret。",
        "Needs an OAuth App created at GitHub and its client ID and secret below.";
    "github_client_id" in "providers": "GitHub Client ID", "GitHub client ID";
        "GitHub OAuth App 页面上的 Client ID。",
        "The Client ID shown on the GitHub OAuth App's page.";
    "github_client_secret" in "providers": "GitHub Client Secret", "GitHub client secret";
        "只写不读：保存后不再显示，留空表示保持不变。",
        "Write-only: never shown again once saved; leave empty to keep it.";
    "github_register_enabled" in "providers": "允许通过 GitHub 注册", "Allow sign-up through GitHub";
        "关闭后，只有已绑定 GitHub 的账户可以用它登录。",
        "When off, only accounts that already linked GitHub can sign in with it.";
    "github_web_base" in "providers": "GitHub 网页地址", "GitHub web address";
        "通常为 https://github.com；GitHub Enterprise 填写其地址。",
        "Usually https://github.com; for GitHub Enterprise, its address.";
    "github_api_base" in "providers": "GitHub API 地址", "GitHub API address";
        "通常为 https://api.github.com；GitHub Enterprise 填写其 API 地址。",
        "Usually https://api.github.com; for GitHub Enterprise, its API address.";
    "oidc_enabled" in "providers": "启用 OIDC 登录", "Enable OIDC sign-in";
        "用任意 OpenID Connect 提供商登录（如 Keycloak、Authentik、Google）。",
        "Sign in with any OpenID Connect provider (Keycloak, Authentik, Google...).";
    "oidc_client_id" in "providers": "OIDC Client ID", "OIDC client ID";
        "在提供商处登记本站后得到的 client_id。",
        "The client_id the provider gave when you registered this server.";
    "oidc_client_secret" in "providers": "OIDC Client Secret", "OIDC client secret";
        "只写不读：保存后不再显示，留空表示保持不变。",
        "Write-only: never shown again once saved; leave empty to keep it.";
    "oidc_issuer" in "providers": "OIDC Issuer", "OIDC issuer";
        "提供商的 issuer 地址；端点从其 /.well-known/openid-configuration 读取。",
        "The provider's issuer URL; the endpoints are read from its /.well-known/openid-configuration.";
    "oidc_scopes" in "providers": "OIDC 权限范围", "OIDC scopes";
        "以空格分隔，须包含 openid，例如 openid profile email。",
        "Space-separated and including openid, e.g. openid profile email.";
    "oidc_authorization_endpoint" in "providers": "授权端点", "Authorization endpoint";
        "留空则使用发现文档中的值；只有提供商没有发现文档时才需要填写这四个端点。",
        "Empty: taken from discovery. Fill in these four endpoints only for a provider without discovery.";
    "oidc_token_endpoint" in "providers": "令牌端点", "Token endpoint";
        "留空则使用发现文档中的值。", "Empty: taken from discovery.";
    "oidc_userinfo_endpoint" in "providers": "用户信息端点", "Userinfo endpoint";
        "留空则使用发现文档中的值。", "Empty: taken from discovery.";
    "oidc_jwks_uri" in "providers": "JWKS 地址", "JWKS URI";
        "留空则使用发现文档中的值。", "Empty: taken from discovery.";
    "oidc_register_enabled" in "providers": "允许通过 OIDC 注册", "Allow sign-up through OIDC";
        "关闭后，只有已绑定的账户可以用它登录。",
        "When off, only accounts that already linked it can sign in with it.";
    "linuxdo_enabled" in "providers": "启用 Linux DO 登录", "Enable Linux DO sign-in";
        "需要在 Linux DO Connect 创建应用，并填写下面的 Client ID 和 Client Secret。",
        "Needs an app created at Linux DO Connect and its client ID and secret below.";
    "linuxdo_client_id" in "providers": "Linux DO Client ID", "Linux DO client ID";
        "Linux DO Connect 应用的 Client ID。", "The Client ID of the Linux DO Connect app.";
    "linuxdo_client_secret" in "providers": "Linux DO Client Secret", "Linux DO client secret";
        "只写不读：保存后不再显示，留空表示保持不变。",
        "Write-only: never shown again once saved; leave empty to keep it.";
    "linuxdo_minimum_trust_level" in "providers": "最低信任等级", "Minimum trust level";
        "信任等级低于此值的 Linux DO 用户不能登录（0 为不限）。",
        "Linux DO users below this trust level cannot sign in (0: anyone).";
    "linuxdo_register_enabled" in "providers": "允许通过 Linux DO 注册", "Allow sign-up through Linux DO";
        "关闭后，只有已绑定的账户可以用它登录。",
        "When off, only accounts that already linked it can sign in with it.";
    "linuxdo_authorize_url" in "providers": "授权地址", "Authorize URL";
        "通常无需修改。", "Usually left as it is.";
    "linuxdo_token_url" in "providers": "令牌地址", "Token URL";
        "通常无需修改。", "Usually left as it is.";
    "linuxdo_user_url" in "providers": "用户信息地址", "User URL";
        "通常无需修改。", "Usually left as it is.";
    "wechat_enabled" in "providers": "启用微信登录", "Enable WeChat sign-in";
        "通过公众号验证码登录，需要一个微信验证服务器（如 wechat-server）。",
        "Sign-in by a code from an official account; needs a WeChat verification server (such as wechat-server).";
    "wechat_server_address" in "providers": "微信验证服务器地址", "WeChat verification server";
        "验证服务器的地址，例如 https://wechat.example.com。",
        "The verification server's address, e.g. https://wechat.example.com.";
    "wechat_server_token" in "providers": "微信验证服务器令牌", "WeChat server token";
        "只写不读：保存后不再显示，留空表示保持不变。",
        "Write-only: never shown again once saved; leave empty to keep it.";
    "wechat_qrcode_url" in "providers": "公众号二维码图片地址", "Official account QR code image";
        "登录页上显示给用户扫描关注的二维码图片。",
        "The QR code image the sign-in page shows users to follow the account.";
    "wechat_register_enabled" in "providers": "允许通过微信注册", "Allow sign-up through WeChat";
        "关闭后，只有已绑定的账户可以用它登录。",
        "When off, only accounts that already linked it can sign in with it.";
    "telegram_enabled" in "providers": "启用 Telegram 登录", "Enable Telegram sign-in";
        "使用 Telegram Login Widget；需要先用 @BotFather 的 /setdomain 把机器人的域名设为本站域名。",
        "Uses the Telegram Login Widget; first set the bot's domain to this server's with @BotFather's /setdomain.";
    "telegram_bot_name" in "providers": "Telegram 机器人名称", "Telegram bot name";
        "机器人的用户名，不带 @。", "The bot's user name, without the @.";
    "telegram_bot_token" in "providers": "Telegram 机器人令牌", "Telegram bot token";
        "@BotFather 给出的令牌；只写不读，留空表示保持不变。",
        "The token @BotFather gave; write-only, leave empty to keep it.";
    "telegram_max_age_secs" in "providers": "登录数据有效期（秒）", "Login data max age (seconds)";
        "比这更早签发的 Telegram 登录数据会被拒绝。",
        "Telegram login data issued longer ago than this is refused.";
    "telegram_register_enabled" in "providers": "允许通过 Telegram 注册", "Allow sign-up through Telegram";
        "关闭后，只有已绑定的账户可以用它登录。",
        "When off, only accounts that already linked it can sign in with it.";

    "smtp_host" in "mail": "SMTP 服务器", "SMTP server";
        "用于发送验证码和找回密码邮件；留空则不发送邮件。",
        "Sends verification codes and password-reset mail; empty: no mail is sent.";
    "smtp_port" in "mail": "SMTP 端口", "SMTP port";
        "STARTTLS 通常为 587，TLS 通常为 465。", "Usually 587 for STARTTLS, 465 for TLS.";
    "smtp_security" in "mail": "加密方式", "Encryption";
        "starttls、tls（隐式，端口 465）或 none（仅用于本机中继）。",
        "starttls, tls (implicit, port 465) or none (only for a relay on this machine).";
    "smtp_username" in "mail": "SMTP 用户名", "SMTP user name";
        "留空表示不登录。", "Empty: no authentication.";
    "smtp_password" in "mail": "SMTP 密码", "SMTP password";
        "只写不读：保存后不再显示，留空表示保持不变。",
        "Write-only: never shown again once saved; leave empty to keep it.";
    "smtp_from" in "mail": "发件人", "From address";
        "例如 平台名 <noreply@example.com>。", "E.g. Platform <noreply@example.com>.";

    "app_review_required" in "apps": "新应用需要审核", "New apps need review";
        "开发者创建的应用须经管理员通过后才能使用。",
        "Apps developers create can be used only once an admin approves them.";
    "allow_http_redirect_uris" in "apps": "允许非本机的 http 重定向 URI", "Allow plain-http redirect URIs beyond loopback";
        "不安全：授权码会以明文传输。仅用于内网测试。",
        "Unsafe: authorization codes travel in clear text. For tests on a private network only.";
    "refresh_reuse_grace_seconds" in "apps": "刷新令牌重用宽限（秒）", "Refresh token reuse grace (seconds)";
        "轮换后这段时间内再次出示旧的刷新令牌被视为重试，返回同一对新令牌；0 为严格轮换（任何重用都会吊销整个令牌族）。",
        "For this long after a rotation, the old refresh token again is taken for a retry and gets the same new pair; 0 is strict rotation (any reuse revokes the family).";
    "client_metadata_documents" in "apps": "客户端元数据文档", "Client metadata documents";
        "on：以 https 地址为 client_id 的客户端（多为 AI 代理和 MCP 客户端）可以在该地址自述；off：不接受。",
        "on: clients whose client_id is an https URL (mostly AI agents and MCP clients) describe themselves there; off: refused.";
    "client_metadata_allowed_hosts" in "apps": "只接受这些主机的文档", "Accept documents only from these hosts";
        "每行一个，可用 *.example.com；留空为不限。",
        "One per line, *.example.com allowed; empty: any host.";
    "client_metadata_denied_hosts" in "apps": "拒绝这些主机的文档", "Refuse documents from these hosts";
        "每行一个，优先于允许名单。", "One per line; wins over the allow list.";
    "client_metadata_allow_loopback" in "apps": "允许本机地址上的文档", "Allow documents on loopback addresses";
        "仅限开发和测试。", "Development and tests only.";
    "dynamic_registration" in "apps": "动态客户端注册", "Dynamic client registration";
        "/oauth2/register（RFC 7591）：off 关闭，review 注册后需审核，open 立即可用。",
        "/oauth2/register (RFC 7591): off, review (usable once approved) or open (usable at once).";
    "dynamic_registration_max_per_ip" in "apps": "每个 IP 的注册次数上限", "Registrations per IP";
        "在下面的时间窗口内；0 为不限。", "Within the window below; 0: no limit.";
    "dynamic_registration_window_secs" in "apps": "注册次数的统计窗口（秒）", "Registration limit window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limit above counts over.";
    "dynamic_client_purge_days" in "apps": "删除从未使用的动态客户端（天）", "Delete never-used dynamic clients after (days)";
        "从未被任何用户授权的动态注册客户端在这些天后删除（1 到 3650）。",
        "Dynamically registered clients that nobody ever authorized are deleted after this many days (1 to 3650).";
    "self_registered_client_scopes" in "apps": "自行注册的客户端可申请的权限", "Scopes a self-registered client may ask for";
        "以空格分隔的本站权限范围上限。", "The most of this server's scopes, space-separated.";
    "self_registered_client_resources" in "apps": "自行注册的客户端可申请的 API", "APIs a self-registered client may ask for";
        "每行一个资源标识；留空为都不可以。", "One resource identifier per line; empty: none.";

    "quota_per_unit" in "billing": "每单位货币的额度", "Quota per currency unit";
        "余额 = （额度 − 已用额度）÷ 此值。new-api 默认为 500000。",
        "Balance = (quota − used quota) ÷ this. new-api's default is 500000.";
    "refund_window_secs" in "billing": "退款期限（秒）", "Refund window (seconds)";
        "应用可在扣费后这段时间内退款；1 秒到 1 年，默认 30 天。",
        "How long after a charge the app that made it may refund it; 1 s to 1 year, 30 days by default.";
    "currency_symbol" in "billing": "货币符号", "Currency symbol";
        "页面上写在金额之前，例如 $ 或 ¥。", "Written before amounts on pages, e.g. $ or ¥.";
    "topup_url" in "billing": "充值页面地址", "Top-up page URL";
        "/api/oauth2/topup 把用户送到这里；留空使用本站的 /topup 页面。",
        "Where /api/oauth2/topup sends users; empty: this server's /topup page.";

    "system_name" in "brand": "平台名称", "Platform name";
        "显示在每页的标题、页头、邮件和验证器应用中。",
        "Shown in every page's title and header, in mails and in authenticator apps.";
    "logo_url" in "brand": "标志图片地址", "Logo address";
        "https 图片地址；留空为无。上传的标志优先。",
        "An https image address; empty: none. An uploaded logo wins.";
    "logo_upload" in "brand": "上传标志", "Upload a logo";
        "PNG、JPEG、GIF 或 WebP 图片（不接受 SVG），由本站在 /brand/logo 提供。",
        "A PNG, JPEG, GIF or WebP image (no SVG), served by this server at /brand/logo.";
    "accent_color" in "brand": "主题色", "Accent colour";
        "页头和按钮的颜色；须与白色文字有足够对比度。",
        "The header's and the buttons' colour; it must contrast enough with white text.";
    "footer_text" in "brand": "页脚文字", "Footer text";
        "每页底部的一行纯文本（如公司名称或地址）。",
        "A line of plain text at the foot of every page (a company name, an address).";
    "terms_url" in "brand": "服务条款地址", "Terms of service address";
        "留空则不显示链接。", "Empty: no link.";
    "privacy_url" in "brand": "隐私政策地址", "Privacy policy address";
        "留空则不显示链接。", "Empty: no link.";

    "register_max_per_ip" in "limits": "每个 IP 的密码注册次数", "Password sign-ups per IP";
        "在下面的窗口内；0 为不限。超出时返回 429。", "Within the window below; 0: no limit. Over it: 429.";
    "register_window_secs" in "limits": "注册窗口（秒）", "Sign-up window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limit above counts over.";
    "token_failures_max_per_client" in "limits": "每个客户端的令牌请求失败次数", "Failed token requests per client";
        "超出后，即使正确的请求也会被拒绝，直到窗口结束；0 为不限。",
        "Over it, even correct requests are refused until the window ends; 0: no limit.";
    "token_failures_max_per_ip" in "limits": "每个 IP 的令牌请求失败次数", "Failed token requests per IP";
        "0 为不限。", "0: no limit.";
    "token_failures_window_secs" in "limits": "令牌失败窗口（秒）", "Token failure window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limits above count over.";
    "mail_max_per_address" in "limits": "每个邮箱的邮件数", "Mails per address";
        "验证码和找回密码邮件；0 为不限。", "Verification and reset mails; 0: no limit.";
    "mail_max_per_ip" in "limits": "每个 IP 的邮件数", "Mails per IP";
        "0 为不限。", "0: no limit.";
    "mail_window_secs" in "limits": "邮件窗口（秒）", "Mail window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limits above count over.";
    "wechat_failures_max_per_ip" in "limits": "每个 IP 的微信验证码错误次数", "Wrong WeChat codes per IP";
        "0 为不限。", "0: no limit.";
    "wechat_failures_max_per_account" in "limits": "每个账户的微信验证码错误次数", "Wrong WeChat codes per account";
        "绑定时计算；0 为不限。", "Counted when binding; 0: no limit.";
    "wechat_failures_window_secs" in "limits": "微信窗口（秒）", "WeChat window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limits above count over.";
    "totp_failures_max_per_account" in "limits": "每个账户的两步验证码错误次数", "Wrong two-factor codes per account";
        "登录、开启或关闭两步验证时计算；0 为不限。",
        "Counted at sign-in and when turning two-factor on or off; 0: no limit.";
    "totp_failures_window_secs" in "limits": "两步验证窗口（秒）", "Two-factor window (seconds)";
        "上面的次数在多长时间内计算。", "How long the limit above counts over.";
};

/// A setting's words, if it has any.
pub fn words(key: &str) -> Option<&'static SettingWords> {
    SETTINGS.iter().find(|w| w.key == key)
}

/// The values a setting may take, for those that are a choice: shown as a select.
pub fn setting_choices(key: &str) -> Option<&'static [&'static str]> {
    match key {
        "dynamic_registration" => Some(&["off", "review", "open"]),
        "client_metadata_documents" => Some(&["on", "off"]),
        "smtp_security" => Some(&["starttls", "tls", "none"]),
        _ => None,
    }
}

/// The fieldset a setting is shown in on its page: its legend in Chinese and English.
pub fn settings_group(key: &str) -> (&'static str, &'static str) {
    match key {
        k if k.starts_with("github_") => ("GitHub", "GitHub"),
        k if k.starts_with("oidc_") => ("OIDC", "OIDC"),
        k if k.starts_with("linuxdo_") => ("Linux DO", "Linux DO"),
        k if k.starts_with("wechat_") => ("微信", "WeChat"),
        k if k.starts_with("telegram_") => ("Telegram", "Telegram"),
        k if k.starts_with("client_metadata_") => ("自述的客户端", "Self-described clients"),
        k if k.starts_with("dynamic_") || k.starts_with("self_registered_") => {
            ("自行注册的客户端", "Self-registered clients")
        }
        "app_review_required" | "allow_http_redirect_uris" | "refresh_reuse_grace_seconds" => {
            ("应用", "Apps")
        }
        k if k.starts_with("register_") && k != "register_enabled" => ("注册", "Sign-up"),
        k if k.starts_with("token_") => ("令牌端点", "Token endpoint"),
        k if k.starts_with("mail_") => ("邮件", "E-mail"),
        k if k.starts_with("totp_") => ("两步验证", "Two-factor"),
        _ => ("", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::settings::Settings;
    use keyward_core::vault;

    /// Every key of the settings document and every vault secret.
    fn every_key() -> Vec<String> {
        let document = serde_json::to_value(Settings::default()).expect("settings");
        let mut keys: Vec<String> = document
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.extend(vault::NAMES.iter().map(|n| (*n).to_owned()));
        keys
    }

    #[test]
    fn every_setting_has_a_label_and_help_in_both_languages_and_a_page() {
        for key in every_key() {
            let w = words(&key).unwrap_or_else(|| panic!("{key} has no words"));
            for text in [w.label_zh, w.label_en, w.help_zh, w.help_en] {
                assert!(!text.trim().is_empty(), "{key} lacks a text");
                assert_ne!(text, key, "{key} is labelled by its key");
            }
            assert!(
                SECTIONS.iter().any(|(slug, _, _)| *slug == w.section),
                "{key} is on no page"
            );
        }
        for w in SETTINGS {
            assert!(
                every_key().iter().any(|k| k == w.key),
                "{} is no setting",
                w.key
            );
        }
    }
}
