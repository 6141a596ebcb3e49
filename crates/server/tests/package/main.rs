//! The Debian package (`[package.metadata.deb]` in crates/server/Cargo.toml, files in
//! crates/server/debian): cargo-deb packages the binary this test run already built, `dpkg -i`
//! installs it on this machine, the INSTALLED /usr/bin/keyward runs as the `keyward` user with the
//! packaged /etc/keyward/keyward.toml (only the port is moved, by KEYWARD_LISTEN) until `/readyz`
//! answers, and `dpkg --purge` leaves the machine as it was.
//!
//! It needs root, dpkg and cargo-deb, and it changes the machine, so it is `#[ignore]`d: a machine
//! without them reports it as skipped, never as passed. `scripts/test.sh` runs it (`-- --ignored`)
//! when it runs as root and finds dpkg and cargo-deb, or when `KEYWARD_REQUIRE_PACKAGE=1` (set by
//! `.ci/run`, which installs cargo-deb first). It refuses to run where a keyward package or its
//! directories already exist, so that it never replaces a real installation.

use base64::Engine as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const STATE_DIR: &str = "/var/lib/keyward";
const CONFIG_DIR: &str = "/etc/keyward";
const CONFIG: &str = "/etc/keyward/keyward.toml";
const MASTER_KEY: &str = "/etc/keyward/master.key";
const BINARY: &str = "/usr/bin/keyward";
const UNIT: &str = "/usr/lib/systemd/system/keyward.service";

