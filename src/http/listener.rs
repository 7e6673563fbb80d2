//! The web listener's connections, plain or TLS: who is taken, and how long a connection may
//! hold a descriptor without sending a request.
//!
//! - At most `[http] max_connections` open, `max_connections_per_address` from one address;
//!   others are closed at once.
//! - Accepting pauses while the process is near its open-file limit, so that the store and
//!   the broker connection always find a descriptor (an `accept` failing with EMFILE would
//!   otherwise spin while every other part of the process fails too).
//! - A TLS handshake has `tls_handshake_timeout_s`; a request head has `header_read_timeout_s`
//!   from the moment the connection waits for one, which covers a new connection that sends
//!   nothing, a head sent a byte at a time, and a kept-alive connection between requests.
//!
//! Each connection is served by hyper's HTTP/1.1 connection on a task of its own. When the
//! shutdown token is cancelled the listener stops accepting, each connection finishes the
//! request it is answering and closes (hyper's graceful shutdown), and [`serve`] returns once
//! they have, or after [`DRAIN`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;
use tracing::{debug, warn};

use crate::config::Config;
use crate::gateway::admission::{Refusal, Slots, fd_budget};

/// The application with the connection's address, as one connection serves it.
type Svc = axum::middleware::AddExtension<Router, axum::extract::ConnectInfo<SocketAddr>>;

/// How connections are taken and timed out.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read: Duration,
    pub tls_handshake: Duration,
    pub max_connections: usize,
    pub max_per_address: usize,
}

impl Limits {
    pub fn of(cfg: &Config) -> Self {
        let h = &cfg.http;
        Limits {
            header_read: Duration::from_secs(h.header_read_timeout_s),
            tls_handshake: Duration::from_secs(h.tls_handshake_timeout_s),
            max_connections: h.max_connections,
            max_per_address: h.max_connections_per_address,
        }
    }
}

/// How long [`serve`] waits at shutdown for the connections' requests to be answered.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `shutdown` is cancelled, then waits for the open
/// connections to finish their requests (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = TaskTracker::new();
    tokio::select! {
        r = accept_loop(listener, app, tls, limits, &connections, &shutdown) => r?,
        _ = shutdown.cancelled() => {}
    }
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        warn!(
            open = connections.len(),
            "web listener: connections still open {} s after shutdown were dropped",
            DRAIN.as_secs()
        );
    }
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    mut app: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    connections: &TaskTracker,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Slots::new(limits.max_connections, limits.max_per_address);
    let budget = fd_budget();
    let closed = Arc::new(Notify::new());
    let mut refused_logged: Option<std::time::Instant> = None;
    let mut paused_logged: Option<std::time::Instant> = None;
    loop {
        if budget.is_some_and(|b| slots.open() >= b) {
            let open = slots.open();
            pause(
                &closed,
                "the open-file limit is near",
                open,
                &mut paused_logged,
            )
            .await;
            continue;
        }
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                let open = slots.open();
                pause(&closed, "out of file descriptors", open, &mut paused_logged).await;
                continue;
            }
            Err(e) => {
                warn!(error = %e, "web listener: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slot = match slots.take(peer.ip()) {
            Ok(s) => s,
            Err(r) => {
                refused(r, peer, &limits, &mut refused_logged);
                drop(tcp);
                continue;
            }
        };
        let Ok(service) = app.call(peer).await;
        let acceptor = acceptor.clone();
        let closed = Arc::clone(&closed);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            match acceptor {
                None => connection(tcp, service, peer, limits, shutdown).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.tls_handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => connection(stream, service, peer, limits, shutdown).await,
                        Ok(Err(e)) => debug!(peer = %peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(peer = %peer, "TLS handshake not finished in time"),
                    }
                }
            }
            drop(slot);
            closed.notify_waiters();
        });
    }
}

/// Says, once a minute at most, that a connection from `peer` was closed at once and which
/// limit closed it.
fn refused(r: Refusal, peer: SocketAddr, limits: &Limits, logged: &mut Option<std::time::Instant>) {
    if logged.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
        return;
    }
    *logged = Some(std::time::Instant::now());
    let why = match r {
        Refusal::Total => format!(
            "[http] max_connections = {} are open",
            limits.max_connections
        ),
        Refusal::PerAddress => format!(
            "[http] max_connections_per_address = {} are open from {}",
            limits.max_per_address,
            peer.ip()
        ),
    };
    warn!(peer = %peer, "web listener: connection closed at once: {why} (logged once a minute)");
}

/// Serves HTTP/1.1 on one connection until it closes or times out; once `shutdown` is
/// cancelled, until the request it is answering has its response.
async fn connection<S>(
    stream: S,
    service: Svc,
    peer: SocketAddr,
    limits: Limits,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(peer = %peer, error = %e, "connection ended");
    }
}

/// Waits until a connection closes, or a second passes, before accepting again (logged once
/// a minute).
async fn pause(closed: &Notify, why: &str, open: usize, logged: &mut Option<std::time::Instant>) {
    if logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
        *logged = Some(std::time::Instant::now());
        warn!(
            open,
            "web listener: accepting paused, {why}: raise the open-file limit (LimitNOFILE) or lower [http] max_connections"
        );
    }
    tokio::select! {
        _ = closed.notified() => {}
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}
