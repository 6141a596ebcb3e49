//! The load generator: a fixed number of HTTP/1.1 keep-alive connections (hyper, no pooling
//! layer), each looping its work until the deadline, on a single-threaded runtime so that it
//! stays on the one core it is pinned to. It runs as a child process (`keyward-bench load
//! --spec FILE`) and prints a [`LoadResult`] as JSON on stdout.

use crate::stats;
use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderMap, HeaderName, HeaderValue, LOCATION};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// One HTTP request as the orchestrator describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Req {
    pub method: String,
    /// Path and query.
    pub path: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn post_form(path: impl Into<String>, form: &[(&str, &str)]) -> Result<Self> {
        Ok(Self {
            method: "POST".into(),
            path: path.into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: serde_urlencoded::to_string(form).context("encoding a form")?,
        })
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What each connection does, over and over.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// The same request, expecting 2xx.
    Repeat { request: Req },
    /// The same request, expecting `status`: e.g. a device polling a pending authorization,
    /// answered 400 `authorization_pending` or `slow_down` (RFC 8628 §3.5).
    RepeatExpecting { request: Req, status: u16 },
    /// `GET` an authorize URL with a session whose consent is remembered, expecting a 302 to the
    /// app with a code; the codes are kept and returned (up to `max_codes`).
    MintCodes { authorize: Req, max_codes: usize },
    /// `POST` the token endpoint with `form` plus `code=<next code from the pool>`; every code
    /// is used once, and the run ends early if the pool runs dry.
    ExchangeCodes {
        token_path: String,
        form: Vec<(String, String)>,
        codes: Vec<String>,
    },
    /// Connection `i` walks the refresh chain that starts at `tokens[i]`: each answer's new
    /// `refresh_token` is the next request's.
    RefreshChains {
        token_path: String,
        form: Vec<(String, String)>,
        tokens: Vec<String>,
    },
    /// `POST` `request` with the JSON body of a charge of one quota unit, each under an
    /// idempotency key of its own (a repeated key would be answered from the ledger, moving
    /// nothing, which is not what is measured).
    Charges { request: Req },
    /// The browser and the app together: authorize (302 with a code), then exchange the code.
    /// One operation is both requests.
    BrowserFlow {
        authorize: Req,
        token_path: String,
        form: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSpec {
    /// `127.0.0.1:PORT`.
    pub target: String,
    pub connections: usize,
    pub duration_secs: f64,
    /// The server process, whose CPU time is read at the start and the end of the run.
    pub server_pid: u32,
    /// The cores the server and the load generator are pinned to, to tell how much of them
    /// other processes took during the run.
    #[serde(default)]
    pub server_cpu: Option<usize>,
    #[serde(default)]
    pub load_cpu: Option<usize>,
    /// Operations per second over all connections, evenly spaced (open loop: a slow answer does
    /// not delay the next request's schedule, and latency counts from the scheduled start);
    /// unset, each connection sends its next request as soon as the last is answered.
    #[serde(default)]
    pub rate: Option<f64>,
    pub work: Work,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadResult {
    /// Completed operations (one request each, two for the browser flow), ok or not.
    pub ops: u64,
    pub ok: u64,
    /// Operations that failed: unexpected status, unusable answer, or a transport error.
    pub errors: u64,
    pub http_requests: u64,
    /// Connections opened again after the server closed one (keep-alive should make this 0).
    pub reconnects: u64,
    pub elapsed_secs: f64,
    pub p50_us: Option<u32>,
    pub p99_us: Option<u32>,
    pub max_us: Option<u32>,
    pub mean_us: Option<f64>,
    /// Server user+system CPU over the run, in clock ticks.
    pub server_cpu_ticks: u64,
    /// The load generator's own CPU over the run, in clock ticks.
    pub client_cpu_ticks: u64,
    pub clock_ticks_per_sec: u64,
    /// Busy time of the server's core (every process) over the run, in clock ticks.
    pub server_core_busy_ticks: Option<u64>,
    /// Busy time of the load generator's core (every process) over the run, in clock ticks.
    pub load_core_busy_ticks: Option<u64>,
    pub error_samples: Vec<String>,
    /// Why the run ended before its deadline, if it did.
    pub stopped_early: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// For refresh chains: each connection's latest refresh token, in connection order, so a
    /// later run can walk the chains on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refresh_tails: Vec<String>,
}

/// The child process's entry point: read the spec, run, print the result.
pub fn run_child(spec_path: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let spec: LoadSpec = serde_json::from_str(&text).context("parsing the load spec")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the runtime")?;
    let result = runtime.block_on(run(spec))?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

/// A request ready to send many times.
struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    fn new(req: &Req, host: &HeaderValue) -> Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, host.clone());
        for (name, value) in &req.headers {
            headers.append(
                HeaderName::try_from(name.as_str())
                    .with_context(|| format!("header name {name}"))?,
                HeaderValue::try_from(value.as_str())
                    .with_context(|| format!("header value for {name}"))?,
            );
        }
        Ok(Self {
            method: Method::try_from(req.method.as_str()).context("method")?,
            uri: Uri::try_from(req.path.as_str()).context("path")?,
            headers,
            body: Bytes::from(req.body.clone()),
        })
    }

    fn form(path: &str, host: &HeaderValue) -> Result<Self> {
        let req = Req {
            method: "POST".into(),
            path: path.into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: String::new(),
        };
        Self::new(&req, host)
    }

    fn request(&self) -> Request<Full<Bytes>> {
        self.request_with(self.body.clone())
    }

    fn request_with(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: Bytes,
}

/// One keep-alive connection, opened again if the server closes it.
struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    reconnects: u64,
    timeout_at: tokio::time::Instant,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Answer> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            slot => {
                if slot.is_some() {
                    self.reconnects += 1;
                }
                slot.insert(Self::open(self.addr).await?)
            }
        };
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts, body))
        };
        match tokio::time::timeout_at(self.timeout_at, exchange).await {
            Ok(Ok((parts, body))) => Ok(Answer {
                status: parts.status,
                location: parts
                    .headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body,
            }),
            Ok(Err(e)) => {
                self.sender = None;
                Err(anyhow!("transport: {e}"))
            }
            Err(_) => {
                self.sender = None;
                Err(anyhow!("timed out"))
            }
        }
    }
}

