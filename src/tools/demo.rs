//! `gwmon demo`: the whole job in one command, on the built-in configuration and example
//! registry. An in-process broker (or `--broker`), the daemon ingesting through the normal path,
//! the synthetic fleet ([`crate::tools::fleet`]) publishing years of history as backlog arrays
//! and then live readings — with the field faults gwmon must survive —, the stations of
//! stations.csv reporting as field terminals through an in-process gateway
//! ([`crate::gateway`], [`crate::tools::rtu`]), and finally the report bundle for every county.
//!
//! Without the cargo feature `embedded-broker` there is no in-process broker, and the demo needs
//! `--broker URL`.

use crate::daemon::Supervisor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use jiff::ToSpan;
use jiff::civil::Date;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

use crate::config::Config;
use crate::ingest::mqtt::Progress;
use crate::mqtt::{BrokerUrl, BrokerUrlError};
use crate::tools::fleet;

/// Demo failures.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[cfg(feature = "embedded-broker")]
    #[error(transparent)]
    Broker(#[from] crate::ingest::broker::BrokerError),
    #[cfg(not(feature = "embedded-broker"))]
    #[error(
        "this gwmon was built without the in-process broker (cargo feature `embedded-broker`), so the demo needs --broker URL, e.g. `gwmon demo --broker mqtt://127.0.0.1:1883` with Mosquitto running; or build with the feature (on by default)"
    )]
    NeedsBroker,
    #[error(transparent)]
    Url(#[from] BrokerUrlError),
    #[error(transparent)]
    Run(#[from] crate::ingest::mqtt::RunError),
    #[error(transparent)]
    Report(#[from] crate::report::WriteError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the field-terminal gateway: {0}")]
    Gateway(#[from] crate::gateway::server::GatewayError),
    #[error("the simulated field terminals: {0}")]
    Terminals(String),
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("publishing to {0}: {1}")]
    Publish(String, String),
    #[error(
        "the daemon stored {got} of {want} readings within {secs} s: see the quarantine table in {db}"
    )]
    Incomplete {
        got: i64,
        want: i64,
        secs: u64,
        db: String,
    },
}

/// What the demo did.
#[derive(Debug)]
pub struct DemoSummary {
    pub messages: u64,
    pub readings: i64,
    pub quarantined: i64,
    pub meter_events: i64,
    /// Field terminals that reported through the gateway, and their confirmed reports.
    pub terminals: u64,
    pub terminal_reports: u64,
    pub seconds: f64,
    pub report: crate::report::ReportOutput,
    pub db: PathBuf,
}

/// One message to publish.
struct Msg {
    topic: String,
    payload: String,
    /// Distinct valid readings it adds (0 for duplicates and bad input).
    new_readings: i64,
}

