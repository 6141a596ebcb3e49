//! `/docs/...`: the integration guide as a page of the site, in the visitor's language, rendered
//! from the Markdown in `docs/` (whose `.md` URLs still serve the text itself).

use super::{Chrome, Texts, render};
use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

const GUIDE_EN: &str = include_str!("../../../../docs/integration-guide.en.md");
const GUIDE_ZH: &str = include_str!("../../../../docs/integration-guide.zh-CN.md");

super::page_words! {
    /// The words around the guide.
    DocsTexts {
        guide_title: "接入指南", "Integration guide";
        source: "Markdown 原文", "The Markdown source";
    }
}

#[derive(Template)]
#[template(path = "docs.html")]
struct DocsPage {
    t: &'static Texts,
    d: &'static DocsTexts,
    chrome: Chrome,
    /// Rendered from our own Markdown, with any raw HTML in it escaped.
    body: String,
    source_href: &'static str,
}

/// The guide's HTML: raw HTML in the Markdown is shown as text, never passed through; links
/// to the other language's Markdown switch the page's language instead.
pub fn to_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: local_link(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The guides' links to each other become the language switch; other relative links point
/// into `/docs/`.
fn local_link(dest: CowStr<'_>) -> CowStr<'_> {
    match dest.as_ref() {
        "integration-guide.en.md" => "/lang?to=en&return_to=%2Fdocs%2Fintegration-guide".into(),
        "integration-guide.zh-CN.md" => "/lang?to=zh&return_to=%2Fdocs%2Fintegration-guide".into(),
        "api-reference.md" => "/docs/api-reference.md".into(),
        _ => dest,
    }
}

/// `GET /docs/integration-guide`: the guide in the visitor's language.
pub async fn guide(headers: HeaderMap) -> Response {
    let t = super::texts(&headers);
    let (markdown, d, source_href) = if t.lang == super::EN.lang {
        (GUIDE_EN, &EN, "/docs/integration-guide.en.md")
    } else {
        (GUIDE_ZH, &ZH, "/docs/integration-guide.zh-CN.md")
    };
    let mut response = render(
        StatusCode::OK,
        &DocsPage {
            t,
            d,
            chrome: Chrome::bare(t, "/docs/integration-guide"),
            body: to_html(markdown),
            source_href,
        },
    );
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("cookie, accept-language"),
    );
    response.into_response()
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> super::Gallery {
    let d = if t.lang == super::EN.lang { &EN } else { &ZH };
    let page = DocsPage {
        t,
        d,
        chrome: Chrome::bare(t, "/docs/integration-guide"),
        body: to_html("# Guide <x>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n"),
        source_href: "/docs/integration-guide.en.md",
    };
    vec![("docs.html", page.render().unwrap_or_default())]
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn raw_html_in_the_markdown_is_escaped() {
        let html = to_html("# Sign in with <platform>\n\n<script>alert(1)</script>\n\nx <b>y</b>");
        assert!(html.contains("Sign in with &lt;platform&gt;"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn the_guides_render_with_tables_and_code() {
        for markdown in [super::GUIDE_EN, super::GUIDE_ZH] {
            let html = to_html(markdown);
            assert!(html.starts_with("<h1>"), "{}", &html[..80]);
            assert!(html.contains("<table>"));
            assert!(html.contains("<pre><code"));
            assert!(
                html.contains("href=\"/lang?to="),
                "the other language's link"
            );
            assert!(html.contains("href=\"/docs/api-reference.md\""));
        }
    }
}
