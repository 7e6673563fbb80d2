//! The MQTT side of `gwmon run`: connection, poll loop, acknowledgements, shutdown.
//!
//! Guarantees (DESIGN §5): subscriptions are QoS 1 in a persistent session under a stable client
//! id, with manual acks; a publish is acked only after the batch holding its readings (or its
//! quarantine record) is committed. A crash at any moment therefore loses nothing: unacked
//! publishes are redelivered and the store's unique keys make redelivery harmless.
//!
//! The poll loop never blocks on SQLite: it decodes (cheap, pure) and forwards to the writer
//! thread; acks travel back through a separate task so the poll loop can keep draining the
//! connection. `poll()` is never cancelled mid-flight (rumqtt issues #601, #930).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Outgoing, Packet, Publish,
    QoS, SubscribeFilter, SubscribeReasonCode,
};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::domain::Backoff;
use crate::ingest::decode::{DecodeCtx, decode};
use crate::ingest::health::Health;
use crate::ingest::warn_limit::QuarantineWarnings;
use crate::mqtt::{ClientError, RECONNECT_FIRST, REQUEST_CAPACITY};
use crate::store::writer::{
    BatchLimits, Envelope, WriterError, WriterMsg, WriterSetup, WriterStats, run_writer,
};
use crate::store::{Durability, LockError, StoreError, StoreSettings, lock_store, open_store};

mod poll;

use poll::poll_loop;

/// Decoded messages waiting for the writer.
const WRITER_QUEUE: usize = 50_000;
/// How long shutdown waits for the broker to take the last acks and the DISCONNECT.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Interval of the INFO progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);
/// While the store cannot be opened at start-up, an ERROR line at most this often.
const STORE_WAIT_LOG_EVERY: Duration = Duration::from_secs(60);
/// The writer's busy timeout (see [`run_with`]).
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that holds this long is stable: the reconnect wait starts again from the first
/// step, and a later drop is not counted as a takeover.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Consecutive drops within [`STABLE_AFTER`] of connecting that mean another client is using
/// the same client id.
const TAKEOVER_DROPS: u32 = 3;
const TAKEOVER_LOG_EVERY: Duration = Duration::from_secs(60);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The broker URL, TLS files or credentials of the configuration.
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the store cannot be used; nothing after the last commit was acknowledged: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Writer(WriterError),
    #[error("{0}")]
    Locked(#[from] LockError),
    #[error("embedded broker: {0}")]
    Embedded(String),
    #[error(
        "the writer thread stopped unexpectedly; nothing after the last commit was acknowledged"
    )]
    WriterLost,
}

/// Starts the in-process broker on the configured URL's address (`[mqtt] embedded_broker`).
#[cfg(feature = "embedded-broker")]
async fn start_embedded(cfg: &Config) -> Result<crate::ingest::broker::EmbeddedBroker, RunError> {
    let url = crate::mqtt::BrokerUrl::parse(&cfg.mqtt.url).map_err(ClientError::from)?;
    if url.tls {
        return Err(RunError::Embedded(
            "the embedded broker speaks plain MQTT only: use an mqtt:// URL".into(),
        ));
    }
    let host = if url.host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        url.host.clone()
    };
    let bind: std::net::SocketAddr = format!("{host}:{}", url.port).parse().map_err(|_| {
        RunError::Embedded(format!(
            "cannot bind to {host}:{}: give an IP address in [mqtt] url",
            url.port
        ))
    })?;
    let opts = crate::ingest::broker::EmbeddedBrokerOptions {
        bind,
        max_payload_bytes: cfg.ingest.max_payload_bytes,
        ..Default::default()
    };
    let b = tokio::task::spawn_blocking(move || crate::ingest::broker::start(opts))
        .await
        .map_err(|e| RunError::Embedded(e.to_string()))?
        .map_err(|e| RunError::Embedded(e.to_string()))?;
    warn!(
        address = %bind,
        "embedded broker started: it keeps messages in memory only — readings it holds are lost if gwmon stops; use Mosquitto where that matters"
    );
    Ok(b)
}

/// `[mqtt] embedded_broker` in a build without the in-process broker: a start-up error that says
/// what to do instead. (It never returns a broker, hence the uninhabited type.)
#[cfg(not(feature = "embedded-broker"))]
async fn start_embedded(_cfg: &Config) -> Result<std::convert::Infallible, RunError> {
    Err(RunError::Embedded(
        "[mqtt] embedded_broker = true, but this gwmon was built without the in-process broker (cargo feature `embedded-broker`): build it with the feature (on by default), or set embedded_broker = false and point [mqtt] url at a broker such as Mosquitto (config/mosquitto.conf)".into(),
    ))
}

