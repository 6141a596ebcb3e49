//! `keyward audit export`: the audit log as JSON lines on standard output, oldest first, for
//! log shippers (Vector, Fluent Bit) and archives. `--after ID` resumes after the last line a
//! reader kept; `--follow` keeps polling for new records until SIGINT or SIGTERM.

use keyward_core::model::AuditEntry;
use keyward_core::store::Store;
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// Records read per query.
const BATCH: i64 = 500;
/// How often `--follow` looks for new records.
const POLL: Duration = Duration::from_secs(1);
/// `--follow` holds back records younger than this: on PostgreSQL ids come from a sequence, so a
/// record can commit just after one with a higher id; once it is this old it has committed, and
/// stopping before it keeps the stream in id order without ever skipping it.
const SETTLE_SECS: i64 = 2;

/// What the command was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Export {
    pub after: i64,
    pub follow: bool,
}

/// Writes every record after `export.after` to `out`, one JSON object per line; with
/// `follow`, then waits for more until `stop` resolves. Returns the last id written.
pub async fn run(
    store: &dyn Store,
    export: Export,
    now: impl Fn() -> i64,
    out: &mut impl Write,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<i64> {
    let mut last = export.after;
    tokio::pin!(stop);
    loop {
        let settled_before = export.follow.then(|| now() - SETTLE_SECS);
        let (written, complete) = write_batch(store, &mut last, settled_before, out).await?;
        if written > 0 && complete {
            continue;
        }
        if !export.follow {
            return Ok(last);
        }
        tokio::select! {
            () = &mut stop => return Ok(last),
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One read: writes the records after `*last`, up to the first one not yet settled. Returns
/// how many it wrote and whether it wrote a full batch (so more may be waiting).
async fn write_batch(
    store: &dyn Store,
    last: &mut i64,
    settled_before: Option<i64>,
    out: &mut impl Write,
) -> anyhow::Result<(usize, bool)> {
    let entries = store.audit_after(*last, BATCH).await?;
    let full = entries.len() as i64 == BATCH;
    let mut written = 0;
    for entry in &entries {
        if settled_before.is_some_and(|limit| entry.at > limit) {
            out.flush()?;
            return Ok((written, false));
        }
        serde_json::to_writer(&mut *out, &line(entry))?;
        out.write_all(b"\n")?;
        *last = entry.id;
        written += 1;
    }
    out.flush()?;
    Ok((written, full))
}

/// One record as a JSON object. `detail` is JSON already and is nested as such.
pub fn line(entry: &AuditEntry) -> Value {
    let detail = serde_json::from_str::<Value>(&entry.detail)
        .unwrap_or_else(|_| Value::String(entry.detail.clone()));
    json!({
        "id": entry.id,
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_pseudonym": entry.actor_pseudonym,
        "action": entry.action,
        "target": entry.target,
        "detail": detail,
        "ip": entry.ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_nests_the_detail_and_keeps_text_that_is_not_json() {
        let mut entry = AuditEntry {
            id: 7,
            at: 1_700_000_000,
            actor_id: Some(3),
            actor_pseudonym: None,
            action: "app.approved".into(),
            target: "42".into(),
            detail: r#"{"name":"x"}"#.into(),
            ip: "127.0.0.1".into(),
        };
        let value = line(&entry);
        assert_eq!(value["detail"]["name"], "x");
        assert_eq!(value["id"], 7);
        assert_eq!(value["actor_id"], 3);
        entry.detail = "plain".into();
        assert_eq!(line(&entry)["detail"], "plain");
    }
}
