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