/// The topic filters gwmon subscribes to: as a member of `shared_group` when one is set
/// (`$share/<group>/<filter>`, MQTT 5 and Mosquitto's and EMQX's MQTT 3.1.1 alike).
pub fn topic_filters(prefix: &str, shared_group: Option<&str>) -> [String; 2] {
    let share = shared_group.map_or(String::new(), |g| format!("$share/{g}/"));
    [
        format!("{share}{prefix}/+/meter/+"),
        format!("{share}{prefix}/+/level/+"),
    ]
}

/// Runs the ingest daemon until `shutdown` resolves (then stops taking messages, commits and acks
/// what is in hand, disconnects and returns) or the store becomes unusable.
pub async fn run(
    cfg: Arc<Config>,
    db_path: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<WriterStats, RunError> {
    run_with(cfg, db_path, shutdown, Wiring::default()).await
}

/// What the ingest daemon is wired to besides the broker and the store: who waits for its
/// subscription, its running totals, its health for an HTTP listener, reloaded configurations.
#[derive(Default)]
pub struct Wiring {
    /// Told once the broker has confirmed the subscriptions: a broker drops messages that match
    /// no subscription yet, so a publisher in the same program waits for this.
    pub subscribed: Option<tokio::sync::oneshot::Sender<()>>,
    /// Running totals of what has been committed.
    pub progress: Option<Arc<Progress>>,
    /// Health and metrics, for an HTTP listener beside the daemon.
    pub health: Option<Arc<Health>>,
    /// Reloaded configurations (SIGHUP): the registry and the `[ingest]` rules of each apply to
    /// the messages decoded and the batches written from then on.
    pub reload: Option<tokio::sync::watch::Receiver<Arc<Config>>>,
}

/// What the daemon has committed so far.
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages whose batch is committed.
    pub messages: std::sync::atomic::AtomicU64,
    /// New readings stored (duplicates not counted).
    pub stored: std::sync::atomic::AtomicU64,
    /// Quarantine records.
    pub rejected: std::sync::atomic::AtomicU64,
}

/// Opens the writer's store, waiting while it cannot be opened (another writer holding a long
/// lock, a full disk): one ERROR with the cause, then one a minute. Only a store that cannot be
/// used at all (corrupt, not a database, newer schema) ends the wait with an error. `None` when
/// told to stop first.
async fn open_store_waiting(
    cfg: &Config,
    db_path: &Path,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Result<Option<crate::store::Store>, RunError> {
    let started = Instant::now();
    let mut last_log: Option<Instant> = None;
    let mut wait = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let settings = StoreSettings::from_config(cfg);
        let path = db_path.to_path_buf();
        let opened =
            tokio::task::spawn_blocking(move || open_store(settings, &path, Durability::Full))
                .await
                .map_err(|_| RunError::WriterLost)?;
        match opened {
            Ok(store) => {
                if last_log.is_some() {
                    info!(
                        waited_s = started.elapsed().as_secs(),
                        "store available: starting"
                    );
                }
                return Ok(Some(store));
            }
            Err(e) if e.is_fatal() => return Err(RunError::Store(e)),
            Err(e) => {
                if last_log.is_none_or(|t| t.elapsed() >= STORE_WAIT_LOG_EVERY) {
                    error!(
                        error = %e,
                        hint = e.hint(),
                        waited_s = started.elapsed().as_secs(),
                        "cannot open the store yet; waiting for it (nothing is acknowledged meanwhile)"
                    );
                    last_log = Some(Instant::now());
                }
            }
        }
        tokio::select! {
            _ = &mut *shutdown => return Ok(None),
            _ = tokio::time::sleep(wait.next_wait()) => {}
        }
    }
}

