//! The guarded fetcher against a real https server on 127.0.0.1 with a throwaway CA, trusted the
//! way `outbound_ca_file` is. No traffic leaves loopback: names are resolved by a fake resolver
//! or are `localhost`.

use keyward_upstream::{ExtraRoots, FetchError, FetchLimits, GuardedFetcher};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::aws_lc_rs};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

struct TestServer {
    port: u16,
    /// TCP connections accepted, so a test can say nothing reached the server.
    connections: Arc<AtomicUsize>,
    /// The throwaway CA's certificate, as an `outbound_ca_file`.
    ca_file: tempfile::NamedTempFile,
}

impl TestServer {
    async fn start() -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Keyward throwaway test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("CA certificate");

        let leaf_key = rcgen::KeyPair::generate().expect("server key");
        let names = ["127.0.0.1", "localhost", "metadata.test"].map(str::to_owned);
        let leaf = rcgen::CertificateParams::new(names.to_vec())
            .expect("server params")
            .signed_by(&leaf_key, &ca)
            .expect("server certificate");

        let mut ca_file = tempfile::NamedTempFile::new().expect("temp file");
        ca_file.write_all(ca.pem().as_bytes()).expect("write CA");

        let provider = Arc::new(aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = answer(tls).await;
                    }
                });
            }
        });
        Self {
            port,
            connections,
            ca_file,
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    fn roots(&self) -> ExtraRoots {
        ExtraRoots::from_pem_file(self.ca_file.path()).expect("the test CA loads")
    }

    fn fetcher(&self, timeout: Duration) -> GuardedFetcher {
        let limits = FetchLimits {
            timeout,
            max_body_bytes: 64 * 1024,
        };
        GuardedFetcher::with_resolver(&self.roots(), limits, Arc::new(ToLoopback)).expect("fetcher")
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Resolves every name to 127.0.0.1: a public-looking name that points (or rebinds) to loopback.
struct ToLoopback;

impl Resolve for ToLoopback {
    fn resolve(&self, _: Name) -> Resolving {
        Box::pin(async { Ok(Box::new(std::iter::once(SocketAddr::new(LOOPBACK, 0))) as Addrs) })
    }
}

const DOCUMENT: &str = r#"{"client_id":"https://metadata.test/client.json","client_name":"Test"}"#;

async fn answer(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let reply = |status: &str, headers: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let json = "Content-Type: application/json\r\n";
    let text = match path.as_str() {
        "/client.json" => reply(
            "200 OK",
            "Content-Type: application/json; charset=utf-8\r\nCache-Control: public, max-age=3600\r\n",
            DOCUMENT,
        ),
        "/no-store.json" => reply(
            "200 OK",
            "Content-Type: application/json\r\nCache-Control: no-store\r\n",
            DOCUMENT,
        ),
        "/redirect" => reply("302 Found", "Location: /client.json\r\n", ""),
        "/html" => reply("200 OK", "Content-Type: text/html\r\n", "<html></html>"),
        "/missing" => reply("404 Not Found", json, "{}"),
        "/bad-json" => reply("200 OK", json, "{\"client_id\":"),
        "/big" => reply("200 OK", json, &format!("\"{}\"", "a".repeat(100 * 1024))),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            reply("200 OK", json, DOCUMENT)
        }
        "/big-unannounced" => {
            // No Content-Length: the limit must hold while the body streams in.
            tls.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n\"",
            )
            .await?;
            let piece = "b".repeat(8 * 1024);
            for _ in 0..32 {
                tls.write_all(piece.as_bytes()).await?;
            }
            tls.write_all(b"\"").await?;
            return tls.shutdown().await;
        }
        "/slow-body" => {
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\nConnection: close\r\n\r\n").await?;
            for _ in 0..64 {
                tls.write_all(b" ").await?;
                tls.flush().await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            return tls.shutdown().await;
        }
        _ => reply("404 Not Found", "", ""),
    };
    tls.write_all(text.as_bytes()).await?;
    tls.shutdown().await
}

const SHORT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_good_document_is_fetched_with_its_cache_lifetime() {
    let server = TestServer::start().await;
    let fetcher = server.fetcher(SHORT);
    for host in ["127.0.0.1", "metadata.test", "localhost"] {
        let fetched = fetcher
            .fetch_json(&server.url(host, "/client.json"), true)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(fetched.value["client_name"], "Test");
        assert_eq!(fetched.cache_for, Duration::from_secs(3600));
    }
    let no_store = fetcher
        .fetch_json(&server.url("127.0.0.1", "/no-store.json"), true)
        .await
        .map(|f| f.cache_for);
    assert_eq!(no_store, Ok(keyward_upstream::guarded::fetch::MIN_CACHE));
}

#[tokio::test]
async fn refusals_are_typed() {
    let server = TestServer::start().await;
    let fetcher = server.fetcher(SHORT);
    let cases = [
        ("/redirect", FetchError::Redirect(302)),
        ("/html", FetchError::NotJson("text/html".into())),
        ("/missing", FetchError::Status(404)),
        ("/big", FetchError::TooLarge(64 * 1024)),
        ("/big-unannounced", FetchError::TooLarge(64 * 1024)),
    ];
    for (path, want) in cases {
        let got = fetcher
            .fetch_json(&server.url("127.0.0.1", path), true)
            .await;
        assert_eq!(got.err(), Some(want), "{path}");
    }
    let bad = fetcher
        .fetch_json(&server.url("127.0.0.1", "/bad-json"), true)
        .await;
    assert!(matches!(bad, Err(FetchError::BadJson(_))), "{bad:?}");
}

#[tokio::test]
async fn a_slow_answer_or_a_slow_body_times_out() {
    let server = TestServer::start().await;
    let deadline = Duration::from_millis(400);
    let fetcher = server.fetcher(deadline);
    for path in ["/slow", "/slow-body"] {
        let started = std::time::Instant::now();
        let got = fetcher
            .fetch_json(&server.url("127.0.0.1", path), true)
            .await;
        assert_eq!(got.err(), Some(FetchError::Timeout(deadline)), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn without_allow_loopback_nothing_reaches_a_loopback_server() {
    let server = TestServer::start().await;
    let fetcher = server.fetcher(SHORT);
    // A literal address, a name our fake DNS points at 127.0.0.1 (a rebinding), and localhost
    // through the system resolver.
    for host in ["127.0.0.1", "metadata.test", "localhost"] {
        let got = fetcher
            .fetch_json(&server.url(host, "/client.json"), false)
            .await;
        assert!(
            matches!(got, Err(FetchError::BlockedAddress(ip)) if ip.is_loopback()
                || ip.to_string().starts_with("::ffff:127.")),
            "{host}: {got:?}"
        );
    }
    let untrusted =
        GuardedFetcher::new(&ExtraRoots::default(), FetchLimits::default()).expect("fetcher");
    let got = untrusted
        .fetch_json(&server.url("localhost", "/client.json"), false)
        .await;
    assert!(matches!(got, Err(FetchError::BlockedAddress(_))), "{got:?}");
    assert_eq!(server.connections(), 0, "a refused fetch must not connect");
    // The same URL works once loopback is allowed: the refusal was the guard's.
    assert!(
        fetcher
            .fetch_json(&server.url("127.0.0.1", "/client.json"), true)
            .await
            .is_ok()
    );
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn without_the_extra_ca_the_server_is_not_trusted() {
    let server = TestServer::start().await;
    let fetcher =
        GuardedFetcher::new(&ExtraRoots::default(), FetchLimits::default()).expect("fetcher");
    let got = fetcher
        .fetch_json(&server.url("127.0.0.1", "/client.json"), true)
        .await;
    assert!(matches!(got, Err(FetchError::Connect(_))), "{got:?}");
}

#[tokio::test]
async fn the_upstream_client_trusts_the_extra_ca_too() {
    let server = TestServer::start().await;
    let url = server.url("127.0.0.1", "/client.json");
    let http = keyward_upstream::Http::with_roots(&server.roots()).expect("client");
    let status = http
        .client()
        .get(&url)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(status.ok(), Some(200));
    let plain = keyward_upstream::Http::new().expect("client");
    assert!(plain.client().get(&url).send().await.is_err());
}
