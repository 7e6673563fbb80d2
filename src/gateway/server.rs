//! The gateway's TCP side: listeners from `[gateway] listen`, one task per terminal
//! connection, and [`replay`].
//!
//! A connection's bytes go through a [`Framer`]; each frame is decoded, archived, mapped through
//! stations.csv and its readings published; the terminal's confirm is written only after the
//! broker acknowledged every reading (and never for a frame that cannot be published, a bad
//! CRC, an unknown station, or a link-maintenance frame). A frame is handled before the next
//! one of the same connection is read: a terminal waits for its confirm anyway.
//!
//! Unknown stations, bad CRCs, unmapped and invalid elements are counted in metrics and logged
//! at WARN, a line per station and outcome a minute at most. A station that reports on a new
//! connection closes its old one (a 4G link that dropped without closing leaves it behind).
//!
//! Strangers can reach the port, so a frame speaks for a station only from an address of its
//! `allow_from` and, for SL 651, with its `password`; a frame failing either is archived
//! (`not_allowed`, `bad_password`), counted and otherwise ignored. A new connection takes a
//! station's session over only with an authenticated report that was published or confirmed:
//! a link-maintenance frame, which anyone can copy off the wire and which carries no reading,
//! is not enough. A report that contradicts a stored reading is not confirmed ([`conflicts`]).
//! Connections are capped in all and per address, idle ones are closed `idle_timeout_s` after
//! their last complete frame, and accepting pauses near the open-file limit ([`admission`]).
//!
//! [`conflicts`]: super::conflicts
//! [`admission`]: super::admission

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::admission::{RateBucket, Refusal, Slots, fd_budget};
use super::conflicts::Lookup;
use super::crc::from_hex;
use super::map::map;
use super::metrics::Metrics;
use super::publish::Publisher;
use super::sl651;
use super::stream::{Framer, Item, Reassembly, ReassemblyBudget};
use crate::config::stations::{Protocol, StationAddr, Stations};
use crate::config::{Config, ListenConfig, ListenProtocol};
use crate::domain::time::now_ts;
use crate::ingest::warn_limit::WarnLimit;
use crate::mqtt::ClientError;
use crate::store::StoreError;
use crate::store::frame_archive::{self as archive, Archive};

pub use super::decode::confirm;
use super::decode::{Decoded, decode};
use super::reports::{Conn, Gateway};

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 4096;
/// Multi-packet messages held per connection, in frames' bytes, at most this many times
/// `max_frame_bytes`.
const REASSEMBLY_FRAMES: usize = 64;
/// How long replay waits for the broker.
const REPLAY_CONNECT: Duration = Duration::from_secs(30);
/// The archive's bound when `[gateway] archive_max_mb` is unset: this share of the space free
/// on the store's volume, within [`ARCHIVE_AUTO_MB`].
const ARCHIVE_AUTO_SHARE: u64 = 20;
const ARCHIVE_AUTO_MB: (u64, u64) = (16, 1024);

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Mqtt(#[from] ClientError),
    #[error("the archive: {0}")]
    Store(#[from] StoreError),
    #[error(
        "cannot listen on {addr}: {source}; is another gateway running there, or is the port below 1024 without the right to bind it?"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "no stations in {0}: map the field terminals to registered devices first (README, \"Field terminals\")"
    )]
    NoStations(String),
    #[error("the broker {0} did not accept a connection within {1} s")]
    BrokerAway(String, u64),
    #[error("the archive: {0}")]
    Archive(#[from] rusqlite::Error),
}

/// Where the gateway listens, publishes and archives.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// The listeners [`run`] binds ([`serve`] takes listeners already bound).
    pub listen: Vec<ListenConfig>,
    /// Broker URL.
    pub broker: String,
    /// The store whose `gateway_frames` table is the archive.
    pub db: PathBuf,
}

/// Runs the gateway until `shutdown` resolves.
pub async fn run(
    cfg: Arc<Config>,
    opts: GatewayOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let listeners = bind(&opts.listen).await?;
    serve(cfg, opts, listeners, metrics, shutdown).await
}

