//! The results: one record per scenario, compared with the bare-axum baseline, written as JSON
//! and as a Markdown table.

use crate::load::LoadResult;
use serde::Serialize;
use std::fmt::Write as _;

/// Which baseline a scenario is held against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// `GET /hello`.
    Hello,
    /// `POST /form`.
    Form,
    /// One of each (an operation made of a GET and a POST).
    HelloPlusForm,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    /// `keyward` or `baseline`.
    pub server: &'static str,
    /// The request(s) one operation makes.
    pub what: String,
    pub http_requests_per_op: u32,
    pub compared_with: Option<Baseline>,
    pub connections: usize,
    pub duration_secs: f64,
    pub ops: u64,
    pub ok: u64,
    pub errors: u64,
    pub http_requests: u64,
    pub reconnects: u64,
    pub elapsed_secs: f64,
    pub ops_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    /// Server user+system CPU time over the run divided by operations.
    pub server_cpu_us_per_op: Option<f64>,
    /// Server CPU time over wall time (100 = the one core it is pinned to is busy all along).
    pub server_core_busy_pct: f64,
    /// The load generator's CPU time over wall time.
    pub load_core_busy_pct: f64,
    /// How much of the server's core other processes took over the run (percent of wall time).
    pub server_core_others_pct: Option<f64>,
    /// How much of the load generator's core other processes took.
    pub load_core_others_pct: Option<f64>,
    /// Token families in the database when the scenario started (Keyward only; counted from
    /// the grants made so far).
    pub token_families_at_start: Option<u64>,
    /// VmHWM of the server process after this scenario (its peak so far).
    pub server_peak_rss_kb: Option<u64>,
    /// This scenario's CPU per operation divided by the baseline's.
    pub cpu_vs_baseline: Option<f64>,
    /// This scenario's operations per second divided by the baseline's.
    pub rate_vs_baseline: Option<f64>,
    pub stopped_early: Option<String>,
    pub error_samples: Vec<String>,
    /// The second run, paced at half of this one's rate.
    pub half_load: Option<HalfLoad>,
}

/// A run paced at a fixed rate (half the peak): the latency a client sees when the server is
/// not saturated. Latency counts from each request's scheduled start.
#[derive(Debug, Clone, Serialize)]
pub struct HalfLoad {
    pub target_ops_per_sec: f64,
    pub ops_per_sec: f64,
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub server_cpu_us_per_op: Option<f64>,
}

impl HalfLoad {
    pub fn new(target_ops_per_sec: f64, result: &LoadResult) -> Self {
        let ticks = result.clock_ticks_per_sec.max(1) as f64;
        let ms = |us: Option<u32>| us.map(|v| f64::from(v) / 1000.0);
        Self {
            target_ops_per_sec,
            ops_per_sec: result.ops as f64 / result.elapsed_secs.max(f64::EPSILON),
            ok: result.ok,
            errors: result.errors,
            p50_ms: ms(result.p50_us),
            p99_ms: ms(result.p99_us),
            max_ms: ms(result.max_us),
            server_cpu_us_per_op: (result.ops > 0)
                .then(|| result.server_cpu_ticks as f64 / ticks * 1e6 / result.ops as f64),
        }
    }
}

