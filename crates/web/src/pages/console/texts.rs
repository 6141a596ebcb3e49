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
            "提交后需要管理员审核；审核通过后首次打开应用详情时会显示一次密钥。",
            "An admin reviews new apps; the secret is shown once, the first time you open the app after approval.";
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
            "这是该密钥唯一一次显示。请立即复制并保存在服务器端；离开或刷新本页后将无法再次查看，只能重置。",
            "This is the only time this secret is shown. Copy it now and keep it on your server; once you leave or reload this page it cannot be shown again, only replaced.";
        copy: "复制", "Copy";
        secret_shown_before:
            "密钥已经显示过，无法再次查看。如果丢失，请重置密钥。",
            "The secret was already shown and cannot be shown again. If it is lost, rotate it.";
        secret_after_approval:
            "审核通过后，你首次打开本页时会显示一次密钥。",
            "After approval, the secret is shown once, the first time you open this page.";
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
