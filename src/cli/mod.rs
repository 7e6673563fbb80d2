//! Command-line interface (clap derive). `main.rs` parses, sets up logging and dispatches here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// gwmon — groundwater overdraft exit monitor for Taiyuan (太原市地下水超采区退出监测).
#[derive(Debug, Parser)]
#[command(name = "gwmon", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Configuration file. Without this option gwmon reads config/taiyuan.toml, or its built-in
    /// copy of it when that file does not exist.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// SQLite database (overrides [store] path).
    #[arg(long, value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole job on built-in defaults: an in-process broker, a simulated fleet with field
    /// faults, the daemon ingesting it, and the report bundle for every county.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Output folder (the store gwmon.db and the report bundle).
        #[arg(long, value_name = "DIR", default_value = "gwmon-demo")]
        out: PathBuf,
        /// Use this broker instead of the in-process one, e.g. mqtt://127.0.0.1:1883.
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
    },
    /// Run the ingest daemon: MQTT readings into the store, exactly once.
    Run {
        #[command(flatten)]
        common: Common,
        /// Broker URL (overrides [mqtt] url), e.g. mqtt://127.0.0.1:1883.
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
    },
    /// Withdrawals, level trends and the exit-readiness verdict per county.
    Status {
        #[command(flatten)]
        common: Common,
        /// Only this county (GB/T 2260 code, e.g. 140121).
        #[arg(long, value_name = "CODE")]
        county: Option<String>,
        /// Calendar year (default: the as-of date's year).
        #[arg(long, value_name = "Y")]
        year: Option<i16>,
        /// Evaluate as of this local date (default: today, or 31 December of --year if earlier).
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        /// Print the status document as JSON (fields documented in the README).
        #[arg(long)]
        json: bool,
    },
    /// Write the self-assessment bundle: charts (PNG + SVG), their CSVs, summary.md per county,
    /// and index.html.
    Report {
        #[command(flatten)]
        common: Common,
        /// One county (GB/T 2260 code or name).
        #[arg(
            long,
            value_name = "CODE",
            conflicts_with = "all",
            required_unless_present = "all"
        )]
        county: Option<String>,
        /// Every county.
        #[arg(long)]
        all: bool,
        /// Calendar year (default: the as-of date's year).
        #[arg(long, value_name = "Y")]
        year: Option<i16>,
        /// Evaluate as of this local date (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Import historical readings from CSV (idempotent).
    Import {
        #[command(flatten)]
        common: Common,
        /// What the file holds.
        #[arg(long, value_enum)]
        kind: crate::ingest::import::ImportKind,
        /// CSV file with a header row.
        file: PathBuf,
    },
    /// Load generator: publish meter readings over MQTT (QoS 1) from several connections.
    Simulate {
        #[command(flatten)]
        common: Common,
        /// Broker URL (default: [mqtt] url of the config).
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
        /// Number of devices (the registry's first N intakes; beyond the registry, synthetic
        /// ids S000000… — see --write-config).
        #[arg(long, value_name = "N")]
        devices: Option<usize>,
        /// Messages per second over all connections (default: as fast as possible).
        #[arg(long, value_name = "MSG_PER_S")]
        rate: Option<f64>,
        /// Readings per message (backlog arrays when > 1).
        #[arg(long, value_name = "K", default_value_t = 1)]
        batch: usize,
        /// Stop after this many seconds.
        #[arg(long, value_name = "S")]
        duration: Option<f64>,
        /// Stop after this many messages.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Publishing connections.
        #[arg(long, value_name = "C", default_value_t = 4)]
        connections: usize,
        /// Write a config and registry for the synthetic devices to DIR and exit.
        #[arg(long, value_name = "DIR")]
        write_config: Option<PathBuf>,
    },
    /// Validate the configuration and registry and print a summary (exit code 2 when invalid).
    CheckConfig {
        #[command(flatten)]
        common: Common,
    },
}

/// Why a command-line value was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

/// The as-of date from `--as-of` and `--year` (today by default; 31 December of a past year).
pub fn resolve_as_of(
    as_of: Option<&str>,
    year: Option<i16>,
    today: jiff::civil::Date,
) -> Result<jiff::civil::Date, ArgError> {
    let parsed = as_of
        .map(|s| crate::domain::time::parse_date(s, "--as-of").map_err(ArgError))
        .transpose()?;
    match (parsed, year) {
        (Some(d), Some(y)) if d.year() != y => Err(ArgError(format!(
            "--as-of {d} is not in --year {y}: give one of them, or a date inside the year"
        ))),
        (Some(d), _) => Ok(d),
        (None, Some(y)) if y < today.year() => {
            jiff::civil::Date::new(y, 12, 31).map_err(|e| ArgError(format!("--year {y}: {e}")))
        }
        (None, Some(y)) if y > today.year() => Err(ArgError(format!(
            "--year {y} has not begun (today is {today}): give the current or a past year"
        ))),
        (None, _) => Ok(today),
    }
}

/// A county from its code or Chinese name.
pub fn resolve_county(
    cfg: &crate::config::Config,
    s: &str,
) -> Result<crate::domain::CountyCode, ArgError> {
    cfg.counties
        .iter()
        .find(|c| c.code.to_string() == s.trim() || c.name == s.trim())
        .map(|c| c.code)
        .ok_or_else(|| {
            ArgError(format!(
                "unknown county '{s}': expected one of {}",
                cfg.counties
                    .iter()
                    .map(|c| format!("{} {}", c.code, c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}
