//! One supervisor for the parts of a running gwmon: the field-terminal gateway, MQTT ingest and
//! the HTTP listener (web view, `/healthz`, `/metrics`). `gwmon run`, `gwmon serve` and the
//! demo's web view start their parts through a [`Supervisor`], which tracks every task they
//! spawn and stops them in one order:
//!
//! 1. stop taking input — the gateway accepts no terminal and reads no new frame; each frame it
//!    is handling is published, acknowledged by the broker and answered; its tasks are waited
//!    for ([`Supervisor::stop_inputs_after`]);
//! 2. ingest, whose shutdown that future is, stops polling, commits what it holds and
//!    acknowledges it to the broker (`ingest::mqtt::run_with` returns);
//! 3. close the listeners — the HTTP listener stops accepting and each open connection gets the
//!    answer to the request it is making; health and metrics answer until here
//!    ([`Supervisor::shutdown`]);
//! 4. exit.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::config::{Config, ListenProtocol};
use crate::gateway::metrics::Metrics;
use crate::gateway::server::{self, GatewayOptions};
use crate::http::Serve;
use crate::ingest::health::Health;

/// The daemon's tasks and the tokens that stop them.
#[derive(Default)]
pub struct Supervisor {
    /// Stops what takes input from outside: the gateway's terminals.
    input: CancellationToken,
    inputs: TaskTracker,
    /// Stops what only answers: the HTTP listener, closed last.
    listeners: CancellationToken,
    listening: TaskTracker,
}

/// What the HTTP listener serves beside the pages: the daemon's health and the gateway's
/// counters on `/metrics`, and the reloaded configuration.
#[derive(Default)]
pub struct HttpParts {
    pub health: Option<Arc<Health>>,
    pub gateway: Option<Arc<Metrics>>,
    pub reload: Option<watch::Receiver<Arc<Config>>>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `[http] listen`, loads its TLS files and serves until [`Supervisor::shutdown`]:
    /// the bound address, or what stopped it (in words an operator can act on).
    pub async fn start_http(
        &self,
        cfg: Arc<Config>,
        db: PathBuf,
        parts: HttpParts,
    ) -> Result<SocketAddr, String> {
        crate::http::read_metrics_token(&cfg)?;
        let tls = match (&cfg.http.cert_file, &cfg.http.key_file) {
            (Some(cert), Some(key)) => {
                Some(crate::http::load_tls(cert, key).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(&cfg.http.listen)
            .await
            .map_err(|e| {
                format!(
                    "cannot listen on {} ({e}): set [http] listen (or --http) to a free address, or \"\" for none",
                    cfg.http.listen
                )
            })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        info!(address = %addr, tls = tls.is_some(), "serving the web view");
        let serve = Serve {
            cfg,
            reload: parts.reload,
            db,
            health: parts.health,
            gateway: parts.gateway,
            tls,
        };
        let stop = self.listeners.clone();
        self.listening.spawn(async move {
            match crate::http::serve(listener, serve, stop).await {
                Ok(()) => info!("web listener closed"),
                Err(e) => tracing::error!(error = %e, "the web listener stopped"),
            }
        });
        Ok(addr)
    }

    /// Serves field terminals on `listeners` once `ready` fires (the daemon has subscribed: on
    /// a broker that has not seen its session yet, a reading published earlier would match no
    /// subscription and be dropped after its terminal was confirmed), until the inputs stop.
    /// Call it inside the runtime.
    pub fn start_gateway(
        &self,
        cfg: Arc<Config>,
        opts: GatewayOptions,
        listeners: Vec<(tokio::net::TcpListener, ListenProtocol)>,
        metrics: Arc<Metrics>,
        ready: oneshot::Receiver<()>,
    ) {
        let stop = self.input.clone();
        self.inputs.spawn(async move {
            tokio::select! {
                r = ready => if r.is_err() { return },
                _ = stop.cancelled() => return,
            }
            let stopped = stop.cancelled_owned();
            if let Err(e) = server::serve(cfg, opts, listeners, metrics, stopped).await {
                tracing::error!(error = %e, "the field-terminal gateway stopped; the daemon goes on");
            }
        });
    }

    /// Resolves once `signal` has and the inputs have stopped (every frame being handled
    /// published and answered): the shutdown to hand to ingest, so that it commits and
    /// acknowledges after the last reading the gateway took.
    pub fn stop_inputs_after(
        &self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let (stop, inputs) = (self.input.clone(), self.inputs.clone());
        async move {
            signal.await;
            stop.cancel();
            inputs.close();
            inputs.wait().await;
        }
    }

    /// Stops what is still running, in order — the inputs, then the listeners — and waits for
    /// every task.
    pub async fn shutdown(&self) {
        self.input.cancel();
        self.inputs.close();
        self.inputs.wait().await;
        self.listeners.cancel();
        self.listening.close();
        self.listening.wait().await;
    }
}

/// The URL of an HTTP listener at `addr`.
pub fn url(cfg: &Config, addr: SocketAddr) -> String {
    let scheme = if cfg.http.cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}/")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The inputs stop before the listeners: a listener task still runs when the inputs'
    /// shutdown future resolves, and both are waited for.
    #[tokio::test]
    async fn inputs_stop_before_listeners_and_every_task_is_waited_for() {
        let s = Supervisor::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (stop, o) = (s.input.clone(), Arc::clone(&order));
        s.inputs.spawn(async move {
            stop.cancelled().await;
            tokio::task::yield_now().await;
            o.lock().unwrap().push("input");
        });
        let (stop, o) = (s.listeners.clone(), Arc::clone(&order));
        s.listening.spawn(async move {
            stop.cancelled().await;
            o.lock().unwrap().push("listener");
        });
        s.stop_inputs_after(async {}).await;
        order.lock().unwrap().push("ingest committed");
        assert!(!s.listeners.is_cancelled());
        s.shutdown().await;
        assert_eq!(
            *order.lock().unwrap(),
            ["input", "ingest committed", "listener"]
        );
    }
}
