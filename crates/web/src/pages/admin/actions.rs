//! The audit log in words: every action's name and the labels of the details it records, in
//! Chinese and English. The one table both the log's column and its filter read.

use keyward_core::audit::action;
use serde_json::Value;

/// `(code, Chinese, English)` for every action the core records.
pub const ACTION_WORDS: &[(&str, &str, &str)] = &[
    (action::APP_CREATED, "创建应用", "App created"),
    (action::APP_APPROVED, "应用通过审核", "App approved"),
    (action::APP_REJECTED, "应用被拒绝", "App rejected"),
    (action::APP_DISABLED, "应用被停用", "App disabled"),
    (action::APP_UPDATED, "应用被修改", "App changed"),
    (action::APP_DELETED, "删除应用", "App deleted"),
    (
        action::APP_EDITED,
        "开发者编辑应用",
        "App edited by its developer",
    ),
    (
        action::APP_CHANGE_APPROVED,
        "应用的修改通过审核",
        "App change approved",
    ),
    (
        action::APP_CHANGE_REJECTED,
        "应用的修改被拒绝",
        "App change rejected",
    ),
    (
        action::APP_CHANGE_WITHDRAWN,
        "开发者撤回应用的修改",
        "App change withdrawn by its developer",
    ),
    (
        action::CLIENT_REGISTERED,
        "客户端自行注册",
        "Client registered itself",
    ),
    (
        action::CLIENT_REGISTRATION_UPDATED,
        "客户端修改注册信息",
        "Client changed its registration",
    ),
    (
        action::CLIENT_REGISTRATION_DELETED,
        "客户端删除注册",
        "Client deleted its registration",
    ),
    (action::SECRET_REVEALED, "查看应用密钥", "App secret shown"),
    (
        action::SECRET_ROTATED,
        "更换应用密钥",
        "App secret replaced",
    ),
    (action::CONSENT_GRANTED, "用户授权应用", "Consent given"),
    (action::RESOURCE_CREATED, "创建 API 资源", "API created"),
    (action::RESOURCE_UPDATED, "修改 API 资源", "API changed"),
    (action::CONSENT_REVOKED, "用户撤销授权", "Consent withdrawn"),
    (
        action::CONSENT_LIMIT_CHANGED,
        "用户修改消费限额",
        "Spending limit changed",
    ),
    (
        action::CODE_REPLAY,
        "授权码被重复使用",
        "Authorization code used twice",
    ),
    (action::DEVICE_APPROVED, "批准设备登录", "Device approved"),
    (action::DEVICE_DENIED, "拒绝设备登录", "Device refused"),
    (
        action::DEVICE_TOKEN_ISSUED,
        "向设备签发令牌",
        "Tokens issued to a device",
    ),
    (
        action::REFRESH_REUSE,
        "刷新令牌被重复使用",
        "Refresh token used twice",
    ),
    (
        action::USER_UPDATED,
        "管理员修改用户",
        "User changed by an admin",
    ),
    (action::SETTINGS_UPDATED, "修改设置", "Settings changed"),
    (action::TOPUP_GENERATED, "生成充值码", "Top-up codes made"),
    (action::TOPUP_REDEEMED, "使用充值码", "Top-up code redeemed"),
    (
        action::IDENTITY_UNLINKED,
        "解绑第三方账户",
        "Upstream account unlinked",
    ),
    (action::EMAIL_BOUND, "绑定邮箱", "E-mail address added"),
    (action::PASSWORD_RESET, "重置密码", "Password reset"),
    (action::SIGNED_IN, "登录", "Signed in"),
    (action::SIGN_IN_FAILED, "登录失败", "Sign-in failed"),
    (
        action::SIGN_IN_THROTTLED,
        "密码尝试次数用尽",
        "Password attempts used up",
    ),
    (
        action::USER_UNLOCKED,
        "解除登录限制",
        "Sign-in limits cleared",
    ),
    (
        action::CLIENT_AUTH_FAILED,
        "应用认证失败",
        "App authentication failed",
    ),
    (action::USER_REGISTERED, "注册", "Signed up"),
    (action::PASSWORD_CHANGED, "修改密码", "Password changed"),
    (action::EMAIL_CHANGED, "更换邮箱", "E-mail address changed"),
    (
        action::TWO_FACTOR_ENABLED,
        "开启两步验证",
        "Two-factor turned on",
    ),
    (
        action::TWO_FACTOR_DISABLED,
        "关闭两步验证",
        "Two-factor turned off",
    ),
    (
        action::TWO_FACTOR_RESET,
        "管理员重置两步验证",
        "Two-factor reset by an admin",
    ),
    (
        action::IDENTITY_LINKED,
        "绑定第三方账户",
        "Upstream account linked",
    ),
    (action::SESSION_ENDED, "结束一个会话", "Session ended"),
    (
        action::OTHER_SESSIONS_ENDED,
        "结束其他所有会话",
        "Other sessions ended",
    ),
    (
        action::DATA_EXPORTED,
        "导出账户数据",
        "Account data downloaded",
    ),
    (action::PASSKEY_ADDED, "添加通行密钥", "Passkey added"),
    (action::PASSKEY_REMOVED, "移除通行密钥", "Passkey removed"),
    (
        action::PASSKEY_COUNTER_REGRESSION,
        "通行密钥计数器倒退（已拒绝）",
        "Passkey counter went back (refused)",
    ),
    (action::USER_DELETED, "删除账户", "Account deleted"),
];

