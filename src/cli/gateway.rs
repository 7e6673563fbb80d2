//! `gwmon gateway`: the TCP gateway for SL 651 / SZY 206 field terminals, until SIGTERM or
//! SIGINT; `gwmon gateway replay`: a station's archived frames decoded again with the current
//! stations.csv and published.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::Common;
use super::common::{ArgError, runtime, shutdown_signal};
use crate::config::stations::StationAddr;
use crate::config::{ListenConfig, ListenProtocol};
use crate::gateway::metrics::Metrics;
use crate::gateway::server::{self, GatewayOptions};

/// Worker threads of the gateway: sockets and the MQTT connection are light; the archive and
/// SQLite have a thread of their own.
const GATEWAY_WORKERS: usize = 2;

#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub common: Common,
    /// Listen on ADDR (ip:port), detecting the protocol per frame, instead of [gateway] listen.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Broker URL (overrides [mqtt] url), e.g. mqtt://127.0.0.1:1883.
    #[arg(long, value_name = "URL", global = true)]
    pub broker: Option<String>,
    /// Serve the gateway's Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Decode a station's archived frames again with the current stations.csv and publish their
    /// readings (readings already stored are duplicates the daemon ignores).
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The station's address as 10 hex digits, as in stations.csv.
    #[arg(long, value_name = "S")]
    pub station: String,
    /// Frames received from this time on: a date (2026-11-30, local midnight), a local time
    /// (2026-11-30 08:00) or RFC 3339.
    #[arg(long, value_name = "T")]
    pub since: String,
}

/// Runs the gateway, or a replay.
pub fn exec(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let db = args.common.db_path(&cfg);
    let broker = args.broker.clone().unwrap_or_else(|| cfg.mqtt.url.clone());
    if let Some(GatewayCommand::Replay(r)) = args.command {
        let station: StationAddr = r
            .station
            .parse()
            .map_err(|e| ArgError(format!("--station {e}")))?;
        let since = cfg
            .clock
            .parse_str(&r.since)
            .map_err(|e| ArgError(format!("--since: {e}")))?;
        let cfg = Arc::new(cfg);
        let report = runtime(Some(GATEWAY_WORKERS))?
            .block_on(server::replay(cfg, &broker, &db, station, since))
            .context("replaying")?;
        println!(
            "station {station}: {} archived rows, {} messages decoded, {} readings published{}",
            report.rows,
            report.frames,
            report.readings,
            if report.failed > 0 {
                format!(
                    ", {} messages not acknowledged by the broker (run the replay again)",
                    report.failed
                )
            } else {
                String::new()
            }
        );
        return Ok(if report.failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    // No stations is a refusal a restart cannot fix: exit code 2 (RestartPreventExitStatus=2).
    if let Err(e) = server::require_stations(&cfg) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let listen = match args.listen {
        Some(addr) => {
            addr.parse::<std::net::SocketAddr>().map_err(|_| {
                ArgError(format!(
                    "--listen {addr}: expected an IP address and port, e.g. 0.0.0.0:9651"
                ))
            })?;
            vec![ListenConfig {
                addr,
                protocol: ListenProtocol::Auto,
            }]
        }
        None => cfg.gateway.listen.clone(),
    };
    let cfg = Arc::new(cfg);
    let rt = runtime(Some(GATEWAY_WORKERS))?;
    let metrics = Arc::new(Metrics::new());
    if let Some(addr) = &args.metrics {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("--metrics {addr}: cannot listen there"))?;
        if let Ok(a) = listener.local_addr() {
            tracing::info!(address = %a, "serving the gateway's /metrics");
        }
        rt.spawn(serve_metrics(listener, Arc::clone(&metrics)));
    }
    let opts = GatewayOptions { listen, broker, db };
    rt.block_on(server::run(cfg, opts, metrics, shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}

/// `GET /metrics`: the gateway's counters in Prometheus text.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let m = Arc::clone(&metrics);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    m.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).await
}
