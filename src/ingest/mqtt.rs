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
    AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS,
    SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::ingest::decode::{DecodeCtx, decode};
use crate::store::writer::{BatchLimits, Envelope, WriterMsg, WriterStats, run_writer};
use crate::store::{Durability, StoreError, StoreSettings, open_store};

/// The MQTT protocol's largest packet. The client accepts anything the broker delivers and gwmon
/// quarantines oversize payloads itself: a client-side limit would make rumqttc drop the
/// connection, and in a persistent session the broker would redeliver the same packet forever.
const MQTT_MAX_PACKET: usize = 268_435_455;
/// Request channel capacity: above any broker's in-flight window, so acks never block.
const REQUEST_CAPACITY: usize = 65_536;
/// Decoded messages waiting for the writer.
const WRITER_QUEUE: usize = 50_000;
/// How long shutdown waits for the broker to take the last acks and the DISCONNECT.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Interval of the INFO progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Url(#[from] BrokerUrlError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("the store failed; nothing after the last commit was acknowledged: {0}")]
    Store(#[from] StoreError),
    #[error("embedded broker: {0}")]
    Embedded(String),
    #[error(
        "the writer thread stopped unexpectedly; nothing after the last commit was acknowledged"
    )]
    WriterLost,
}

/// Broker address parsed from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    /// Host name or IP address, without the brackets of an IPv6 address.
    pub host: String,
    pub port: u16,
}

/// Why a broker URL was refused: the URL, what is wrong with it, and the form gwmon expects.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid broker URL '{url}': {problem}; expected mqtt://host:port or mqtts://host:port (e.g. mqtt://127.0.0.1:1883)"
)]
pub struct BrokerUrlError {
    pub url: String,
    pub problem: String,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]` (also `tcp://`) or `mqtts://host[:port]` (also `ssl://`); the
    /// port defaults to 1883, or 8883 with TLS. A trailing `/` is allowed; a path, query,
    /// fragment or user name is not (credentials belong in `[mqtt] username` and
    /// `password_env` / `password_file`, not in a URL that gets logged).
    pub fn parse(input: &str) -> Result<Self, BrokerUrlError> {
        let bad = |problem: String| BrokerUrlError {
            url: input.to_string(),
            problem,
        };
        if !input.contains("://") {
            return Err(bad("no scheme".into()));
        }
        let url = url::Url::parse(input).map_err(|e| bad(e.to_string()))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(bad(format!("unknown scheme '{other}'"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials in the URL: set [mqtt] username and password_env or password_file"
                    .into(),
            ));
        }
        if !matches!(url.path(), "" | "/") {
            return Err(bad(format!("unexpected path '{}'", url.path())));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("unexpected query or fragment".into()));
        }
        // mqtt:// is not a scheme the URL standard knows, so every host but a bracketed IPv6
        // address comes back as a name (an "opaque host"), IPv4 addresses included.
        let host = match url.host() {
            Some(url::Host::Domain(h)) if !h.is_empty() => h.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host".into())),
        };
        let port = match url.port() {
            Some(0) => return Err(bad("port 0".into())),
            Some(p) => p,
            None if tls => 8883,
            None => 1883,
        };
        Ok(Self { tls, host, port })
    }
}

/// Builds the client options for this config.
pub fn mqtt_options(cfg: &Config) -> Result<MqttOptions, RunError> {
    let url = BrokerUrl::parse(&cfg.mqtt.url)?;
    let mut o = MqttOptions::new(cfg.mqtt.client_id.clone(), url.host, url.port);
    o.set_keep_alive(Duration::from_secs(cfg.mqtt.keep_alive_s.max(5)))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MQTT_MAX_PACKET, MQTT_MAX_PACKET)
        .set_request_channel_capacity(REQUEST_CAPACITY);
    if let Some(user) = &cfg.mqtt.username {
        o.set_credentials(user.clone(), cfg.mqtt_password()?.unwrap_or_default());
    }
    if url.tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = &cfg.mqtt.tls;
        let read = |p: &Path, what: &str| {
            std::fs::read(p)
                .map_err(|e| RunError::Tls(format!("cannot read {what} {}: {e}", p.display())))
        };
        let ca_file = tls.ca_file.as_ref().ok_or_else(|| {
            RunError::Tls("mqtts:// needs [mqtt.tls] ca_file, the PEM CA that signed the broker's certificate".into())
        })?;
        let ca = read(ca_file, "ca_file")?;
        let client_auth = match (&tls.client_cert_file, &tls.client_key_file) {
            (Some(c), Some(k)) => Some((read(c, "client_cert_file")?, read(k, "client_key_file")?)),
            (None, None) => None,
            _ => {
                return Err(RunError::Tls(
                    "set both client_cert_file and client_key_file, or neither".into(),
                ));
            }
        };
        o.set_transport(Transport::Tls(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        }));
    }
    Ok(o)
}

