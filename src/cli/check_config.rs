//! `gwmon check-config`: validate the configuration and registry and print a summary.

use std::process::ExitCode;

use clap::Args;

use super::Common;

/// Exit code of an invalid configuration, so scripts can tell it from other failures.
const INVALID_CONFIG: u8 = 2;

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Prints the summary, or every problem found and exits with code 2.
pub fn exec(args: CheckConfigArgs) -> anyhow::Result<ExitCode> {
    match args.common.load_config() {
        Ok(cfg) => {
            print!("{}", crate::output::text::config_summary(&cfg));
            // Valid but open to forgery: said, not refused (a bureau may add passwords later).
            for w in cfg.stations.warnings() {
                eprintln!("warning: {w}");
            }
            // With --db (or GWMON_DB): devices the store holds data of but the registry lost.
            if args.common.db.is_some() {
                for w in super::common::unregistered_devices(&cfg, &args.common.db_path(&cfg))? {
                    eprintln!("warning: {w}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("invalid configuration:\n{e}");
            Ok(ExitCode::from(INVALID_CONFIG))
        }
    }
}