/// [`run`] with [`Wiring`].
pub async fn run_with(
    cfg: Arc<Config>,
    db_path: &Path,
    shutdown: impl Future<Output = ()>,
    wiring: Wiring,
) -> Result<WriterStats, RunError> {
    let Wiring {
        subscribed,
        progress,
        health,
        reload,
    } = wiring;
    let progress = progress.unwrap_or_default();
    let health = health.unwrap_or_else(|| Arc::new(Health::new(crate::domain::time::now_ts())));
    // Credentials, TLS files and the URL are checked before anything else starts.
    let opts = crate::mqtt::options(&cfg)?;
    let _lock = lock_store(db_path)?;
    let _embedded = if cfg.mqtt.embedded_broker {
        Some(start_embedded(&cfg).await?)
    } else {
        None
    };
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    let Some(store) = open_store_waiting(&cfg, db_path, &mut shutdown).await? else {
        info!("shutdown requested before the store could be opened: nothing was received");
        return Ok(WriterStats::default());
    };
    // Short enough that a long lock held by another process shows in the log within seconds
    // (the writer then pauses and retries), long enough for an import's transactions.
    store.set_busy_timeout(WRITER_BUSY_TIMEOUT)?;
    info!(
        broker = %cfg.mqtt.url,
        client_id = %cfg.mqtt.client_id,
        db = %crate::store::describe(db_path),
        intakes = cfg.registry.intakes.len(),
        wells = cfg.registry.wells.len(),
        "gwmon starting"
    );

    let (client, eventloop) = AsyncClient::new(opts, REQUEST_CAPACITY);
    let (wtx, wrx) = mpsc::channel::<WriterMsg<Publish>>(WRITER_QUEUE);
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Vec<Publish>>();

    let limits = BatchLimits {
        max_readings: cfg.ingest.batch_max_readings,
        max_delay: Duration::from_millis(cfg.ingest.batch_max_delay_ms),
        min_delay: Duration::from_millis(cfg.ingest.batch_min_delay_ms),
        quiet: Duration::from_millis(cfg.ingest.batch_quiet_ms),
    };
    let (writer_done_tx, mut writer_done_rx) =
        tokio::sync::oneshot::channel::<Result<WriterStats, WriterError>>();
    let writer = spawn_writer(
        store,
        wrx,
        (limits, writer_settings(&cfg, reload.clone())),
        Arc::clone(&progress),
        Arc::clone(&health),
        ack_tx,
        writer_done_tx,
    )?;

    let acker = {
        let client = client.clone();
        tokio::spawn(async move {
            while let Some(batch) = ack_rx.recv().await {
                for p in batch {
                    if client.ack(&p).await.is_err() {
                        return;
                    }
                }
            }
        })
    };

    let heartbeat = tokio::spawn(heartbeat(
        Arc::clone(&health),
        Arc::clone(&progress),
        Duration::from_secs(cfg.ingest.heartbeat_s.max(1)),
    ));
    let feed = Arc::new(WriterInlet {
        accepting: tokio::sync::Mutex::new(Some(wtx)),
        stopping: tokio::sync::Notify::new(),
        stopping_flag: AtomicBool::new(false),
    });
    let poller = tokio::spawn(poll_loop(
        Arc::clone(&cfg),
        client.clone(),
        eventloop,
        Arc::clone(&feed),
        Arc::clone(&health),
        subscribed,
        reload,
    ));

    // Under systemd (Type=notify): started once the store is open and the connection loop runs
    // (a broker that is down is retried, not a failed start); a watchdog ping at half the
    // configured interval while the runtime runs. Without NOTIFY_SOCKET these do nothing.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    // The watchdog reflects the writer: a writer stalled with messages waiting (not paused for
    // a known cause, which a restart cannot fix) is no longer pinged for, so systemd restarts
    // the daemon and the broker redelivers what was not acknowledged.
    health.set_writer_stall(Duration::from_secs(cfg.ingest.writer_stall_s.max(1)));
    let watchdog = watchdog(&health);

    // The writer reports its end through the oneshot; if it panicked, the sender is dropped.
    let lost = |r: Result<Result<WriterStats, WriterError>, _>| match r {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(RunError::Writer(e)),
        Err(_) => Err(RunError::WriterLost),
    };
    let mut writer_result = None;
    tokio::select! {
        _ = &mut shutdown => info!("shutdown requested: committing and acknowledging what has been received"),
        r = &mut writer_done_rx => writer_result = Some(lost(r)),
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    let running = Running {
        client,
        feed,
        writer,
        acker,
        poller,
        heartbeat,
        watchdog,
        health,
    };
    let result = match writer_result {
        Some(r) => r,
        None => {
            running.close_feed().await;
            lost(writer_done_rx.await)
        }
    };
    running.stop(result).await
}

/// The daemon's running parts, stopped in order by [`Running::stop`].
struct Running {
    client: AsyncClient,
    feed: Arc<WriterInlet>,
    writer: std::thread::JoinHandle<()>,
    acker: tokio::task::JoinHandle<()>,
    poller: tokio::task::JoinHandle<bool>,
    heartbeat: tokio::task::JoinHandle<()>,
    watchdog: Option<tokio::task::JoinHandle<()>>,
    health: Arc<Health>,
}

impl Running {
    /// Closes the feed: the poll loop forwards nothing more (what it already forwarded,
    /// including what it read before a connection loss, is ahead of the Stop in the writer's
    /// queue).
    async fn close_feed(&self) {
        if let Some(wtx) = self.feed.accepting.lock().await.take() {
            let _ = wtx.send(WriterMsg::Stop).await;
        }
    }

    /// Once the writer has ended with `result`: acknowledges what it committed, disconnects,
    /// and says how it ended.
    async fn stop(self, result: Result<WriterStats, RunError>) -> Result<WriterStats, RunError> {
        self.close_feed().await;
        let _ = self.writer.join();
        if result.is_ok() {
            // All committed publishes are queued for acking; queue the DISCONNECT after them.
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.acker).await;
        }
        let connected = self.health.is_connected();
        self.feed.stopping_flag.store(true, Ordering::SeqCst);
        self.feed.stopping.notify_one();
        let _ = self.client.try_disconnect();
        let clean = matches!(
            tokio::time::timeout(SHUTDOWN_GRACE, self.poller).await,
            Ok(Ok(true))
        );
        self.heartbeat.abort();
        if let Some(w) = self.watchdog {
            w.abort();
        }
        stopped(result, clean, connected)
    }
}

