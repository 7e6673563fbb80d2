//! `gwmon plan`: per county with an exit deadline, the cut each year to the exit year needs, what
//! planned closures and projects deliver, the gap, and the covered 自备井 to close next.

use std::process::ExitCode;

use clap::Args;

use super::Common;
use super::common::evaluated_status;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only this county (GB/T 2260 code or name, e.g. 140121).
    #[arg(long, value_name = "CODE")]
    pub county: Option<String>,
    /// Plan as of this local date (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Print the plans as JSON: one object per county, `{code, name, plan}` (the `plan` object
    /// of `status --json`).
    #[arg(long)]
    pub json: bool,
}

/// Evaluates the store as of the chosen day and prints each county's plan.
pub fn exec(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let doc = evaluated_status(
        &args.common,
        args.as_of.as_deref(),
        None,
        args.county.as_deref(),
    )?;
    if args.json {
        let plans: Vec<serde_json::Value> = doc
            .counties
            .iter()
            .map(|c| serde_json::json!({ "code": c.code, "name": c.name, "plan": c.plan }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&plans)?);
    } else {
        print!("{}", crate::output::terminal::plan_text(&doc));
    }
    Ok(ExitCode::SUCCESS)
}
