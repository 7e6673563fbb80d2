//! `gwmon simulate`: the load generator ([`crate::tools::loadgen`]) publishing for devices of
//! the synthetic fleet ([`crate::tools::fleet`]), or `--write-config` for those devices; with
//! `--protocol` and `--gateway`, simulated field terminals ([`crate::tools::rtu`]) reporting
//! to a gateway instead.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Common;
use super::common::runtime;
use crate::config::stations::Protocol;
use crate::tools::{fleet, loadgen, rtu};

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
    /// Simulate field terminals of this protocol (the stations.csv rows of it) reporting to
    /// --gateway, instead of publishing over MQTT.
    #[arg(long, value_name = "sl651|szy206", requires = "gateway")]
    pub protocol: Option<Protocol>,
    /// The gateway's address (host:port) the terminals connect to.
    #[arg(long, value_name = "ADDR", requires = "protocol")]
    pub gateway: Option<String>,
    /// Reports per terminal (with --protocol).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rounds: u32,
    /// Seconds between a terminal's reports (with --protocol; 0: as soon as confirmed).
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    pub interval: f64,
    /// Seconds a terminal waits for a confirm before it sends again (with --protocol).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub confirm_timeout: f64,
    /// No junk bytes, wrong CRC or late backlog (with --protocol).
    #[arg(long)]
    pub no_faults: bool,
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
    if let (Some(protocol), Some(gateway)) = (args.protocol, args.gateway.clone()) {
        return terminals(&cfg, protocol, gateway, &args);
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

/// Simulated terminals of `protocol` report to the gateway; prints what they saw.
fn terminals(
    cfg: &crate::config::Config,
    protocol: Protocol,
    gateway: String,
    args: &SimulateArgs,
) -> anyhow::Result<ExitCode> {
    let stations = rtu::stations(cfg, protocol, args.devices);
    let step_s = loadgen::STEP_S;
    let rounds = args.rounds.max(1);
    let opts = rtu::RtuOptions {
        gateway,
        rounds,
        interval: Duration::from_secs_f64(args.interval.max(0.0)),
        // Observations a step apart, the last one a step ago: in the past, within the month a
        // 5-byte SZY 206 time label can express.
        start_ts: (crate::domain::time::now_ts() / step_s - i64::from(rounds) - 1) * step_s,
        step_s,
        confirm_timeout: Duration::from_secs_f64(args.confirm_timeout.max(0.1)),
        faults: !args.no_faults,
    };
    let r = runtime(None)?.block_on(rtu::run(opts, protocol, stations, cfg.clock.clone()))?;
    println!(
        "{} {protocol} terminals: {} reports, {} confirmed, {} sent again after a missing confirm, {} given up, {} could not connect ({:.2} s, {:.0} confirms/s)",
        r.stations,
        r.reports,
        r.confirmed,
        r.resent,
        r.unconfirmed,
        r.connect_failures,
        r.seconds,
        r.confirms_per_s
    );
    Ok(if r.unconfirmed > 0 || r.connect_failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