#[derive(Default)]
struct WorkerStats {
    latencies: Vec<u32>,
    ok: u64,
    errors: u64,
    http: u64,
    reconnects: u64,
    error_samples: Vec<String>,
    codes: Vec<String>,
    stopped_early: Option<String>,
    refresh_tail: Option<String>,
}

/// When a connection sends its next request: at once (closed loop), or on a fixed schedule.
struct Pacer {
    next: Instant,
    interval: Option<Duration>,
    deadline: Instant,
}

impl Pacer {
    fn new(shared: &Shared, index: usize) -> Self {
        let connections = shared.connections;
        let interval = shared
            .rate
            .filter(|r| *r > 0.0)
            .map(|rate| Duration::from_secs_f64(connections as f64 / rate));
        // Connections take turns, so requests are spread evenly rather than sent in bursts.
        let offset = interval.map_or(Duration::ZERO, |i| i * index as u32 / connections as u32);
        Self {
            next: shared.started + offset,
            interval,
            deadline: shared.deadline,
        }
    }

    /// The start of the next request (its scheduled time when paced), or `None` past the
    /// deadline.
    async fn start(&mut self) -> Option<Instant> {
        let Some(interval) = self.interval else {
            let now = Instant::now();
            return (now < self.deadline).then_some(now);
        };
        let at = self.next;
        if at >= self.deadline {
            return None;
        }
        self.next = at + interval;
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        Some(at)
    }
}

