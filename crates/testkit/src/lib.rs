//! Reading Keyward's pages as a browser would, for the benchmark and the integration tests:
//! one scraper, so both submit the consent form (and the other forms) the same way.

pub mod authenticator;

use scraper::{Html, Selector};

/// The hidden inputs of `html` (a page or a fragment of one), in document order, as
/// `(name, value)` with entities decoded: what a browser submits with the form around them.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let document = Html::parse_fragment(html);
    let Ok(hidden) = Selector::parse(r#"input[type="hidden"][name]"#) else {
        return Vec::new();
    };
    document
        .select(&hidden)
        .filter_map(|input| {
            let element = input.value();
            let name = element.attr("name")?;
            Some((
                name.to_owned(),
                element.attr("value").unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// The value of the first hidden input called `name`.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    hidden_fields(html)
        .into_iter()
        .find_map(|(field, value)| (field == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_inputs_are_read_in_order_with_entities_decoded() {
        let html = r#"<form method="post"><input type="hidden" name="csrf_token" value="a&amp;b">
            <input name="visible" value="no"><input value='x&#39;y&quot;' type='hidden' name='state'>
            <input type="hidden" name="empty"></form>"#;
        assert_eq!(
            hidden_fields(html),
            vec![
                ("csrf_token".into(), "a&b".into()),
                ("state".into(), "x'y\"".into()),
                ("empty".into(), String::new()),
            ]
        );
        assert_eq!(hidden_field(html, "state").as_deref(), Some("x'y\""));
        assert_eq!(hidden_field(html, "missing"), None);
    }
}
