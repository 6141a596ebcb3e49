//! The command line: `serve` (the default), `migrate`, `migrate-data`, `backup`, and `user ...`
//! for operators.

use crate::app::{Node, open_store, shutdown_signal};
use crate::audit_export::Export;
use crate::config::{Config, KEYS_HELP};
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use keyward_core::model::ClientStatus;
use keyward_core::model::{Role, User, UserStatus};
use keyward_core::oauth::apps::{AppForm, AppPolicy, Review};
use keyward_core::oidc::SigningAlg;
use keyward_core::store::{Page, UserPatch};
use keyward_core::{Clock as _, SystemClock};
use keyward_web::account::view::UserView;
use keyward_web::apps::AppView;
use std::io::Read as _;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "keyward", version, about = "Account center and OAuth 2.0 / OpenID Connect provider", after_help = KEYS_HELP)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate {
        /// List the migrations that would run (version and description), apply nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, requires = "dry_run")]
        json: bool,
    },
    /// Copy every table from one database to another, empty one (SQLite to PostgreSQL or back),
    /// with this node's master key; verify row counts and checksums, then commit.
    MigrateData {
        /// The database to copy from (sqlite://PATH or postgres://...): opened read-only.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty database to fill (migrated first).
        #[arg(long, value_name = "URL")]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// Copy the SQLite database to FILE, consistently, while nodes serve. Never replaces a
    /// file. A PostgreSQL database is backed up by its server's tools (docs/operations.md).
    Backup {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth apps.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage id_token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write every audit record as one JSON object per line to standard output, in id order.
    Export {
        /// Only records with a larger id: the `id` of the last line already read.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
        after: i64,
        /// Keep polling for new records (a second behind, so that none is ever skipped) until
        /// SIGINT or SIGTERM.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an app owned by OWNER, approved at once; prints its secret once.
    Create {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        /// Repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        #[arg(long, default_value = "profile balance")]
        scopes: String,
        /// Space-separated, e.g. "authorization_code refresh_token client_credentials".
        #[arg(long)]
        grant_types: Option<String>,
        /// No secret; PKCE required.
        #[arg(long)]
        public: bool,
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending (or rejected, or disabled) app, by id or client_id.
    Approve {
        app: String,
        #[arg(long)]
        json: bool,
    },
    /// List apps, optionally only those with STATUS (pending, approved, rejected, disabled).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key. It is published at once and starts signing after
    /// --activate-after seconds (default 600, so relying parties fetch it first); the old key
    /// stays published until the id_tokens it signed have expired.
    Rotate {
        #[arg(long, default_value = "RS256")]
        alg: String,
        #[arg(long, default_value_t = 600)]
        activate_after: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from $KEYWARD_USER_PASSWORD or standard input, never
    /// from the command line (where `ps` would show it).
    Create {
        username: String,
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's role: user, admin or root.
    SetRole {
        username: String,
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's quota (integer units).
    SetQuota {
        username: String,
        quota: i64,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their sessions end and they can no longer log in.
    Disable {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled user again.
    Enable {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Clear a user's failed sign-in counters (password and second factor), so that the slowed
    /// down sign-ins of the account run at once again. Audited.
    Unlock {
        username: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref()).context("reading configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate {
            dry_run: true,
            json,
        } => crate::datamove::dry_run(&config, json).await,
        Command::Migrate { dry_run: false, .. } => {
            open_store(&config.database_url, 1).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::MigrateData { from, to, json } => {
            crate::datamove::migrate_data(&config, &from, &to, json).await
        }
        Command::Backup { file, json } => backup(&config, &file, json),
        Command::User(command) => user(config, command).await,
        Command::Client(command) => client(config, command).await,
        Command::Audit(AuditCommand::Export { after, follow }) => {
            audit_export(config, Export { after, follow }).await
        }
        Command::Keys(KeysCommand::Rotate {
            alg,
            activate_after,
            json,
        }) => {
            let alg = SigningAlg::parse(&alg).context("--alg must be RS256, ES256 or EdDSA")?;
            let node = Node::for_command(config).await?;
            node.ensure_keys().await?;
            let kid = node.state.keys.rotate(alg, activate_after).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"kid": kid, "alg": alg.as_str(), "activate_after": activate_after})
                );
            } else {
                println!(
                    "new {} key {kid}: published now, signing in {activate_after} s",
                    alg.as_str()
                );
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let telemetry = crate::telemetry::init(&config)?;
    let result = run_node(config).await;
    // Also after a failed start: the spans of what did happen still reach the collector.
    telemetry.shutdown().await;
    result
}

async fn run_node(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let node = Node::build(config).await?;
    node.bootstrap().await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        public_url = %node.state.config.public_url,
        tls = node.config.tls_cert_file.is_some(),
        "keyward is serving"
    );
    match (&node.config.tls_cert_file, &node.config.tls_key_file) {
        (Some(cert), Some(key)) => {
            let tls = crate::tls::server_config(cert.as_ref(), key.as_ref())?;
            // `tap_io` gives axum's generic ConnectInfo implementation for any listener.
            let listener = axum::serve::ListenerExt::tap_io(
                crate::tls::TlsListener::new(listener, tls)?,
                |_| {},
            );
            node.serve(listener, shutdown_signal()).await
        }
        (None, None) => node.serve(listener, shutdown_signal()).await,
        _ => anyhow::bail!("set both tls_cert_file and tls_key_file, or neither"),
    }
}

fn backup(config: &Config, file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let url = &config.database_url;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!(
            "keyward backup copies a SQLite database; this one is on PostgreSQL, whose server \
             owns its backups: take them with pg_dump -Fc (or base backups and WAL archiving), and \
             keep the master key (key_file or secret_key) with them. See docs/operations.md, \
             \"Backups and restore\"."
        );
    }
    let report = keyward_store_sqlite::backup(url, file)?;
    let view = serde_json::json!({
        "source": report.source,
        "file": report.file,
        "bytes": report.bytes,
        "integrity_check": "ok",
    });
    print_report(json, &view, |_| {
        println!(
            "backed up {} to {} ({} bytes, integrity check ok); keep the master key with it",
            report.source.display(),
            report.file.display(),
            report.bytes
        );
    })
}

/// `keyward audit export`. Needs the database only, not the master key.
async fn audit_export(config: Config, export: Export) -> anyhow::Result<()> {
    let store = open_store(&config.database_url, 1).await?;
    let clock = SystemClock;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = crate::audit_export::run(
        store.as_ref(),
        export,
        || clock.now(),
        &mut out,
        shutdown_signal(),
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        // The reader went away (`| head`): that ends the export, it is not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        Err(e) => Err(e.context("exporting the audit log")),
    }
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let node = Node::for_command(config).await?;
    let now = node.state.accounts.now();
    let (user, json) = match command {
        UserCommand::Create {
            username,
            role,
            json,
        } => {
            let role = Role::parse(&role).context("role must be user, admin or root")?;
            let password = read_password()?;
            let user = node
                .state
                .accounts
                .create_user(&username, &password, role)
                .await?;
            (user, json)
        }
        UserCommand::SetRole {
            username,
            role,
            json,
        } => {
            let role = Role::parse(&role).context("role must be user, admin or root")?;
            let patch = UserPatch {
                role: Some(role),
                ..UserPatch::default()
            };
            (patch_user(&node, &username, &patch, now).await?, json)
        }
        UserCommand::SetQuota {
            username,
            quota,
            json,
        } => {
            if !(0..=keyward_core::billing::MAX_QUOTA).contains(&quota) {
                bail!(
                    "quota must be between 0 and {}",
                    keyward_core::billing::MAX_QUOTA
                );
            }
            let patch = UserPatch {
                quota: Some(quota),
                ..UserPatch::default()
            };
            (patch_user(&node, &username, &patch, now).await?, json)
        }
        UserCommand::Disable { username, json } => {
            let patch = UserPatch {
                status: Some(UserStatus::Disabled),
                ..UserPatch::default()
            };
            (patch_user(&node, &username, &patch, now).await?, json)
        }
        UserCommand::Enable { username, json } => {
            let patch = UserPatch {
                status: Some(UserStatus::Enabled),
                ..UserPatch::default()
            };
            (patch_user(&node, &username, &patch, now).await?, json)
        }
        UserCommand::Unlock { username, json } => {
            let user = find_user(&node, &username).await?;
            node.state.accounts.unlock(&user, None, "").await?;
            (user, json)
        }
    };
    print_report(json, &UserView::from(&user), |_| {
        println!(
            "user {} (id {}): role {}, status {}, quota {}",
            user.username,
            user.id,
            user.role.name(),
            if user.is_enabled() {
                "enabled"
            } else {
                "disabled"
            },
            user.quota
        );
    })
}

async fn client(config: Config, command: ClientCommand) -> anyhow::Result<()> {
    let node = Node::for_command(config).await?;
    let store = &node.state.store;
    match command {
        ClientCommand::Create {
            owner,
            name,
            redirect_uris,
            scopes,
            grant_types,
            public,
            json,
        } => {
            let key = keyward_core::accounts::validate::login_key(&owner);
            let owner = store
                .user_by_login(&key)
                .await?
                .with_context(|| format!("no user named {owner}"))?;
            let form = AppForm {
                name,
                description: String::new(),
                redirect_uris,
                scopes: Some(scopes),
                grant_types: grant_types.map(|g| g.split_whitespace().map(str::to_owned).collect()),
                public,
                post_logout_redirect_uris: Vec::new(),
                id_token_alg: None,
                token_endpoint_auth_method: None,
                jwks: None,
                jwks_uri: None,
                logo_uri: None,
                client_uri: None,
                policy_uri: None,
            };
            // The operator is the reviewer: no review, and http redirect URIs allowed.
            let policy = AppPolicy {
                review_required: false,
                allow_http_redirect_uris: true,
            };
            let (app, secret) = node.state.apps.register(&owner, form, policy, "").await?;
            print_report(json, &AppView::new(&app, secret), |view| {
                println!(
                    "app {} (id {}): client_id {}",
                    view.name, view.id, view.client_id
                );
                if let Some(secret) = &view.client_secret {
                    println!("client_secret (shown once): {secret}");
                }
            })?;
        }
        ClientCommand::Approve { app, json } => {
            let found = match app.parse::<i64>() {
                Ok(id) => store.client_by_pk(id).await?,
                Err(_) => store.client_by_client_id(&app).await?,
            };
            let found = found.with_context(|| format!("no app {app}"))?;
            let approved = node
                .state
                .apps
                .review(None, found.id, Review::Approve, "", "")
                .await?;
            print_report(json, &AppView::new(&approved, None), |view| {
                println!(
                    "app {} (id {}) approved; its owner sees the secret once",
                    view.name, view.id
                );
            })?;
        }
        ClientCommand::List { status, json } => {
            let status = status
                .map(|s| {
                    ClientStatus::parse(&s)
                        .context("status must be pending, approved, rejected or disabled")
                })
                .transpose()?;
            let apps = store
                .list_clients(
                    status,
                    Page {
                        offset: 0,
                        limit: 1000,
                    },
                )
                .await?;
            let views: Vec<AppView> = apps.iter().map(|a| AppView::new(a, None)).collect();
            print_report(json, &views, |views| {
                for view in views {
                    println!(
                        "{:>5}  {:<9}  {}  {}",
                        view.id, view.status, view.client_id, view.name
                    );
                }
            })?;
        }
    }
    Ok(())
}

/// Prints what a command did: `report` as JSON with `--json`, otherwise as `human` writes it.
fn print_report<T: serde::Serialize>(
    json: bool,
    report: &T,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        human(report);
    }
    Ok(())
}

async fn find_user(node: &Node, username: &str) -> anyhow::Result<User> {
    let key = keyward_core::accounts::validate::login_key(username);
    node.state
        .store
        .user_by_login(&key)
        .await?
        .with_context(|| format!("no user named {username}"))
}

async fn patch_user(
    node: &Node,
    username: &str,
    patch: &UserPatch,
    now: i64,
) -> anyhow::Result<User> {
    let store = &node.state.store;
    let user = find_user(node, username).await?;
    store.patch_user(user.id, patch, now).await?;
    store
        .user_by_id(user.id)
        .await?
        .with_context(|| format!("user {username} vanished"))
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("KEYWARD_USER_PASSWORD") {
        return Ok(password);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from stdin")?;
    let password = input.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password: set KEYWARD_USER_PASSWORD or pipe it on standard input");
    }
    Ok(password)
}
