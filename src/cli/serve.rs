//! `gwmon serve`: the web view and its API on a store, read-only, without ingesting (a
//! reporting machine, a copy of the store, the demo). `gwmon run` serves the same pages on its
//! own listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime, shutdown_signal};
use crate::config::Config;
use crate::http::Serve;
use crate::ingest::health::Health;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address to listen on (overrides [http] listen), e.g. 0.0.0.0:9650.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

/// Exit code when the listener cannot start (a taken address, unreadable TLS files): restarting
/// does not help until the configuration changes.
const WILL_NOT_START: u8 = 2;

pub fn exec(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match args.common.load_config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("error: invalid configuration:\n{e}");
            return Ok(ExitCode::from(WILL_NOT_START));
        }
    };
    if let Some(addr) = args.http {
        cfg.http.listen = addr;
    }
    if cfg.http.listen.is_empty() {
        eprintln!("error: no address to serve on: set [http] listen or --http ADDR");
        return Ok(ExitCode::from(WILL_NOT_START));
    }
    let db = args.common.db_path(&cfg);
    if !db.exists() {
        eprintln!(
            "error: no store at {}: run `gwmon run` or `gwmon import` first, or pass --db",
            db.display()
        );
        return Ok(ExitCode::from(WILL_NOT_START));
    }
    let rt = runtime(Some(DAEMON_WORKERS))?;
    let cfg = Arc::new(cfg);
    let started = rt.block_on(start(Arc::clone(&cfg), db, None, None, None));
    let addr = match started {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(WILL_NOT_START));
        }
    };
    println!("serving {}", url(&cfg, addr));
    rt.block_on(shutdown_signal());
    Ok(ExitCode::SUCCESS)
}

/// The URL of the listener at `addr`.
pub fn url(cfg: &Config, addr: SocketAddr) -> String {
    let scheme = if cfg.http.cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}/")
}

/// Binds `[http] listen`, loads its TLS files, and serves in a task of the current runtime:
/// the bound address, or what stopped it (in words an operator can act on).
pub async fn start(
    cfg: Arc<Config>,
    db: PathBuf,
    health: Option<Arc<Health>>,
    gateway: Option<Arc<crate::gateway::metrics::Metrics>>,
    reload: Option<tokio::sync::watch::Receiver<Arc<Config>>>,
) -> Result<SocketAddr, String> {
    crate::http::read_metrics_token(&cfg)?;
    let tls = match (&cfg.http.cert_file, &cfg.http.key_file) {
        (Some(cert), Some(key)) => {
            Some(crate::http::load_tls(cert, key).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&cfg.http.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} ({e}): set [http] listen (or --http) to a free address, or \"\" for none",
                cfg.http.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %addr, tls = tls.is_some(), "serving the web view");
    let serve = Serve {
        cfg,
        reload,
        db,
        health,
        gateway,
        tls,
    };
    tokio::spawn(async move {
        if let Err(e) = crate::http::serve(listener, serve).await {
            tracing::error!(error = %e, "the web listener stopped");
        }
    });
    Ok(addr)
}
