//! `gwmon simulate`: the load generator ([`crate::tools::loadgen`]) publishing for devices of
//! the synthetic fleet ([`crate::tools::fleet`]), or `--write-config` for those devices.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Common;
use super::common::runtime;
use crate::tools::{fleet, loadgen};

/// Wells in a registry written by `--write-config`: as many as in the benchmarks' store.
const SYNTHETIC_WELLS: usize = 200;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub common: Common,
    /// Broker URL (default: [mqtt] url of the config).
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Number of devices (the registry's first N intakes; beyond the registry, synthetic
    /// ids S000000… — see --write-config).
    #[arg(long, value_name = "N")]
    pub devices: Option<usize>,
    /// Messages per second over all connections (default: as fast as possible).
    #[arg(long, value_name = "MSG_PER_S")]
    pub rate: Option<f64>,
    /// Readings per message (backlog arrays when > 1).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub batch: usize,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Publishing connections.
    #[arg(long, value_name = "C", default_value_t = 4)]
    pub connections: usize,
    /// Write a config and registry for the synthetic devices to DIR and exit.
    #[arg(long, value_name = "DIR")]
    pub write_config: Option<PathBuf>,
}

/// Publishes and prints what the broker acknowledged, or writes the synthetic config.
pub fn exec(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let n = args.devices.unwrap_or(cfg.registry.intakes.len());
    if let Some(dir) = args.write_config {
        let path = fleet::write_synthetic_config(&dir, n, SYNTHETIC_WELLS)?;
        println!(
            "wrote {} ({n} synthetic intakes, {SYNTHETIC_WELLS} wells)",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let devices = fleet::devices(&cfg, n)?;
    let batch = args.batch.max(1);
    let duration = args.duration.map(Duration::from_secs_f64);
    let planned = loadgen::planned_messages(args.count, args.rate, duration);
    let opts = loadgen::LoadOptions {
        broker: args.broker.unwrap_or_else(|| cfg.mqtt.url.clone()),
        rate: args.rate,
        batch,
        duration,
        count: args.count,
        connections: args.connections,
        topic_prefix: cfg.mqtt.topic_prefix.clone(),
        start_ts: loadgen::first_reading_ts(
            crate::domain::time::now_ts(),
            planned,
            devices.len(),
            batch,
        ),
        step_s: loadgen::STEP_S,
        client_id: format!("gwmon-sim-{}", std::process::id()),
    };
    let r = runtime(None)?.block_on(loadgen::run(opts, devices))?;
    println!(
        "published {} messages ({} readings) in {:.2} s: {:.0} msg/s, {:.0} readings/s (acknowledged by the broker)",
        r.messages, r.readings, r.seconds, r.messages_per_s, r.readings_per_s
    );
    Ok(ExitCode::SUCCESS)
}
