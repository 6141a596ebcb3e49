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

/// What a browser submits with the form posting to `action`, untouched: its enabled inputs
/// (checkboxes only when checked), each select's selected option and its text areas, in
/// document order. Empty when there is no such form.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let document = Html::parse_document(html);
    let (Ok(form), Ok(controls), Ok(selected)) = (
        Selector::parse(&format!(r#"form[action="{action}"]"#)),
        Selector::parse("input[name], select[name], textarea[name]"),
        Selector::parse("option[selected]"),
    ) else {
        return Vec::new();
    };
    let Some(form) = document.select(&form).next() else {
        return Vec::new();
    };
    form.select(&controls)
        .filter_map(|control| {
            let element = control.value();
            let name = element.attr("name")?.to_owned();
            if element.attr("disabled").is_some() {
                return None;
            }
            let value = match element.name() {
                "textarea" => control.text().collect(),
                "select" => control
                    .select(&selected)
                    .next()
                    .and_then(|o| o.value().attr("value"))
                    .unwrap_or("")
                    .to_owned(),
                _ => {
                    let kind = element.attr("type").unwrap_or("text");
                    if matches!(kind, "checkbox" | "radio") && element.attr("checked").is_none() {
                        return None;
                    }
                    let default = if kind == "checkbox" { "on" } else { "" };
                    element.attr("value").unwrap_or(default).to_owned()
                }
            };
            Some((name, value))
        })
        .collect()
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

    #[test]
    fn a_form_is_read_as_a_browser_submits_it() {
        let html = r#"<form action="/other"><input name="no" value="1"></form>
            <form method="post" action="/a"><input type="hidden" name="t" value="x">
            <input type="checkbox" name="on" value="1" checked><input type="checkbox" name="off">
            <input name="n" type="number" value="5"><input name="locked" value="z" disabled>
            <select name="s"><option value="a">a</option><option value="b" selected>b</option></select>
            <textarea name="l">p
q</textarea><input type="password" name="pw"></form>"#;
        let fields = form_fields(html, "/a");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("t", "x"),
                ("on", "1"),
                ("n", "5"),
                ("s", "b"),
                ("l", "p\nq"),
                ("pw", "")
            ]
        );
    }
}