/// Starts the in-process broker on the configured URL's address (`[mqtt] embedded_broker`).
#[cfg(feature = "embedded-broker")]
async fn start_embedded(cfg: &Config) -> Result<crate::ingest::broker::EmbeddedBroker, RunError> {
    let url = BrokerUrl::parse(&cfg.mqtt.url)?;
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

/// The topic filters gwmon subscribes to.
pub fn topic_filters(prefix: &str) -> [String; 2] {
    [format!("{prefix}/+/meter/+"), format!("{prefix}/+/level/+")]
}

/// Runs the ingest daemon until `shutdown` resolves (then stops taking messages, commits and acks
/// what is in hand, disconnects and returns) or the store fails.
pub async fn run(
    cfg: Arc<Config>,
    db_path: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<WriterStats, RunError> {
    run_with(cfg, db_path, shutdown, Hooks::default()).await
}

/// Ways for an embedding program (the demo) to follow the daemon.
#[derive(Default)]
pub struct Hooks {
    /// Told once the broker has confirmed the subscriptions: a broker drops messages that match
    /// no subscription yet, so a publisher in the same program waits for this.
    pub subscribed: Option<tokio::sync::oneshot::Sender<()>>,
    /// Running totals of what has been committed.
    pub progress: Option<Arc<Progress>>,
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

/// [`run`] with [`Hooks`].
pub async fn run_with(
    cfg: Arc<Config>,
    db_path: &Path,
    shutdown: impl Future<Output = ()>,
    hooks: Hooks,
) -> Result<WriterStats, RunError> {
    let Hooks {
        subscribed,
        progress,
    } = hooks;
    let _embedded = if cfg.mqtt.embedded_broker {
        Some(start_embedded(&cfg).await?)
    } else {
        None
    };
    let opts = mqtt_options(&cfg)?;
    let store = open_store(StoreSettings::from_config(&cfg), db_path, Durability::Full)?;
    info!(
        broker = %cfg.mqtt.url,
        client_id = %cfg.mqtt.client_id,
        db = %db_path.display(),
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
        quiet: Duration::from_millis(cfg.ingest.batch_quiet_ms),
    };
    let (writer_done_tx, mut writer_done_rx) =
        tokio::sync::oneshot::channel::<Result<WriterStats, StoreError>>();
    let writer = std::thread::Builder::new()
        .name("gwmon-writer".into())
        .spawn(move || {
            let mut last_log = Instant::now();
            let mut logged = WriterStats::default();
            let result = run_writer(store, wrx, limits, "mqtt", |done, stats| {
                if let Some(p) = &progress {
                    p.messages.store(stats.messages, Ordering::Relaxed);
                    p.stored.store(stats.stored, Ordering::Relaxed);
                    p.rejected.store(stats.rejected, Ordering::Relaxed);
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
        .map_err(|_| RunError::WriterLost)?;

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

    let accepting = Arc::new(AtomicBool::new(true));
    let stopping = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(poll_loop(
        Arc::clone(&cfg),
        client.clone(),
        eventloop,
        wtx.clone(),
        Arc::clone(&accepting),
        Arc::clone(&stopping),
        subscribed,
    ));

    // The writer reports its end through the oneshot; if it panicked, the sender is dropped.
    let lost = |r: Result<Result<WriterStats, StoreError>, _>| match r {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(RunError::Store(e)),
        Err(_) => Err(RunError::WriterLost),
    };
    let mut writer_result = None;
    tokio::select! {
        _ = shutdown => info!("shutdown requested: committing and acknowledging what is in hand"),
        r = &mut writer_done_rx => writer_result = Some(lost(r)),
    }
    accepting.store(false, Ordering::SeqCst);
    let _ = wtx.send(WriterMsg::Stop).await;
    drop(wtx);
    let result = match writer_result {
        Some(r) => r,
        None => lost(writer_done_rx.await),
    };
    let _ = writer.join();
    let fatal = result.is_err();
    if !fatal {
        // All committed publishes are queued for acking; queue the DISCONNECT after them.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, acker).await;
    }
    stopping.store(true, Ordering::SeqCst);
    let _ = client.try_disconnect();
    if tokio::time::timeout(SHUTDOWN_GRACE, poller).await.is_err() {
        warn!(
            "broker did not take the disconnect in time; unacknowledged messages will be redelivered"
        );
    }
    match result {
        Ok(stats) => {
            info!(
                stored = stats.stored,
                duplicates = stats.duplicates,
                quarantined = stats.rejected,
                batches = stats.batches,
                "gwmon stopped"
            );
            Ok(stats)
        }
        Err(e) => {
            error!(error = %e, "store failed; stopping");
            Err(e)
        }
    }
}

async fn poll_loop(
    cfg: Arc<Config>,
    client: AsyncClient,
    mut eventloop: EventLoop,
    wtx: mpsc::Sender<WriterMsg<Publish>>,
    accepting: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    mut subscribed: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let ctx = DecodeCtx {
        registry: &cfg.registry,
        clock: &cfg.clock,
        topic_prefix: &cfg.mqtt.topic_prefix,
        max_payload_bytes: cfg.ingest.max_payload_bytes,
        future_margin_s: cfg.ingest.future_margin_s,
    };
    let max_backoff = Duration::from_secs(cfg.mqtt.reconnect_max_s.max(1));
    let mut backoff = Duration::from_secs(1);
    let filters = topic_filters(&cfg.mqtt.topic_prefix);
    let mut warnings = crate::ingest::warn_limit::QuarantineWarnings::default();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if !accepting.load(Ordering::SeqCst) {
                    // Not acked: the broker redelivers it to the next session.
                    continue;
                }
                let now = crate::domain::time::now_ts();
                let decoded = decode(&ctx, &p.topic, &p.payload, now);
                warnings.note(&decoded, now);
                let env = Envelope {
                    decoded,
                    received_at: now,
                    token: p,
                };
                if wtx.send(WriterMsg::Write(env)).await.is_err() {
                    accepting.store(false, Ordering::SeqCst);
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_secs(1);
                if ack.code != ConnectReturnCode::Success {
                    error!(code = ?ack.code, "broker refused the connection: check credentials and client id");
                    continue;
                }
                info!(session_present = ack.session_present, "connected to broker");
                if ack.session_present
                    && let Some(tx) = subscribed.take()
                {
                    let _ = tx.send(());
                }
                if !ack.session_present {
                    // A new (or forgotten) session has no subscriptions: rumqttc does not restore them.
                    let subs = filters
                        .iter()
                        .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
                    if let Err(e) = client.try_subscribe_many(subs) {
                        error!(error = %e, "could not queue the subscription");
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(s))) => {
                if s.return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    error!(filters = ?filters, "broker refused the subscription: check the broker's ACL");
                } else {
                    info!(filters = ?filters, "subscribed (QoS 1)");
                    if let Some(tx) = subscribed.take() {
                        let _ = tx.send(());
                    }
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                if stopping.load(Ordering::SeqCst) {
                    info!("disconnected from broker");
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                warn!(error = %e, retry_in_s = backoff.as_secs(), "broker connection lost; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "embedded-broker"))]
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

    fn url(tls: bool, host: &str, port: u16) -> BrokerUrl {
        BrokerUrl {
            tls,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn broker_urls_in_every_accepted_form() {
        for (input, want) in [
            ("mqtt://127.0.0.1:1884", url(false, "127.0.0.1", 1884)),
            ("mqtt://127.0.0.1:1884/", url(false, "127.0.0.1", 1884)),
            (
                "tcp://broker.example:1883",
                url(false, "broker.example", 1883),
            ),
            ("mqtt://broker.example", url(false, "broker.example", 1883)),
            ("mqtts://broker.example", url(true, "broker.example", 8883)),
            ("ssl://10.0.0.5:8884", url(true, "10.0.0.5", 8884)),
            ("MQTT://localhost:1883", url(false, "localhost", 1883)),
            ("mqtt://[::1]:1883", url(false, "::1", 1883)),
            ("mqtts://[fe80::1]", url(true, "fe80::1", 8883)),
        ] {
            assert_eq!(BrokerUrl::parse(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn broker_url_errors_name_the_url_and_the_problem() {
        for (input, problem) in [
            ("127.0.0.1:1883", "no scheme"),
            ("localhost:1883", "no scheme"),
            ("", "no scheme"),
            ("http://x:1", "unknown scheme 'http'"),
            ("mqtt://:1883", "empty host"),
            ("mqtt://", "no host"),
            ("mqtt://h:port", "invalid port number"),
            ("mqtt://h:65536", "invalid port number"),
            ("mqtt://h:0", "port 0"),
            ("mqtt://h:1883/gw", "unexpected path '/gw'"),
            ("mqtt://h:1883?x=1", "unexpected query or fragment"),
            ("mqtt://user:secret@h:1883", "credentials in the URL"),
        ] {
            let e = BrokerUrl::parse(input).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("invalid broker URL '{input}': {problem}")),
                "{input}: {e}"
            );
            assert!(
                e.ends_with(
                    "; expected mqtt://host:port or mqtts://host:port (e.g. mqtt://127.0.0.1:1883)"
                ),
                "{e}"
            );
        }
    }
}
