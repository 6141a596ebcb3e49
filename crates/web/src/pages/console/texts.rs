//! The developer console's words, in Chinese and English.

use crate::pages::Texts;
use keyward_core::model::ClientStatus;

crate::pages::page_words! {
    ConsoleTexts {
        title: "我的应用", "My apps";
        intro:
            "在这里申请 OAuth 应用，让你的网站或程序支持“使用本平台账号登录”。",
            "Register OAuth apps here so that your site or program can offer “Sign in with this platform”.";
        apply_title: "申请应用", "Register an app";
        name: "应用名称", "App name";
        description: "应用描述", "Description";
        redirect_uris: "重定向 URI", "Redirect URIs";
        redirect_uris_hint:
            "每行一个，最多 10 个。必须是完整的 https 地址（本机回环地址可用 http），不能带 # 片段；授权时必须完全一致。",
            "One per line, at most 10. Absolute https URLs (http only for loopback addresses), no # fragment; authorization requests must match exactly.";
        redirect_uris_native_hint:
            "原生或命令行应用：登记 http://127.0.0.1/callback 这样的本机地址（授权时可用任意端口），或 com.example.app:/callback 这样以你的反向域名命名的自定义协议。只用 client_credentials 的应用可以不填。",
            "Native or CLI apps: register a loopback address such as http://127.0.0.1/callback (any port works at sign-in), or a custom scheme named after your reversed domain, such as com.example.app:/callback. Apps that only use client_credentials may leave this empty.";
        scopes: "申请的权限", "Scopes";
        kind: "应用类型", "Kind of app";
        kind_web: "网站（服务端应用）", "Web app (server side)";
        kind_web_hint:
            "在服务器上保管密钥，用户通过授权码登录。",
            "Keeps a secret on its server; users sign in with the authorization code flow.";
        kind_native: "原生或命令行应用", "Native or CLI app";
        kind_native_hint:
            "桌面、手机或命令行程序，无法保管密钥：没有密钥，必须使用 PKCE，刷新令牌每次轮换；没有浏览器的设备可用设备码登录（RFC 8628）。",
            "A desktop, phone or command-line program that cannot keep a secret: no secret, PKCE required, refresh tokens rotated on every use; devices without a browser can sign in with the device flow (RFC 8628).";
        kind_api: "仅 API（client_credentials）", "API only (client_credentials)";
        kind_api_hint:
            "服务之间调用：应用以自身身份获取令牌，不代表任何用户，无需重定向 URI。",
            "Service to service: the app obtains tokens as itself, for no user, and needs no redirect URI.";
        submit: "提交申请", "Submit";
        review_notice:
            "提交后需要管理员审核；审核通过后可在应用详情页生成密钥，只显示一次。",
            "An admin reviews new apps; after approval you can have the secret made on the app's page, shown once.";
        my_apps: "我申请的应用", "Apps I registered";
        none_yet: "你还没有申请过应用。", "You have not registered any app yet.";
        status: "状态", "Status";
        pending: "待审核", "Pending review";
        approved: "已通过", "Approved";
        rejected: "已拒绝", "Rejected";
        disabled: "已停用", "Disabled";
        review_note: "管理员说明", "Admin's note";
        created: "申请时间", "Registered";
        open: "查看", "Open";
        client_id: "Client ID", "Client ID";
        client_secret: "Client Secret", "Client secret";
        grant_types: "授权类型", "Grant types";
        client_type: "客户端类型", "Client type";
        confidential: "机密客户端", "Confidential";
        public: "公开客户端", "Public";
        trusted: "受信任（用户无需确认授权）", "Trusted (users are not asked to consent)";
        secret_once:
            "这是该密钥唯一一次显示。请立即复制并保存在服务器端。点击“我已保存密钥”之前（最多 10 分钟），刷新或切换语言仍会在本页显示；之后将无法再次查看，只能重置。",
            "This is the only time this secret is shown. Copy it now and keep it on your server. Until you press “I saved the secret” (10 minutes at most), reloading or switching the language keeps it on this page; after that it cannot be shown again, only replaced.";
        copy: "复制", "Copy";
        secret_shown_before:
            "密钥已经显示过，无法再次查看。如果丢失，请重置密钥。",
            "The secret was already shown and cannot be shown again. If it is lost, rotate it.";
        secret_after_approval:
            "审核通过后，可以在本页生成密钥，只显示一次。",
            "After approval, you can have the secret made on this page; it is shown once.";
        secret_none_public: "公开客户端没有密钥，请使用 PKCE。", "Public clients have no secret; use PKCE.";
        rotate_title: "重置密钥", "Rotate the secret";
        rotate_intro:
            "生成新密钥（只显示一次）。可以让旧密钥在宽限期内继续有效，以便平滑更换。",
            "Makes a new secret (shown once). The old one may keep working for a grace period so that you can switch without downtime.";
        grace: "旧密钥宽限期", "Old secret keeps working for";
        grace_none: "立即失效", "No grace period";
        grace_hour: "1 小时", "1 hour";
        grace_day: "1 天", "1 day";
        grace_week: "7 天", "7 days";
        rotate_button: "重置密钥", "Rotate secret";
        delete_title: "删除应用", "Delete the app";
        delete_intro:
            "删除后，该应用的所有用户授权和令牌立即失效，无法恢复。",
            "Every authorization and token of this app stops working at once. This cannot be undone.";
        delete_button: "删除应用", "Delete app";
        delete_question: "确定要删除这个应用吗？", "Do you really want to delete this app?";
        cancel: "取消", "Cancel";
        deleted: "应用已删除。", "The app was deleted.";
        guide_title: "接入指南", "Integration guide";
        guide_intro: "以下示例已填入本应用的值。", "The examples below carry this app's values.";
        guide_authorize:
            "1. 把用户的浏览器带到授权地址（state 和 PKCE 参数每次随机生成）：",
            "1. Send the user's browser to the authorization URL (make state and the PKCE values fresh for every login):";
        guide_token:
            "2. 在你的服务器上用回调收到的 code 换取令牌：",
            "2. On your server, exchange the code from the callback for tokens:";
        guide_secret_note:
            "密钥只能放在服务器端（例如环境变量），不要写进网页或客户端代码。",
            "Keep the secret on the server (e.g. an environment variable); never put it in web pages or app binaries.";
        guide_userinfo: "3. 用访问令牌读取用户信息：", "3. Read the user's profile with the access token:";
        guide_docs: "完整的集成指南", "The full integration guide";
        back: "返回我的应用", "Back to my apps";
        reviewed: "已经平台审核", "Reviewed by the platform";
        secret_leave_warning:
            "密钥还没有确认保存。离开本页后将无法再次查看。",
            "You have not confirmed that you saved the secret. Once you leave, it cannot be shown again.";
        secret_saved: "我已保存密钥", "I saved the secret";
        secret_hidden: "密钥已不再显示。", "The secret is no longer shown.";
        reveal_hint:
            "密钥尚未生成。点击后生成并只显示一次，请准备好立即保存。",
            "No secret exists yet. It is made when you ask for it and shown once: be ready to save it.";
        reveal_button: "生成并显示密钥", "Show the secret";
        rotate_confirm:
            "我明白：新密钥只显示一次，旧密钥在所选宽限期结束后失效。",
            "I understand: the new secret is shown once, and the old one stops working when the chosen grace period ends.";
        rotate_confirm_missing:
            "请勾选确认后再重置密钥；密钥没有改变。",
            "Tick the confirmation to rotate the secret; nothing was changed.";
        edit_title: "修改应用", "Edit the app";
        edit_intro:
            "修改名称、描述、Logo、主页、隐私政策、重定向 URI 和权限，无需删除应用。",
            "Change the name, description, logo, homepage, privacy policy, redirect URIs and scopes without deleting the app.";
        edit_button: "修改应用", "Edit app";
        edit_save: "保存修改", "Save changes";
        edit_review_rule:
            "新的重定向或登出地址（新域名）、新的权限、新的名称或 Logo 需要管理员审核，审核期间当前配置照常使用；其余修改立即生效。",
            "A redirect or logout address on a new host, a new scope, and a new name or logo wait for an admin's review, while the current configuration keeps working; everything else applies at once.";
        edit_replaces_pending:
            "已有修改在等待审核；保存后将替换它。",
            "A change is already waiting for review; saving replaces it.";
        edited: "修改已生效。", "Your changes apply now.";
        edit_pending:
            "修改已保存；其中部分内容等待管理员审核，审核前当前配置照常使用。",
            "Saved: part of the change waits for an admin's review; the current configuration keeps working until then.";
        change_withdrawn: "待审核的修改已撤回。", "The change waiting for review was withdrawn.";
        pending_title: "等待审核的修改", "Change waiting for review";
        pending_intro: "以下修改等待管理员审核，提交于", "These changes wait for an admin's review; asked for on";
        withdraw_button: "撤回修改", "Withdraw the change";
        change_approve: "批准修改", "Approve the change";
        change_reject: "拒绝修改", "Reject the change";
        post_logout_redirect_uris: "登出后重定向 URI", "Post-logout redirect URIs";
        post_logout_hint:
            "每行一个：用户从本平台退出后可以回到的地址（可不填）。",
            "One per line: where users may return after signing out of this platform (optional).";
        logo_uri: "Logo 地址", "Logo address";
        client_uri: "主页", "Homepage";
        policy_uri: "隐私政策", "Privacy policy";
        links_hint:
            "必须是 https 地址，会显示在授权页上；留空表示没有。",
            "https addresses, shown on the consent page; leave empty for none.";
        app_not_found: "应用不存在", "No such app";
    }
}

pub fn console_texts(t: &Texts) -> &'static ConsoleTexts {
    if t.lang == "en" { &EN } else { &ZH }
}

impl ConsoleTexts {
    pub fn status(&self, status: ClientStatus) -> &'static str {
        match status {
            ClientStatus::Pending => self.pending,
            ClientStatus::Approved => self.approved,
            ClientStatus::Rejected => self.rejected,
            ClientStatus::Disabled => self.disabled,
        }
    }
}