/// `code` in words, or the code itself for an action this table does not know.
pub fn action_name(code: &str, en: bool) -> String {
    ACTION_WORDS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(
            || code.to_owned(),
            |(_, zh, e)| (if en { *e } else { *zh }).to_owned(),
        )
}

/// `(key, Chinese, English)`: the labels of the details the core records most.
const DETAIL_WORDS: &[(&str, &str, &str)] = &[
    ("method", "方式", "Method"),
    ("user_agent", "浏览器", "Browser"),
    (
        "second_factor_asked",
        "已要求第二步验证",
        "Second factor asked",
    ),
    ("login", "输入的用户名", "Name tried"),
    ("reason", "原因", "Reason"),
    ("username", "用户名", "User name"),
    ("provider", "第三方", "Provider"),
    ("client_name", "应用名称", "App name"),
    ("redirect_uris", "重定向 URI", "Redirect URIs"),
    ("scope", "权限范围", "Scopes"),
    ("scopes", "权限范围", "Scopes"),
    ("status", "状态", "Status"),
    ("role", "角色", "Role"),
    ("quota", "额度", "Quota"),
    ("used_quota", "已用额度", "Used quota"),
    ("level", "等级", "Level"),
    ("email", "邮箱", "E-mail"),
    ("old", "原来", "Before"),
    ("new", "现在", "After"),
    ("amount", "数量", "Amount"),
    ("trusted", "受信任", "Trusted"),
    ("name", "名称", "Name"),
    ("passkey", "通行密钥", "Passkey"),
    ("owner", "开发者", "Developer"),
    ("keys", "键", "Keys"),
    ("secrets_changed", "修改的密钥", "Secrets changed"),
    (
        "root_only_changed",
        "修改的超级管理员设置",
        "Root-only settings changed",
    ),
    ("resources", "API", "APIs"),
];

/// The words of the reasons a sign-in fails.
const REASON_WORDS: &[(&str, &str, &str)] = &[
    ("unknown_user", "没有这个用户", "No such user"),
    ("wrong_password", "密码错误", "Wrong password"),
    ("account_disabled", "账户已禁用", "Account disabled"),
];

/// One detail of an audit record, as a label and a short value.
pub struct DetailLine {
    pub label: String,
    pub value: String,
}

/// A record's detail (a JSON object) as "label: value" lines; anything not an object is shown
/// as one line of text. Long values are cut short.
pub fn detail_lines(detail: &str, en: bool) -> Vec<DetailLine> {
    let words = |table: &[(&str, &'static str, &'static str)], key: &str| {
        table
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, zh, e)| if en { *e } else { *zh })
    };
    let fields = match serde_json::from_str::<Value>(detail) {
        Ok(Value::Object(fields)) => fields,
        Ok(Value::Null) | Err(_) if detail.trim().is_empty() => return Vec::new(),
        _ => {
            return vec![DetailLine {
                label: String::new(),
                value: cut(detail),
            }];
        }
    };
    fields
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) if key == "reason" => {
                    words(REASON_WORDS, s).map_or_else(|| s.clone(), str::to_owned)
                }
                Value::String(s) => s.clone(),
                Value::Bool(true) => (if en { "yes" } else { "是" }).to_owned(),
                Value::Bool(false) => (if en { "no" } else { "否" }).to_owned(),
                Value::Null => "—".to_owned(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            DetailLine {
                label: words(DETAIL_WORDS, key)
                    .map_or_else(|| key.replace('_', " "), str::to_owned),
                value: cut(&text),
            }
        })
        .collect()
}

fn cut(text: &str) -> String {
    const MAX: usize = 160;
    if text.chars().count() > MAX {
        let mut short: String = text.chars().take(MAX).collect();
        short.push('…');
        short
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_words_in_both_languages() {
        for code in action::ALL {
            let words = ACTION_WORDS.iter().find(|(c, _, _)| c == code);
            assert!(
                words.is_some_and(|(_, zh, en)| !zh.is_empty() && !en.is_empty()),
                "{code} has no words"
            );
        }
        assert_eq!(ACTION_WORDS.len(), action::ALL.len(), "one line per action");
    }

    #[test]
    fn details_are_label_value_lines() {
        let lines = detail_lines(
            r#"{"login":"alice","reason":"wrong_password","second_factor_asked":false}"#,
            true,
        );
        let shown: Vec<_> = lines
            .iter()
            .map(|l| format!("{}: {}", l.label, l.value))
            .collect();
        assert_eq!(
            shown,
            vec![
                "Name tried: alice",
                "Reason: Wrong password",
                "Second factor asked: no"
            ]
        );
        assert!(detail_lines("{}", true).is_empty());
        assert_eq!(detail_lines("not json", false)[0].value, "not json");
        assert_eq!(action_name("user.sign_in_failed", false), "登录失败");
        assert_eq!(action_name("x.unknown", true), "x.unknown");
    }
}
