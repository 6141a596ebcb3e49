//! `keyward-bench`: starts a release build of Keyward on a fresh database, seeds it through the
//! real API, mints real tokens by real flows, and measures each scenario with HTTP/1.1
//! keep-alive load on loopback — server pinned to one core, load generator to another — next to
//! a bare axum server (`bench-baseline`) that shows what the machine itself can do.
//!
//! ```sh
//! cargo build --release -p keyward -p keyward-bench && target/release/keyward-bench
//! target/release/keyward-bench --postgres postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! Results: a Markdown table on stdout, and `bench/results/results.{json,md}`.

mod load;
mod report;
mod seed;
mod server;
mod stats;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use clap::{Parser, Subcommand};
use load::{LoadResult, LoadSpec, Req, Work};
use report::{Baseline, HalfLoad, KeywardFacts, Machine, Report, ScenarioReport, Settings};
use server::Server;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "keyward-bench",
    about = "Benchmark Keyward's OAuth endpoints against a bare axum baseline",
    after_help = "Build first: cargo build --release -p keyward -p keyward-bench\n\
                  Then:        target/release/keyward-bench [--postgres URL] [--duration SECS] [--out DIR]"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Internal: the load generator the orchestrator starts (pinned) for each scenario.
    #[command(hide = true)]
    Load {
        #[arg(long)]
        spec: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Seconds of load per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Run on PostgreSQL: a URL of a server (and a database to connect to) where a throwaway
    /// database may be created with `psql`; it is dropped at the end.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// With --postgres: use that database as it is (it must be empty) instead of creating one.
    #[arg(long, requires = "postgres")]
    postgres_existing: bool,
    /// Where results.json and results.md go [default: <workspace>/bench/results].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The Keyward binary [default: `keyward` beside this program, else
    /// <workspace>/target/release/keyward].
    #[arg(long, value_name = "PATH")]
    keyward_bin: Option<PathBuf>,
    /// The baseline server [default: `bench-baseline` beside this program].
    #[arg(long, value_name = "PATH")]
    baseline_bin: Option<PathBuf>,
    /// The CPU the server under test is pinned to.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// The CPU the load generator (and this orchestrator) is pinned to.
    #[arg(long, default_value_t = 1)]
    load_cpu: usize,
    /// The scope the authorization-code, refresh and browser-flow scenarios ask for (any of
    /// `openid profile email balance offline_access`; with `openid`, every code exchange and
    /// refresh also signs an id_token, and a refresh token needs `offline_access`).
    #[arg(long, default_value = seed::FLOW_SCOPES, value_name = "SCOPE")]
    flow_scope: String,
    /// Register the app with this `id_token_signed_response_alg` (RS256, ES256 or EdDSA)
    /// instead of Keyward's default.
    #[arg(long, value_name = "ALG")]
    id_token_alg: Option<String>,
    /// Run only these scenarios (comma-separated): hello, form, healthz, userinfo, me, oidc-userinfo,
    /// introspect, client-credentials, cc-jwt-es256, cc-jwt-rs256, device-poll, refresh,
    /// authorize, code-exchange, authorize-resources, code-jwt-es256, code-jwt-rs256,
    /// browser-flow, charge.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only: Vec<String>,
    /// Skip the second run of each Keyward scenario (but authorize and code exchange), paced
    /// at half the rate its first run reached, that measures latency under a load the server
    /// can carry.
    #[arg(long)]
    no_half_load: bool,
}

const ALL_SCENARIOS: &[&str] = &[
    "hello",
    "form",
    "healthz",
    "userinfo",
    "me",
    "oidc-userinfo",
    "introspect",
    "client-credentials",
    "cc-jwt-es256",
    "cc-jwt-rs256",
    "device-poll",
    "refresh",
    "authorize",
    "code-exchange",
    "authorize-resources",
    "code-jwt-es256",
    "code-jwt-rs256",
    "browser-flow",
    "charge",
];