#[tokio::test]
#[ignore = "needs root, dpkg and cargo-deb; installs a package (scripts/test.sh runs it)"]
async fn the_package_installs_runs_as_keyward_and_purges_clean() {
    preconditions();
    let work = tempfile::tempdir().expect("temp dir");
    let deb = build_package(work.path());
    let mut machine = Installed {
        user_existed: account("keyward").is_some(),
        server: None,
    };

    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(package_status().as_deref(), Some("installed"));
    let conffiles = stdout(run(Command::new("dpkg-query").args([
        "-W",
        "-f=${Conffiles}",
        "keyward",
    ])));
    assert!(
        conffiles.contains(CONFIG),
        "{CONFIG} is a conffile: {conffiles}"
    );

    let user = account("keyward").expect("the postinst created the keyward user");
    assert!(
        user.uid < 1000,
        "keyward is a system user (uid {})",
        user.uid
    );
    assert_eq!(
        user.shell, "/usr/sbin/nologin",
        "the keyward user has no login shell"
    );
    let group_gid = group_id("keyward").expect("the postinst created the keyward group");
    assert_eq!(user.gid, group_gid, "keyward's primary group is keyward");

    assert_owner_mode(STATE_DIR, user.uid, user.gid, 0o750);
    assert_owner_mode(MASTER_KEY, user.uid, user.gid, 0o600);
    assert_owner_mode(CONFIG, 0, user.gid, 0o640);
    let key = std::fs::read_to_string(MASTER_KEY).expect("read the master key");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .expect("the master key is base64");
    assert_eq!(raw.len(), 32, "the master key is 32 bytes");

    check_unit();

    // The installed binary, as the keyward user, with the packaged configuration.
    let port = free_port();
    let logs = work.path().join("server.log");
    let server = start_as_keyward(port, &logs);
    let pid = server.id();
    machine.server = Some(server);
    wait_ready(port, machine.server.as_mut().expect("server"), &logs).await;
    assert_eq!(
        process_uid(pid),
        user.uid,
        "the server runs as the keyward user"
    );
    let discovery: serde_json::Value = reqwest::get(format!(
        "http://127.0.0.1:{port}/.well-known/openid-configuration"
    ))
    .await
    .expect("discovery")
    .json()
    .await
    .expect("discovery JSON");
    assert_eq!(
        discovery["issuer"],
        format!("http://127.0.0.1:{port}"),
        "public_url is unset in the packaged configuration, so the issuer is http://<listen>"
    );
    machine.stop_server();
    // The packaged database_url: the SQLite file in the state directory, made by the keyward user.
    let db = Path::new(STATE_DIR).join("keyward.db");
    let db_meta = std::fs::metadata(&db).expect("the database is in /var/lib/keyward");
    assert_eq!(
        db_meta.uid(),
        user.uid,
        "the keyward user made the database"
    );
    // Nothing else there: the node took the postinst's key (key_file) instead of making one.
    let mut state: Vec<String> = std::fs::read_dir(STATE_DIR)
        .expect("read the state directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    state.retain(|name| !name.starts_with("keyward.db"));
    assert!(
        state.is_empty(),
        "unexpected files in {STATE_DIR}: {state:?}"
    );

    // Installing again (dpkg's upgrade path through the postinst) keeps the master key.
    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(
        std::fs::read_to_string(MASTER_KEY).expect("read the master key"),
        key,
        "an upgrade never replaces the master key"
    );
    assert_owner_mode(CONFIG, 0, user.gid, 0o640);

    // `remove` keeps the state and the configuration; only `purge` deletes them.
    run(Command::new("dpkg").args(["--remove", "keyward"]));
    assert!(!Path::new(BINARY).exists(), "remove deletes the binary");
    assert!(db.exists(), "remove keeps the database");
    assert!(
        Path::new(MASTER_KEY).exists(),
        "remove keeps the master key"
    );
    run(Command::new("dpkg").args(["--purge", "keyward"]));
    assert_eq!(package_status(), None, "the package is gone");
    for path in [STATE_DIR, CONFIG_DIR, BINARY, UNIT] {
        assert!(!Path::new(path).exists(), "purge removes {path}");
    }
    let overrides = stdout(run(Command::new("dpkg-statoverride").arg("--list")));
    assert!(
        !overrides.contains(CONFIG),
        "purge drops the statoverride: {overrides}"
    );
}

/// What the machine needs, and the promise not to touch a real installation.
fn preconditions() {
    let uid = stdout(run(Command::new("id").arg("-u")));
    assert_eq!(uid.trim(), "0", "the package test must run as root");
    assert!(
        Command::new(cargo())
            .args(["deb", "--version"])
            .output()
            .is_ok_and(|o| o.status.success()),
        "cargo-deb is not installed (cargo install --locked cargo-deb, the version in .ci/run)"
    );
    assert_eq!(
        package_status(),
        None,
        "a keyward package is already known to dpkg here; this test would replace it \
         (dpkg --purge keyward first if it is a leftover)"
    );
    for path in [STATE_DIR, CONFIG_DIR, BINARY] {
        assert!(
            !Path::new(path).exists(),
            "{path} exists; this test would delete it"
        );
    }
}

/// `cargo deb` on the binary this test run built (`--no-build`, the dev profile, stripped), into
/// `dir`; returns the .deb. A release build for it would cost about 10 CPU minutes per run; what
/// is tested is the packaging, which is the same for either binary. cargo-deb 3.8 warns that it
/// may refuse the dev profile in a later version: its version is pinned in .ci/run.
fn build_package(dir: &Path) -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_keyward"));
    // <target>/debug/keyward: package from that target directory, whatever chose it.
    let target_dir = binary
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in <target>/debug");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let deb = dir.join("keyward.deb");
    let started = Instant::now();
    run(Command::new(cargo())
        .args(["deb", "--no-build", "--profile", "dev", "--strip", "--fast"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--output")
        .arg(&deb)
        .env("CARGO_TARGET_DIR", target_dir));
    eprintln!(
        "cargo deb: {} in {:.1}s",
        deb.display(),
        started.elapsed().as_secs_f64()
    );
    deb
}

/// The installed unit runs what this test runs, as keyward; and where systemd-analyze exists, it
/// verifies the unit and its offline security report shows every sandboxing setting in place.
fn check_unit() {
    let unit = std::fs::read_to_string(UNIT).unwrap_or_else(|e| panic!("{UNIT}: {e}"));
    for line in [
        format!("ExecStart={BINARY} --config {CONFIG}"),
        "User=keyward".to_owned(),
        "Restart=on-failure".to_owned(),
        "StateDirectory=keyward".to_owned(),
        format!("ReadWritePaths={STATE_DIR}"),
    ] {
        assert!(unit.lines().any(|l| l == line), "{UNIT} has no {line}");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: systemd-analyze is not installed; the unit was not verified");
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", UNIT])
        .output()
        .expect("systemd-analyze verify");
    let complaints = String::from_utf8_lossy(&out.stderr);
    // Unknown or malformed settings are only warnings, which name the file.
    assert!(
        out.status.success() && !complaints.contains("keyward.service"),
        "systemd-analyze verify {UNIT}:\n{complaints}"
    );

    let out = run(Command::new("systemd-analyze").args([
        "security",
        "--offline=yes",
        "--json=short",
        UNIT,
    ]));
    let checks: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("systemd-analyze security JSON");
    let required = [
        "User=/DynamicUser=",
        "ProtectSystem=",
        "ProtectHome=",
        "NoNewPrivileges=",
        "PrivateTmp=",
        "PrivateDevices=",
        "PrivateMounts=",
        "AmbientCapabilities=",
        "RestrictAddressFamilies=~AF_PACKET",
        "RestrictAddressFamilies=~AF_NETLINK",
        "RestrictAddressFamilies=~…",
        "RestrictNamespaces=~user",
        "RestrictSUIDSGID=",
        "SystemCallFilter=~@privileged",
        "ProtectKernelTunables=",
        "ProtectKernelModules=",
        "ProtectControlGroups=",
        "MemoryDenyWriteExecute=",
        "UMask=",
    ];
    let missing: Vec<&str> = checks
        .iter()
        .filter(|check| check["set"] != true)
        .filter_map(|check| check["name"].as_str())
        .filter(|name| required.contains(name) || name.starts_with("CapabilityBoundingSet="))
        .collect();
    assert!(missing.is_empty(), "the unit's sandbox lacks {missing:?}");
    let known: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    for name in required {
        assert!(
            known.contains(&name),
            "systemd-analyze security has no check {name}"
        );
    }
}

/// The installed binary as the keyward user (setpriv), with the packaged configuration, in a
/// mount namespace where, as under the unit's `ProtectSystem=strict` and `ReadWritePaths=`, the
/// whole file system is read-only except the state directory: what the service writes anywhere
/// else fails here too.
fn start_as_keyward(port: u16, logs: &Path) -> Child {
    let log = std::fs::File::create(logs).expect("log file");
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind "$1" "$1" && mount -o remount,bind,ro / && shift && exec "$@""#)
        .args(["sh", STATE_DIR])
        .args([
            "setpriv",
            "--reuid=keyward",
            "--regid=keyward",
            "--init-groups",
            "--",
        ])
        .args([BINARY, "--config", CONFIG])
        .current_dir(STATE_DIR)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("start keyward with unshare and setpriv")
}

async fn wait_ready(port: u16, server: &mut Child, logs: &Path) {
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(&url).await
            && response.status() == reqwest::StatusCode::OK
        {
            return;
        }
        let log = || std::fs::read_to_string(logs).unwrap_or_default();
        if let Ok(Some(status)) = server.try_wait() {
            panic!("the installed keyward exited ({status}):\n{}", log());
        }
        assert!(
            Instant::now() < deadline,
            "no answer from {url} in 60 s:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Puts the machine back however the test ends: the server stopped, the package purged, and the
/// keyward user and group deleted if this test made them.
struct Installed {
    user_existed: bool,
    server: Option<Child>,
}

impl Installed {
    fn stop_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.stop_server();
        if package_status().is_some() {
            let _ = Command::new("dpkg").args(["--purge", "keyward"]).output();
        }
        if !self.user_existed {
            if account("keyward").is_some() {
                let _ = Command::new("userdel").arg("keyward").output();
            }
            if group_id("keyward").is_some() {
                let _ = Command::new("groupdel").arg("keyward").output();
            }
        }
    }
}

/// dpkg's status of the keyward package (`installed`, `config-files`, ...), None when unknown.
fn package_status() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", "keyward"])
        .output()
        .expect("dpkg-query");
    let status = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !status.is_empty() && status != "not-installed").then_some(status)
}

struct Account {
    uid: u32,
    gid: u32,
    shell: String,
}

fn account(name: &str) -> Option<Account> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let fields: Vec<&str> = line.split(':').collect();
    (out.status.success() && fields.len() == 7).then(|| Account {
        uid: fields[2].parse().expect("uid"),
        gid: fields[3].parse().expect("gid"),
        shell: fields[6].to_owned(),
    })
}

fn group_id(name: &str) -> Option<u32> {
    let out = Command::new("getent").args(["group", name]).output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    out.status
        .success()
        .then(|| line.split(':').nth(2)?.parse().ok())
        .flatten()
}

fn assert_owner_mode(path: &str, uid: u32, gid: u32, mode: u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (uid, gid, mode),
        "{path}: (uid, gid, mode) is ({}, {}, {:o}), wanted ({uid}, {gid}, {mode:o})",
        meta.uid(),
        meta.gid(),
        meta.mode() & 0o7777
    );
}

/// The real user id of a running process.
fn process_uid(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("Uid line")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn run(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