/// The writer's share of a reload (SIGHUP): the counter rules and plausible flows.
fn writer_settings(
    cfg: &Config,
    reload: Option<tokio::sync::watch::Receiver<Arc<Config>>>,
) -> Option<tokio::sync::watch::Receiver<StoreSettings>> {
    reload.map(|mut rx| {
        let (tx, settings_rx) = tokio::sync::watch::channel(StoreSettings::from_config(cfg));
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let settings = StoreSettings::from_config(&rx.borrow_and_update());
                if tx.send(settings).is_err() {
                    break;
                }
            }
        });
        settings_rx
    })
}

/// The writer on a thread of its own: it commits batches, keeps the running totals and the
/// health current, hands each committed batch's publishes to the acker, and reports its end.
fn spawn_writer(
    store: crate::store::Store,
    wrx: mpsc::Receiver<WriterMsg<Publish>>,
    (limits, reload): (
        BatchLimits,
        Option<tokio::sync::watch::Receiver<StoreSettings>>,
    ),
    p: Arc<Progress>,
    h: Arc<Health>,
    ack_tx: mpsc::UnboundedSender<Vec<Publish>>,
    writer_done_tx: tokio::sync::oneshot::Sender<Result<WriterStats, WriterError>>,
) -> Result<std::thread::JoinHandle<()>, RunError> {
    std::thread::Builder::new()
        .name("gwmon-writer".into())
        .spawn(move || {
            let mut last_log = Instant::now();
            let mut logged = WriterStats::default();
            let setup = WriterSetup {
                limits,
                source: "mqtt",
                paused_since: h.paused_since(),
                origin: |publish: &Publish| publish.topic.clone(),
                reload,
            };
            let result = run_writer(store, wrx, setup, |done, stats| {
                p.messages.store(stats.messages, Ordering::Relaxed);
                p.stored.store(stats.stored, Ordering::Relaxed);
                p.rejected.store(stats.rejected, Ordering::Relaxed);
                h.committed(
                    crate::domain::time::now_ts(),
                    stats.last_commit_s,
                    stats.last_batch_readings as usize,
                    done.len(),
                );
                for (publish, o) in &done {
                    let refused = (o.rejected > 0)
                        .then(|| o.reasons.first().map_or("conflict", |r| r.code.as_str()));
                    let level = publish.topic.contains("/level/");
                    h.outcome(level, o.stored, o.duplicates, refused);
                }
                let publishes = done.into_iter().map(|(p, _)| p).collect();
                let _ = ack_tx.send(publishes);
                if last_log.elapsed() >= PROGRESS_EVERY {
                    info!(
                        stored = stats.stored - logged.stored,
                        duplicates = stats.duplicates - logged.duplicates,
                        quarantined = stats.rejected - logged.rejected,
                        batches = stats.batches - logged.batches,
                        seconds = last_log.elapsed().as_secs(),
                        "ingest progress"
                    );
                    logged = *stats;
                    last_log = Instant::now();
                }
            });
            let _ = writer_done_tx.send(result);
        })
        .map_err(|_| RunError::WriterLost)
}

