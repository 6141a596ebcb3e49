//! Configuration: defaults, then a TOML file, then `KEYWARD_*` environment variables.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// Every key, its default and meaning; shown by `keyward --help`.
pub const KEYS_HELP: &str = "\
CONFIGURATION (TOML file keys; each also as KEYWARD_<KEY> in upper case, which wins):
  listen                         host:port to serve on                 [127.0.0.1:3000]
  public_url                     base URL users reach Keyward at; the  [http://<listen>]
                                 issuer and the base of every link. An
                                 https URL makes cookies Secure.
  database_url                   sqlite://PATH or postgres://...       [sqlite://keyward.db]
  database_max_connections       pool size (PostgreSQL)                [16]
  database_wait_secs             how long a starting node keeps retrying a database
                                 that does not answer yet, logging each try  [300]
  admin_username, admin_password create this admin at start when no admin exists yet;
                                 without them a first admin is generated and its
                                 password printed once
  log_format                     text | json                           [text]
  log_level                      tracing filter, e.g. info,keyward=debug  [info]
  trusted_proxies                proxy addresses or ranges (10.0.0.0/8, fd00::/8)
                                 whose X-Forwarded-For is believed,
                                 comma-separated                       [none]
  session_ttl_secs               how long a login session lives        [2592000]
  secret_key                     base64 of 32 bytes encrypting signing keys at rest; the
                                 same on every node                    [from key_file]
  key_file                       where the master key is kept when secret_key is unset
                                 (created on first start)              [keyward.key]
  id_token_ttl_secs              id_token lifetime                     [3600]
  key_cache_secs                 how long a node keeps the signing keys while it cannot tell of changes [30]
  authorization_code_ttl_secs    authorization code lifetime           [600]
  device_code_ttl_secs           device flow (RFC 8628) code lifetime  [600]
  access_token_ttl_secs          OAuth access token lifetime           [7200]
  refresh_token_ttl_secs         OAuth refresh token lifetime          [2592000]
  login_window_secs              login throttling window               [900]
  login_max_failures_per_account failures per submitted name per window  [5]
  login_max_failures_per_ip      failures per client IP per window     [30]
  spend_requests_per_minute      charges and refunds per user grant a minute [600]
  billing_service_requests_per_minute  the same per billing-service app, which
                                 meters every user                     [60000]
  body_limit_bytes               largest request body accepted         [65536]
  tls_cert_file, tls_key_file    PEM files: serve HTTPS natively (rustls) [off]
  request_timeout_secs           longest a request may take            [30]
  outbound_ca_file               PEM bundle of CAs trusted, besides the system roots, by
                                 every outbound https call (upstream logins,
                                 client documents)                     [none]
  otlp_endpoint                  OpenTelemetry collector base URL, e.g. http://127.0.0.1:4318:
                                 send traces over OTLP/HTTP (protobuf) to <url>/v1/traces;
                                 one span per request and one per store call   [off]
  otlp_service_name              service.name of those traces          [keyward]
The file is --config FILE, else $KEYWARD_CONFIG, else ./keyward.toml when it exists.";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub listen: String,
    pub public_url: Option<String>,
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_wait_secs: u64,
    #[serde(default, deserialize_with = "text")]
    pub admin_username: Option<String>,
    #[serde(default, skip_serializing, deserialize_with = "text")]
    pub admin_password: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    #[serde(deserialize_with = "ip_ranges", serialize_with = "ranges_as_text")]
    pub trusted_proxies: Vec<IpNet>,
    pub session_ttl_secs: i64,
    /// Base64 of 32 random bytes that encrypt signing keys at rest. Every node sharing a
    /// database needs the same one.
    #[serde(default, skip_serializing, deserialize_with = "text")]
    pub secret_key: Option<String>,
    /// Where the master key is kept when `secret_key` is not set (created if missing).
    pub key_file: String,
    pub id_token_ttl_secs: i64,
    pub key_cache_secs: u64,
    pub authorization_code_ttl_secs: i64,
    /// How long a device authorization (RFC 8628) waits for its user: the `expires_in` of
    /// `/oauth2/device_authorization`.
    pub device_code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub login_window_secs: i64,
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_ip: i64,
    pub spend_requests_per_minute: i64,
    pub billing_service_requests_per_minute: i64,
    pub body_limit_bytes: usize,
    /// PEM certificate chain and key for native TLS; both or neither.
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    pub request_timeout_secs: u64,
    /// PEM bundle of extra CA certificates for outbound https (private CAs, test CAs).
    pub outbound_ca_file: Option<String>,
    /// Base URL of an OpenTelemetry collector's OTLP/HTTP receiver; unset, no traces are sent
    /// and no exporter is built.
    #[serde(default, deserialize_with = "text")]
    pub otlp_endpoint: Option<String>,
    pub otlp_service_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3000".into(),
            public_url: None,
            database_url: "sqlite://keyward.db".into(),
            database_max_connections: 16,
            database_wait_secs: 300,
            admin_username: None,
            admin_password: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            trusted_proxies: Vec::new(),
            session_ttl_secs: 30 * 24 * 3600,
            secret_key: None,
            key_file: "keyward.key".into(),
            id_token_ttl_secs: 3600,
            key_cache_secs: 30,
            authorization_code_ttl_secs: 600,
            device_code_ttl_secs: 600,
            access_token_ttl_secs: 7200,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            login_window_secs: 15 * 60,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 30,
            spend_requests_per_minute: 600,
            billing_service_requests_per_minute: 60_000,
            body_limit_bytes: 64 * 1024,
            tls_cert_file: None,
            tls_key_file: None,
            request_timeout_secs: 30,
            outbound_ca_file: None,
            otlp_endpoint: None,
            otlp_service_name: "keyward".into(),
        }
    }
}

