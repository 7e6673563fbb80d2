//! The plain subscriber (`benches/plain_subscriber.py`: paho-mqtt and sqlite3, manual acks after
//! each commit, no counter maths or rollups) run beside gwmon in `ingest`, and the latency from a
//! reading's PUBLISH to its commit. The plain subscriber commits each message as it arrives (the
//! baseline of the goals); its `--batch` variant batches as gwmon does and is measured beside it
//! in the batched drain.
//!
//! Latency: one publisher connection sends single-reading QoS 1 messages at a fixed rate and
//! notes the instant each PUBLISH is handed to its connection. A watcher reads the subscriber's
//! store and notes the instant each reading is first visible there (committed): it checks the
//! oldest unseen reading by its key and moves on while it is found, then waits a millisecond.
//! The broker delivers one connection's messages in order and both subscribers commit in arrival
//! order, so a found reading means every earlier one is committed too. The figure includes up to
//! about a millisecond of the watcher's own polling.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Mosquitto, ms, wait_for};

/// The script's path in the repository.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/plain_subscriber.py")
}

/// Whether `python3` can import paho-mqtt; if not, says how to install it.
pub fn available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import paho.mqtt.client"])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        println!(
            "the plain subscriber is skipped: python3 cannot import paho-mqtt (pip install paho-mqtt)"
        );
    }
    ok
}

/// The running plain subscriber.
pub struct Plain {
    child: std::process::Child,
}

