//! The words of the `/device` pages, in Chinese and English.

use crate::pages::Texts;

crate::pages::page_words! {
    DeviceTexts {
        title: "设备登录", "Sign in on a device";
        enter_intro:
            "输入设备或命令行程序上显示的代码。",
            "Enter the code that your device or command-line program shows.";
        code_label: "设备代码", "Device code";
        code_hint: "8 个字母，例如 BCDF-GHJK", "8 letters, like BCDF-GHJK";
        next: "继续", "Continue";
        malformed:
            "这不是设备代码：设备代码由 8 个字母组成，例如 BCDF-GHJK。",
            "That is not a device code: a device code has 8 letters, like BCDF-GHJK.";
        unknown:
            "代码无效、已使用或已过期。请核对设备上显示的代码，或在设备上重新开始。",
            "This code is not valid, was used already or has expired. Check the code on your device, or start again there.";
        too_many:
            "输入错误的次数过多，请稍后再试。",
            "Too many wrong codes. Please wait a while and try again.";
        consent_intro:
            "设备上的应用请求访问你的账户：",
            "An app on a device asks to access your account:";
        compare_code:
            "请确认你的设备上显示的代码是",
            "Check that your device shows the code";
        warning:
            "只有当这是你本人、在你自己的设备上发起的登录时才继续。如果是别人发给你的代码或链接，请拒绝：批准后对方的设备将能访问你的账户。",
            "Only continue if you started this yourself, on your own device. If someone else sent you this code or link, deny: approving gives their device access to your account.";
        approved_title: "设备已连接", "Device connected";
        approved:
            "已授权。现在可以回到设备上继续了。",
            "Approved. You can go back to your device now.";
        denied_title: "已拒绝", "Denied";
        denied:
            "已拒绝，设备不会获得你账户的访问权限。",
            "Denied. The device gets no access to your account.";
        app_is: "应用：", "App:";
        limit_required:
            "请设置消费限额：大于零、最多两位小数的金额，以及每天、每月或总计。",
            "Set a spending limit: an amount above zero with at most two decimals, per day, per month or in total.";
    }
}

pub fn device_texts(t: &Texts) -> &'static DeviceTexts {
    if t.lang == "en" { &EN } else { &ZH }
}
