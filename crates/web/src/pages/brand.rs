//! The platform's brand on every page: its name in titles and the header, its logo, accent
//! colour and footer. Pages read it from the settings of the request they answer, which a layer
//! puts in scope for the request's task, so that every page, down to the error pages an
//! extractor returns, wears it without each handler passing it along.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyward_core::settings::{Settings, SettingsCache, decode_logo, parse_hex_color};
use std::sync::{Arc, RwLock};

tokio::task_local! {
    static BRAND: Arc<BrandCache>;
}

/// A node's brand, derived once per settings document read rather than once per page: the
/// uploaded logo's version is a digest of up to 128 KB.
pub struct BrandCache {
    settings: Arc<SettingsCache>,
    last: RwLock<Option<(Arc<Settings>, Arc<Brand>)>>,
}

impl BrandCache {
    pub fn new(settings: Arc<SettingsCache>) -> Self {
        Self {
            settings,
            last: RwLock::new(None),
        }
    }

    /// The brand of the settings as last read.
    fn current(&self) -> Arc<Brand> {
        let settings = self.settings.latest();
        if let Ok(last) = self.last.read()
            && let Some((of, brand)) = last.as_ref()
            && Arc::ptr_eq(of, &settings)
        {
            return brand.clone();
        }
        let brand = Arc::new(Brand::of(&settings));
        if let Ok(mut last) = self.last.write() {
            *last = Some((settings, brand.clone()));
        }
        brand
    }
}

/// Runs the request with its node's brand in scope for [`Brand::current`]. A browser's
/// navigation (it accepts HTML) refreshes the settings first when they are older than the cache
/// allows, so that a brand changed on another node shows here too; API calls skip that.
pub async fn scope(State(brand): State<Arc<BrandCache>>, request: Request, next: Next) -> Response {
    if super::prefers_html(request.headers())
        && let Err(e) = brand.settings.get().await
    {
        tracing::warn!(error = %e, "settings unavailable; pages show the last brand read");
    }
    BRAND.scope(brand, next.run(request)).await
}

/// What a page shows of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    /// The logo's address: the uploaded one (`/brand/logo`, versioned) or the configured URL.
    pub logo: Option<String>,
    /// The stylesheet that sets the accent colour, versioned by the colour.
    pub accent_stylesheet: Option<String>,
    pub footer_text: String,
    pub terms_url: String,
    pub privacy_url: String,
}

impl Brand {
    /// The brand of the request being answered; the neutral defaults outside one (tests).
    pub fn current() -> Arc<Self> {
        BRAND
            .try_with(|cache| cache.current())
            .unwrap_or_else(|_| Arc::new(Self::of(&Settings::default())))
    }

    pub fn of(s: &Settings) -> Self {
        let logo = if !s.logo_upload.is_empty() {
            Some(format!("/brand/logo?v={}", version(&s.logo_upload)))
        } else {
            Some(s.logo_url.clone()).filter(|u| !u.is_empty())
        };
        Self {
            name: s.system_name.clone(),
            logo,
            accent_stylesheet: parse_hex_color(&s.accent_color)
                .map(|[r, g, b]| format!("/brand.css?v={r:02x}{g:02x}{b:02x}")),
            footer_text: s.footer_text.clone(),
            terms_url: s.terms_url.clone(),
            privacy_url: s.privacy_url.clone(),
        }
    }

    /// Whether the footer has anything to show.
    pub fn has_footer(&self) -> bool {
        !(self.footer_text.is_empty() && self.terms_url.is_empty() && self.privacy_url.is_empty())
    }
}

/// A short digest of `bytes`, to make a URL change when what it serves changes.
fn version(text: &str) -> String {
    keyward_core::secret::SecretHash::of(text).as_bytes()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text colour that reads best on `rgb`: white or near-black, whichever contrasts more
/// (WCAG 2 relative luminance), so any accent keeps button text at AA.
pub fn text_on(rgb: [u8; 3]) -> &'static str {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    let against_white = 1.05 / (l + 0.05);
    let against_black = (l + 0.05) / (0.0 + 0.05);
    if against_white >= against_black {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// `GET /brand.css`: the accent colour as the stylesheet's variables (CSP forbids inline
/// styles). Cached for long: the page links it with the colour in its query.
pub async fn stylesheet(State(state): State<AppState>) -> Response {
    let settings = state.settings.latest();
    let css = match parse_hex_color(&settings.accent_color) {
        Some(rgb) => format!(
            ":root {{ --accent: {}; --on-accent: {}; }}\n",
            settings.accent_color,
            text_on(rgb)
        ),
        None => String::new(),
    };
    cached(css.into_bytes(), "text/css; charset=utf-8")
}

/// `GET /brand/logo`: the uploaded logo; 404 when there is none.
pub async fn logo(State(state): State<AppState>) -> Response {
    match decode_logo(&state.settings.latest().logo_upload) {
        Some((bytes, kind)) => cached(bytes, kind),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn cached(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_text_keeps_aa_contrast_on_any_accent() {
        assert_eq!(text_on([0x25, 0x63, 0xeb]), "#ffffff");
        assert_eq!(text_on([0xfa, 0xcc, 0x15]), "#111111");
        assert_eq!(text_on([0, 0, 0]), "#ffffff");
        assert_eq!(text_on([0xff, 0xff, 0xff]), "#111111");
    }

    #[test]
    fn the_brand_comes_from_the_settings() {
        let mut s = Settings::default();
        assert_eq!(Brand::of(&s).logo, None);
        assert_eq!(Brand::of(&s).accent_stylesheet, None);
        s.system_name = "MyForum".into();
        s.accent_color = "#0A7F3C".into();
        s.logo_url = "https://cdn.example/logo.png".into();
        let brand = Brand::of(&s);
        assert_eq!(brand.name, "MyForum");
        assert_eq!(
            brand.accent_stylesheet.as_deref(),
            Some("/brand.css?v=0a7f3c")
        );
        assert_eq!(brand.logo.as_deref(), Some("https://cdn.example/logo.png"));
        s.logo_upload = "iVBORw0KGgo=".into();
        assert!(
            Brand::of(&s)
                .logo
                .expect("logo")
                .starts_with("/brand/logo?v=")
        );
    }
}