impl Plain {
    /// Starts it on `broker` with `client_id`, storing into `db` (committing in batches when
    /// `batch`); returns once subscribed.
    pub fn start(broker: &Mosquitto, db: &Path, client_id: &str, batch: bool) -> Plain {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .arg(script())
            .args(["--port", &broker.port.to_string(), "--client-id", client_id])
            .args(batch.then_some("--batch"))
            .arg("--db")
            .arg(db)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let out = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(out).read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "subscribed",
            "the plain subscriber did not subscribe"
        );
        Plain { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM: it commits and acknowledges what it holds, then exits.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Readings in the plain subscriber's store.
pub fn count(db: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT count(*) FROM readings", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// Time for the plain subscriber to drain what the broker queued for it after `publish`: it
/// registers its session, stops, `publish` queues messages, it starts again and is timed until
/// `readings` rows are stored.
pub fn drain(
    broker: &Mosquitto,
    db: &Path,
    batch: bool,
    publish: impl FnOnce() -> u64,
) -> (f64, u64) {
    let id = if batch {
        "plain-drain-batch"
    } else {
        "plain-drain"
    };
    Plain::start(broker, db, id, batch).stop();
    let readings = publish();
    let t = Instant::now();
    let p = Plain::start(broker, db, id, batch);
    wait_for(
        "the plain subscriber to commit every reading",
        Duration::from_secs(900),
        || count(db) as u64 >= readings,
    );
    let secs = t.elapsed().as_secs_f64();
    p.stop();
    (secs, readings)
}

/// Publish-to-commit latencies.
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub seen: usize,
    pub sent: usize,
}

impl Latency {
    /// Prints the percentiles as `who`'s and records them as `<key>_p50_ms`, `_p99_ms`, `_max_ms`.
    pub fn report(
        &self,
        who: &str,
        key: &str,
        goal: &str,
        results: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        println!(
            "{who}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} of {} readings seen){goal}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.seen,
            self.sent
        );
        for (name, d) in [("p50", self.p50), ("p99", self.p99), ("max", self.max)] {
            results.insert(format!("{key}_{name}_ms"), ms(d).into());
        }
    }
}

/// How a watcher finds a reading in a store: SQL with the device and the time as ?1 and ?2.
pub enum Store<'a> {
    Gwmon(&'a Path),
    Plain(&'a Path),
}

/// Publishes single-reading messages at `rate` for `secs` over `devices` (one connection) while
/// watching `store` for each reading's commit.
pub fn latency(
    broker: &Mosquitto,
    devices: &[(String, String)],
    rate: f64,
    secs: u64,
    store: Store<'_>,
    tag: &str,
) -> Latency {
    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
    let (db, sql) = match store {
        Store::Gwmon(p) => (
            p,
            "SELECT 1 FROM meter_readings WHERE intake_id = ?1 AND ts = ?2",
        ),
        Store::Plain(p) => (p, "SELECT 1 FROM readings WHERE device = ?1 AND ts = ?2"),
    };
    let n = (rate * secs as f64) as usize;
    let start_ts = gwmon::domain::time::now_ts() - 86_400 * 20;
    // Message k: device k mod D, its (k div D)-th reading a minute after the one before.
    let key = |k: usize| -> (&str, i64) {
        let d = k % devices.len();
        (
            devices[d].1.as_str(),
            start_ts + (k / devices.len()) as i64 * 60,
        )
    };
    let sent_at: Arc<Vec<std::sync::OnceLock<Instant>>> =
        Arc::new((0..n).map(|_| std::sync::OnceLock::new()).collect());
    let published = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let mut mo = MqttOptions::new(format!("latency-pub-{tag}"), "127.0.0.1", broker.port);
    mo.set_keep_alive(Duration::from_secs(30))
        .set_inflight(1000);
    let (client, mut connection) = Client::new(mo, 10_000);
    let poller = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            for ev in connection.iter() {
                if matches!(ev, Ok(Event::Incoming(Packet::Disconnect)) | Err(_))
                    || done.load(Ordering::Relaxed)
                {
                    return;
                }
            }
        })
    };
    let watcher = {
        let (sent_at, published, done) = (
            Arc::clone(&sent_at),
            Arc::clone(&published),
            Arc::clone(&done),
        );
        let db = db.to_path_buf();
        let sql = sql.to_string();
        let keys: Vec<(String, i64)> = (0..n)
            .map(|k| {
                let (d, t) = key(k);
                (d.to_string(), t)
            })
            .collect();
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open_with_flags(
                &db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .expect("the subscriber's store");
            let mut stmt = conn.prepare(&sql).unwrap();
            let mut lat = Vec::with_capacity(n);
            let mut next = 0usize;
            let mut stuck_since = Instant::now();
            while next < n {
                let mut moved = false;
                while next < published.load(Ordering::Acquire) {
                    let (d, t) = &keys[next];
                    if !stmt.exists(rusqlite::params![d, t]).unwrap_or(false) {
                        break;
                    }
                    let now = Instant::now();
                    if let Some(s) = sent_at[next].get() {
                        lat.push(now.duration_since(*s));
                    }
                    next += 1;
                    moved = true;
                }
                if moved {
                    stuck_since = Instant::now();
                } else if stuck_since.elapsed() > Duration::from_secs(30) {
                    break; // a reading that never arrives: counted as missing
                } else if done.load(Ordering::Relaxed) && next >= published.load(Ordering::Acquire)
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            lat
        })
    };
    let t0 = Instant::now();
    for k in 0..n {
        let due = Duration::from_secs_f64(k as f64 / rate);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        let (d, ts) = key(k);
        let county = &devices[k % devices.len()].0;
        let body = format!("{{\"ts\":{ts},\"total_m3\":{}}}", (k / devices.len()) * 10);
        let _ = sent_at[k].set(Instant::now());
        client
            .publish(
                format!("gw/{county}/meter/{d}"),
                QoS::AtLeastOnce,
                false,
                body,
            )
            .unwrap();
        published.store(k + 1, Ordering::Release);
    }
    let mut lat = watcher.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let _ = client.disconnect();
    let _ = poller.join();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Latency {
        p50: pct(0.50),
        p99: pct(0.99),
        max: lat.last().copied().unwrap_or_default(),
        seen: lat.len(),
        sent: n,
    }
}