impl ScenarioReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        server: &'static str,
        what: String,
        http_requests_per_op: u32,
        compared_with: Option<Baseline>,
        connections: usize,
        duration_secs: f64,
        result: &LoadResult,
        server_peak_rss_kb: Option<u64>,
    ) -> Self {
        let elapsed = result.elapsed_secs.max(f64::EPSILON);
        let ticks = result.clock_ticks_per_sec.max(1) as f64;
        let server_cpu_secs = result.server_cpu_ticks as f64 / ticks;
        let ms = |us: Option<u32>| us.map(|v| f64::from(v) / 1000.0);
        Self {
            name: name.to_owned(),
            server,
            what,
            http_requests_per_op,
            compared_with,
            connections,
            duration_secs,
            ops: result.ops,
            ok: result.ok,
            errors: result.errors,
            http_requests: result.http_requests,
            reconnects: result.reconnects,
            elapsed_secs: result.elapsed_secs,
            ops_per_sec: result.ops as f64 / elapsed,
            p50_ms: ms(result.p50_us),
            p99_ms: ms(result.p99_us),
            max_ms: ms(result.max_us),
            mean_ms: result.mean_us.map(|v| v / 1000.0),
            server_cpu_us_per_op: (result.ops > 0)
                .then(|| server_cpu_secs * 1e6 / result.ops as f64),
            server_core_busy_pct: server_cpu_secs / elapsed * 100.0,
            load_core_busy_pct: result.client_cpu_ticks as f64 / ticks / elapsed * 100.0,
            server_core_others_pct: result.server_core_busy_ticks.map(|busy| {
                (busy.saturating_sub(result.server_cpu_ticks) as f64 / ticks / elapsed * 100.0)
                    .max(0.0)
            }),
            load_core_others_pct: result.load_core_busy_ticks.map(|busy| {
                (busy.saturating_sub(result.client_cpu_ticks) as f64 / ticks / elapsed * 100.0)
                    .max(0.0)
            }),
            token_families_at_start: None,
            server_peak_rss_kb,
            cpu_vs_baseline: None,
            rate_vs_baseline: None,
            stopped_early: result.stopped_early.clone(),
            error_samples: result.error_samples.clone(),
            half_load: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub kernel: String,
    pub load_average_at_start: String,
    pub clock_ticks_per_sec: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub backend: String,
    pub duration_secs: u64,
    pub connections: usize,
    pub pinned: bool,
    pub server_cpu: usize,
    pub load_cpu: usize,
    pub keyward_bin: String,
    /// Scope of the access token the userinfo and introspection scenarios use.
    pub userinfo_scope: String,
    /// Scope of the code-exchange, refresh and browser-flow scenarios.
    pub flow_scope: String,
    /// The app's id_token signing algorithm.
    pub id_token_alg: String,
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeywardFacts {
    pub binary_bytes: Option<u64>,
    /// `/readyz` on a fresh database (migrations, the first signing keys).
    pub ready_after_ms: Option<u128>,
    /// `/readyz` after a restart on the database the run filled.
    pub ready_existing_ms: Option<u128>,
    /// VmRSS when `/readyz` first answered.
    pub rss_at_ready_kb: Option<u64>,
    /// VmRSS right after seeding.
    pub rss_after_seeding_kb: Option<u64>,
    /// VmHWM at the end of the run.
    pub peak_rss_kb: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub started_at: String,
    pub total_secs: f64,
    pub machine: Machine,
    pub settings: Settings,
    pub keyward: KeywardFacts,
    pub scenarios: Vec<ScenarioReport>,
    pub notes: Vec<String>,
}

impl Report {
    /// Fills in every Keyward scenario's ratios to the baseline it is compared with.
    pub fn compare(&mut self) {
        let find = |name: &str| {
            self.scenarios
                .iter()
                .find(|s| s.server == "baseline" && s.name == name && s.ops > 0)
                .map(|s| (s.server_cpu_us_per_op, s.ops_per_sec))
        };
        let hello = find("hello");
        let form = find("form");
        let base = |b: Baseline| -> Option<(Option<f64>, f64)> {
            match b {
                Baseline::Hello => hello,
                Baseline::Form => form,
                Baseline::HelloPlusForm => {
                    let (hc, hr) = hello?;
                    let (fc, fr) = form?;
                    // One GET and one POST back to back on the same connection.
                    let cpu = hc.zip(fc).map(|(h, f)| h + f);
                    Some((cpu, 1.0 / (1.0 / hr + 1.0 / fr)))
                }
            }
        };
        for s in &mut self.scenarios {
            let Some((cpu, rate)) = s.compared_with.and_then(base) else {
                continue;
            };
            s.cpu_vs_baseline = s
                .server_cpu_us_per_op
                .zip(cpu)
                .filter(|(_, b)| *b > 0.0)
                .map(|(k, b)| k / b);
            s.rate_vs_baseline = (rate > 0.0).then(|| s.ops_per_sec / rate);
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let m = &self.machine;
        let _ = writeln!(out, "## Keyward benchmark ({})\n", self.started_at);
        let _ = writeln!(
            out,
            "{} on {} ({} CPUs, Linux {}), load average at start {}. Backend: {}. \
             {} connections, HTTP/1.1 keep-alive, {} s per scenario; {}. Keyward {}{}. \
             Userinfo token scope `{}`; code, refresh and browser-flow scope `{}`; \
             id_token algorithm {}.\n",
            self.tool,
            m.cpu_model,
            m.cpus,
            m.kernel,
            m.load_average_at_start,
            s.backend,
            s.connections,
            s.duration_secs,
            if s.pinned {
                format!(
                    "server pinned to CPU {} (`taskset -c {}`), load generator to CPU {}",
                    s.server_cpu, s.server_cpu, s.load_cpu
                )
            } else {
                "not pinned (no taskset)".to_owned()
            },
            s.keyward_bin,
            s.git_commit
                .as_deref()
                .map(|c| format!(" at {c}"))
                .unwrap_or_default(),
            s.userinfo_scope,
            s.flow_scope,
            s.id_token_alg,
        );
        out.push_str(
            "| scenario | requests/s | p50 | p99 | p99 at half load | errors | server CPU / req | \
             × baseline CPU | % of baseline rate | server core busy | load core busy |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.scenarios {
            let label = if r.server == "baseline" {
                format!("baseline: {}", r.what)
            } else {
                r.what.clone()
            };
            let baseline = |v: Option<f64>, f: &dyn Fn(f64) -> String| match v {
                Some(v) => f(v),
                None if r.server == "baseline" => "—".to_owned(),
                None => "n/a".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {:.0}% |",
                label,
                thousands(r.ops_per_sec),
                millis(r.p50_ms),
                millis(r.p99_ms),
                match &r.half_load {
                    Some(h) if h.errors == 0 => millis(h.p99_ms),
                    Some(h) => format!("{} (**{}** errors)", millis(h.p99_ms), h.errors),
                    None => "—".to_owned(),
                },
                if r.errors == 0 {
                    "0".to_owned()
                } else {
                    format!("**{}** of {}", r.errors, r.ops)
                },
                r.server_cpu_us_per_op
                    .map(|v| format!("{v:.0} µs"))
                    .unwrap_or_else(|| "n/a".to_owned()),
                baseline(r.cpu_vs_baseline, &|v| format!("{v:.1}×")),
                baseline(r.rate_vs_baseline, &|v| format!("{:.1}%", v * 100.0)),
                r.server_core_busy_pct,
                r.load_core_busy_pct,
            );
        }
        out.push('\n');
        let k = &self.keyward;
        let mb = |kb: Option<u64>| {
            kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".to_owned())
        };
        let _ = writeln!(
            out,
            "Keyward: binary {}, `/readyz` after {} on a fresh database and {} on the filled \
             one after a restart, RSS at ready {}, after seeding {}, peak RSS (VmHWM) {}.\n",
            k.binary_bytes
                .map(|b| format!("{:.1} MB", b as f64 / 1_048_576.0))
                .unwrap_or_else(|| "n/a".to_owned()),
            k.ready_after_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "n/a".to_owned()),
            k.ready_existing_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "n/a".to_owned()),
            mb(k.rss_at_ready_kb),
            mb(k.rss_after_seeding_kb),
            mb(k.peak_rss_kb),
        );
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        let families: Vec<String> = self
            .scenarios
            .iter()
            .filter_map(|r| {
                r.token_families_at_start
                    .map(|f| format!("`{}` {}", r.name, thousands(f as f64)))
            })
            .collect();
        if !families.is_empty() {
            let _ = writeln!(
                out,
                "- Token families in the database at the start of each scenario (one per code \
                 exchange or client-credentials grant so far): {}.",
                families.join(", ")
            );
        }
        let mut problems = Vec::new();
        let busy: Vec<String> = self
            .scenarios
            .iter()
            .filter_map(|r| {
                let server = r.server_core_others_pct?;
                let load = r.load_core_others_pct?;
                (server.max(load) >= 10.0).then(|| {
                    format!(
                        "`{}` ({server:.0}% of the server core, {load:.0}% of the load core)",
                        r.name
                    )
                })
            })
            .collect();
        if !busy.is_empty() {
            problems.push(format!(
                "Other processes were running on the pinned cores during {} — those figures are \
                 noisy; run again on a quiet machine to compare.",
                busy.join(", ")
            ));
        }
        for r in &self.scenarios {
            if let Some(why) = &r.stopped_early {
                problems.push(format!(
                    "`{}` ended after {:.1} s: {why}",
                    r.name, r.elapsed_secs
                ));
            }
            if r.reconnects > 0 {
                problems.push(format!(
                    "`{}`: the server closed {} connections",
                    r.name, r.reconnects
                ));
            }
            for sample in &r.error_samples {
                problems.push(format!(
                    "`{}` error: {}",
                    r.name,
                    sample.replace('|', "\\|")
                ));
            }
        }
        for p in problems {
            let _ = writeln!(out, "- {p}");
        }
        out
    }
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn millis(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_owned(),
        Some(v) if v < 10.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.1} ms"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(7825.4), "7,825");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(1_234_567.0), "1,234,567");
    }
}
