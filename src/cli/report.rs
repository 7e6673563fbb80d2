//! `gwmon report`: the self-assessment bundle for one county or all of them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::Common;
use super::common::{Evaluation, evaluation};
use crate::output::report::{CsvForm, Options};
use crate::report::report_with;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,
    /// One county (GB/T 2260 code or name).
    #[arg(
        long,
        value_name = "CODE",
        conflicts_with = "all",
        required_unless_present = "all"
    )]
    pub county: Option<String>,
    /// Every county.
    #[arg(long)]
    pub all: bool,
    /// Calendar year (default: the as-of date's year).
    #[arg(long, value_name = "Y")]
    pub year: Option<i16>,
    /// Evaluate as of this local date (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// CSVs for scripts: no byte-order mark, English headers (`year,month,withdrawal_m3`).
    /// Without it they are for Excel: UTF-8 with a byte-order mark, Chinese headers with units.
    #[arg(long)]
    pub csv_plain: bool,
    /// Hydrographs as depth to water (埋深) on an inverted axis, instead of level above the datum.
    #[arg(long)]
    pub depth: bool,
    /// County charts without their title line, for a document whose numbered captions carry
    /// it (the Word appendix's do: 图1 退出准备度 …). The 示例数据 label and the footer stay.
    #[arg(long)]
    pub no_chart_titles: bool,
}

/// Writes the bundle into `--out` and says where to open it.
pub fn exec(args: ReportArgs) -> anyhow::Result<ExitCode> {
    // `--all` only stands for "no --county": clap makes the two exclusive.
    let Evaluation { cfg, as_of, county } = evaluation(
        &args.common,
        args.as_of.as_deref(),
        args.year,
        args.county.as_deref(),
    )?;
    let t = Instant::now();
    let options = Options {
        csv: if args.csv_plain {
            CsvForm::Plain
        } else {
            CsvForm::Excel
        },
        depth: args.depth,
        untitled: args.no_chart_titles,
    };
    let r = report_with(
        &cfg,
        &args.common.db_path(&cfg),
        as_of,
        county,
        &args.out,
        options,
    )?;
    println!(
        "wrote {} files in {:.1} s; open {}",
        r.files.len(),
        t.elapsed().as_secs_f64(),
        r.index.display()
    );
    Ok(ExitCode::SUCCESS)
}
