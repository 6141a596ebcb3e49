//! Percentiles and what the kernel says about a process's CPU time and memory.

use anyhow::{Context, Result, bail};

/// The `p`-th percentile (0–100) of `sorted` by the nearest-rank method; `None` when empty.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

/// User + system CPU time of process `pid` (all its threads), in clock ticks, from
/// `/proc/<pid>/stat` fields 14 (utime) and 15 (stime).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_stat_ticks(&text).with_context(|| format!("parsing {path}"))
}

/// This process's own CPU time, in clock ticks.
pub fn own_cpu_ticks() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    parse_stat_ticks(&text)
}

fn parse_stat_ticks(text: &str) -> Result<u64> {
    // Field 2 (comm) is in parentheses and may contain spaces: count from the last ')'.
    let Some((_, rest)) = text.rsplit_once(')') else {
        bail!("no ')' in stat line");
    };
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .context("stat line too short")?
            .parse::<u64>()
            .context("stat field is not a number")
    };
    Ok(field(14)? + field(15)?)
}

/// Busy time of CPU `cpu` (every process on it), in clock ticks, from its `/proc/stat` line:
/// user + nice + system + irq + softirq + steal.
pub fn core_busy_ticks(cpu: usize) -> Result<u64> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let label = format!("cpu{cpu}");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label.as_str()))
        .with_context(|| format!("no {label} in /proc/stat"))?;
    parse_core_busy(line)
}

fn parse_core_busy(line: &str) -> Result<u64> {
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| {
            v.parse::<u64>()
                .context("a /proc/stat value is not a number")
        })
        .collect::<Result<_>>()?;
    let at = |i: usize| values.get(i).copied().unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    Ok(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// A `kB` line of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), in kB.
pub fn status_kb(pid: u32, key: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let number = value.trim().trim_end_matches("kB").trim();
            return number
                .parse()
                .with_context(|| format!("{key} in {path} is not a number: {value}"));
        }
    }
    bail!("no {key} in {path}")
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if that cannot be asked.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t: &u64| t > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        assert_eq!(percentile(&samples, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn core_busy_leaves_out_idle_and_iowait() {
        let line = "cpu0 100 5 50 9000 40 3 2 1 0 0";
        assert_eq!(parse_core_busy(line).ok(), Some(161));
    }

    #[test]
    fn stat_ticks_survive_a_comm_with_spaces() {
        let line = "1234 (tokio runtime) S 1 1234 1234 0 -1 4194560 500 0 0 0 \
                    250 75 0 0 20 0 3 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_stat_ticks(line).ok(), Some(325));
    }
}
