//! Sending mail over SMTP with lettre: certificates verified (STARTTLS or implicit TLS), one
//! validated recipient, headers built by the library.

use crate::UpstreamError;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub from: String,
    /// `starttls`, `tls` or `none` (plain, for a relay on this machine only).
    pub security: String,
}

pub async fn send(
    config: &SmtpConfig,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), UpstreamError> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|_| UpstreamError::Config("smtp_from is not an address".into()))?;
    let to: Mailbox = to
        .parse()
        .map_err(|_| UpstreamError::Refused("bad recipient".into()))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|e| UpstreamError::Refused(e.to_string()))?;
    let builder = match config.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
        "none" => {
            let loopback = matches!(config.host.as_str(), "127.0.0.1" | "localhost" | "::1");
            if !loopback {
                return Err(UpstreamError::Config(
                    "plain SMTP is only allowed to a relay on this machine".into(),
                ));
            }
            Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            ))
        }
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host),
    }
    .map_err(|e| UpstreamError::Config(e.to_string()))?;
    let mut builder = builder
        .port(config.port)
        .timeout(Some(Duration::from_secs(10)));
    if !config.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            config.username.clone(),
            config.password.clone(),
        ));
    }
    builder
        .build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| UpstreamError::Connect(e.to_string()))
}
