//! `gwmon devices`: every registered meter and well with what it last sent and whether it is
//! silent; `gwmon quarantine`: what was refused, by reason and device.

use std::process::ExitCode;

use clap::Args;

use super::Common;
use super::common::resolve_county;
use crate::assess::devices::{DeviceState, inventory};
use crate::domain::time::now_ts;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only this county (GB/T 2260 code or name).
    #[arg(long, value_name = "CODE")]
    pub county: Option<String>,
    /// Only silent devices and those that never reported.
    #[arg(long)]
    pub silent: bool,
    /// As at the end of this local day (default: now).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the inventory.
pub fn exec(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let county = args
        .county
        .as_deref()
        .map(|c| resolve_county(&cfg, c))
        .transpose()?;
    let until = cut(&cfg, args.as_of.as_deref())?;
    let conn = crate::store::open_read(&args.common.db_path(&cfg))?;
    let rows: Vec<_> = inventory(&cfg, &conn, until)?
        .into_iter()
        .filter(|d| county.is_none_or(|c| d.county == c))
        .filter(|d| !args.silent || d.state != DeviceState::Ok)
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", crate::output::terminal::devices_table(&rows, &cfg));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    #[command(flatten)]
    pub common: Common,
    /// Rows received on or after this local day (default: the last 7 days).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,
    /// Only this reason code (e.g. unknown_device, bad_timestamp).
    #[arg(long, value_name = "CODE")]
    pub reason: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the quarantine summary.
pub fn exec_quarantine(args: QuarantineArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let now = now_ts();
    let since = match args.since.as_deref() {
        Some(s) => cfg
            .clock
            .day_start(crate::domain::time::parse_date(s, "--since").map_err(super::ArgError)?),
        None => now - 7 * 86_400,
    };
    let conn = crate::store::open_read(&args.common.db_path(&cfg))?;
    let groups =
        crate::store::devices::quarantine_summary(&conn, since, now + 1, args.reason.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&groups)?);
    } else {
        print!(
            "{}",
            crate::output::terminal::quarantine_table(
                &groups,
                &cfg.clock,
                &cfg.clock.format(since)
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of `--as-of`'s local day, or now.
fn cut(cfg: &crate::config::Config, as_of: Option<&str>) -> anyhow::Result<i64> {
    Ok(match as_of {
        Some(s) => cfg
            .clock
            .day_end(crate::domain::time::parse_date(s, "--as-of").map_err(super::ArgError)?),
        None => now_ts(),
    })
}
