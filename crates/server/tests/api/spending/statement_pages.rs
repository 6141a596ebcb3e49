//! The statement pages (issue #19): `/user/ledger` for the user and `/admin/users/{id}/ledger`
//! for admins, the same table: newest first, paged, each entry in words with the app, the
//! signed amount in the currency and the balance after.

use super::{Scene, charge_body, set_quota};
use crate::helpers::{Backend, get_json};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::json;

on_both_backends!(the_statement_pages_show_every_entry_in_words_newest_first);

async fn html(browser: &Client, url: &str, lang: &str) -> (StatusCode, String) {
    let res = browser
        .get(url)
        .header("accept-language", lang)
        .send()
        .await
        .expect("page");
    (res.status(), res.text().await.expect("html"))
}

/// The table's rows, each cell's text (tags stripped), in order.
fn rows(html: &str) -> Vec<Vec<String>> {
    let Some(body) = html.split("<tbody>").nth(1) else {
        return Vec::new();
    };
    let body = body.split("</tbody>").next().unwrap_or_default();
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = cell.split_once('>').map_or("", |(_, rest)| rest);
                    let inner = inner.split("</td>").next().unwrap_or_default();
                    inner.trim().to_owned()
                })
                .collect()
        })
        .collect()
}

async fn the_statement_pages_show_every_entry_in_words_newest_first(backend: Backend) {
    let s = Scene::new(backend).await;
    let token = s.token("10", "month").await;
    let (status, charged) = s.charge(&token, charge_body(2500, "a")).await;
    assert_eq!(status, StatusCode::OK);
    let charge_id = charged["charge_id"].as_i64().expect("charge_id");
    let (status, refunded) = s
        .refund(
            &token,
            json!({"charge_id": charge_id, "amount": 500, "idempotency_key": "r"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refunded}");

    let (status, page) = html(&s.payer, &s.app.url("/user/ledger"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"href="/user/ledger" aria-current="page""#),
        "{page}"
    );
    let table = rows(&page);
    let expected = [
        ["Refunded by an app", "Test App", "", "+$0.50", "$3.00"],
        [
            "Charged by an app",
            "Test App",
            "a model call",
            "-$2.50",
            "$2.50",
        ],
        ["Adjusted by an admin", "", "", "+$5.00", "$5.00"],
    ];
    assert_eq!(table.len(), expected.len(), "{page}");
    for (row, want) in table.iter().zip(expected) {
        assert_eq!(&row[1..], &want[..], "{page}");
        assert!(row[0].ends_with("UTC"), "{row:?}");
    }
    let (_, zh) = html(&s.payer, &s.app.url("/user/ledger"), "zh-CN").await;
    assert!(zh.contains("应用扣费") && zh.contains("管理员调整"), "{zh}");

    // The admin sees the same table from the user's page; a user does not see the admin's.
    let admin = s.app.admin().await;
    let (_, user_page) = html(
        &admin,
        &s.app.url(&format!("/admin/users/{}", s.payer_id)),
        "en",
    )
    .await;
    let link = format!("/admin/users/{}/ledger", s.payer_id);
    assert!(
        user_page.contains(&format!(r#"href="{link}""#)),
        "{user_page}"
    );
    let (status, theirs) = html(&admin, &s.app.url(&link), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&theirs), table);
    assert!(theirs.contains("payer"), "{theirs}");
    let (status, _) = html(&s.payer, &s.app.url(&link), "en").await;
    assert_ne!(status, StatusCode::OK);
    let (status, _) = html(&admin, &s.app.url("/admin/users/999999/ledger"), "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = html(&admin, &s.app.url("/admin/users/x/ledger"), "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Paged by 20, newest first: 22 more admin edits make 25 entries.
    for quota in 1..=22 {
        set_quota(&s.app, s.payer_id, 5000 + quota).await;
    }
    let (_, first) = html(&s.payer, &s.app.url("/user/ledger"), "en").await;
    assert_eq!(rows(&first).len(), 20);
    assert_eq!(rows(&first)[0][5], "$3.02", "{first}");
    assert!(
        first.contains(r#"href="/user/ledger?p=2" rel="next""#),
        "{first}"
    );
    let (_, second) = html(&s.payer, &s.app.url("/user/ledger?p=2"), "en").await;
    let second_rows = rows(&second);
    assert_eq!(second_rows.len(), 5);
    assert_eq!(second_rows[4][1], "Adjusted by an admin");
    assert!(second.contains(r#"href="/user/ledger?p=1" rel="prev""#));
    assert!(!second.contains(r#"rel="next""#));
    for odd in ["?p=0", "?p=-1", "?p=x", "?p=99999999999999999999"] {
        let (status, _) = html(&s.payer, &s.app.url(&format!("/user/ledger{odd}")), "en").await;
        assert_eq!(status, StatusCode::OK, "{odd}");
    }
    // The JSON statement agrees on the count.
    let (_, json) = get_json(&s.payer, &s.app.url("/api/user/ledger?page_size=100")).await;
    assert_eq!(json["data"]["items"].as_array().map(Vec::len), Some(25));
    s.done().await;
}
