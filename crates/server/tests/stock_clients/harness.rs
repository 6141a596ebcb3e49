//! Runs the scripts of the Node harness (`clients/node`, and the example MCP server in
//! `examples/mcp-server`): `node clients/node/<script>.mjs <args>`, whose stdout is one JSON
//! object per line and whose exit code says whether it succeeded (see `clients/node/lib.mjs`).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The longest a script may run, or wait for its next line: a device flow polls every 5 s.
const WAIT: Duration = Duration::from_secs(90);

pub struct Harness {
    dir: PathBuf,
}

impl Harness {
    /// The installed harness. Fails the test when `node` or `clients/node/node_modules` is
    /// missing: the tests that need it are `#[ignore]`d, and whoever runs them asked for it.
    pub fn find() -> Self {
        Self::installed("clients/node")
    }

    /// The example MCP server (`examples/mcp-server`), whose scripts run the same way.
    pub fn mcp_server_example() -> Self {
        Self::installed("examples/mcp-server")
    }

    /// The sample app (`examples/sample-app`): Node's own modules only, nothing to install.
    pub fn sample_app() -> Self {
        Self {
            dir: Self::folder("examples/sample-app"),
        }
    }

    /// The integration guide's spending example (`examples/spend`): Node's own modules only.
    pub fn spend_example() -> Self {
        Self {
            dir: Self::folder("examples/spend"),
        }
    }

    fn folder(folder: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(folder)
    }

    /// A folder of Node scripts (relative to the repository), with its packages installed.
    fn installed(folder: &str) -> Self {
        let dir = Self::folder(folder);
        assert!(
            dir.join("node_modules").is_dir(),
            "the stock-client tests need the Node harness: npm ci --prefix {}",
            dir.display()
        );
        Self { dir }
    }

    /// Starts `node <script> <args>` in the harness folder.
    pub fn run(&self, script: &str, args: &[&str]) -> Running {
        self.run_with(script, args, &[])
    }

    /// Starts `node <script> <args>` with `env` added to its environment.
    pub fn run_with(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(self.dir.join(script))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node (is it installed?)");
        let stdout = child.stdout.take().expect("stdout");
        Running {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }
}

/// A running script.
pub struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Running {
    /// The script's next line, parsed; fails the test when it ends or says nothing in time.
    pub async fn next_event(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the script said nothing for {WAIT:?}: {:?}", self.seen))
            .expect("read the script's output")
            .unwrap_or_else(|| panic!("the script ended early: {:?}", self.seen));
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("not a JSON line from the script: {line}"));
        self.seen.push(event.clone());
        event
    }

    /// Waits for the script to end: whether it succeeded, and every line it printed.
    pub async fn finish(mut self) -> (bool, Vec<Value>) {
        let rest = async {
            while let Some(line) = self.lines.next_line().await.expect("read output") {
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("not a JSON line from the script: {line}"));
                self.seen.push(event);
            }
            self.child.wait().await.expect("wait for the script")
        };
        let status = tokio::time::timeout(WAIT, rest)
            .await
            .unwrap_or_else(|_| panic!("the script did not end in {WAIT:?}"));
        (status.success(), self.seen)
    }
}