/// Client credentials for a JWT API (RFC 8707 `resource`, RFC 9068 token).
fn cc_jwt(name: &'static str, api: &str, client_basic: &str) -> Result<Scenario> {
    Ok(Scenario {
        name,
        what: format!("`POST /api/oauth2/token` client_credentials → JWT for {api}"),
        http_requests_per_op: 1,
        compared_with: Some(Baseline::Form),
        work: Work::Repeat {
            request: Req::post_form(
                "/api/oauth2/token",
                &[("grant_type", "client_credentials"), ("resource", api)],
            )?
            .header("authorization", client_basic),
        },
    })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Load { spec }) => load::run_child(&spec),
        None => orchestrate(cli.run),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyward-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workspace this crate was built from (for default paths), if it is still there.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|_| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

/// `name` beside this program, else `fallback`.
fn sibling_or(name: &str, fallback: PathBuf) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or(fallback)
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let loadavg = read("/proc/loadavg");
    Machine {
        cpu_model,
        cpus,
        kernel: read("/proc/sys/kernel/osrelease"),
        load_average_at_start: loadavg.split(' ').take(3).collect::<Vec<_>>().join(" "),
        clock_ticks_per_sec: stats::clock_ticks_per_second(),
    }
}

fn git_commit(root: &Path) -> Option<String> {
    let root = root.to_str()?;
    let commit = command_output("git", &["-C", root, "rev-parse", "--short", "HEAD"])?;
    let dirty = command_output(
        "git",
        &["-C", root, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit} (modified)")
    } else {
        commit
    })
}

