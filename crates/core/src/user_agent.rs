//! A friendly name for a session's device: the browser and the operating system a `User-Agent`
//! header names ("Chrome · Windows"), for the session list and the security activity. A small
//! recogniser for the common browsers and systems, in the order their tokens must be checked
//! (Edge and Opera also say "Chrome", Chrome also says "Safari", every browser says "Mozilla").

/// The browser and operating system `user_agent` names, each `None` when not recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<&'static str>,
    pub os: Option<&'static str>,
}

impl Device {
    pub fn of(user_agent: &str) -> Self {
        Self {
            browser: browser(user_agent),
            os: os(user_agent),
        }
    }

    /// "Chrome · Windows", "Firefox", "Android"; `None` when neither is recognised.
    pub fn name(&self) -> Option<String> {
        match (self.browser, self.os) {
            (Some(b), Some(o)) => Some(format!("{b} · {o}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
            (None, None) => None,
        }
    }
}

/// The device's friendly name, else the header itself cut to 60 characters (a script or tool
/// names itself there), else `None` for an empty header.
pub fn friendly_name(user_agent: &str) -> Option<String> {
    let user_agent = user_agent.trim();
    if user_agent.is_empty() {
        return None;
    }
    Device::of(user_agent).name().or_else(|| {
        let mut cut: String = user_agent.chars().take(60).collect();
        if user_agent.chars().count() > 60 {
            cut.push('…');
        }
        Some(cut)
    })
}

fn browser(ua: &str) -> Option<&'static str> {
    // Most specific first: each of these also carries a more common browser's token.
    const BROWSERS: &[(&str, &str)] = &[
        ("MicroMessenger/", "WeChat"),
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("Edge/", "Edge"),
        ("OPR/", "Opera"),
        ("OPiOS/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("YaBrowser/", "Yandex Browser"),
        ("UCBrowser/", "UC Browser"),
        ("QQBrowser/", "QQ Browser"),
        ("Vivaldi/", "Vivaldi"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "Python"),
        ("okhttp/", "OkHttp"),
    ];
    if ua.contains("Trident/") || ua.contains("MSIE ") {
        return Some("Internet Explorer");
    }
    BROWSERS
        .iter()
        .find(|(token, name)| ua.contains(token) && (*name != "Safari" || ua.contains("Safari/")))
        .map(|(_, name)| *name)
}

fn os(ua: &str) -> Option<&'static str> {
    // iPadOS and Android before the desktop systems whose tokens they repeat
    // ("like Mac OS X", "Linux").
    const SYSTEMS: &[(&str, &str)] = &[
        ("iPad", "iPadOS"),
        ("iPhone", "iOS"),
        ("iPod", "iOS"),
        ("HarmonyOS", "HarmonyOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows Phone", "Windows Phone"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Ubuntu", "Ubuntu"),
        ("FreeBSD", "FreeBSD"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::{Device, friendly_name};

    #[test]
    fn common_browsers_and_systems_are_named() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "Chrome · Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
                "Edge · Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari · macOS",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                "Firefox · Ubuntu",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari · iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
                "Chrome · iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
                "Chrome · Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
                "Samsung Internet · Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0 Mobile Safari/537.36 MicroMessenger/8.0.47",
                "WeChat · Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
                "Opera · Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "Chrome · ChromeOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari · iPadOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
                "Chrome · Linux",
            ),
            ("curl/8.5.0", "curl"),
        ];
        for (ua, expected) in cases {
            assert_eq!(Device::of(ua).name().as_deref(), Some(expected), "{ua}");
        }
    }

    #[test]
    fn unknown_agents_are_shown_cut_and_empty_ones_not_at_all() {
        assert_eq!(friendly_name("   "), None);
        assert_eq!(friendly_name("MyTool/1.0").as_deref(), Some("MyTool/1.0"));
        let long = "x".repeat(100);
        let shown = friendly_name(&long).unwrap_or_default();
        assert_eq!(shown.chars().count(), 61);
        assert!(shown.ends_with('…'));
        assert_eq!(
            friendly_name("Mozilla/5.0 (Windows NT 10.0) Firefox/125.0").as_deref(),
            Some("Firefox · Windows")
        );
    }
}