/// Binds every listener (port 0 picks a free port: see the returned addresses).
pub async fn bind(
    listen: &[ListenConfig],
) -> Result<Vec<(TcpListener, ListenProtocol)>, GatewayError> {
    let mut out = Vec::new();
    for l in listen {
        let sock = TcpListener::bind(&l.addr)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: l.addr.clone(),
                source,
            })?;
        out.push((sock, l.protocol));
    }
    Ok(out)
}

/// The gateway's MQTT options: the daemon's connection settings (TLS, credentials), the
/// gateway's own client id, `broker` as the URL.
fn publisher(cfg: &Config, broker: &str) -> Result<Publisher, GatewayError> {
    let mut c = cfg.clone();
    c.mqtt.url = broker.to_string();
    c.mqtt.client_id = cfg.gateway.client_id.clone();
    let opts = crate::mqtt::options(&c)?;
    Ok(Publisher::start(
        opts,
        Duration::from_secs(cfg.mqtt.reconnect_max_s),
    ))
}

/// Serves on already bound listeners until `shutdown` resolves.
pub async fn serve(
    cfg: Arc<Config>,
    opts: GatewayOptions,
    listeners: Vec<(TcpListener, ListenProtocol)>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let archive_bytes = archive_bound(&cfg, &opts.db);
    info!(
        max_mb = archive_bytes >> 20,
        "gateway archive bound ([gateway] archive_max_mb)"
    );
    let archive = Archive::start(&opts.db, cfg.gateway.archive_max_age_days, archive_bytes)?;
    let shared = Arc::new(Gateway {
        publisher: publisher(&cfg, &opts.broker)?,
        archive,
        metrics,
        warnings: Mutex::new(WarnLimit::default()),
        slots: Slots::new(
            cfg.gateway.max_connections,
            cfg.gateway.max_connections_per_address,
        ),
        fd_budget: fd_budget(),
        closed: Notify::new(),
        lookup: Arc::new(Mutex::new(Lookup::default())),
        db: opts.db.clone(),
        sessions: Mutex::new(HashMap::new()),
        next_connection: AtomicU64::new(0),
        reassembly_budget: ReassemblyBudget::new(
            usize::try_from(cfg.gateway.reassembly_max_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
        ),
        station_buckets: Mutex::new(HashMap::new()),
        started: std::time::Instant::now(),
        cfg,
    });
    warn_at_start(&shared);
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = TaskTracker::new();
    let mut tasks = Vec::new();
    for (listener, accept) in listeners {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        info!(address = %addr, protocol = ?accept, stations = shared.cfg.stations.len(), "gateway listening");
        tasks.push(tokio::spawn(accept_loop(
            listener,
            accept,
            Arc::clone(&shared),
            stop_rx.clone(),
            connections.clone(),
        )));
    }
    shutdown.await;
    info!(
        "gateway stopping: no new terminals; the frames being handled are published and answered"
    );
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    // Each connection finishes the frame it is handling (its readings acknowledged by the
    // broker, its reply sent) and closes.
    connections.close();
    connections.wait().await;
    info!("gateway stopped");
    Ok(())
}

/// What an operator should know when the gateway starts: stations anyone could report for, and
/// an open-file limit lower than the connections allowed.
fn warn_at_start(shared: &Gateway) {
    let open = shared.cfg.stations.warnings().len();
    if open > 0 {
        warn!(
            stations = open,
            "{open} sl651 stations have no password in {}: anyone who reaches the gateway can report for them (`gwmon check-config` lists them)",
            shared.cfg.stations.source
        );
    }
    if let Some(budget) = shared.fd_budget
        && budget < shared.cfg.gateway.max_connections
    {
        info!(
            budget,
            max_connections = shared.cfg.gateway.max_connections,
            "the open-file limit leaves room for fewer terminal connections than [gateway] max_connections: raise it (ulimit -n, LimitNOFILE)"
        );
    }
}

async fn accept_loop(
    listener: TcpListener,
    accept: ListenProtocol,
    shared: Arc<Gateway>,
    mut stop: watch::Receiver<bool>,
    connections: TaskTracker,
) {
    loop {
        // Near the open-file limit, stop accepting until a connection closes: waiting
        // connections queue in the kernel's backlog instead of failing accept() in a loop,
        // and the store and the broker keep the descriptors they need.
        let near_limit = shared
            .fd_budget
            .is_some_and(|budget| shared.slots.open() >= budget);
        if near_limit {
            pause(&shared, &mut stop, "the open-file limit is near").await;
            if *stop.borrow() {
                return;
            }
            continue;
        }
        let (sock, peer) = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    pause(&shared, &mut stop, "out of file descriptors").await;
                    continue;
                }
                Err(e) => {
                    // A connection reset before it was accepted and the like: wait a little
                    // rather than spin.
                    warn!(error = %e, "gateway: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let slot = match shared.slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                let g = &shared.cfg.gateway;
                let reason = refusal.as_str();
                shared.metrics.refused(reason);
                let peer_s = peer.ip().to_string();
                shared.warn(&peer_s, reason, now_ts(), || match refusal {
                    Refusal::Total => format!(
                        "connection from {peer} closed: [gateway] max_connections = {} are open",
                        g.max_connections
                    ),
                    Refusal::PerAddress => format!(
                        "connection from {peer} closed: [gateway] max_connections_per_address = {} are open from {}",
                        g.max_connections_per_address,
                        peer.ip()
                    ),
                });
                drop(sock);
                continue;
            }
        };
        shared.metrics.connections(shared.slots.open());
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        connections.spawn(async move {
            connection(&shared, sock, peer, accept, stop).await;
            drop(slot);
            shared.metrics.connections(shared.slots.open());
            shared.closed.notify_waiters();
        });
    }
}

