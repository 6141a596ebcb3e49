//! The signing keys: one per algorithm, rotation that publishes before it signs, and purging
//! only what no live id_token needs.

use crate::world::*;
use keyward_core::oidc::SigningAlg;

fn kids_in(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn signing_kid(w: &World, alg: SigningAlg) -> String {
    let token = w
        .keys
        .sign(alg, &serde_json::json!({"x": 1}))
        .await
        .expect("sign");
    jsonwebtoken::decode_header(&token)
        .expect("header")
        .kid
        .expect("kid")
}

#[tokio::test]
async fn every_algorithm_has_a_published_key_and_ensuring_twice_adds_none() {
    let w = World::new().await;
    let first = kids_in(&w.keys.jwks().await.expect("jwks"));
    assert_eq!(first.len(), SigningAlg::ALL.len());
    w.keys.ensure_keys().await.expect("again");
    assert_eq!(kids_in(&w.keys.jwks().await.expect("jwks")), first);
}

#[tokio::test]
async fn a_rotated_key_is_published_first_signs_later_and_the_old_one_is_kept_while_needed() {
    let w = World::new().await;
    let old = signing_kid(&w, SigningAlg::Es256).await;
    let new = w.keys.rotate(SigningAlg::Es256, 600).await.expect("rotate");
    assert!(kids_in(&w.keys.jwks().await.expect("jwks")).contains(&new));
    assert_eq!(
        signing_kid(&w, SigningAlg::Es256).await,
        old,
        "not active yet"
    );

    w.clock.advance(600);
    assert_eq!(signing_kid(&w, SigningAlg::Es256).await, new);
    // Tokens the old key signed live for an hour: it stays published and is not purged.
    w.keys.purge().await.expect("purge");
    assert!(kids_in(&w.keys.jwks().await.expect("jwks")).contains(&old));

    w.clock.advance(2 * 3600);
    w.keys.purge().await.expect("purge");
    let published = kids_in(&w.keys.jwks().await.expect("jwks"));
    assert!(
        !published.contains(&old),
        "retired once nothing it signed can be live"
    );
    assert!(published.contains(&new));
    assert!(w.keys.decoding_key(&old).await.expect("lookup").is_none());
}