/// Under systemd's watchdog: a ping at half the interval while the writer is not stalled with
/// messages waiting (not paused for a known cause, which a restart cannot fix); a stalled
/// writer is no longer pinged for, so systemd restarts the daemon and the broker redelivers
/// what was not acknowledged. `None` without a watchdog.
fn watchdog(health: &Arc<Health>) -> Option<tokio::task::JoinHandle<()>> {
    let mut usec = 0;
    let health = Arc::clone(health);
    sd_notify::watchdog_enabled(false, &mut usec).then(|| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(usec / 2));
            let mut warned = false;
            loop {
                tick.tick().await;
                if health.writer_stalled(crate::domain::time::now_ts()) {
                    if !warned {
                        error!("the writer has stalled with messages waiting: no longer pinging the watchdog, so systemd restarts gwmon");
                        warned = true;
                    }
                    continue;
                }
                warned = false;
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            }
        })
    })
}

/// The daemon's last word: what it committed and whether the broker took every acknowledgement.
fn stopped(
    result: Result<WriterStats, RunError>,
    clean: bool,
    connected: bool,
) -> Result<WriterStats, RunError> {
    match result {
        Ok(stats) => {
            let acks = if clean {
                "all acknowledged"
            } else if connected {
                "the broker did not take the last acknowledgements in time: it delivers those messages again and they are ignored as duplicates"
            } else {
                "the broker was unreachable: messages committed since the connection was lost are delivered again if the broker kept them, and ignored as duplicates"
            };
            info!(
                stored = stats.stored,
                duplicates = stats.duplicates,
                quarantined = stats.rejected,
                batches = stats.batches,
                acknowledgements = acks,
                "gwmon stopped: every message received before the stop is committed (later ones stay with the broker)"
            );
            Ok(stats)
        }
        Err(e) => {
            error!(error = %e, "stopping");
            Err(e)
        }
    }
}

/// The poll loop's way into the writer, closed at shutdown.
struct WriterInlet {
    /// `None` once shutdown has sent the writer its Stop.
    accepting: tokio::sync::Mutex<Option<mpsc::Sender<WriterMsg<Publish>>>>,
    /// Wakes the poll loop out of a reconnect wait at shutdown.
    stopping: tokio::sync::Notify,
    stopping_flag: AtomicBool,
}

impl WriterInlet {
    /// Forwards decoded messages to the writer; false once the feed is closed.
    async fn forward(&self, envs: Vec<Envelope<Publish>>) -> bool {
        let guard = self.accepting.lock().await;
        let Some(wtx) = guard.as_ref() else {
            return false;
        };
        for env in envs {
            if wtx.send(WriterMsg::Write(env)).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// A heartbeat line every few minutes, idle or not: connected, last message age, totals.
async fn heartbeat(health: Arc<Health>, progress: Arc<Progress>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let age = health
            .last_message_at()
            .map(|t| crate::domain::time::now_ts() - t);
        info!(
            connected = health.is_connected(),
            last_message_age_s = %age.map_or_else(|| "none yet".to_string(), |a| a.to_string()),
            messages = progress.messages.load(Ordering::Relaxed),
            stored = progress.stored.load(Ordering::Relaxed),
            quarantined = progress.rejected.load(Ordering::Relaxed),
            "heartbeat"
        );
    }
}

#[cfg(all(test, not(feature = "embedded-broker")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_broker_without_the_feature_says_what_to_do() {
        let mut cfg = Config::embedded().unwrap();
        cfg.mqtt.embedded_broker = true;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gwmon.db");
        let daemon = run(Arc::new(cfg), &db, std::future::pending());
        let e = tokio::time::timeout(Duration::from_secs(10), daemon)
            .await
            .expect("start-up fails at once")
            .unwrap_err()
            .to_string();
        for part in ["cargo feature `embedded-broker`", "[mqtt] url", "Mosquitto"] {
            assert!(e.contains(part), "{e}");
        }
        assert!(!db.exists(), "fails before opening the store");
    }
}
