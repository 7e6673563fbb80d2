//! `gwmon serve`: the web view and its API on a store, read-only, without ingesting (a
//! reporting machine, a copy of the store, the demo). `gwmon run` serves the same pages on its
//! own listener.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime, shutdown_signal};
use crate::daemon::{HttpParts, Supervisor, url};

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
    if !crate::store::exists(&db) {
        eprintln!(
            "error: no store at {}: run `gwmon run` or `gwmon import` first, or pass --db",
            crate::store::describe(&db)
        );
        return Ok(ExitCode::from(WILL_NOT_START));
    }
    let rt = runtime(Some(DAEMON_WORKERS))?;
    let cfg = Arc::new(cfg);
    rt.block_on(async {
        let daemon = Supervisor::new();
        let started = daemon
            .start_http(Arc::clone(&cfg), db, HttpParts::default())
            .await;
        let addr = match started {
            Ok(addr) => addr,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(WILL_NOT_START));
            }
        };
        println!("serving {}", url(&cfg, addr));
        shutdown_signal().await;
        daemon.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