/// A throwaway PostgreSQL database, dropped when the run ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> Result<(Self, String)> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let name = format!("keyward_bench_{stamp}_{}", std::process::id());
        let status = Command::new("psql")
            .args([admin_url, "-v", "ON_ERROR_STOP=1", "-qc"])
            .arg(format!("CREATE DATABASE {name}"))
            .stdout(Stdio::null())
            .status()
            .context(
                "running psql (needed to create a fresh database; or pass --postgres-existing)",
            )?;
        if !status.success() {
            bail!("psql could not create database {name} on {admin_url}: {status}");
        }
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match base[authority_start..].find('/') {
            Some(i) => &base[..authority_start + i],
            None => base,
        };
        let url = format!("{base}/{name}{query}");
        Ok((
            Self {
                admin_url: admin_url.to_owned(),
                name,
            },
            url,
        ))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([self.admin_url.as_str(), "-qc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// What a run knows and collects.
struct Bench {
    args: RunArgs,
    pinned: bool,
    tmp: tempfile::TempDir,
    specs: usize,
    scenarios: Vec<ScenarioReport>,
    started: Instant,
    /// Token families in Keyward's database so far (one per grant that starts a family: code
    /// exchange or client credentials), which some queries' cost grows with.
    families: Option<u64>,
}

/// One scenario to run.
struct Scenario {
    name: &'static str,
    what: String,
    http_requests_per_op: u32,
    compared_with: Option<Baseline>,
    work: Work,
}

impl Bench {
    fn wants(&self, name: &str) -> bool {
        self.args.only.is_empty() || self.args.only.iter().any(|n| n == name)
    }

    /// Runs the load generator against `server` and records the scenario; then, for Keyward's
    /// steady scenarios, again at half the rate the first run reached.
    async fn run(
        &mut self,
        server: &Server,
        kind: &'static str,
        scenario: Scenario,
    ) -> Result<LoadResult> {
        let again = (kind == "keyward" && !self.args.no_half_load)
            .then(|| scenario.work.clone())
            .filter(|w| !matches!(w, Work::MintCodes { .. } | Work::ExchangeCodes { .. }));
        eprint!(
            "[{:>5.1}s] {:<19} {} ... ",
            self.started.elapsed().as_secs_f64(),
            scenario.name,
            scenario.what
        );
        let result = self
            .load(server, scenario.name, scenario.work, None)
            .await?;
        let peak = stats::status_kb(server.pid(), "VmHWM").ok();
        let mut report = ScenarioReport::new(
            scenario.name,
            kind,
            scenario.what,
            scenario.http_requests_per_op,
            scenario.compared_with,
            self.args.connections,
            self.args.duration as f64,
            &result,
            peak,
        );
        eprintln!(
            "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, {} µs CPU/op",
            report.ops_per_sec,
            report.p50_ms.unwrap_or_default(),
            report.p99_ms.unwrap_or_default(),
            report.errors,
            report
                .server_cpu_us_per_op
                .map(|v| format!("{v:.0}"))
                .unwrap_or_default(),
        );
        report_problems(&result);
        report.token_families_at_start = self.families;
        let mut grants = result.ok;

        // The chains walk on from where the first run left them.
        let again = match again {
            Some(Work::RefreshChains {
                token_path, form, ..
            }) => {
                (result.refresh_tails.len() == self.args.connections).then(|| Work::RefreshChains {
                    token_path,
                    form,
                    tokens: result.refresh_tails.clone(),
                })
            }
            other => other,
        };
        if let Some(work) = again.filter(|_| report.ops_per_sec > 0.0) {
            let rate = report.ops_per_sec / 2.0;
            eprint!(
                "[{:>5.1}s] {:<19} at half load, {rate:.0}/s ... ",
                self.started.elapsed().as_secs_f64(),
                scenario.name,
            );
            let half = self.load(server, scenario.name, work, Some(rate)).await?;
            report_problems(&half);
            let half = HalfLoad::new(rate, &half);
            eprintln!(
                "p50 {:.2} ms, p99 {:.2} ms, {} errors",
                half.p50_ms.unwrap_or_default(),
                half.p99_ms.unwrap_or_default(),
                half.errors
            );
            grants += half.ok;
            report.half_load = Some(half);
        }
        if let Some(families) = &mut self.families
            && matches!(
                report.name.as_str(),
                "client-credentials"
                    | "cc-jwt-es256"
                    | "cc-jwt-rs256"
                    | "code-exchange"
                    | "code-jwt-es256"
                    | "code-jwt-rs256"
                    | "browser-flow"
            )
        {
            *families += grants;
        }
        self.scenarios.push(report);
        Ok(result)
    }

    /// One run of the load generator, pinned to the load core, as a child process.
    async fn load(
        &mut self,
        server: &Server,
        name: &str,
        work: Work,
        rate: Option<f64>,
    ) -> Result<LoadResult> {
        let spec = LoadSpec {
            target: server.addr.clone(),
            connections: self.args.connections,
            duration_secs: self.args.duration as f64,
            server_pid: server.pid(),
            server_cpu: self.pinned.then_some(self.args.server_cpu),
            load_cpu: self.pinned.then_some(self.args.load_cpu),
            rate,
            work,
        };
        self.specs += 1;
        let path = self.tmp.path().join(format!("spec-{}.json", self.specs));
        std::fs::write(&path, serde_json::to_vec(&spec)?)?;
        let exe = std::env::current_exe().context("finding this program")?;
        let mut command = tokio::process::Command::new(if self.pinned {
            PathBuf::from("taskset")
        } else {
            exe.clone()
        });
        if self.pinned {
            command
                .arg("-c")
                .arg(self.args.load_cpu.to_string())
                .arg(&exe);
        }
        command
            .arg("load")
            .arg("--spec")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let limit = Duration::from_secs(self.args.duration + 60);
        let output = tokio::time::timeout(limit, command.output())
            .await
            .with_context(|| format!("the load generator for {name} hung"))?
            .context("running the load generator")?;
        let _ = std::fs::remove_file(&path);
        if !output.status.success() {
            bail!("the load generator for {name} failed: {}", output.status);
        }
        serde_json::from_slice(&output.stdout).context("reading the load generator's result")
    }
}

fn report_problems(result: &LoadResult) {
    for sample in &result.error_samples {
        eprintln!("          error: {sample}");
    }
    if let Some(why) = &result.stopped_early {
        eprintln!("          ended early: {why}");
    }
}

fn orchestrate(args: RunArgs) -> Result<()> {
    if args.duration == 0 || args.duration > 600 {
        bail!("--duration must be between 1 and 600 seconds");
    }
    if args.connections == 0 || args.connections > 1024 {
        bail!("--connections must be between 1 and 1024");
    }
    for word in args.flow_scope.split(' ').filter(|w| !w.is_empty()) {
        if !seed::APP_SCOPES.split(' ').any(|s| s == word) {
            bail!("--flow-scope: {word:?} is not one of {}", seed::APP_SCOPES);
        }
    }
    for name in &args.only {
        if !ALL_SCENARIOS.contains(&name.as_str()) {
            bail!(
                "unknown scenario {name:?}; known: {}",
                ALL_SCENARIOS.join(", ")
            );
        }
    }
    let machine = machine();
    let pinned = server::have_taskset() && machine.cpus > args.server_cpu.max(args.load_cpu);
    if pinned {
        // Setup traffic and the load generators run on the load core, never on the server's.
        server::pin_self(args.load_cpu)?;
    } else {
        eprintln!(
            "keyward-bench: warning: not pinning (taskset missing or fewer than {} CPUs); \
             figures will be noisier",
            args.server_cpu.max(args.load_cpu) + 1
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_all(args, machine, pinned))
}

async fn run_all(args: RunArgs, machine: Machine, pinned: bool) -> Result<()> {
    let root = workspace_root();
    let keyward_bin = args
        .keyward_bin
        .clone()
        .unwrap_or_else(|| sibling_or("keyward", root.join("target/release/keyward")));
    let baseline_bin = args.baseline_bin.clone().unwrap_or_else(|| {
        sibling_or("bench-baseline", root.join("target/release/bench-baseline"))
    });
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench/results"));
    for (what, bin) in [("keyward", &keyward_bin), ("bench-baseline", &baseline_bin)] {
        if !bin.is_file() {
            bail!(
                "no {what} binary at {}; build with `cargo build --release -p keyward -p keyward-bench` \
                 (or pass --keyward-bin / --baseline-bin)",
                bin.display()
            );
        }
    }
    if keyward_bin.to_string_lossy().contains("/debug/") {
        eprintln!(
            "keyward-bench: warning: {} looks like a debug build",
            keyward_bin.display()
        );
    }
    let started_at = command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).unwrap_or_default();
    eprintln!(
        "keyward-bench: {} s per scenario, {} connections; keyward {}",
        args.duration,
        args.connections,
        keyward_bin.display()
    );
    let settings = Settings {
        backend: if args.postgres.is_some() {
            "PostgreSQL".into()
        } else {
            "SQLite".into()
        },
        duration_secs: args.duration,
        connections: args.connections,
        pinned,
        server_cpu: args.server_cpu,
        load_cpu: args.load_cpu,
        keyward_bin: keyward_bin.display().to_string(),
        userinfo_scope: seed::USERINFO_SCOPES.to_owned(),
        flow_scope: args.flow_scope.clone(),
        id_token_alg: args
            .id_token_alg
            .clone()
            .unwrap_or_else(|| "default (RS256)".to_owned()),
        git_commit: git_commit(&root),
    };
    let mut bench = Bench {
        args,
        pinned,
        tmp: tempfile::Builder::new()
            .prefix("keyward-bench-")
            .tempdir()?,
        specs: 0,
        scenarios: Vec::new(),
        started: Instant::now(),
        families: None,
    };
    let server_cpu = pinned.then_some(bench.args.server_cpu);

    if bench.wants("hello") || bench.wants("form") {
        run_baseline(&mut bench, &baseline_bin, server_cpu).await?;
    }
    let keyward = run_keyward(&mut bench, &keyward_bin, server_cpu).await?;

    let mut notes = vec![
        "Server CPU / req: the server process's user+system time (/proc/<pid>/stat utime+stime) \
         over the run, divided by the operations completed."
            .to_owned(),
        "× baseline CPU and % of baseline rate compare with the bare axum server on the same \
         core: GETs with `GET /hello`, POSTs with `POST /form`, the browser flow with one of each."
            .to_owned(),
        "Browser flow: one operation is `GET /oauth/authorize` (consent remembered, 302 with a \
         code) plus `POST /api/oauth2/token` on the same connection; its figures are per flow."
            .to_owned(),
        "A load core near 100% means the load generator, not the server, set the pace.".to_owned(),
        "p99 at half load: the scenario run again, paced (open loop) at half the rate its first \
         run reached; latency counts from each request's scheduled start, so a stall is not \
         hidden by the load generator waiting for it."
            .to_owned(),
    ];
    if bench.args.postgres.is_some() {
        notes.push(
            "PostgreSQL's own CPU is not counted in server CPU, and its processes are not pinned: \
             they are among the \"other processes\" on the cores below."
                .to_owned(),
        );
    }
    let mut report = Report {
        tool: concat!("keyward-bench ", env!("CARGO_PKG_VERSION")),
        started_at,
        total_secs: bench.started.elapsed().as_secs_f64(),
        machine,
        settings,
        keyward,
        scenarios: std::mem::take(&mut bench.scenarios),
        notes,
    };
    report.compare();
    let markdown = report.markdown();
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(out_dir.join("results.md"), &markdown)?;
    println!("{markdown}");
    eprintln!(
        "keyward-bench: done in {:.0} s; results in {}",
        report.total_secs,
        out_dir.display()
    );
    Ok(())
}

async fn run_baseline(bench: &mut Bench, bin: &Path, cpu: Option<usize>) -> Result<()> {
    let addr = format!("127.0.0.1:{}", server::free_port()?);
    let mut command = server::pinned(cpu, bin);
    command.arg(&addr).current_dir(bench.tmp.path());
    let mut baseline = Server::start(
        "bench-baseline",
        addr,
        command,
        bench.tmp.path().join("baseline.log"),
    )?;
    baseline
        .wait_ready("/hello", Duration::from_secs(10))
        .await?;
    if bench.wants("hello") {
        bench
            .run(
                &baseline,
                "baseline",
                Scenario {
                    name: "hello",
                    what: "`GET /hello`".into(),
                    http_requests_per_op: 1,
                    compared_with: None,
                    work: Work::Repeat {
                        request: Req::get("/hello"),
                    },
                },
            )
            .await?;
    }
    if bench.wants("form") {
        // A body the size and shape of a token request.
        let form = Req::post_form(
            "/form",
            &[
                ("grant_type", "authorization_code"),
                ("code", "kwc_0123456789abcdef0123456789abcdef0123456789abc"),
                ("redirect_uri", seed::CALLBACK),
                ("client_id", "client_0123456789abcdef01234567"),
                (
                    "client_secret",
                    "secret_0123456789abcdef0123456789abcdef0123456789ab",
                ),
            ],
        )?;
        bench
            .run(
                &baseline,
                "baseline",
                Scenario {
                    name: "form",
                    what: "`POST /form` (urlencoded → JSON)".into(),
                    http_requests_per_op: 1,
                    compared_with: None,
                    work: Work::Repeat { request: form },
                },
            )
            .await?;
    }
    baseline.stop();
    Ok(())
}

fn basic(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| -> String {
        serde_urlencoded::to_string([("", s)])
            .map(|e| e.trim_start_matches('=').to_owned())
            .unwrap_or_else(|_| s.to_owned())
    };
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn run_keyward(bench: &mut Bench, bin: &Path, cpu: Option<usize>) -> Result<KeywardFacts> {
    let keyward_names = &ALL_SCENARIOS[2..];
    let mut facts = KeywardFacts {
        binary_bytes: std::fs::metadata(bin).ok().map(|m| m.len()),
        ..KeywardFacts::default()
    };
    if !keyward_names.iter().any(|n| bench.wants(n)) {
        return Ok(facts);
    }
    let mut _pg = None;
    let database_url = match &bench.args.postgres {
        Some(url) if bench.args.postgres_existing => url.clone(),
        Some(url) => {
            let (db, url) = PgDatabase::create(url)?;
            eprintln!("keyward-bench: created PostgreSQL database {}", db.name);
            _pg = Some(db);
            url
        }
        None => format!("sqlite://{}", bench.tmp.path().join("kw.db").display()),
    };
    let admin_password = hex(&random_bytes::<12>()?);
    let secret_key = base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>()?);
    let addr = format!("127.0.0.1:{}", server::free_port()?);
    let tmp = bench.tmp.path().to_path_buf();
    let start = || {
        let mut command = server::pinned(cpu, bin);
        // Only what is set here: nothing inherited from the caller's KEYWARD_* environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KEYWARD_") {
                command.env_remove(key);
            }
        }
        command
            .current_dir(&tmp)
            .env("KEYWARD_LISTEN", &addr)
            .env("KEYWARD_DATABASE_URL", &database_url)
            .env("KEYWARD_ADMIN_USERNAME", seed::ADMIN)
            .env("KEYWARD_ADMIN_PASSWORD", &admin_password)
            .env("KEYWARD_SECRET_KEY", &secret_key)
            .env("KEYWARD_LOGIN_MAX_FAILURES_PER_IP", "100000")
            // One grant charges as fast as the run goes (600 a minute by default).
            .env("KEYWARD_SPEND_REQUESTS_PER_MINUTE", "1000000000")
            .env("KEYWARD_LOG_LEVEL", "warn")
            .env("RUST_LOG", "warn");
        Server::start("keyward", addr.clone(), command, tmp.join("keyward.log"))
    };
    let mut keyward = start()?;
    let ready = keyward
        .wait_ready("/readyz", Duration::from_secs(60))
        .await?;
    facts.ready_after_ms = Some(ready.as_millis());
    facts.rss_at_ready_kb = stats::status_kb(keyward.pid(), "VmRSS").ok();
    eprintln!(
        "[{:>5.1}s] keyward ready after {} ms (pid {}); seeding",
        bench.started.elapsed().as_secs_f64(),
        ready.as_millis(),
        keyward.pid()
    );
    let seeded = seed::seed(
        &keyward,
        &admin_password,
        &bench.args.flow_scope,
        bench.args.id_token_alg.as_deref(),
        bench.args.connections,
    )
    .await?;
    facts.rss_after_seeding_kb = stats::status_kb(keyward.pid(), "VmRSS").ok();
    // Seeding made two sign-ins and one per connection.
    bench.families = Some(2 + bench.args.connections as u64);

    let bearer = format!("Bearer {}", seeded.access_token);
    let client_basic = basic(&seeded.client_id, &seeded.client_secret);
    let secret_post = [
        ("client_id".to_owned(), seeded.client_id.clone()),
        ("client_secret".to_owned(), seeded.client_secret.clone()),
    ];
    let mut code_form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("redirect_uri".to_owned(), seed::CALLBACK.to_owned()),
    ];
    code_form.extend(secret_post.iter().cloned());
    let mut refresh_form = vec![("grant_type".to_owned(), "refresh_token".to_owned())];
    refresh_form.extend(secret_post.iter().cloned());
    let flow_authorize = Req::get(seed::authorize_path(
        &seeded.client_id,
        &bench.args.flow_scope,
        "bench",
    )?)
    .header("cookie", &seeded.session_cookie);

    let mut scenarios = vec![
        // Keyward's own floor: routing and the middleware every request passes, no database.
        Scenario {
            name: "healthz",
            what: "`GET /healthz` (middleware floor)".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Hello),
            work: Work::Repeat {
                request: Req::get("/healthz"),
            },
        },
        Scenario {
            name: "userinfo",
            what: "`GET /api/oauth2/userinfo`".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Hello),
            work: Work::Repeat {
                request: Req::get("/api/oauth2/userinfo").header("authorization", &bearer),
            },
        },
        Scenario {
            name: "me",
            what: "`GET /api/oauth/me`".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Hello),
            work: Work::Repeat {
                request: Req::get("/api/oauth/me").header("authorization", &bearer),
            },
        },
        Scenario {
            name: "oidc-userinfo",
            what: "`GET /oauth2/userinfo` (openid)".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Hello),
            work: Work::Repeat {
                request: Req::get("/oauth2/userinfo").header("authorization", &bearer),
            },
        },
        Scenario {
            name: "introspect",
            what: "`POST /oauth2/introspect` (client_secret_basic)".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Form),
            work: Work::Repeat {
                request: Req::post_form(
                    "/oauth2/introspect",
                    &[
                        ("token", &seeded.access_token),
                        ("token_type_hint", "access_token"),
                    ],
                )?
                .header("authorization", &client_basic),
            },
        },
        Scenario {
            name: "client-credentials",
            what: "`POST /api/oauth2/token` client_credentials (basic)".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Form),
            work: Work::Repeat {
                request: Req::post_form(
                    "/api/oauth2/token",
                    &[("grant_type", "client_credentials")],
                )?
                .header("authorization", &client_basic),
            },
        },
        cc_jwt("cc-jwt-es256", seed::API_ES256, &client_basic)?,
        cc_jwt("cc-jwt-rs256", seed::API_RS256, &client_basic)?,
        Scenario {
            name: "device-poll",
            what: "`POST /api/oauth2/token` device_code poll, pending (basic; 400 `slow_down`)"
                .into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Form),
            work: Work::RepeatExpecting {
                request: Req::post_form(
                    "/api/oauth2/token",
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("device_code", &seeded.device_code),
                    ],
                )?
                .header("authorization", &client_basic),
                status: 400,
            },
        },
        Scenario {
            name: "refresh",
            what: "`POST /api/oauth2/token` refresh_token, rotating".into(),
            http_requests_per_op: 1,
            compared_with: Some(Baseline::Form),
            work: Work::RefreshChains {
                token_path: "/api/oauth2/token".into(),
                form: refresh_form,
                tokens: seeded.refresh_tokens.clone(),
            },
        },
    ];
    for scenario in scenarios.drain(..) {
        if bench.wants(scenario.name) {
            bench.run(&keyward, "keyward", scenario).await?;
        }
    }

    // The authorize scenario doubles as the minting of the code pool.
    if bench.wants("authorize") || bench.wants("code-exchange") {
        let result = bench
            .run(
                &keyward,
                "keyward",
                Scenario {
                    name: "authorize",
                    what: "`GET /oauth/authorize` (session, consent remembered → 302 + code)"
                        .into(),
                    http_requests_per_op: 1,
                    compared_with: Some(Baseline::Hello),
                    work: Work::MintCodes {
                        authorize: flow_authorize.clone(),
                        max_codes: 2_000_000,
                    },
                },
            )
            .await?;
        if bench.wants("code-exchange") {
            if result.codes.is_empty() {
                bail!("no codes were minted for the code-exchange scenario");
            }
            bench
                .run(
                    &keyward,
                    "keyward",
                    Scenario {
                        name: "code-exchange",
                        what: format!(
                            "`POST /api/oauth2/token` authorization_code ({} codes minted before)",
                            result.codes.len()
                        ),
                        http_requests_per_op: 1,
                        compared_with: Some(Baseline::Form),
                        work: Work::ExchangeCodes {
                            token_path: "/api/oauth2/token".into(),
                            form: code_form.clone(),
                            codes: result.codes,
                        },
                    },
                )
                .await?;
        }
    }
    // The same with RFC 8707 resources: codes whose grant names both JWT APIs, each half
    // exchanged for one API's RFC 9068 access token.
    let jwt_exchanges = ["code-jwt-es256", "code-jwt-rs256"];
    if bench.wants("authorize-resources") || jwt_exchanges.iter().any(|n| bench.wants(n)) {
        let scope = format!("{} {}", bench.args.flow_scope, seed::API_SCOPE);
        let authorize = Req::get(seed::authorize_path_for(
            &seeded.client_id,
            &scope,
            "bench",
            &[seed::API_ES256, seed::API_RS256],
        )?)
        .header("cookie", &seeded.session_cookie);
        let result = bench
            .run(
                &keyward,
                "keyward",
                Scenario {
                    name: "authorize-resources",
                    what: "`GET /oauth/authorize` with two `resource`s (consent remembered)".into(),
                    http_requests_per_op: 1,
                    compared_with: Some(Baseline::Hello),
                    work: Work::MintCodes {
                        authorize,
                        max_codes: 2_000_000,
                    },
                },
            )
            .await?;
        let mut codes = result.codes;
        let half = codes.split_off(codes.len() / 2);
        for (name, api, codes) in [
            ("code-jwt-es256", seed::API_ES256, codes),
            ("code-jwt-rs256", seed::API_RS256, half),
        ] {
            if !bench.wants(name) {
                continue;
            }
            if codes.is_empty() {
                bail!("no codes were minted for the {name} scenario");
            }
            let mut form = code_form.clone();
            form.push(("resource".to_owned(), api.to_owned()));
            let what = format!(
                "`POST /api/oauth2/token` authorization_code → JWT for {api} ({} codes)",
                codes.len()
            );
            let work = Work::ExchangeCodes {
                token_path: "/api/oauth2/token".into(),
                form,
                codes,
            };
            let scenario = Scenario {
                name,
                what,
                http_requests_per_op: 1,
                compared_with: Some(Baseline::Form),
                work,
            };
            bench.run(&keyward, "keyward", scenario).await?;
        }
    }
    if bench.wants("browser-flow") {
        bench
            .run(
                &keyward,
                "keyward",
                Scenario {
                    name: "browser-flow",
                    what: "browser flow: authorize → code → token (per flow)".into(),
                    http_requests_per_op: 2,
                    compared_with: Some(Baseline::HelloPlusForm),
                    work: Work::BrowserFlow {
                        authorize: flow_authorize,
                        token_path: "/api/oauth2/token".into(),
                        form: code_form,
                    },
                },
            )
            .await?;
    }
    if bench.wants("charge") {
        let token = seed::seed_spending(&keyward, &admin_password, &seeded).await?;
        let request = Req {
            method: "POST".into(),
            path: "/api/oauth2/balance/charge".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ],
            body: String::new(),
        };
        bench
            .run(
                &keyward,
                "keyward",
                Scenario {
                    name: "charge",
                    what: "`POST /api/oauth2/balance/charge` (user grant within its limit)".into(),
                    http_requests_per_op: 1,
                    compared_with: Some(Baseline::Form),
                    work: Work::Charges { request },
                },
            )
            .await?;
    }
    facts.peak_rss_kb = stats::status_kb(keyward.pid(), "VmHWM").ok();
    keyward.check_alive()?;
    keyward.stop();

    // Start-up as an operator sees it after a deploy: the database and its keys exist.
    let mut again = start()?;
    let ready = again.wait_ready("/readyz", Duration::from_secs(60)).await?;
    facts.ready_existing_ms = Some(ready.as_millis());
    eprintln!(
        "[{:>5.1}s] restarted on the same database: ready after {} ms",
        bench.started.elapsed().as_secs_f64(),
        ready.as_millis()
    );
    again.stop();
    Ok(facts)
}
