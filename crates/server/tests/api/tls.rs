//! Native TLS: the real binary serves HTTPS from a PEM certificate and key, and says so with HSTS.

use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

#[tokio::test]
async fn the_binary_serves_https_with_hsts() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures");
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYWARD_PUBLIC_URL", format!("https://localhost:{port}"))
        .env(
            "KEYWARD_DATABASE_URL",
            format!("sqlite://{}/kw.db", dir.path().display()),
        )
        .env("KEYWARD_TLS_CERT_FILE", format!("{fixtures}/localhost.crt"))
        .env("KEYWARD_TLS_KEY_FILE", format!("{fixtures}/localhost.key"))
        .env("KEYWARD_ADMIN_USERNAME", "root")
        .env("KEYWARD_ADMIN_PASSWORD", "admin-password-123")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keyward");

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(format!("{fixtures}/ca.crt")).expect("cert") {
        roots.add(cert.expect("cert")).expect("root");
    }
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut answer = String::new();
    for _ in 0..100 {
        let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .expect("TLS handshake with the configured certificate");
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        tls.read_to_string(&mut answer).await.ok();
        break;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "{answer}"
    );
}