impl WorkerStats {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.error_samples.len() < 3 {
            self.error_samples.push(what);
        }
    }

    fn bad_answer(&mut self, step: &str, answer: &Answer) {
        let body = String::from_utf8_lossy(&answer.body);
        let body: String = body.chars().take(200).collect();
        self.error(format!("{step}: HTTP {}: {body}", answer.status));
    }

    fn record(&mut self, started: Instant) {
        let micros = started.elapsed().as_micros();
        self.latencies
            .push(u32::try_from(micros).unwrap_or(u32::MAX));
    }
}

/// What every worker shares.
struct Shared {
    deadline: Instant,
    work: Work,
    host: HeaderValue,
    /// The next code of the pool, or the number of codes minted so far.
    counter: AtomicUsize,
    rate: Option<f64>,
    connections: usize,
    started: Instant,
}

pub async fn run(spec: LoadSpec) -> Result<LoadResult> {
    if spec.connections == 0 {
        bail!("at least one connection is needed");
    }
    let addr: SocketAddr = spec.target.parse().context("target must be IP:PORT")?;
    let host = HeaderValue::try_from(spec.target.as_str())?;
    if let Work::RefreshChains { tokens, .. } = &spec.work
        && tokens.len() < spec.connections
    {
        bail!(
            "{} refresh tokens for {} connections",
            tokens.len(),
            spec.connections
        );
    }
    let mut senders = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        senders.push(Conn::open(addr).await?);
    }
    let ticks_per_sec = stats::clock_ticks_per_second();
    let core = |cpu: Option<usize>| cpu.and_then(|c| stats::core_busy_ticks(c).ok());
    let server_core_before = core(spec.server_cpu);
    let load_core_before = core(spec.load_cpu);
    let server_before = stats::cpu_ticks(spec.server_pid)?;
    let client_before = stats::own_cpu_ticks()?;
    let started = Instant::now();
    let duration = Duration::from_secs_f64(spec.duration_secs);
    let shared = Arc::new(Shared {
        deadline: started + duration,
        work: spec.work,
        host,
        counter: AtomicUsize::new(0),
        rate: spec.rate,
        connections: spec.connections,
        started,
    });
    // Requests still running at the deadline get a few seconds to finish, not more.
    let timeout_at = tokio::time::Instant::from_std(started + duration + Duration::from_secs(5));
    let mut workers = JoinSet::new();
    for (index, sender) in senders.into_iter().enumerate() {
        let conn = Conn {
            addr,
            sender: Some(sender),
            reconnects: 0,
            timeout_at,
        };
        workers.spawn(worker(index, conn, Arc::clone(&shared)));
    }
    let mut all = WorkerStats::default();
    let mut tails = Vec::new();
    while let Some(joined) = workers.join_next().await {
        let (index, stats) = joined.context("a worker panicked")??;
        if let Some(tail) = stats.refresh_tail {
            tails.push((index, tail));
        }
        all.latencies.extend(stats.latencies);
        all.ok += stats.ok;
        all.errors += stats.errors;
        all.http += stats.http;
        all.reconnects += stats.reconnects;
        for sample in stats.error_samples {
            if all.error_samples.len() < 5 {
                all.error_samples.push(sample);
            }
        }
        all.codes.extend(stats.codes);
        if all.stopped_early.is_none() {
            all.stopped_early = stats.stopped_early;
        }
    }
    let elapsed = started.elapsed();
    let server_after = stats::cpu_ticks(spec.server_pid)?;
    let client_after = stats::own_cpu_ticks()?;
    let server_core_after = core(spec.server_cpu);
    let load_core_after = core(spec.load_cpu);
    let delta = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a.saturating_sub(b));

    all.latencies.sort_unstable();
    let count = all.latencies.len();
    let mean = (count > 0)
        .then(|| all.latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / count as f64);
    Ok(LoadResult {
        ops: all.ok + all.errors,
        ok: all.ok,
        errors: all.errors,
        http_requests: all.http,
        reconnects: all.reconnects,
        elapsed_secs: elapsed.as_secs_f64(),
        p50_us: stats::percentile(&all.latencies, 50.0),
        p99_us: stats::percentile(&all.latencies, 99.0),
        max_us: all.latencies.last().copied(),
        mean_us: mean,
        server_cpu_ticks: server_after.saturating_sub(server_before),
        client_cpu_ticks: client_after.saturating_sub(client_before),
        clock_ticks_per_sec: ticks_per_sec,
        server_core_busy_ticks: delta(server_core_after, server_core_before),
        load_core_busy_ticks: delta(load_core_after, load_core_before),
        error_samples: all.error_samples,
        stopped_early: all.stopped_early,
        codes: all.codes,
        refresh_tails: {
            tails.sort_unstable();
            tails.into_iter().map(|(_, tail)| tail).collect()
        },
    })
}