/// Messages of the synthetic fleet, with faults, from `from` to `today`: (history, live).
fn fleet_messages(
    cfg: &Config,
    seed: u64,
    from: Date,
    today: Date,
    now: i64,
) -> (Vec<Msg>, Vec<Msg>) {
    let clock = &cfg.clock;
    let prefix = &cfg.mqtt.topic_prefix;
    let live_from = today.checked_sub(2.days()).unwrap_or(today);
    let mut history = Vec::new();
    let mut live = Vec::new();
    let mut late = Vec::new();
    for (k, i) in cfg.registry.intakes.iter().enumerate() {
        if !fleet::metered(i) {
            continue;
        }
        let topic = format!("{prefix}/{}/meter/{}", i.county, i.id);
        let silent_from = if fleet::meter_silent(i) {
            today.checked_sub(10.days()).unwrap_or(today)
        } else {
            today.tomorrow().unwrap_or(today)
        };
        let mut total = (fleet::unit(fleet::mix(fleet::id_hash(&i.id))) * 1e5).round();
        let reset_day =
            (k % 50 == 3).then(|| Date::new(2023, 3, 1 + (k % 20) as i8).unwrap_or(from));
        let replace_day =
            (k % 50 == 7).then(|| Date::new(2024, 9, 1 + (k % 20) as i8).unwrap_or(from));
        let gap = (k % 40 == 5).then(|| {
            let a = Date::new(2025, 4, 1 + (k % 20) as i8).unwrap_or(from);
            (a, a.checked_add(10.days()).unwrap_or(a))
        });
        let mut batch: Vec<String> = Vec::new();
        let mut day = from;
        while day < live_from.min(silent_from) {
            total += fleet::daily_volume(seed, i, day);
            if Some(day) == reset_day {
                total = fleet::daily_volume(seed, i, day) * 0.5; // counter restarted from zero
            }
            if Some(day) == replace_day {
                // A new meter whose dial starts at a figure of its own.
                let start = (i.max_flow_m3_per_h * 24.0 * 3.0).max(total * 0.3).round();
                if start < total {
                    total = start;
                }
            }
            let skip = gap.is_some_and(|(a, b)| day >= a && day < b);
            if !skip {
                let ts = clock.day_end(day);
                batch.push(format!("{{\"ts\":{ts},\"total_m3\":{:.3}}}", total));
            }
            day = day.tomorrow().unwrap_or(day);
            if batch.len() == 100 || day >= live_from.min(silent_from) {
                if !batch.is_empty() {
                    let m = Msg {
                        topic: topic.clone(),
                        payload: format!("[{}]", batch.join(",")),
                        new_readings: batch.len() as i64,
                    };
                    // Some meters flush one old backlog late, after newer data: out of order.
                    if k % 60 == 11 && history.len() % 7 == 0 {
                        late.push(m);
                    } else {
                        history.push(m);
                    }
                }
                batch.clear();
            }
        }
        // Live: hourly single readings for the last two days.
        let mut t = clock.day_end(day.yesterday().unwrap_or(day));
        while t + 3600 <= now && day < silent_from {
            t += 3600;
            total += fleet::daily_volume(seed, i, clock.day_of(t)) / 24.0;
            live.push(Msg {
                topic: topic.clone(),
                payload: format!(
                    "{{\"ts\":\"{}\",\"total_m3\":{:.3}}}",
                    clock.format(t),
                    total
                ),
                new_readings: 1,
            });
        }
    }
    for w in &cfg.registry.wells {
        let topic = format!("{prefix}/{}/level/{}", w.county, w.id);
        let mut batch = Vec::new();
        let mut day = from;
        while day <= today {
            let ts = clock.day_start(day) + 8 * 3600;
            if fleet::well_reports(w, day) && ts <= now {
                batch.push(format!(
                    "{{\"ts\":{ts},\"depth_m\":{:.3}}}",
                    fleet::depth_m(seed, w, day)
                ));
            }
            day = day.tomorrow().unwrap_or(day);
            if batch.len() == 100 || day > today {
                if !batch.is_empty() {
                    history.push(Msg {
                        topic: topic.clone(),
                        payload: format!("[{}]", batch.join(",")),
                        new_readings: batch.len() as i64,
                    });
                }
                batch.clear();
            }
        }
    }
    history.extend(late);
    // Resends of already delivered messages: no new readings.
    let dups: Vec<Msg> = history
        .iter()
        .step_by(97)
        .take(25)
        .map(|m| Msg {
            topic: m.topic.clone(),
            payload: m.payload.clone(),
            new_readings: 0,
        })
        .collect();
    history.extend(dups);
    // Hostile and broken input, all quarantined with a reason.
    if let Some(i) = cfg.registry.intakes.first() {
        let t = format!("{prefix}/{}/meter/{}", i.county, i.id);
        for (topic, payload) in [
            (t.clone(), "{\"ts\": 17723".to_string()),
            (t.clone(), format!("{{\"ts\":{now},\"total_m3\":-12}}")),
            (
                t.clone(),
                format!("{{\"ts\":{},\"total_m3\":5}}", now + 86_400 * 30),
            ),
            (
                format!("{prefix}/{}/meter/UNKNOWN-1", i.county),
                format!("{{\"ts\":{now},\"total_m3\":5}}"),
            ),
            (
                format!("{prefix}/140199/meter/{}", i.id),
                format!("{{\"ts\":{now},\"total_m3\":5}}"),
            ),
        ] {
            live.push(Msg {
                topic,
                payload,
                new_readings: 0,
            });
        }
    }
    (history, live)
}