impl Config {
    /// Loads the layered configuration. `file` is the `--config` argument, if any.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        let from_env = std::env::var_os("KEYWARD_CONFIG").map(std::path::PathBuf::from);
        match file.map(Path::to_path_buf).or(from_env) {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("keyward.toml").exists() => {
                figment = figment.merge(Toml::file_exact("keyward.toml"));
            }
            None => {}
        }
        figment
            .merge(Env::prefixed("KEYWARD_").ignore(&["config", "test_database_url"]))
            .extract()
            .map_err(Box::new)
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// Accepts a TOML list or one comma-separated string (handy in an environment variable) of
/// addresses (`10.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`). A bad entry stops
/// the start: a proxy silently left out would put every client behind it on one counter.
fn ip_ranges<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        One(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(list) => list,
        Raw::One(one) => one.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| parse_range(s).map_err(serde::de::Error::custom))
        .collect()
}

fn parse_range(text: &str) -> Result<IpNet, String> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    match text.parse::<IpNet>() {
        // `10.1.2.3/8` names the range 10.0.0.0/8; say it as such in the log, not refuse it.
        Ok(range) => Ok(range.trunc()),
        Err(_) => Err(format!(
            "trusted_proxies: `{}` is neither an IP address nor a CIDR range such as \
             10.0.0.0/8 or fd00::/8",
            text.chars().take(64).collect::<String>()
        )),
    }
}

fn ranges_as_text<S: serde::Serializer>(ranges: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ranges.iter().map(ToString::to_string))
}

/// Environment values are typed by their look (`KEYWARD_ADMIN_PASSWORD=12345678` arrives as a
/// number); a name or a password is text whatever it looks like.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Signed(i64),
        Unsigned(u64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Text(s) => s,
        Raw::Signed(n) => n.to_string(),
        Raw::Unsigned(n) => n.to_string(),
        Raw::Float(n) => n.to_string(),
        Raw::Bool(b) => b.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_looking_passwords_and_proxy_lists_load_from_the_environment() {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(figment::providers::Serialized::default(
                "admin_password",
                12_345_678_u64,
            ))
            .merge(figment::providers::Serialized::default(
                "trusted_proxies",
                "10.0.0.1, ::1",
            ))
            .extract()
            .expect("config");
        assert_eq!(config.admin_password.as_deref(), Some("12345678"));
        assert_eq!(config.trusted_proxies.len(), 2);
    }

    fn proxies(value: &str) -> Result<Vec<String>, String> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Serialized::default("trusted_proxies", value))
            .extract::<Config>()
            .map(|c| c.trusted_proxies.iter().map(ToString::to_string).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn trusted_proxies_take_ranges_and_refuse_what_is_neither() {
        assert_eq!(
            proxies("127.0.0.0/8, 10.0.0.0/8, ::1/128, fd00::/8, 192.0.2.7, 10.1.2.3/16")
                .as_deref(),
            Ok(&[
                "127.0.0.0/8",
                "10.0.0.0/8",
                "::1/128",
                "fd00::/8",
                "192.0.2.7/32",
                "10.1.0.0/16"
            ]
            .map(String::from)[..])
        );
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0",
            "proxy.local",
            "10.0.0.0/8/8",
        ] {
            let error = proxies(bad).expect_err(bad);
            assert!(
                error.contains("trusted_proxies") && error.contains("CIDR"),
                "{bad}: {error}"
            );
        }
    }

    /// The Debian package's /etc/keyward/keyward.toml loads, sets what the package relies on, and
    /// documents every key (a new key fails this until the file says what it does).
    #[test]
    fn the_packaged_configuration_loads_and_documents_every_key() {
        let text = include_str!("../debian/keyward.toml");
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .expect("the packaged configuration loads");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite:///var/lib/keyward/keyward.db");
        assert_eq!(config.key_file, "/etc/keyward/master.key");
        assert_eq!(config.public_url, None);

        let serde_json::Value::Object(keys) =
            serde_json::to_value(Config::default()).expect("config as JSON")
        else {
            panic!("the configuration is a map");
        };
        // Never serialized, but keys all the same.
        let secret_keys = ["admin_password", "secret_key"];
        for key in keys.keys().map(String::as_str).chain(secret_keys) {
            let documented = text.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            });
            assert!(
                documented,
                "debian/keyward.toml does not show the key {key}"
            );
        }
    }
}
