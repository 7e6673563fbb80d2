//! `gwmon demo`: the whole job in one command (the work is in [`crate::tools::demo`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub common: Common,
    /// Output folder (the store gwmon.db and the report bundle).
    #[arg(long, value_name = "DIR", default_value = "gwmon-demo")]
    pub out: PathBuf,
    /// Use this broker instead of the in-process one, e.g. mqtt://127.0.0.1:1883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
}

/// Runs the demo and prints the status table, what was ingested, and where the store and the
/// report are.
pub fn exec(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Built-in defaults unless a config is named: the demo must not pick up a deployment's
    // config/taiyuan.toml (its broker, its store) from the folder it is started in.
    let cfg = match &args.common.config {
        Some(_) => args.common.load_config()?,
        None => Config::embedded()?,
    };
    let now = crate::domain::time::now_ts();
    let today = cfg.clock.day_of(now);
    let s = runtime(Some(DAEMON_WORKERS))?.block_on(crate::tools::demo::run(
        cfg,
        &args.out,
        args.common.db.clone(),
        args.broker,
        today,
        now,
    ))?;
    print!("{}", crate::output::text::status_table(&s.report.status));
    println!(
        "\n{} messages published, {} readings stored, {} meter resets/replacements handled, {} inputs quarantined with reasons — {:.1} s.",
        s.messages, s.readings, s.meter_events, s.quarantined, s.seconds
    );
    if s.terminals > 0 {
        println!(
            "{} field terminals (SL 651, SZY 206) reported through the gateway: {} reports confirmed after the broker's acknowledgement.",
            s.terminals, s.terminal_reports
        );
    }
    println!(
        "store: {}  (try: gwmon status --db {})",
        s.db.display(),
        s.db.display()
    );
    println!(
        "report: {} ({} files)",
        s.report.index.display(),
        s.report.files.len()
    );
    Ok(ExitCode::SUCCESS)
}
