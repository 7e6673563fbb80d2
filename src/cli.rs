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
    /// Run the ingest daemon: MQTT readings into the store, exactly once.
    Run {
        #[command(flatten)]
        common: Common,
        /// Broker URL (overrides [mqtt] url), e.g. mqtt://127.0.0.1:1883.
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
    },
    /// Validate the configuration and registry and print a summary (exit code 2 when invalid).
    CheckConfig {
        #[command(flatten)]
        common: Common,
    },
}
