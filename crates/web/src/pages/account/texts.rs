//! The words of the account pages (home, register, reset, authorizations, security, top-up),
//! in Chinese and English. Kept apart from the shared `Texts` so that each page area owns its own.

use crate::pages::Texts;

crate::pages::page_words! {
    AccountTexts {
        home_title: "我的账户", "My account";
        user_name: "用户名", "User name";
        display_name: "显示名称", "Display name";
        email: "邮箱", "E-mail";
        not_set: "未设置", "Not set";
        unverified: "未验证", "unverified";
        balance: "余额", "Balance";
        quota: "总额度", "Quota";
        used_quota: "已用额度", "Used";
        home_links: "管理你的账户", "Manage your account";
        or_continue: "或使用以下方式继续", "Or continue with";
        login_with_before: "使用 ", "Continue with ";
        login_with_after: " 继续", "";
        no_account: "还没有账户？", "No account yet?";
        register_link: "注册", "Create one";
        forgot_password: "忘记密码？", "Forgot your password?";
        register_title: "注册", "Create an account";
        password_confirm: "确认密码", "Confirm password";
        passwords_differ: "两次输入的密码不一致", "The two passwords differ";
        password_hint: "8 到 128 个字符", "8 to 128 characters";
        email_code: "邮箱验证码", "E-mail code";
        send_code: "发送验证码", "Send a code";
        code_sent:
            "如果该邮箱可以使用，验证码已发出，10 分钟内有效。",
            "If the address can be used, a code is on its way; it works for 10 minutes.";
        register_button: "注册", "Create account";
        have_account: "已有账户？", "Already have an account?";
        reset_title: "找回密码", "Reset your password";
        reset_intro:
            "输入账户绑定的邮箱，我们会发送一个重置链接。",
            "Enter the e-mail address of your account and we will send you a link.";
        reset_sent:
            "如果该邮箱绑定了账户，重置链接已发出，30 分钟内有效。",
            "If an account has this address, a link is on its way; it works for 30 minutes.";
        send_link: "发送重置链接", "Send the link";
        choose_title: "设置新密码", "Choose a new password";
        new_password: "新密码", "New password";
        save_password: "保存新密码", "Save the new password";
        reset_done:
            "密码已重置，其他设备上的登录已退出。请用新密码登录。",
            "Your password was reset and every other login ended. Log in with the new one.";
        reset_bad_link: "重置链接非法或已过期", "This link is invalid or has expired";
        back_to_login: "返回登录", "Back to log in";
        auth_intro:
            "这些应用可以在你授权的范围内访问你的账户。撤销后，它们的令牌立即失效。",
            "These apps can access your account within what you allowed. Revoking takes their tokens away at once.";
        auth_none: "你还没有授权任何应用。", "You have not authorized any app.";
        app: "应用", "App";
        scopes: "权限", "Access";
        granted_at: "授权时间", "Authorized";
        last_used: "最近使用", "Last used";
        never: "从未", "never";
        revoke: "撤销授权", "Revoke";
        revoked: "已撤销该应用的授权。", "The app’s access was revoked.";
        spend_limit: "消费限额", "Spending limit";
        spent_this_period: "本期已花费", "Spent this period";
        spent_total: "授权以来已花费", "Spent since authorized";
        spend_remaining: "本期剩余", "Left this period";
        change_limit: "修改限额", "Change the limit";
        limit_lowered: "消费限额已降低，立即生效。", "The spending limit was lowered; it applies at once.";
        limit_raised: "消费限额已提高。", "The spending limit was raised.";
        limit_same: "消费限额没有变化。", "The spending limit is unchanged.";
        bad_limit:
            "限额须为大于 0 的金额（最多两位小数），周期为每天、每月或总计。未做任何修改。",
            "The limit must be an amount above zero with at most two decimals, per day, per month or in total. Nothing was changed.";
        limit_changed_meanwhile:
            "消费限额刚刚被修改过，请查看后重试。",
            "The limit was changed meanwhile; look at it again and retry.";
        limit_confirm_title: "提高消费限额", "Raise the spending limit";
        limit_confirm_intro:
            "新的限额可能让该应用花费比现在更多的余额。确认后立即生效。",
            "The new limit may let this app spend more of your balance than it can now. It applies as soon as you confirm.";
        limit_now: "当前限额", "Current limit";
        limit_new: "新限额", "New limit";
        confirm_raise: "确认提高限额", "Raise the limit";
        cancel: "取消", "Cancel";
        ledger_intro:
            "你的余额的每一笔变动：充值、管理员调整、应用扣费和退款。",
            "Every movement of your balance: top-ups, adjustments by an admin, charges by apps and refunds.";
        ledger_none: "还没有记录。", "No entries yet.";
        ledger_pages: "账单分页", "Statement pages";
        ledger_when: "时间", "When";
        ledger_what: "类型", "What";
        ledger_app: "应用", "App";
        ledger_description: "说明", "Description";
        ledger_amount: "金额", "Amount";
        ledger_balance_after: "变动后余额", "Balance after";
        kind_opening: "期初余额", "Opening balance";
        kind_signup: "注册赠送", "Sign-up credit";
        kind_topup: "充值码充值", "Top-up code";
        kind_admin: "管理员调整", "Adjusted by an admin";
        kind_charge: "应用扣费", "Charged by an app";
        kind_refund: "应用退款", "Refunded by an app";
        deleted_app: "（已删除的应用）", "(a deleted app)";
        not_found: "找不到该项目，它可能已被删除。", "Not found; it may be gone already.";
        password_section: "密码", "Password";
        current_password: "当前密码", "Current password";
        change_password: "修改密码", "Change password";
        set_password: "设置密码", "Set a password";
        no_password_yet:
            "你的账户还没有密码，可以设置一个，之后即可用密码登录。",
            "Your account has no password yet; set one to log in with it.";
        password_changed: "密码已修改，其他设备上的登录已退出。", "Password changed; every other login ended.";
        totp_section: "两步验证", "Two-factor authentication";
        totp_on: "已开启", "On";
        totp_off: "未开启", "Off";
        totp_start: "开启两步验证", "Turn on two-factor";
        totp_scan:
            "用身份验证器扫描二维码，或手动输入密钥，然后填写应用显示的 6 位验证码。",
            "Scan the QR code with your authenticator app, or type the key, then enter the 6-digit code it shows.";
        totp_qr_alt: "两步验证二维码", "Two-factor QR code";
        totp_secret: "密钥", "Key";
        /// The group holding the key and the link: for when the code cannot be scanned.
        totp_manual: "无法扫码？", "Can't scan the code?";
        totp_manual_intro:
            "在身份验证器中手动输入密钥，或在本设备上点击链接直接添加。",
            "Type the key into your authenticator app, or tap the link to add it on this device.";
        totp_open_app: "在身份验证器中打开", "Open in authenticator app";
        recovery_codes:
            "恢复码：只显示这一次，请妥善保存。每个恢复码可代替验证码使用一次。",
            "Recovery codes: shown only now, keep them safe. Each works once instead of a code.";
        totp_confirm: "确认开启", "Confirm";
        totp_enabled: "两步验证已开启。", "Two-factor authentication is on.";
        totp_disable: "关闭两步验证", "Turn off two-factor";
        totp_disabled: "两步验证已关闭。", "Two-factor authentication is off.";
        totp_code: "验证码或恢复码", "Code or recovery code";
        code: "验证码", "Code";
        recovery_left: "剩余恢复码", "Recovery codes left";
        identities_section: "第三方账户", "Linked accounts";
        identities_none: "尚未绑定第三方账户。", "No linked account.";
        bind: "绑定", "Link";
        unbind: "解绑", "Unlink";
        unbound: "已解绑。", "Unlinked.";
        email_section: "邮箱", "E-mail";
        email_verified: "已验证", "verified";
        bind_email: "绑定邮箱", "Link this address";
        email_bound: "邮箱已绑定。", "E-mail address linked.";
        email_unavailable: "管理员尚未配置邮件发送。", "E-mail sending is not set up.";
        sessions_section: "登录设备", "Sessions";
        signed_in_at: "登录时间", "Signed in";
        last_seen: "最近活动", "Last active";
        ip: "IP 地址", "IP address";
        device: "设备", "Device";
        unknown_device: "未知设备", "Unknown device";
        this_session: "当前会话", "This session";
        end_session: "退出", "End";
        end_others: "退出其他所有设备", "End all other sessions";
        session_ended: "已退出该会话。", "Session ended.";
        others_ended: "其他设备已全部退出。", "Every other session ended.";
        redeem_title: "兑换充值码", "Redeem a top-up code";
        topup_code: "充值码", "Top-up code";
        redeem: "兑换", "Redeem";
        redeemed: "兑换成功，余额增加：", "Redeemed; your balance grew by ";
        /// After a raw quota amount: what the number counts.
        quota_units: "额度单位", "quota units";
        topup_admin_title: "充值码管理", "Top-up codes";
        generate: "生成充值码", "Generate codes";
        amount: "额度（配额单位）", "Amount (quota units)";
        count: "数量（1–100）", "How many (1–100)";
        label: "名称（可选）", "Label (optional)";
        expires: "过期时间（可选，UTC）", "Expires (optional, UTC)";
        generated: "以下充值码只显示这一次，请立即保存：", "These codes are shown only now; save them:";
        status: "状态", "Status";
        status_unused: "未使用", "unused";
        status_used: "已使用", "used";
        status_expired: "已过期", "expired";
        redeemed_by: "兑换人", "Redeemed by";
        created: "创建时间", "Created";
        codes_none: "还没有充值码。", "No codes yet.";
        prev_page: "上一页", "Previous";
        next_page: "下一页", "Next";
        bad_expiry: "过期时间格式不正确", "The expiry date is not valid";
        email_change_section: "更换邮箱", "Change your e-mail address";
        email_change_intro:
            "验证码会发送到新邮箱；输入验证码后新邮箱才会替换旧邮箱，旧邮箱会收到通知。",
            "A code goes to the new address; only once it is entered does the new address replace the old one, which is told.";
        new_email: "新邮箱", "New address";
        change_email: "更换邮箱", "Change the address";
        email_changed: "邮箱已更换。", "E-mail address changed.";
        your_data_section: "你的数据", "Your data";
        export_intro:
            "下载 Keyward 保存的关于你的全部数据（JSON），不含任何密码、密钥或令牌。",
            "Download everything Keyward holds about you (JSON), without any password, key or token.";
        export_link: "下载我的数据", "Download my data";
        activity_link: "查看安全活动", "See security activity";
        activity_title: "安全活动", "Security activity";
        activity_intro:
            "最近的登录和账户安全变更。如有不认识的记录，请修改密码并退出其他设备。",
            "Recent sign-ins and security changes. If you do not recognise one, change your password and end the other sessions.";
        activity_none: "暂无记录。", "Nothing yet.";
        activity_when: "时间", "When";
        activity_what: "事件", "What";
        activity_method: "方式", "How";
        activity_by_admin: "（管理员操作）", "(by an administrator)";
        act_signed_in: "登录", "Signed in";
        act_password_changed: "修改密码", "Password changed";
        act_password_reset: "通过邮件重置密码", "Password reset by e-mail";
        act_email_bound: "绑定邮箱", "E-mail address linked";
        act_email_changed: "更换邮箱", "E-mail address changed";
        act_totp_on: "开启两步验证", "Two-factor turned on";
        act_totp_off: "关闭两步验证", "Two-factor turned off";
        act_totp_reset: "管理员重置两步验证", "Two-factor reset by an administrator";
        act_identity_linked: "绑定第三方账户", "Account linked";
        act_identity_unlinked: "解绑第三方账户", "Account unlinked";
        act_session_ended: "退出一个会话", "A session ended";
        act_others_ended: "退出其他所有设备", "Every other session ended";
        act_passkey_added: "添加通行密钥", "Passkey added";
        act_passkey_removed: "删除通行密钥", "Passkey removed";
        act_passkey_counter: "通行密钥计数器异常（可能被复制）", "Passkey counter went backwards (it may be cloned)";
        method_password: "密码", "password";
        method_passkey: "通行密钥", "passkey";
        activity_second_factor: "（随后要求两步验证）", "(then asked for two-factor)";
        method_upstream: "第三方账户", "linked account";
        delete_section: "注销账户", "Delete account";
        delete_intro:
            "注销后无法恢复：所有会话、令牌、授权和登录方式立即失效，个人资料被删除，你创建的应用被停用。",
            "This cannot be undone: every session, token, authorization and way in stops working at once, your personal data is removed and the apps you created are disabled.";
        delete_recent:
            "需要最近 10 分钟内登录过；否则会先请你重新登录。",
            "It needs a sign-in within the last 10 minutes; otherwise you will be asked to sign in again first.";
        delete_confirm: "输入你的用户名以确认", "Type your user name to confirm";
        delete_button: "永久注销账户", "Delete my account for good";
    }
}

/// The account pages' words in the language of `t`.
pub fn account_texts(t: &Texts) -> &'static AccountTexts {
    if t.lang == "en" { &EN } else { &ZH }
}
