//! Configuration shared by the commands: the store, the server and logging. Every flag can also
//! be set by a `WEAVE_*` environment variable; a bad value is an error, never a silent default.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use weave_server::{AppState, ServerConfig};
use weave_store::sqlite::{Durability, SqliteOptions, SqliteStore};

/// How commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync every commit: survives power loss and `kill -9`.
    Full,
    /// No fsync per commit: survives `kill -9`, not power loss.
    Normal,
}

/// Where the record lives.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// The SQLite database file (created on first use).
    #[arg(long, env = "WEAVE_DB", default_value = "weave.db")]
    pub db: PathBuf,
    /// How commits reach the disk.
    #[arg(long, env = "WEAVE_DURABILITY", value_enum, default_value = "full")]
    pub durability: DurabilityArg,
}

impl StoreArgs {
    /// Opens the store.
    pub fn open(&self) -> Result<Arc<SqliteStore>> {
        let durability = match self.durability {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Normal => Durability::Normal,
        };
        SqliteStore::open(&self.db, &SqliteOptions { durability, ..SqliteOptions::default() })
            .with_context(|| format!("opening the store {}", self.db.display()))
    }
}

/// `weave serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (loopback by default).
    #[arg(long, env = "WEAVE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Public base URL (default: http://ADDR).
    #[arg(long, env = "WEAVE_BASE_URL")]
    pub base_url: Option<String>,
    /// Largest request body accepted, in MiB.
    #[arg(long, env = "WEAVE_MAX_BODY_MIB", default_value_t = 32)]
    pub max_body_mib: usize,
    /// Also receive HL7 v2 over MLLP on this address (e.g. 127.0.0.1:2575).
    #[arg(long, env = "WEAVE_MLLP")]
    pub mllp: Option<SocketAddr>,
    /// Keep raw inbound messages and files this many days (0: for ever). Dead letters not yet
    /// replayed are kept whatever their age.
    #[arg(long, env = "WEAVE_INBOUND_RETENTION_DAYS", default_value_t = 365)]
    pub inbound_retention_days: u64,
    /// Linkage settings for the person index (JSON, as printed by `weave identity settings`).
    #[arg(long, env = "WEAVE_IDENTITY_SETTINGS")]
    pub identity_settings: Option<std::path::PathBuf>,
}

impl ServeArgs {
    /// The server configuration these arguments describe.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            base_url: self.base_url.clone().unwrap_or_else(|| format!("http://{}", self.addr)),
            max_body_bytes: self.max_body_mib * 1024 * 1024,
            ..ServerConfig::default()
        }
    }
}

/// Logs to stderr; `RUST_LOG` (or `WEAVE_LOG`) filters, default `info`. Clinical content is never
/// logged at info level.
pub fn init_logging() {
    let filter = std::env::var("WEAVE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// A multi-threaded runtime.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// `weave serve`: open the store and serve until interrupted.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let store = args.store.open()?;
    let config = args.server_config();
    let base = config.base_url.clone();
    let state = AppState::new(store.clone(), config);
    if let Some(path) = &args.identity_settings {
        let settings = crate::identity::read_settings(path)?;
        state.identity.set_settings(settings).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let restored = weave_server::reindex::restore(&state).map_err(|e| anyhow::anyhow!("restoring custom search parameters: {e}"))?;
    if restored > 0 {
        eprintln!("weave: {restored} custom search parameters in force");
    }
    let rt = runtime()?;
    rt.block_on(async {
        if let Some(mllp) = args.mllp {
            // Bound before the HTTP server starts, so a taken port is an error at start-up.
            let listener = tokio::net::TcpListener::bind(mllp)
                .await
                .with_context(|| format!("listening for MLLP on {mllp}"))?;
            eprintln!("weave: receiving HL7 v2 over MLLP on {mllp}");
            let config = weave_server::MllpConfig::default();
            tokio::spawn(weave_server::serve_mllp_on(state.clone(), listener, config));
        }
        // Links arriving Patients into Persons, following the change feed.
        weave_server::identity::spawn_linker(state.clone());
        if args.inbound_retention_days > 0 {
            tokio::spawn(purge_inbound(store.clone(), args.inbound_retention_days));
        }
        eprintln!("weave: serving the FHIR API at {base} (store {})", args.store.db.display());
        weave_server::serve(state, args.addr).await.with_context(|| format!("serving on {}", args.addr))
    })?;
    store.close();
    Ok(())
}

/// Applies the inbound retention at start and then hourly.
async fn purge_inbound(store: Arc<SqliteStore>, days: u64) {
    let keep = i64::try_from(days.saturating_mul(86_400_000_000)).unwrap_or(i64::MAX);
    loop {
        let cutoff = weave_store::now_micros().saturating_sub(keep);
        let s = store.clone();
        match tokio::task::spawn_blocking(move || weave_store::Store::purge_inbound(&*s, cutoff)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, days, "inbound records past retention removed"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "inbound retention failed"),
            Err(e) => tracing::warn!(error = %e, "inbound retention task failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