/// Starts the in-process broker on a free loopback port and returns its URL. rumqttd cannot be
/// stopped: the broker serves until the process exits, whatever becomes of its handle.
#[cfg(feature = "embedded-broker")]
async fn in_process_broker() -> Result<String, DemoError> {
    let b = tokio::task::spawn_blocking(|| crate::ingest::broker::start(Default::default()))
        .await
        .map_err(|e| DemoError::Publish("embedded broker".into(), e.to_string()))??;
    Ok(b.url())
}

/// This build has no in-process broker (feature `embedded-broker`): the demo needs `--broker`.
#[cfg(not(feature = "embedded-broker"))]
async fn in_process_broker() -> Result<String, DemoError> {
    Err(DemoError::NeedsBroker)
}

/// Connects once with `client_id` and a clean session, which makes the broker discard the
/// persistent session of that id (MQTT 3.1.1), then disconnects. Best effort: a failure only
/// leaves the session to expire by the broker's own rules.
async fn forget_session(url: &str, client_id: &str) {
    let Ok(u) = BrokerUrl::parse(url) else { return };
    let mut mo = MqttOptions::new(client_id, u.host, u.port);
    mo.set_clean_session(true)
        .set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(mo, 10);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_disconnect();
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// The stations of stations.csv report as field terminals (both protocols, with junk bytes, a
/// wrong CRC and a late backlog) through a gateway in this process on a free port, publishing to
/// the demo's broker. Each terminal goes on from its device's last stored reading, a minute
/// apart, so that its readings extend the fleet's rather than contradict them.
async fn field_terminals(
    parts: &Supervisor,
    cfg: &Arc<Config>,
    db: &Path,
    now: i64,
) -> Result<crate::tools::rtu::RtuReport, DemoError> {
    use crate::config::stations::{Protocol, Quantity};
    use crate::config::{ListenConfig, ListenProtocol};
    use crate::gateway::server;
    use crate::tools::rtu;
    let mut total = rtu::RtuReport::default();
    if cfg.stations.is_empty() {
        return Ok(total);
    }
    let listeners = server::bind(&[ListenConfig {
        addr: "127.0.0.1:0".into(),
        protocol: ListenProtocol::Auto,
    }])
    .await?;
    let addr = listeners[0]
        .0
        .local_addr()
        .map_err(|e| DemoError::Terminals(e.to_string()))?;
    let opts = server::GatewayOptions {
        listen: Vec::new(),
        broker: cfg.mqtt.url.clone(),
        db: db.to_path_buf(),
    };
    // The daemon has subscribed already: the gateway may take terminals at once.
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let _ = ready_tx.send(());
    parts.start_gateway(
        Arc::clone(cfg),
        opts,
        listeners,
        Arc::new(crate::gateway::metrics::Metrics::new()),
        ready,
    );
    let conn = crate::store::open_ro(db)?;
    let mut last_ts = 0;
    let mut runs = Vec::new();
    for protocol in [Protocol::Sl651, Protocol::Szy206] {
        let mut stations = rtu::stations(cfg, protocol, None);
        for s in &mut stations {
            let Some(st) = cfg.stations.get(s.protocol, &s.addr) else {
                continue;
            };
            for (key, q, first) in &mut s.elements {
                let Some(t) = st.elements.get(key) else {
                    continue;
                };
                let sql = match q {
                    Quantity::TotalM3 => {
                        "SELECT ts, total_m3 + 1 FROM meter_readings WHERE intake_id = ?1 ORDER BY ts DESC LIMIT 1"
                    }
                    Quantity::DepthM => {
                        "SELECT ts, depth_m FROM level_readings WHERE well_id = ?1 ORDER BY ts DESC LIMIT 1"
                    }
                    Quantity::LevelM => {
                        "SELECT ts, level_m FROM level_readings WHERE well_id = ?1 ORDER BY ts DESC LIMIT 1"
                    }
                };
                let last: Option<(i64, f64)> = conn
                    .query_row(sql, [&t.device_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .ok();
                if let Some((ts, v)) = last {
                    last_ts = last_ts.max(ts);
                    *first = (v * 100.0).round() / 100.0;
                }
            }
        }
        runs.push((protocol, stations));
    }
    drop(conn);
    let start_ts = ((last_ts.max(now - 3600) / 60) + 1) * 60;
    for (protocol, stations) in runs {
        let opts = rtu::RtuOptions {
            gateway: addr.to_string(),
            rounds: 3,
            interval: Duration::ZERO,
            start_ts,
            step_s: 60,
            confirm_timeout: Duration::from_secs(1),
            faults: true,
        };
        let r = rtu::run(opts, protocol, stations, cfg.clock.clone())
            .await
            .map_err(|e| DemoError::Terminals(e.to_string()))?;
        if r.unconfirmed > 0 || r.connect_failures > 0 {
            return Err(DemoError::Terminals(format!(
                "{} {protocol} reports were never confirmed, {} terminals could not connect",
                r.unconfirmed, r.connect_failures
            )));
        }
        total.stations += r.stations;
        total.reports += r.reports;
        total.confirmed += r.confirmed;
        total.readings += r.readings;
    }
    // The gateway stops taking frames; the ones it handled are published and confirmed.
    parts.stop_inputs_after(async {}).await;
    Ok(total)
}

/// Runs the demo into `out` (created) with the store at `db` (default `out/gwmon.db`; an
/// existing store there is replaced).
pub async fn run(
    cfg: Config,
    out: &Path,
    db: Option<PathBuf>,
    broker: Option<String>,
    today: Date,
    now: i64,
) -> Result<DemoSummary, DemoError> {
    let started = Instant::now();
    // The broker first: without one there is nothing to do, and the previous store stays.
    let on_users_broker = broker.is_some();
    let url = match broker {
        Some(url) => url,
        None => in_process_broker().await?,
    };
    std::fs::create_dir_all(out).map_err(|source| DemoError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let db = db.unwrap_or_else(|| out.join("gwmon.db"));
    for ext in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{ext}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|source| DemoError::Io { path: p, source })?;
        }
    }
    let mut cfg = cfg;
    cfg.mqtt.url = url;
    cfg.mqtt.client_id = format!("gwmon-demo-{}", std::process::id());
    cfg.mqtt.embedded_broker = false;
    let cfg = Arc::new(cfg);

    println!(
        "gwmon demo: broker {}, store {}",
        cfg.mqtt.url,
        db.display()
    );
    let from = Date::new(2020, 1, 1).unwrap_or(today);
    let (history, live) = fleet_messages(&cfg, 7, from, today, now);
    let want: i64 = history.iter().chain(&live).map(|m| m.new_readings).sum();
    let messages = (history.len() + live.len()) as u64;

    // The daemon, through the normal path.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (sub_tx, sub_rx) = tokio::sync::oneshot::channel::<()>();
    let progress = Arc::new(Progress::default());
    // The daemon and the gateway under one supervisor, stopped in its order: the gateway's
    // input first, then ingest commits and acknowledges.
    let parts = Supervisor::new();
    let daemon = {
        let cfg = Arc::clone(&cfg);
        let db = db.clone();
        let shutdown = parts.stop_inputs_after(async {
            let _ = stop_rx.await;
        });
        let wiring = crate::ingest::mqtt::Wiring {
            subscribed: Some(sub_tx),
            progress: Some(Arc::clone(&progress)),
            ..Default::default()
        };
        tokio::spawn(async move { crate::ingest::mqtt::run_with(cfg, &db, shutdown, wiring).await })
    };
    if sub_rx.await.is_err() {
        return Err(match daemon.await {
            Ok(Err(e)) => e.into(),
            _ => DemoError::Publish(
                cfg.mqtt.url.clone(),
                "the daemon stopped before subscribing".into(),
            ),
        });
    }

    let bar = ProgressBar::new(want as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:40}] {pos}/{len} readings {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("history since 2020 (backlog)");
    let stored = || progress.stored.load(Ordering::Relaxed) as i64;
    let url = BrokerUrl::parse(&cfg.mqtt.url)?;
    let mut mo = MqttOptions::new(
        format!("gwmon-demo-fleet-{}", std::process::id()),
        url.host,
        url.port,
    );
    mo.set_keep_alive(Duration::from_secs(30))
        .set_inflight(100)
        .set_max_packet_size(16 << 20, 16 << 20);
    let (client, mut eventloop) = AsyncClient::new(mo, 1000);
    let poll = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                Ok(Event::Incoming(Packet::ConnAck(_))) | Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    });
    // Publish with flow control: never more than this many messages ahead of the store, so a
    // broker that queues few messages per client (Debian's default: 1000) never drops any.
    const AHEAD: u64 = 500;
    let mut published: u64 = 0;
    for (phase, msgs) in [
        ("history since 2020 (backlog)", &history),
        ("live readings", &live),
    ] {
        bar.set_message(phase);
        for m in msgs.iter() {
            while published > progress.messages.load(Ordering::Relaxed) + AHEAD {
                bar.set_position(stored().max(0) as u64);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            client
                .publish(m.topic.clone(), QoS::AtLeastOnce, false, m.payload.clone())
                .await
                .map_err(|e| DemoError::Publish(cfg.mqtt.url.clone(), e.to_string()))?;
            published += 1;
        }
    }
    bar.set_message("committing");
    let deadline = Instant::now() + Duration::from_secs(300);
    let hostile = live.iter().filter(|m| m.new_readings == 0).count() as i64;

    loop {
        let got = stored();
        bar.set_position(got.max(0) as u64);
        if got >= want && progress.rejected.load(Ordering::Relaxed) as i64 >= hostile {
            break;
        }
        if Instant::now() > deadline {
            return Err(DemoError::Incomplete {
                got,
                want,
                secs: 300,
                db: db.display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bar.finish_and_clear();
    let _ = client.disconnect().await;
    let _ = poll.await;
    // Field terminals through the gateway, then their readings committed.
    let field = field_terminals(&parts, &cfg, &db, now).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored() < want + field.readings as i64 {
        if Instant::now() > deadline {
            return Err(DemoError::Incomplete {
                got: stored(),
                want: want + field.readings as i64,
                secs: 60,
                db: db.display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the hostile messages (which add no readings) land too, then stop the daemon cleanly.
    let _ = stop_tx.send(());
    match daemon.await {
        Ok(r) => {
            r?;
        }
        Err(e) => return Err(DemoError::Publish("daemon".into(), e.to_string())),
    }
    parts.shutdown().await;

    // On a broker of the user's, end the demo daemon's persistent session so the broker does
    // not go on queueing every reading for a subscriber that will never come back.
    if on_users_broker {
        forget_session(&cfg.mqtt.url, &cfg.mqtt.client_id).await;
    }
    let conn = crate::store::open_ro(&db)?;
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    let quarantined = one("SELECT count(*) FROM quarantine");
    let meter_events =
        one("SELECT count(*) FROM meter_events WHERE kind IN ('reset', 'replacement')");
    drop(conn);
    let cfg_report = Arc::clone(&cfg);
    let out_dir = out.to_path_buf();
    let db_r = db.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::report::report(&cfg_report, &db_r, today, None, &out_dir)
    })
    .await
    .map_err(|e| DemoError::Publish("report".into(), e.to_string()))??;
    Ok(DemoSummary {
        messages,
        readings: want + field.readings as i64,
        quarantined,
        meter_events,
        terminals: field.stations,
        terminal_reports: field.confirmed,
        seconds: started.elapsed().as_secs_f64(),
        report,
        db,
    })
}
