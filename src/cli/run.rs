//! `gwmon run`: the ingest daemon, until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::daemon::{HttpParts, Supervisor};
use crate::ingest::health::Health;
use crate::ingest::mqtt::RunError;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime, shutdown_signal};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Broker URL (overrides [mqtt] url), e.g. mqtt://127.0.0.1:1883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Address of the web view, /healthz and /metrics (overrides [http] listen; "" for none).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

/// Exit code of a refusal that restarting cannot fix — an invalid configuration, a missing
/// password, a store another daemon holds — so a service manager can stop retrying
/// (`RestartPreventExitStatus=2`).
const WILL_NOT_START: u8 = 2;

/// Runs the daemon; returns once it has committed and acknowledged what it holds.
pub fn exec(args: RunArgs) -> anyhow::Result<ExitCode> {
    // SIGHUP's default action ends the process: take it over before anything else.
    let rt = runtime(Some(DAEMON_WORKERS))?;
    let hangup = {
        let _in_runtime = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    };
    let mut cfg = match args.common.load_config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("error: invalid configuration:\n{e}");
            return Ok(ExitCode::from(WILL_NOT_START));
        }
    };
    if let Some(url) = args.broker {
        cfg.mqtt.url = url;
    }
    if let Some(addr) = args.http {
        cfg.http.listen = addr;
    }
    let db = args.common.db_path(&cfg);
    // Devices whose data the registry no longer covers are said at start, not dropped silently.
    match super::common::unregistered_devices(&cfg, &db) {
        Ok(found) => {
            for w in found {
                tracing::warn!("{w}");
            }
        }
        Err(e) => tracing::debug!(error = %e, "could not look for unregistered devices"),
    }
    let cfg = Arc::new(cfg);
    let health = Arc::new(Health::new(crate::domain::time::now_ts()));
    let gateway_metrics = cfg
        .gateway
        .enabled
        .then(|| Arc::new(crate::gateway::metrics::Metrics::new()));
    let mut wiring = crate::ingest::mqtt::Wiring {
        health: Some(Arc::clone(&health)),
        ..Default::default()
    };
    // Reloads (SIGHUP) reach the ingest path and the web view alike.
    let reload = reloads(&rt, hangup, &args.common, &cfg);
    wiring.reload = reload.clone();
    let daemon = Supervisor::new();
    if !cfg.http.listen.is_empty() {
        let parts = HttpParts {
            health: Some(Arc::clone(&health)),
            gateway: gateway_metrics.clone(),
            reload,
        };
        let started = rt.block_on(daemon.start_http(Arc::clone(&cfg), db.clone(), parts));
        if let Err(e) = started {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(WILL_NOT_START));
        }
    }
    if let Some(metrics) = gateway_metrics {
        let (subscribed, ready) = tokio::sync::oneshot::channel();
        wiring.subscribed = Some(subscribed);
        if let Err(code) = start_gateway(&rt, &daemon, &cfg, &db, ready, metrics) {
            rt.block_on(daemon.shutdown());
            return Ok(code);
        }
    }
    // SIGTERM: the gateway stops taking frames, ingest commits and acknowledges, then the
    // listeners close (see `crate::daemon`).
    let result = rt.block_on(async {
        let shutdown = daemon.stop_inputs_after(shutdown_signal());
        let result = crate::ingest::mqtt::run_with(cfg, &db, shutdown, wiring).await;
        daemon.shutdown().await;
        result
    });
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e @ (RunError::Locked(_) | RunError::Client(_))) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(WILL_NOT_START))
        }
        Err(e) => Err(e.into()),
    }
}

/// The configurations a SIGHUP loads, from `cfg` on; `None` (with a warning) when SIGHUP
/// cannot be taken.
fn reloads(
    rt: &tokio::runtime::Runtime,
    hangup: std::io::Result<tokio::signal::unix::Signal>,
    common: &Common,
    cfg: &Arc<crate::config::Config>,
) -> Option<tokio::sync::watch::Receiver<Arc<crate::config::Config>>> {
    match hangup {
        Ok(hup) => {
            let (tx, rx) = tokio::sync::watch::channel(Arc::clone(cfg));
            let common = common.clone();
            rt.spawn(super::reload::on_hangup(
                hup,
                move || common.load_config(),
                tx,
            ));
            Some(rx)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot take SIGHUP: reloading the configuration needs a restart");
            None
        }
    }
}

/// `[gateway] enabled`: the field-terminal gateway in this process, on the daemon's broker and
/// store, under the daemon's supervisor. It takes terminals once the daemon has subscribed
/// (`ready`). A refusal (no stations, a listener that cannot bind) is the exit code to end with.
fn start_gateway(
    rt: &tokio::runtime::Runtime,
    daemon: &Supervisor,
    cfg: &Arc<crate::config::Config>,
    db: &std::path::Path,
    ready: tokio::sync::oneshot::Receiver<()>,
    metrics: Arc<crate::gateway::metrics::Metrics>,
) -> Result<(), ExitCode> {
    use crate::gateway::server;
    let refuse = |e: server::GatewayError| {
        eprintln!("error: [gateway] enabled: {e}");
        ExitCode::from(WILL_NOT_START)
    };
    server::require_stations(cfg).map_err(refuse)?;
    let listeners = rt
        .block_on(server::bind(&cfg.gateway.listen))
        .map_err(refuse)?;
    let opts = server::GatewayOptions {
        listen: cfg.gateway.listen.clone(),
        broker: cfg.mqtt.url.clone(),
        db: db.to_path_buf(),
    };
    let _in_runtime = rt.enter();
    daemon.start_gateway(Arc::clone(cfg), opts, listeners, metrics, ready);
    Ok(())
}
