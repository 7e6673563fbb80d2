//! `gwmon backup DEST`: an online, consistent copy of the store, beside the running daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Common;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub common: Common,
    /// The file to write, e.g. /var/backups/gwmon/gwmon-2026-12-05.db.
    pub dest: PathBuf,
    /// Replace DEST if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Copies the store, checks the copy and says what it holds.
pub fn exec(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let db = args.common.db_path(&cfg);
    let r = crate::store::backup::backup(&db, &args.dest, args.force)?;
    println!(
        "{} → {}: {} meter readings, {} level readings, {} quarantine rows; {:.1} MB; checked (quick_check ok, schema version {})",
        db.display(),
        args.dest.display(),
        r.counts.meter_readings,
        r.counts.level_readings,
        r.counts.quarantined,
        r.bytes as f64 / 1e6,
        r.schema_version
    );
    Ok(ExitCode::SUCCESS)
}
