//! `gwmon status`: the status document as a table in Chinese, or as JSON.

use std::process::ExitCode;

use clap::Args;

use super::Common;
use super::common::evaluated_status;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only this county (GB/T 2260 code, e.g. 140121).
    #[arg(long, value_name = "CODE")]
    pub county: Option<String>,
    /// Calendar year (default: the as-of date's year).
    #[arg(long, value_name = "Y")]
    pub year: Option<i16>,
    /// Evaluate as of this local date (default: today, or 31 December of --year if earlier).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Print the status document as JSON (fields documented in the README).
    #[arg(long)]
    pub json: bool,
}

/// Evaluates the store as of the chosen day and prints the result.
pub fn exec(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let doc = evaluated_status(
        &args.common,
        args.as_of.as_deref(),
        args.year,
        args.county.as_deref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", crate::output::terminal::status_table(&doc));
    }
    Ok(ExitCode::SUCCESS)
}