/// Waits until a connection closes (or a second passes, or the gateway stops) before the
/// accept loop looks again.
async fn pause(shared: &Gateway, stop: &mut watch::Receiver<bool>, why: &str) {
    shared.metrics.accept_paused();
    shared.warn("accept", "accept_paused", now_ts(), || {
        format!(
            "gateway: accepting paused, {why} ({} terminal connections open): raise the open-file limit (ulimit -n, LimitNOFILE) or lower [gateway] max_connections",
            shared.slots.open()
        )
    });
    // The second is a backstop for a close signalled between the check and this wait.
    tokio::select! {
        _ = stop.changed() => {}
        _ = shared.closed.notified() => {}
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}

async fn connection(
    shared: &Gateway,
    mut sock: TcpStream,
    peer: SocketAddr,
    accept: ListenProtocol,
    mut stop: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    let g = &shared.cfg.gateway;
    let ip = peer.ip();
    let peer = peer.to_string();
    let mut framer = Framer::new(accept, g.max_frame_bytes);
    let (kick, mut kicked) = watch::channel(false);
    let mut conn = Conn {
        id: shared.next_connection.fetch_add(1, Ordering::Relaxed),
        peer: peer.clone(),
        ip,
        kick: Arc::new(kick),
        claimed: Vec::new(),
        reassembly: Reassembly::new(
            g.reassembly_timeout_s as i64,
            g.max_frame_bytes * REASSEMBLY_FRAMES,
            g.max_packets,
            Arc::clone(&shared.reassembly_budget),
        ),
        bucket: RateBucket::new(g.archive_rows_per_minute),
        bad_run: None,
    };
    serve_connection(
        shared,
        &mut sock,
        &mut conn,
        &mut framer,
        &mut kicked,
        &mut stop,
    )
    .await;
    shared.end_bad_run(&mut conn);
    shared.release(&conn);
    // The connection's reassembly gives its bytes back to the shared budget.
    drop(conn);
    shared.metrics.reassembly(shared.reassembly_budget.used());
    debug!(peer = %peer, "terminal disconnected");
}

/// Reads, handles and answers frames until the terminal leaves, idles, is replaced or the
/// gateway stops.
async fn serve_connection(
    shared: &Gateway,
    sock: &mut TcpStream,
    conn: &mut Conn,
    framer: &mut Framer,
    kicked: &mut watch::Receiver<bool>,
    stop: &mut watch::Receiver<bool>,
) {
    let peer = conn.peer.clone();
    let idle = Duration::from_secs(shared.cfg.gateway.idle_timeout_s);
    let mut buf = vec![0u8; READ_CHUNK];
    // Counted from the last complete frame, not from any byte: a byte now and then would
    // otherwise hold a connection slot for ever.
    let mut idle_at = tokio::time::Instant::now() + idle;
    debug!(peer = %peer, "terminal connected");
    loop {
        let n = tokio::select! {
            _ = stop.changed() => break,
            _ = kicked.changed() => {
                debug!(peer = %peer, "a newer connection of the same station took over");
                break;
            }
            _ = tokio::time::sleep_until(idle_at) => {
                debug!(peer = %peer, "terminal idle: connection closed");
                break;
            }
            r = sock.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        framer.push(&buf[..n]);
        while let Some(item) = framer.next_item() {
            if matches!(item, Item::Frame(..)) {
                idle_at = tokio::time::Instant::now() + idle;
            }
            if let Some(reply) = shared.item(item, conn).await
                && sock.write_all(&reply).await.is_err()
            {
                return;
            }
        }
    }
}

/// What a replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Archived rows read.
    pub rows: usize,
    /// Messages decoded.
    pub frames: usize,
    /// Readings published (and acknowledged by the broker).
    pub readings: usize,
    /// Messages whose readings the broker did not acknowledge.
    pub failed: usize,
}

/// Decodes the archived frames of `station` received since `since` with the current
/// stations.csv and publishes their readings; the daemon's duplicate detection makes readings
/// already stored a no-op.
pub async fn replay(
    cfg: Arc<Config>,
    broker: &str,
    db: &Path,
    station: StationAddr,
    since: i64,
) -> Result<ReplayReport, GatewayError> {
    let rows = {
        let conn = crate::store::open_read(db)?;
        archive::frames_of(&conn, &station.to_string(), since)?
    };
    let publisher = publisher(&cfg, broker)?;
    if !publisher.wait_connected(REPLAY_CONNECT).await {
        return Err(GatewayError::BrokerAway(
            broker.to_string(),
            REPLAY_CONNECT.as_secs(),
        ));
    }
    let mut report = ReplayReport {
        rows: rows.len(),
        ..Default::default()
    };
    let mut reassembly = Reassembly::unbounded(i64::MAX / 4);
    let timeout = Duration::from_secs(cfg.gateway.puback_timeout_s);
    for row in rows {
        let Some(bytes) = from_hex(&row.hex) else {
            continue;
        };
        let Ok(protocol) = row.protocol.parse::<Protocol>() else {
            continue;
        };
        let Decoded::Frame(frame) = decode(
            protocol,
            &bytes,
            row.received_at,
            &mut reassembly,
            &cfg,
            None,
        ) else {
            continue;
        };
        report.frames += 1;
        if protocol == Protocol::Sl651 && frame.function == sl651::TEST_REPORT {
            continue;
        }
        let mapped = map(&frame, &cfg.stations, &cfg.mqtt.topic_prefix);
        if mapped.publishes.is_empty() {
            continue;
        }
        let readings = mapped.readings as usize;
        let publishes = mapped.publishes;
        if publisher.publish_all(publishes, timeout).await {
            report.readings += readings;
        } else {
            report.failed += 1;
        }
    }
    Ok(report)
}

/// The archive's bound in bytes: `[gateway] archive_max_mb`, or a share of the space free on
/// the store's volume.
pub fn archive_bound(cfg: &Config, db: &Path) -> u64 {
    if let Some(mb) = cfg.gateway.archive_max_mb {
        return mb.saturating_mul(1 << 20);
    }
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let free_mb = free_bytes(dir).map_or(ARCHIVE_AUTO_MB.0, |b| b >> 20);
    (free_mb / ARCHIVE_AUTO_SHARE).clamp(ARCHIVE_AUTO_MB.0, ARCHIVE_AUTO_MB.1) << 20
}

/// Bytes free for an unprivileged user on the volume holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs reads a NUL-terminated path and writes one struct through a valid
    // pointer to a zeroed local.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0;
    ok.then(|| st.f_bavail.saturating_mul(st.f_frsize))
}

/// The stations of a config, refused when there are none (a gateway would only archive).
pub fn require_stations(cfg: &Config) -> Result<&Stations, GatewayError> {
    if cfg.stations.is_empty() {
        return Err(GatewayError::NoStations(cfg.stations.source.clone()));
    }
    Ok(&cfg.stations)
}
