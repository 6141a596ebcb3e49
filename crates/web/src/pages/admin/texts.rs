//! The admin pages' words, in Chinese and English.

use crate::pages::Texts;

crate::pages::page_words! {
    AdminTexts {
        title: "管理后台", "Admin";
        subnav_label: "管理后台导航", "Admin sections";
        nav_overview: "概览", "Overview";
        nav_apps: "应用", "Apps";
        nav_users: "用户", "Users";
        nav_settings: "设置", "Settings";
        nav_audit: "审计日志", "Audit log";
        nav_topup: "充值码", "Top-up codes";
        nav_resources: "API 资源", "APIs";
        nav_client_documents: "自述客户端", "Self-described clients";
        client_documents_title: "以元数据文档自述的客户端", "Clients known by a metadata document";
        client_documents_intro:
            "这些客户端（多为 AI 代理和 MCP 客户端）以一个 https 地址作为 client_id，在那里描述自己；本站未审核它们，用户每次都会看到它们的来源主机。封禁后，它们的令牌立即失效。",
            "These clients (mostly AI agents and MCP clients) use an https URL as their client_id and describe themselves there; no one here reviewed them, and users always see the host they come from. Blocking one kills its tokens at once.";
        client_documents_none: "还没有这样的客户端。", "No such client yet.";
        client_host: "主机", "Host";
        client_name: "自称名称", "Name it gives";
        last_seen: "最近出现", "Last seen";
        consented_users: "已授权用户", "Users who consented";
        blocked: "已封禁", "Blocked";
        block: "封禁", "Block";
        unblock: "解除封禁", "Unblock";
        overview_intro:
            "审核开发者提交的应用。通过后，开发者首次打开应用详情时会看到一次密钥。",
            "Review the apps developers submitted. After approval, the developer sees the secret once, the first time they open the app.";
        pending_title: "待审核的应用", "Apps waiting for review";
        pending_none: "没有待审核的应用。", "No app is waiting for review.";
        approve: "通过", "Approve";
        reject: "拒绝", "Reject";
        disable: "停用", "Disable";
        reason: "原因", "Reason";
        reason_hint: "拒绝或停用的原因，会显示给开发者", "Why it is rejected or disabled; the developer sees this";
        trusted: "受信任", "Trusted";
        mark_trusted: "标记为受信任", "Mark trusted";
        unmark_trusted: "取消受信任", "Remove trust";
        owner: "开发者", "Developer";
        self_registered: "自行注册（未经审核）", "Self-registered (not reviewed)";
        apps_title: "所有应用", "All apps";
        no_apps: "没有应用。", "No apps.";
        status: "状态", "Status";
        all: "全部", "All";
        filter: "筛选", "Filter";
        prev: "← 上一页", "← Previous";
        next: "下一页 →", "Next →";
        users_title: "用户", "Users";
        search: "搜索", "Search";
        search_hint: "用户名、显示名或邮箱", "User name, display name or e-mail";
        email: "邮箱", "E-mail";
        role: "角色", "Role";
        role_user: "普通用户", "User";
        role_admin: "管理员", "Admin";
        role_root: "超级管理员", "Root";
        enabled: "正常", "Enabled";
        disabled: "已禁用", "Disabled";
        level: "等级", "Level";
        quota: "额度", "Quota";
        used_quota: "已用额度", "Used quota";
        save: "保存", "Save";
        disable_user: "禁用用户", "Disable user";
        enable_user: "启用用户", "Enable user";
        no_users: "没有找到用户。", "No users found.";
        last_login: "最近登录", "Last login";
        never: "从未", "never";
        settings_title: "设置", "Settings";
        settings_intro:
            "修改后立即生效（集群中的其他节点在缓存过期后生效）。密钥只写不读：留空表示保持不变。",
            "Changes apply at once (other nodes of a cluster pick them up when their cache expires). Secrets are write-only: leave a field empty to keep it.";
        root_only_note:
            "邮件（SMTP）与第三方登录的地址、Client ID 和密钥决定了找回密码的邮件与登录身份从何而来，只有超级管理员可以修改。",
            "Mail (SMTP) and the upstream providers' addresses, client ids and secrets decide where recovery mail and login identities come from: only root may change them.";
        saved: "设置已保存。", "Settings saved.";
        secret_set: "已设置，留空保持不变", "Set; leave empty to keep";
        secret_unset: "未设置", "Not set";
        clear_secret: "清除", "Clear";
        audit_title: "审计日志", "Audit log";
        time: "时间", "Time";
        actor: "操作者", "Actor";
        action: "操作", "Action";
        target: "对象", "Target";
        detail: "详情", "Detail";
        ip: "IP", "IP";
        no_entries: "没有记录。", "No entries.";
        not_a_number: "请输入整数：", "Enter a whole number: ";
        unknown_role: "无效的角色", "Unknown role.";
        unknown_status: "无效的状态", "Unknown status.";
        unknown_action: "无效的操作", "Unknown action.";
        resources_title: "API 资源", "APIs";
        resources_intro:
            "登记接受本站访问令牌的 API 与 MCP 服务器（RFC 8707）。应用在授权请求中用 resource 参数指名 API，得到只对该 API 有效的令牌。资源标识登记后不能修改，资源也不能删除，只能停用。",
            "Register the APIs and MCP servers that accept this server's access tokens (RFC 8707). Apps name an API with the resource parameter and get tokens good for that API alone. An identifier is fixed once registered, and an API is never deleted, only disabled.";
        no_resources: "还没有登记 API。", "No API is registered yet.";
        register_resource: "登记 API", "Register an API";
        register: "登记", "Register";
        edit_resource: "修改 API", "Edit the API";
        edit: "修改", "Edit";
        back_to_resources: "← 所有 API", "← All APIs";
        identifier: "资源标识", "Identifier";
        identifier_hint:
            "应用在 resource 参数中发送的绝对 URI，也是令牌的 aud。须为 https（仅本机地址可用 http），不含片段。登记后不能修改。",
            "The absolute URI apps send as resource, and the aud of its tokens: https (http only for this machine), no fragment. Fixed once registered.";
        name_zh: "名称（中文）", "Name (Chinese)";
        name_en: "名称（英文，留空同中文）", "Name (English; empty: same as Chinese)";
        names: "名称", "Names";
        scopes: "权限", "Scopes";
        scopes_hint:
            "每行一个权限：权限名 | 中文说明 | 英文说明。说明显示在授权页上；英文说明留空时使用中文说明。",
            "One scope per line: name | Chinese description | English description. The descriptions are shown on the consent page; an empty English one repeats the Chinese.";
        scopes_placeholder: "files:read | 读取你的文件 | Read your files", "files:read | (Chinese description) | Read your files";
        no_scopes: "没有权限", "No scopes";
        token_format: "令牌格式", "Token format";
        token_opaque: "不透明令牌（可立即撤销，API 通过内省校验）", "Opaque (revocable at once; the API introspects it)";
        token_jwt: "JWT（RFC 9068，API 用 jwks_uri 离线校验，过期前无法撤销）", "JWT (RFC 9068; the API checks it offline with jwks_uri; cannot be recalled before it expires)";
        signing_alg: "JWT 签名算法", "JWT signing algorithm";
        ttl: "访问令牌有效期（秒）", "Access token lifetime (seconds)";
        ttl_hint:
            "不透明令牌 60 到 86400 秒，JWT 60 到 3600 秒；留空使用默认值（3600 / 300）。",
            "60 to 86400 seconds for opaque tokens, 60 to 3600 for JWTs; empty for the default (3600 / 300).";
        introspection_client: "内省应用的 Client ID", "Introspection app's client ID";
        introspection_hint:
            "API 自己调用内省端点时使用的机密应用；留空表示没有。",
            "The confidential app whose credentials the API uses at the introspection endpoint; empty for none.";
        none: "无", "none";
        seconds: "秒", "s";
        enable_resource: "启用", "Enable";
        disable_resource: "停用", "Disable";
        disable_resource_hint:
            "停用后，新的授权请求会得到 invalid_target，该 API 的不透明令牌立即失效，JWT 在到期前仍然有效。",
            "Once disabled, new requests naming it get invalid_target and its opaque tokens stop working at once; its JWTs live until they expire.";
        resource_created: "API 已登记。", "The API is registered.";
        resource_saved: "API 已保存。", "The API is saved.";
        resource_enabled: "API 已启用。", "The API is enabled.";
        resource_disabled: "API 已停用。", "The API is disabled.";
        api_limit: "可用的 API", "APIs it may use";
        api_limit_any: "任何已启用的 API", "Any enabled API";
        api_limit_empty: "无（限制为空）", "None (limited to no API)";
        api_limit_hint:
            "限制后，授权请求指名其他 API 会得到 invalid_target；client_credentials 只能使用这里允许的 API。",
            "With a limit, a request naming another API gets invalid_target; client_credentials may only use the APIs allowed here.";
        limit_to_ticked: "仅允许勾选的 API", "Allow only the APIs ticked";
        lift_api_limit: "取消限制", "Lift the limit";
        ways_in_link: "登录方式", "Ways in";
        ledger_link: "账单（余额变动）", "Balance history";
        back_to_user: "返回该用户", "Back to the user";
        ways_in_title: "用户的登录方式", "A user's ways in";
        ways_in_password: "密码", "Password";
        ways_in_set: "已设置", "set";
        ways_in_unset: "未设置", "not set";
        ways_in_identities: "第三方账户", "Linked accounts";
        ways_in_none: "无", "none";
        ways_in_two_factor: "两步验证", "Two-factor";
        ways_in_on: "已开启", "on";
        ways_in_off: "未开启", "off";
        ways_in_reset: "重置两步验证", "Reset two-factor";
        unlock_title: "登录限制", "Sign-in limits";
        unlock_hint:
            "清除此账户的密码和两步验证失败计数：被放慢的登录立即恢复。用户自己登录过的浏览器本来就不受他人猜测影响。",
            "Clears this account's failed password and two-factor counters: slowed-down sign-ins run at once again. Browsers the user signed in with before are never slowed by others' guesses anyway.";
        unlock: "解除登录限制", "Clear sign-in limits";
        ways_in_reset_hint:
            "用户丢失验证器和恢复码时使用：关闭其两步验证，并邮件通知用户。",
            "For a user who lost their authenticator and recovery codes: turns two-factor off and mails them.";
        delete_user: "注销账户", "Delete account";
        delete_user_confirm:
            "输入用户名以确认（不可恢复）",
            "Type the user name to confirm (cannot be undone)";
        audit_any_action: "所有操作", "Any action";
        audit_actor_hint: "用户名或 #编号", "User name or #id";
        audit_from: "从（含）", "From (inclusive)";
        audit_to: "到（含）", "To (inclusive)";
        audit_no_actor: "没有这个用户。", "No such user.";
        audit_bad_date: "请输入 年-月-日 格式的日期。", "Enter a date as year-month-day.";
        audit_times_utc: "时间均为 UTC。", "Times are UTC.";
        audit_system: "系统或匿名", "System or anonymous";
        passkeys: "通行密钥", "Passkeys";
        unknown_section: "没有这个设置页面。", "No such settings page.";
        settings_sections: "设置分类", "Settings sections";
        callback_url: "在提供商处登记的回调地址", "Callback URL to register with the provider";
        callback_url_spa: "兼容 new-api 前端时另需登记", "Also register, for flows started by a new-api front end";
        telegram_domain: "用 @BotFather 的 /setdomain 设置的域名", "Domain to set with @BotFather's /setdomain";
        use_default_color: "使用默认颜色", "Use the default colour";
        logo_uploaded: "已上传标志", "A logo is uploaded";
        logo_none: "未上传标志", "No logo uploaded";
        remove_logo: "移除已上传的标志", "Remove the uploaded logo";
        upload_logo: "上传", "Upload";
        logo_file: "标志图片文件", "Logo image file";
        logo_missing: "请选择一个图片文件。", "Choose an image file.";
        logo_unreadable: "无法读取上传的文件（可能太大）。", "The upload could not be read (it may be too large).";
        setting_key: "设置项", "key";
        user_id: "编号", "ID";
        username: "用户名", "User name";
        display_name: "显示名", "Display name";
        created: "注册时间", "Signed up";
        user_details: "详情", "Details";
        user_title: "用户详情", "User details";
        back_to_users: "← 所有用户", "← All users";
        edit_user: "修改", "Change";
        user_status: "账户状态", "Account";
        sessions_title: "登录会话", "Sessions";
        no_sessions: "没有有效的会话。", "No live session.";
        session_started: "开始", "Started";
        session_seen: "最近活动", "Last active";
        session_expires: "到期", "Expires";
        session_browser: "浏览器", "Browser";
        session_pending: "等待两步验证", "Waiting for the second factor";
        owned_apps_title: "拥有的应用", "Apps they own";
        no_owned_apps: "没有应用。", "No apps.";
        consents_title: "已授权的应用", "Apps they allowed";
        no_consents: "没有授权。", "No consents.";
        granted: "授权时间", "Allowed on";
        last_used: "最近使用", "Last used";
        user_audit_title: "与该用户有关的记录", "Audit about this user";
        more_in_audit: "在审计日志中查看该用户的操作", "See what they did in the audit log";
        danger_zone: "危险操作", "Danger zone";
        disable_consequence:
            "禁用后，该用户的所有会话立即结束，开发者令牌和签发给应用的令牌全部作废，用户无法再登录；重新启用后旧令牌也不会恢复。",
            "Disabling ends all of this user's sessions at once and revokes their developer tokens and every token issued to apps for them; they cannot sign in. Enabling them again does not bring old tokens back.";
        disable_confirm: "我已了解，禁用该用户", "I understand; disable this user";
        enable_consequence: "启用后，该用户可以重新登录。", "Once enabled, the user can sign in again.";
        delete_consequence:
            "注销会永久删除该账户及其会话、令牌、授权、第三方绑定和通行密钥；审计记录中只保留一个匿名代号。此操作不可撤销。",
            "Deleting removes the account for good, with its sessions, tokens, consents, linked accounts and passkeys; the audit log keeps only a pseudonym. This cannot be undone.";
        confirm_required: "请勾选确认框：此操作需要确认。", "Tick the confirmation box: this action needs it.";
        trust_consequence:
            "受信任的应用不再显示授权页：每个用户登录该应用时都会自动同意其请求的权限，且不会再被询问。",
            "A trusted app skips the consent screen: every user who signs in to it grants the scopes it asks for without being asked.";
        trust_confirm: "我已了解，所有用户将不再看到授权页", "I understand: no user will see a consent screen for it";
    }
}

pub fn admin_texts(t: &Texts) -> &'static AdminTexts {
    if t.lang == "en" { &EN } else { &ZH }
}
