//! The protocol core's view of outbound fetches (client metadata documents, `jwks_uri`),
//! served by the upstream crate's guarded fetcher: public addresses only, https, no redirects,
//! bounded in time and size.

use async_trait::async_trait;
use keyward_core::oauth::directory::{DocumentFetcher, FetchedDocument};
use keyward_upstream::GuardedFetcher;

pub struct GuardedDocuments(pub GuardedFetcher);

#[async_trait]
impl DocumentFetcher for GuardedDocuments {
    async fn fetch_json(&self, url: &str, allow_loopback: bool) -> Result<FetchedDocument, String> {
        self.0
            .fetch_json(url, allow_loopback)
            .await
            .map(|fetched| FetchedDocument {
                value: fetched.value,
                cache_for: fetched.cache_for,
            })
            .map_err(|e| e.to_string())
    }
}
