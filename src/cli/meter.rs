//! `gwmon meter replace`: a meter replacement entered by hand, one on the command line or many
//! from a CSV (`gwmon import --kind replacement` reads the same file). A refurbished or new
//! meter that starts higher than the old one ended would otherwise be a jump of withdrawal
//! (flagged as implausible, and it keeps quantity from passing); entered, the interval across
//! it counts what the old meter drew to its last total and what the new one drew from its
//! first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Common;
use crate::analysis::counter::Swap;
use crate::config::Config;
use crate::domain::time::now_ts;
use crate::store::{Durability, StoreSettings, open_store};

#[derive(Debug, Args)]
pub struct MeterArgs {
    #[command(subcommand)]
    pub action: MeterAction,
}

#[derive(Debug, Subcommand)]
pub enum MeterAction {
    /// Record that an intake's meter was replaced or refurbished: the old meter's last total
    /// and the new one's first; the days around it are recomputed.
    Replace(ReplaceArgs),
}

#[derive(Debug, Args)]
pub struct ReplaceArgs {
    #[command(flatten)]
    pub common: Common,
    /// The intake (intakes.csv `intake_id`).
    #[arg(long, required_unless_present = "file")]
    pub intake: Option<String>,
    /// When the meter was changed (local time, e.g. "2026-07-01 10:00", or RFC 3339).
    #[arg(long, required_unless_present = "file")]
    pub at: Option<String>,
    /// The old meter's last total, m³.
    #[arg(long, required_unless_present = "file")]
    pub old_final: Option<f64>,
    /// The new meter's total when it was installed, m³.
    #[arg(long, required_unless_present = "file")]
    pub new_start: Option<f64>,
    /// A CSV of replacements instead (header intake_id,at,old_final,new_start).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["intake", "at", "old_final", "new_start"])]
    pub file: Option<PathBuf>,
}

/// One replacement, checked: (intake, the swap), or why not (naming what was wrong).
fn check(
    cfg: &Config,
    intake: &str,
    at: &str,
    old_final: &str,
    new_start: &str,
    now: i64,
) -> Result<(String, Swap), String> {
    if cfg.registry.intake(intake).is_none() {
        return Err(format!(
            "unknown intake '{intake}': give an intake_id of the registry (intakes.csv)"
        ));
    }
    let at_ts = cfg
        .clock
        .parse_str(at.trim())
        .map_err(|e| format!("at '{at}': {e}; write the local time, e.g. 2026-07-01 10:00"))?;
    if at_ts > now {
        return Err(format!(
            "at '{at}' is in the future: enter a replacement once it is done"
        ));
    }
    let number = |what: &str, v: &str| -> Result<f64, String> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("{what} '{v}': expected a meter total ≥ 0 in m³"))
    };
    Ok((
        intake.to_string(),
        Swap {
            at: at_ts,
            old_final: number("old_final", old_final)?,
            new_start: number("new_start", new_start)?,
        },
    ))
}

/// Records `swaps` in the store at `db`: how many, and each refused one with its reason.
fn record(
    cfg: &Config,
    db: &Path,
    swaps: Vec<Result<(String, Swap), String>>,
) -> anyhow::Result<(usize, Vec<String>)> {
    let mut store = open_store(StoreSettings::from_config(cfg), db, Durability::Normal)?;
    let (mut done, mut refused) = (0, Vec::new());
    for s in swaps {
        match s {
            Ok((intake, swap)) => {
                store.enter_replacement(&intake, swap, now_ts())?;
                println!(
                    "{intake}: meter replaced at {} recorded (old meter's last total {} m³, new meter from {} m³); the days around it are recomputed",
                    cfg.clock.format(swap.at),
                    swap.old_final,
                    swap.new_start
                );
                done += 1;
            }
            Err(e) => refused.push(e),
        }
    }
    Ok((done, refused))
}

/// Reads a replacements CSV: one checked replacement (or the reason it is refused, with its
/// line) per row.
pub fn read_file(cfg: &Config, file: &Path) -> anyhow::Result<Vec<Result<(String, Swap), String>>> {
    let (rows, [i, a, o, n]) =
        crate::ingest::import::read_table(file, ["intake_id", "at", "old_final", "new_start"])?;
    let now = now_ts();
    Ok(rows
        .into_iter()
        .map(|(line, rec)| {
            let f = |c: usize| rec.get(c).unwrap_or("");
            check(cfg, f(i), f(a), f(o), f(n), now)
                .map_err(|e| format!("{} line {line}: {e}", file.display()))
        })
        .collect())
}

/// Records the replacements and says what became of them: 0 when all were recorded, 3 when
/// some were refused, 1 when none was usable.
pub fn finish(
    cfg: &Config,
    db: &Path,
    swaps: Vec<Result<(String, Swap), String>>,
) -> anyhow::Result<ExitCode> {
    let total = swaps.len();
    let (done, refused) = record(cfg, db, swaps)?;
    for r in &refused {
        eprintln!("refused: {r}");
    }
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else if done == 0 && total > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::from(3)
    })
}

pub fn exec(args: MeterArgs) -> anyhow::Result<ExitCode> {
    let MeterAction::Replace(a) = args.action;
    let cfg = a.common.config()?;
    let db = a.common.db_path(&cfg);
    if let Err(e) = super::common::refuse_root_on_service_store(&db) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let swaps = match &a.file {
        Some(f) => read_file(&cfg, f)?,
        None => {
            let (Some(intake), Some(at), Some(old), Some(new)) =
                (&a.intake, &a.at, a.old_final, a.new_start)
            else {
                anyhow::bail!("give --intake, --at, --old-final and --new-start, or --file");
            };
            vec![check(
                &cfg,
                intake,
                at,
                &old.to_string(),
                &new.to_string(),
                now_ts(),
            )]
        }
    };
    finish(&cfg, &db, swaps)
}
