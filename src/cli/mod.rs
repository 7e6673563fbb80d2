//! The command line: clap derive for the arguments, one file per command, and the helpers they
//! share (config, store path, as-of date, county, shutdown signal) in `common`. `main.rs` parses
//! the arguments, sets up logging and hands over to [`run()`]; each command prints its own output
//! and returns the process's exit code.

mod backup;
mod check_config;
mod common;
mod completions;
mod demo;
mod devices;
mod gateway;
mod import;
pub mod logtime;
mod meter;
mod migrate_store;
mod plan;
mod reload;
mod report;
mod run;
mod serve;
mod simulate;
mod status;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use backup::BackupArgs;
pub use check_config::CheckConfigArgs;
pub use common::{ArgError, Common, resolve_as_of, resolve_county};
pub use completions::{CompletionsArgs, ManArgs};
pub use demo::DemoArgs;
pub use devices::{DevicesArgs, QuarantineArgs};
pub use gateway::{GatewayArgs, GatewayCommand, ReplayArgs};
pub use import::ImportArgs;
pub use meter::MeterArgs;
pub use migrate_store::MigrateStoreArgs;
pub use plan::PlanArgs;
pub use report::ReportArgs;
pub use run::RunArgs;
pub use serve::ServeArgs;
pub use simulate::SimulateArgs;
pub use status::StatusArgs;
pub use token::TokenArgs;

/// gwmon — groundwater overdraft exit monitor for Taiyuan (太原市地下水超采区退出监测).
#[derive(Debug, Parser)]
#[command(name = "gwmon", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole job on built-in defaults: an in-process broker, a simulated fleet with field
    /// faults, the daemon ingesting it, and the report bundle for every county.
    Demo(DemoArgs),
    /// Run the ingest daemon: MQTT readings into the store, exactly once.
    Run(RunArgs),
    /// Withdrawals, level trends and the exit-readiness verdict per county.
    Status(StatusArgs),
    /// The way out per county: the cut each year to the exit year needs, what planned closures
    /// and projects deliver, the gap, and the 自备井 inside the supply coverage to close next.
    Plan(PlanArgs),
    /// Write the self-assessment bundle: charts (PNG + SVG), their CSVs, summary.md per county,
    /// and index.html.
    Report(ReportArgs),
    /// Import historical readings from CSV (idempotent).
    Import(ImportArgs),
    /// Meter changes entered by hand: `meter replace` records a replaced or refurbished meter's
    /// last and first totals, so its new start is no withdrawal.
    Meter(MeterArgs),
    /// Load generator: publish meter readings over MQTT (QoS 1) from several connections.
    Simulate(SimulateArgs),
    /// Every registered meter and well: last reading, readings and refusals today, and whether
    /// it is silent.
    Devices(DevicesArgs),
    /// What was refused, grouped by reason and device.
    Quarantine(QuarantineArgs),
    /// The web view and its API on a store, read-only, without ingesting.
    Serve(ServeArgs),
    /// Access tokens of the web view: add (printed once), list, revoke.
    Token(TokenArgs),
    /// Validate the configuration and registry and print a summary (exit code 2 when invalid).
    CheckConfig(CheckConfigArgs),
    /// An online, consistent copy of the store beside the running daemon, checked before it
    /// is put in place (a plain copy of a live store is not a backup).
    Backup(BackupArgs),
    /// Copy a SQLite store into an empty PostgreSQL store and check the copy: rows per table,
    /// each county's withdrawal per year.
    MigrateStore(MigrateStoreArgs),
    /// Print the shell completion script (bash, zsh, fish, …).
    Completions(CompletionsArgs),
    /// Write the manual pages (gwmon.1 and one per command).
    Man(ManArgs),
    /// The TCP gateway for field terminals speaking SL 651-2014 or SZY 206-2016: their readings
    /// to the broker, each frame confirmed once the broker holds its readings; `replay` decodes
    /// a station's archived frames again.
    Gateway(GatewayArgs),
}

/// Runs one command. Errors are the caller's to print (`main` prints `error: ` and the chain of
/// causes); refusals that have an exit code of their own (an invalid config: 2) are handled here.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::exec(args),
        Command::Run(args) => run::exec(args),
        Command::Status(args) => status::exec(args),
        Command::Plan(args) => plan::exec(args),
        Command::Report(args) => report::exec(args),
        Command::Import(args) => import::exec(args),
        Command::Meter(args) => meter::exec(args),
        Command::Simulate(args) => simulate::exec(args),
        Command::Devices(args) => devices::exec(args),
        Command::Quarantine(args) => devices::exec_quarantine(args),
        Command::CheckConfig(args) => check_config::exec(args),
        Command::Backup(args) => backup::exec(args),
        Command::MigrateStore(args) => migrate_store::exec(args),
        Command::Completions(args) => completions::exec_completions(args),
        Command::Man(args) => completions::exec_man(args),
        Command::Serve(args) => serve::exec(args),
        Command::Token(args) => token::exec(args),
        Command::Gateway(args) => gateway::exec(args),
    }
}
