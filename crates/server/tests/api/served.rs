//! The real binary serving in a child process, for what only a whole process shows: its own
//! metrics recorder and log subscriber, its exporter, its shutdown.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, TestApp, TestDatabase};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `keyward serve` on a free loopback port; killed when dropped, so a failing test leaves no
/// server behind.
pub struct Served {
    child: Child,
    pub app: TestApp,
    dir: tempfile::TempDir,
}

impl Served {
    /// Starts the binary on `db` with extra environment variables, and waits until it is ready.
    pub async fn start(db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("dir");
        let log = std::fs::File::create(dir.path().join("keyward.log")).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_DATABASE_URL", &db.url)
            .env("KEYWARD_SECRET_KEY", &db.secret_key)
            .env("KEYWARD_ADMIN_USERNAME", ADMIN)
            .env("KEYWARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .env_remove("KEYWARD_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start keyward");
        let app = TestApp::external(format!("http://127.0.0.1:{port}"), db.clone());
        let served = Self { child, app, dir };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if reqwest::get(served.app.url("/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return served;
            }
            assert!(
                Instant::now() < deadline,
                "keyward did not become ready: {}",
                served.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("keyward.log")).unwrap_or_default()
    }

    /// Stops it as an operator does (SIGTERM) and waits for a clean exit.
    pub async fn stop(mut self) {
        terminate(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{status}: {}", self.log());
                return;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM to `pid`, through the shell's own `kill` (no dependency on procps).
pub fn terminate(pid: u32) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("sh");
    assert!(status.success(), "kill -TERM {pid}");
}
