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
            // What `run` checks before it connects: a config that passes here starts.
            let startup = startup_problems(&cfg);
            if !startup.is_empty() {
                eprintln!("invalid configuration:\n{}", startup.join("\n"));
                return Ok(ExitCode::from(INVALID_CONFIG));
            }
            print!("{}", crate::output::terminal::config_summary(&cfg));
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

/// The problems `gwmon run` would refuse to start with that loading the files does not find: the
/// broker URL, credentials (an unset password variable, an unreadable password file) and TLS
/// files of `[mqtt]`, the web listener's certificate and key, and a gateway enabled without
/// stations. Each is the error `run` would give.
fn startup_problems(cfg: &crate::config::Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = crate::mqtt::options(cfg) {
        out.push(format!("[mqtt]: {e}"));
    }
    match (&cfg.http.cert_file, &cfg.http.key_file) {
        (Some(cert), Some(key)) => {
            if let Err(e) = crate::http::load_tls(cert, key) {
                out.push(format!("[http]: {e}"));
            }
        }
        (None, None) => {}
        _ => out.push(
            "[http]: set both cert_file and key_file (TLS on the listener), or neither".into(),
        ),
    }
    if let Err(e) = crate::http::read_metrics_token(cfg) {
        out.push(e);
    }
    if cfg.gateway.enabled
        && let Err(e) = crate::gateway::server::require_stations(cfg)
    {
        out.push(format!("[gateway] enabled: {e}"));
    }
    out
}
