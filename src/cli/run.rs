//! `gwmon run`: the ingest daemon, until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime, shutdown_signal};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Broker URL (overrides [mqtt] url), e.g. mqtt://127.0.0.1:1883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
}

/// Runs the daemon; returns once it has committed and acknowledged what it holds.
pub fn exec(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = args.common.config()?;
    if let Some(url) = args.broker {
        cfg.mqtt.url = url;
    }
    let db = args.common.db_path(&cfg);
    runtime(Some(DAEMON_WORKERS))?.block_on(crate::ingest::mqtt::run(
        Arc::new(cfg),
        &db,
        shutdown_signal(),
    ))?;
    Ok(ExitCode::SUCCESS)
}
