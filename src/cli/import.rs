//! `gwmon import`: historical readings from a CSV file, through the same validation as MQTT.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::Common;

/// Rejected rows listed on the terminal; a file of thousands of bad rows would bury the summary,
/// and every rejected row is in the quarantine table anyway.
const SHOWN_REJECTED: usize = 200;
/// Exit code when a file had rows and none was usable (stored or already there).
const NOTHING_USABLE: u8 = 1;
/// Exit code when some rows were rejected and the others stored (or already there).
const SOME_REJECTED: u8 = 3;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: Common,
    /// What the file holds.
    #[arg(long, value_enum)]
    pub kind: crate::ingest::import::ImportKind,
    /// The file's text encoding (default: UTF-8 if it is valid UTF-8, else GB18030/GBK).
    #[arg(long, value_enum)]
    pub encoding: Option<crate::ingest::import::Encoding>,
    /// CSV file with a header row.
    pub file: PathBuf,
}

/// Imports the file and prints what became of its rows, with the reasons for rejected ones.
pub fn exec(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let cfg = Arc::new(args.common.config()?);
    let db = args.common.db_path(&cfg);
    if let Err(e) = super::common::refuse_root_on_service_store(&db) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    if args.kind == crate::ingest::import::ImportKind::Replacement {
        let swaps = super::meter::read_file(&cfg, &args.file)?;
        return super::meter::finish(&cfg, &db, swaps);
    }
    if args.kind == crate::ingest::import::ImportKind::Electricity {
        return electricity(&cfg, &db, &args.file);
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let s = crate::ingest::import::import_csv(
        Arc::clone(&cfg),
        &db,
        args.kind,
        args.encoding,
        &args.file,
        tty,
        crate::domain::time::now_ts(),
    )?;
    println!(
        "{}{}: {} rows — {} stored, {} duplicates skipped, {} rejected",
        args.file.display(),
        if s.encoding == "UTF-8" {
            String::new()
        } else {
            format!(" (read as {})", s.encoding)
        },
        s.rows,
        s.stored,
        s.duplicates,
        s.rejected.len()
    );
    for r in s.rejected.iter().take(SHOWN_REJECTED) {
        println!("  line {}: {}", r.line, r.reason);
    }
    if s.rejected.len() > SHOWN_REJECTED {
        println!(
            "  … {} more (all are in the quarantine table)",
            s.rejected.len() - SHOWN_REJECTED
        );
    }
    if s.rows > 0 && s.stored == 0 && s.duplicates == 0 {
        eprintln!(
            "error: no row of {} was stored: every row was rejected (reasons above)",
            args.file.display()
        );
        return Ok(ExitCode::from(NOTHING_USABLE));
    }
    if !s.rejected.is_empty() {
        return Ok(ExitCode::from(SOME_REJECTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// A period of an electricity row: a month (`2025-07`), a day, or `first/last`.
fn period(s: &str) -> Result<(jiff::civil::Date, jiff::civil::Date), String> {
    let s = s.trim();
    let date = |t: &str| crate::domain::time::parse_date(t.trim(), "period");
    if let Some((a, b)) = s.split_once('/') {
        let (a, b) = (date(a)?, date(b)?);
        return if b < a {
            Err(format!("period '{s}': the last day is before the first"))
        } else {
            Ok((a, b))
        };
    }
    if let Some((y, m)) = crate::domain::time::parse_month_key(s) {
        let first = jiff::civil::Date::new(y, m, 1).map_err(|e| format!("period '{s}': {e}"))?;
        return Ok((first, first.last_of_month()));
    }
    let d = date(s).map_err(|_| {
        format!("period '{s}': expected a month (2025-07), a day (2025-07-01) or first/last day (2025-07-01/2025-07-15)")
    })?;
    Ok((d, d))
}

/// One electricity row, checked: (intake, first day, last day, kWh), or why it is refused.
fn bill(
    cfg: &crate::config::Config,
    id: &str,
    per: &str,
    kwh: &str,
) -> Result<(String, jiff::civil::Date, jiff::civil::Date, f64), String> {
    let intake = cfg
        .registry
        .intake(id)
        .ok_or_else(|| format!("unknown intake '{id}': give an intake_id of intakes.csv"))?;
    if intake.m3_per_kwh.is_none() {
        return Err(format!(
            "intake '{id}' has no m3_per_kwh in intakes.csv: without it kWh say nothing of the water"
        ));
    }
    let (a, b) = period(per)?;
    let v = kwh
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("kwh '{kwh}': expected kWh ≥ 0"))?;
    Ok((id.to_string(), a, b, v))
}

/// `import --kind electricity`: each row's kWh for its intake and period (以电折水). The intake
/// must carry `m3_per_kwh` in intakes.csv. Exit codes as for readings.
fn electricity(
    cfg: &crate::config::Config,
    db: &std::path::Path,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let (rows, [i, p, k]) =
        crate::ingest::import::read_table(file, ["intake_id", "period", "kwh"])?;
    let conn = crate::store::open_write(db, crate::store::Durability::Normal)?;
    let (mut stored, mut refused) = (0usize, Vec::new());
    for (line, r) in rows {
        let f = |c: usize| r.get(c).unwrap_or("");
        let row = bill(cfg, f(i), f(p), f(k));
        match row {
            Ok((id, a, b, kwh)) => {
                crate::store::volumes::put_electricity(&conn, &id, a, b, kwh)?;
                stored += 1;
            }
            Err(e) => refused.push(format!("{} line {line}: {e}", file.display())),
        }
    }
    println!(
        "{}: {} rows — {stored} stored, {} rejected",
        file.display(),
        stored + refused.len(),
        refused.len()
    );
    for r in &refused {
        println!("  {r}");
    }
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else if stored == 0 {
        ExitCode::from(NOTHING_USABLE)
    } else {
        ExitCode::from(SOME_REJECTED)
    })
}