/// The `code` parameter of a redirect back to the app.
pub fn code_in(location: &str) -> Option<String> {
    let (_, query) = location.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v)
}

fn form_with(form: &[(String, String)], key: &str, value: &str) -> Result<Bytes> {
    let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push((key, value));
    Ok(Bytes::from(
        serde_urlencoded::to_string(&pairs).context("encoding a form")?,
    ))
}

async fn worker(index: usize, mut conn: Conn, shared: Arc<Shared>) -> Result<(usize, WorkerStats)> {
    let mut stats = WorkerStats::default();
    let host = &shared.host;
    let mut pacer = Pacer::new(&shared, index);
    match &shared.work {
        Work::Repeat { request } | Work::RepeatExpecting { request, .. } => {
            let expected = match &shared.work {
                Work::RepeatExpecting { status, .. } => Some(*status),
                _ => None,
            };
            let prepared = Prepared::new(request, host)?;
            while let Some(started) = pacer.start().await {
                stats.http += 1;
                match conn.send(prepared.request()).await {
                    Ok(answer)
                        if expected.map_or(answer.status.is_success(), |s| {
                            answer.status.as_u16() == s
                        }) =>
                    {
                        stats.record(started);
                        stats.ok += 1;
                    }
                    Ok(answer) => {
                        stats.record(started);
                        stats.bad_answer("request", &answer);
                    }
                    Err(e) => stats.error(format!("{e:#}")),
                }
            }
        }
        Work::MintCodes {
            authorize,
            max_codes,
        } => {
            let prepared = Prepared::new(authorize, host)?;
            while Instant::now() < shared.deadline {
                if shared.counter.load(Ordering::Relaxed) >= *max_codes {
                    stats.stopped_early = Some(format!("{max_codes} codes minted"));
                    break;
                }
                let started = Instant::now();
                stats.http += 1;
                match conn.send(prepared.request()).await {
                    Ok(answer) => {
                        stats.record(started);
                        match redirect_code(&answer) {
                            Some(code) => {
                                shared.counter.fetch_add(1, Ordering::Relaxed);
                                stats.codes.push(code);
                                stats.ok += 1;
                            }
                            None => stats.bad_answer("authorize", &answer),
                        }
                    }
                    Err(e) => stats.error(format!("{e:#}")),
                }
            }
        }
        Work::ExchangeCodes {
            token_path,
            form,
            codes,
        } => {
            let prepared = Prepared::form(token_path, host)?;
            while Instant::now() < shared.deadline {
                let next = shared.counter.fetch_add(1, Ordering::Relaxed);
                let Some(code) = codes.get(next) else {
                    stats.stopped_early = Some(format!("all {} codes used", codes.len()));
                    break;
                };
                let body = form_with(form, "code", code)?;
                let started = Instant::now();
                stats.http += 1;
                match conn.send(prepared.request_with(body)).await {
                    Ok(answer) if answer.status.is_success() => {
                        stats.record(started);
                        stats.ok += 1;
                    }
                    Ok(answer) => {
                        stats.record(started);
                        stats.bad_answer("token", &answer);
                    }
                    Err(e) => stats.error(format!("{e:#}")),
                }
            }
        }
        Work::RefreshChains {
            token_path,
            form,
            tokens,
        } => {
            let prepared = Prepared::form(token_path, host)?;
            let mut token = tokens
                .get(index)
                .cloned()
                .context("no refresh token for this connection")?;
            while let Some(started) = pacer.start().await {
                let body = form_with(form, "refresh_token", &token)?;
                stats.http += 1;
                match conn.send(prepared.request_with(body)).await {
                    Ok(answer) if answer.status.is_success() => {
                        stats.record(started);
                        match next_refresh_token(&answer.body) {
                            Some(next) => {
                                token = next;
                                stats.ok += 1;
                            }
                            None => {
                                stats.bad_answer("refresh (no refresh_token)", &answer);
                                stats.stopped_early = Some("a refresh chain broke".into());
                                break;
                            }
                        }
                    }
                    Ok(answer) => {
                        stats.record(started);
                        stats.bad_answer("refresh", &answer);
                        if answer.status == StatusCode::BAD_REQUEST {
                            // invalid_grant: this chain is dead (a retry would look like reuse).
                            stats.stopped_early = Some("a refresh chain broke".into());
                            break;
                        }
                    }
                    // The token may or may not have been rotated; trying it again is the
                    // honest thing a client would do.
                    Err(e) => stats.error(format!("{e:#}")),
                }
            }
            if stats.stopped_early.is_none() {
                stats.refresh_tail = Some(token);
            }
        }
        Work::Charges { request } => {
            let prepared = Prepared::new(request, host)?;
            // Unique across runs (this process is one run) and connections.
            let run = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let mut n = 0u64;
            while let Some(started) = pacer.start().await {
                n += 1;
                let body = format!(
                    r#"{{"amount":1,"idempotency_key":"bench-{run:x}-{index}-{n}","description":"bench"}}"#
                );
                stats.http += 1;
                match conn.send(prepared.request_with(Bytes::from(body))).await {
                    Ok(answer) if answer.status.is_success() => {
                        stats.record(started);
                        stats.ok += 1;
                    }
                    Ok(answer) => {
                        stats.record(started);
                        stats.bad_answer("charge", &answer);
                    }
                    Err(e) => stats.error(format!("{e:#}")),
                }
            }
        }
        Work::BrowserFlow {
            authorize,
            token_path,
            form,
        } => {
            let authorize = Prepared::new(authorize, host)?;
            let token = Prepared::form(token_path, host)?;
            while let Some(started) = pacer.start().await {
                stats.http += 1;
                let code = match conn.send(authorize.request()).await {
                    Ok(answer) => match redirect_code(&answer) {
                        Some(code) => code,
                        None => {
                            stats.record(started);
                            stats.bad_answer("authorize", &answer);
                            continue;
                        }
                    },
                    Err(e) => {
                        stats.error(format!("authorize: {e:#}"));
                        continue;
                    }
                };
                let body = form_with(form, "code", &code)?;
                stats.http += 1;
                match conn.send(token.request_with(body)).await {
                    Ok(answer) if answer.status.is_success() => {
                        stats.record(started);
                        stats.ok += 1;
                    }
                    Ok(answer) => {
                        stats.record(started);
                        stats.bad_answer("token", &answer);
                    }
                    Err(e) => stats.error(format!("token: {e:#}")),
                }
            }
        }
    }
    stats.reconnects = conn.reconnects;
    Ok((index, stats))
}

fn redirect_code(answer: &Answer) -> Option<String> {
    if answer.status != StatusCode::FOUND {
        return None;
    }
    answer.location.as_deref().and_then(code_in)
}

fn next_refresh_token(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("refresh_token")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::code_in;

    #[test]
    fn finds_the_code_in_a_redirect() {
        assert_eq!(
            code_in("https://app.example.com/cb?code=abc%2B1&state=s").as_deref(),
            Some("abc+1")
        );
        assert_eq!(
            code_in("https://app.example.com/cb?error=access_denied"),
            None
        );
    }
}
