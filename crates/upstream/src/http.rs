use crate::UpstreamError;
use crate::roots::ExtraRoots;
use std::time::Duration;

/// The outbound HTTP client every provider uses.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Result<Self, UpstreamError> {
        Self::with_roots(&ExtraRoots::default())
    }

    /// Trusts `roots` in addition to the system roots.
    pub fn with_roots(roots: &ExtraRoots) -> Result<Self, UpstreamError> {
        let client = roots
            .apply(reqwest::Client::builder())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Config(e.to_string()))?;
        Ok(Self { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Checks an operator-configured endpoint: https, or http to a loopback host.
    pub fn endpoint(url: &str) -> Result<reqwest::Url, UpstreamError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| UpstreamError::Config(format!("bad URL: {url}")))?;
        let loopback = matches!(
            parsed.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
        );
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if loopback => Ok(parsed),
            _ => Err(UpstreamError::Config(format!("{url} must use https"))),
        }
    }

    async fn send(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let mut builder = self
            .client
            .request(parts.method, parts.uri.to_string())
            .body(body);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await?;
        let mut out = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            out = out.header(name, value);
        }
        let body = response.bytes().await?.to_vec();
        Ok(out.body(body).unwrap_or_default())
    }
}

pub(crate) fn connect_error(e: reqwest::Error) -> UpstreamError {
    UpstreamError::Connect(e.without_url().to_string())
}

/// The same client for the `openidconnect` crate (a named, `Send` future, so handlers that use
/// it stay `Send`).
impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
