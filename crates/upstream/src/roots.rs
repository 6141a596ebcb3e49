//! Extra certificate authorities (`outbound_ca_file`) trusted, in addition to the system roots,
//! by every outbound https call: upstream logins and the guarded fetcher.

use crate::UpstreamError;
use std::path::Path;

/// A PEM bundle of CA certificates; empty by default (system roots only).
#[derive(Clone, Default)]
pub struct ExtraRoots(Vec<reqwest::Certificate>);

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraRoots({} certificates)", self.0.len())
    }
}

impl ExtraRoots {
    /// Parses a PEM bundle. At least one certificate, and every one usable as a trust anchor.
    pub fn from_pem(pem: &[u8]) -> Result<Self, UpstreamError> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| UpstreamError::Config(format!("not a PEM certificate bundle: {e}")))?;
        if certs.is_empty() {
            return Err(UpstreamError::Config(
                "no CERTIFICATE block in the PEM bundle".into(),
            ));
        }
        let roots = Self(certs);
        // The TLS stack parses the anchors only when a client is built: build one now, so a
        // broken certificate is reported here and not at the first outbound call.
        roots
            .apply(reqwest::Client::builder())
            .build()
            .map_err(|e| UpstreamError::Config(format!("unusable CA certificate: {e}")))?;
        Ok(roots)
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, UpstreamError> {
        let pem = std::fs::read(path)
            .map_err(|e| UpstreamError::Config(format!("reading {}: {e}", path.display())))?;
        Self::from_pem(&pem).map_err(|e| match e {
            UpstreamError::Config(why) => {
                UpstreamError::Config(format!("{}: {why}", path.display()))
            }
            other => other,
        })
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if self.0.is_empty() {
            builder
        } else {
            builder.tls_certs_merge(self.0.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused() {
        for pem in [
            &b""[..],
            b"hello",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(ExtraRoots::from_pem(pem).is_err(), "{pem:?}");
        }
    }

    #[test]
    fn a_certificate_block_holding_garbage_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n";
        assert!(ExtraRoots::from_pem(pem).is_err());
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = ExtraRoots::from_pem_file(Path::new("/nonexistent/ca.pem")).err();
        assert!(err.is_some_and(|e| e.to_string().contains("/nonexistent/ca.pem")));
    }
}
