//! gwmon's benchmark harness: `cargo bench --bench harness [-- SECTION...]`.
//!
//! Sections (all by default): `status` — a store of 5,000 intakes × 5 years of daily volumes and
//! 200 wells × 5 years of levels; `gwmon status` for all counties timed against a plain SQLite
//! aggregate over the same daily table in the same run; `report` — `gwmon report --all` over
//! that store; `ingest` — against a real Mosquitto configured as in production: (1) the ceiling,
//! `mosquitto_sub -q 1` draining N queued single-reading messages versus `gwmon run` draining
//! (committing and acking) the same N; (2) 100-reading payloads, readings committed per second;
//! (3) steady state, 5,000 devices at 1,000 msg/s: CPU and peak RSS of the daemon; (4) latency
//! from each reading's PUBLISH to its commit at 1,000 msg/s, p50 and p99. (2)-(4) also run the
//! plain paho-mqtt + sqlite3 subscriber (`benches/plain_subscriber.py`, needs
//! `pip install paho-mqtt`; skipped with a note without it) on the same broker and input. Sizes:
//! `GWMON_BENCH_N` (100,000), `GWMON_BENCH_BATCHED_MSGS` (5,000), `GWMON_BENCH_STEADY_S` (180),
//! `GWMON_BENCH_LATENCY_S` (30).
//!
//! `soak` runs only when named (`cargo bench --bench harness -- soak`, ten minutes): 1,000 msg/s
//! from one publisher over 4,500 devices against a production Mosquitto that is killed (-9) and
//! restarted every two minutes, a 300,000-row `gwmon import` into the same store a little after
//! the start, and a SIGTERM and restart of the daemon halfway; it reports the messages the broker
//! acknowledged against the rows stored, and the daemon's CPU and peak RSS. Sizes:
//! `GWMON_SOAK_S` (600), `GWMON_SOAK_RATE` (1000), `GWMON_SOAK_KILL_EVERY_S` (120).
//!
//! `web` — `gwmon serve` on the status store: the county page and the status API, first
//! request and median of 20; then 50 clients for 30 s (`GWMON_BENCH_WEB_CLIENTS`,
//! `GWMON_BENCH_WEB_S`) with p50/p99, errors, and the server's CPU and peak RSS.
//!
//! `gateway` runs only when named (`cargo bench --bench harness -- gateway`): `gwmon gateway` with
//! N simulated SZY 206 terminals (one TCP connection each, JetLinks confirms) against a production
//! Mosquitto, each terminal sending one report a period and waiting for its confirm; it reports
//! the gateway's CPU time and share of one core, its peak RSS, and confirms per second. Sizes:
//! `GWMON_BENCH_RTUS` (5,000), `GWMON_BENCH_RTU_PERIOD_S` (60: one report a minute; a smaller
//! period compresses time), `GWMON_BENCH_RTU_ROUNDS` (3).
//!
//! `pg` runs only when named: drain, steady state and a province-scale `status` on PostgreSQL
//! beside SQLite in the same run (see `harness/postgres.rs`).
//!
//! `hostile` runs only when named: a stranger's floods of the gateway and the web listener,
//! measured in disk, memory, CPU and descriptors (see `harness/hostile.rs`).
//!
//! Timings are medians of repeated runs after a warm-up. Figures go to stdout and to
//! `target/bench-results.json`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gwmon::store::{Durability, StoreSettings, open_ro, open_store};

/// Attacks on the listeners, measured (`hostile`).
#[path = "harness/hostile.rs"]
mod hostile;

/// PostgreSQL beside SQLite (`pg`).
#[path = "harness/postgres.rs"]
mod postgresql;

/// The plain paho-mqtt + sqlite3 subscriber beside gwmon, and publish-to-commit latency
/// (`ingest`).
#[path = "harness/plain.rs"]
mod plain;

const AS_OF: &str = "2026-11-27";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_n(n: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The store `name` in `dir`: five years of simulated history up to [`AS_OF`] for `cfg`'s
/// registry, written by the store's writer unless the file exists (a half-built one is started
/// again). Returns its path and, when it was built now, the readings written and the seconds.
fn simulated_store(
    dir: &Path,
    name: &str,
    cfg: &gwmon::config::Config,
) -> (std::path::PathBuf, Option<(u64, f64)>) {
    let db = dir.join(name);
    if db.exists() {
        return (db, None);
    }
    let as_of: jiff::civil::Date = AS_OF.parse().unwrap();
    let from = as_of
        .checked_sub(jiff::ToSpan::years(5))
        .unwrap()
        .tomorrow()
        .unwrap();
    let partial = dir.join(format!("{name}.partial"));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", partial.display()));
    }
    let mut store = open_store(
        StoreSettings::from_config(cfg),
        &partial,
        Durability::Normal,
    )
    .unwrap();
    let t = Instant::now();
    let n = gwmon::tools::fleet::populate(&mut store, cfg, 42, from, as_of, 5).unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(store);
    let conn = rusqlite::Connection::open(&partial).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    std::fs::rename(&partial, &db).unwrap();
    (db, Some((n, secs)))
}

/// Builds (or reuses) the benchmark store; returns its path and the config.
fn status_store(
    dir: &Path,
    results: &mut serde_json::Map<String, serde_json::Value>,
) -> (std::path::PathBuf, Arc<gwmon::config::Config>) {
    let cfg = Arc::new(gwmon::tools::fleet::synthetic_config(5000, 200).expect("synthetic config"));
    let (db, built) = simulated_store(dir, "bench-status.db", &cfg);
    if let Some((n, secs)) = built {
        println!(
            "built the store: {n} readings in {secs:.1} s ({:.0} readings/s)",
            n as f64 / secs
        );
        results.insert("status_store_build_readings".into(), n.into());
        results.insert("status_store_build_s".into(), secs.into());
    }
    (db, cfg)
}

fn bench_status(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    println!("== status: 5,000 intakes × 5 years of daily volumes, 200 wells × 5 years of levels");
    let (db, cfg) = status_store(dir, results);
    let conn = open_ro(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM daily_volume", [], |r| r.get(0))
        .unwrap();
    let as_of: jiff::civil::Date = AS_OF.parse().unwrap();
    let status = time_n(10, || {
        let doc = gwmon::assess::status(&cfg, &conn, as_of).unwrap();
        assert_eq!(doc.counties.len(), 10);
    });
    let sql = format!(
        "SELECT intake_id, sum(volume_m3), sum(estimated_m3) FROM daily_volume WHERE day BETWEEN '{}-01-01' AND '{AS_OF}' GROUP BY intake_id",
        as_of.year()
    );
    let plain = time_n(10, || {
        let mut st = conn.prepare_cached(&sql).unwrap();
        // Every metered intake with a figure this year (farm wells without meters have none).
        let n = st.query_map([], |r| r.get::<_, f64>(1)).unwrap().count();
        assert!(n > 4000, "{n} intakes");
    });
    let ratio = status.as_secs_f64() / plain.as_secs_f64();
    println!("daily_volume rows: {rows}");
    println!(
        "status, all counties (median of 10): {:.1} ms (goal < 200 ms)",
        ms(status)
    );
    println!(
        "plain SQLite aggregate, year to date per intake over daily_volume: {:.1} ms",
        ms(plain)
    );
    println!("ratio status / plain aggregate: {ratio:.3}");
    results.insert("daily_volume_rows".into(), rows.into());
    results.insert("status_ms".into(), ms(status).into());
    results.insert("plain_aggregate_ms".into(), ms(plain).into());
    results.insert("status_to_aggregate_ratio".into(), ratio.into());
}

fn bench_report(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    println!("== report --all over the status benchmark store");
    let (db, cfg) = status_store(dir, results);
    let as_of: jiff::civil::Date = AS_OF.parse().unwrap();
    let out = dir.join("bench-report");
    let mut files = 0;
    let t = time_n(3, || {
        let _ = std::fs::remove_dir_all(&out);
        files = gwmon::report::report(&cfg, &db, as_of, None, &out)
            .unwrap()
            .files
            .len();
    });
    println!(
        "report --all: {files} files in {:.2} s (median of 3; goal < 5 s)",
        t.as_secs_f64()
    );
    results.insert("report_all_s".into(), t.as_secs_f64().into());
    results.insert("report_all_files".into(), files.into());
}

// ---------------------------------------------------------------------------------------------
// Ingest against a real Mosquitto configured as in production (config/mosquitto.conf).
// ---------------------------------------------------------------------------------------------

struct Mosquitto {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    fn start() -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Self::spawn(dir.path(), port);
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }

    /// Starts the broker again on its port with its persistence folder (after a kill).
    fn respawn(&mut self, port: u16) {
        self.child = Self::spawn(self._dir.path(), port);
    }

    fn spawn(dir: &Path, port: u16) -> std::process::Child {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/mosquitto.conf"),
        )
        .unwrap();
        let mut conf = String::new();
        for line in shipped.lines() {
            let t = line.trim_start();
            if t.starts_with("listener ") {
                conf.push_str(&format!("listener {port} 127.0.0.1\n"));
            } else if t.starts_with("persistence_location ") {
                conf.push_str(&format!("persistence_location {}/\n", dir.display()));
            } else if t.starts_with("log_dest ") {
                conf.push_str(&format!("log_dest file {}/mosquitto.log\n", dir.display()));
            } else {
                conf.push_str(line);
                conf.push('\n');
            }
        }
        if std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
        {
            conf.push_str("user root\n");
        }
        let path = dir.join("mosquitto.conf");
        std::fs::write(&path, conf).unwrap();
        let child = std::process::Command::new("mosquitto")
            .arg("-c")
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto (apt-get install mosquitto)");
        wait_for("mosquitto", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        child
    }
    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn count(db: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT count(*) FROM meter_readings", [], |r| r.get(0)))
        .unwrap_or(0)
}

struct Daemon {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(config: &Path, db: &Path, log: &Path) -> Daemon {
        let before = std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("subscribed")
            .count()
            + std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("session_present=true")
                .count();
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_gwmon"))
            .args(["run", "--config"])
            .arg(config)
            .arg("--db")
            .arg(db)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(f)
            .spawn()
            .unwrap();
        wait_for("gwmon to connect", Duration::from_secs(30), || {
            let t = std::fs::read_to_string(log).unwrap_or_default();
            t.matches("subscribed").count() + t.matches("session_present=true").count() > before
        });
        Daemon {
            child,
            log: log.to_path_buf(),
        }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = &self.log;
    }
}

fn publish(
    url: &str,
    devices: &[(String, String)],
    count: u64,
    batch: usize,
    rate: Option<f64>,
    duration: Option<Duration>,
) -> gwmon::tools::loadgen::LoadReport {
    use gwmon::tools::loadgen;
    // A run bounded by rate × duration takes no count.
    let count = duration.is_none().then_some(count);
    let planned = loadgen::planned_messages(count, rate, duration);
    let opts = loadgen::LoadOptions {
        broker: url.to_string(),
        rate,
        batch,
        duration,
        count,
        connections: 4,
        topic_prefix: "gw".into(),
        start_ts: loadgen::first_reading_ts(
            gwmon::domain::time::now_ts(),
            planned,
            devices.len(),
            batch,
        ),
        step_s: loadgen::STEP_S,
        client_id: format!(
            "bench-pub-{}",
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(gwmon::tools::loadgen::run(opts, devices.to_vec()))
        .unwrap()
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn env_n(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The synthetic fleet's config (5,000 intakes, 200 wells) in `dir`, on `broker` as `client_id`.
fn bench_config(dir: &Path, broker: &str, client_id: &str) -> std::path::PathBuf {
    let cfg = gwmon::tools::fleet::write_synthetic_config(dir, 5000, 200).unwrap();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            "url = \"mqtt://127.0.0.1:1883\"",
            &format!("url = \"{broker}\""),
        )
        .replace(
            "client_id = \"gwmon-taiyuan\"",
            &format!("client_id = \"{client_id}\""),
        )
        .replace("listen = \"127.0.0.1:9650\"", "listen = \"127.0.0.1:0\"");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Time for a stopped persistent subscriber to drain `n` queued messages into the store.
fn drain_daemon(
    broker: &Mosquitto,
    cfg_dir: &Path,
    n_msgs: u64,
    batch: usize,
    tag: &str,
) -> (f64, u64) {
    let cfg = bench_config(cfg_dir, &broker.url(), &format!("gwmon-bench-{tag}"));
    let db = cfg_dir.join(format!("{tag}.db"));
    let log = cfg_dir.join(format!("{tag}.log"));
    // Register the persistent session, then stop.
    Daemon::start(&cfg, &db, &log).stop();
    let config = gwmon::config::Config::load(&cfg).unwrap();
    let devices = gwmon::tools::fleet::devices(&config, 5000).unwrap();
    let p = publish(&broker.url(), &devices, n_msgs, batch, None, None);
    let readings = p.readings;
    let t = Instant::now();
    let d = Daemon::start(&cfg, &db, &log);
    wait_for(
        "the daemon to commit every reading",
        Duration::from_secs(600),
        || count(&db) as u64 >= readings,
    );
    let secs = t.elapsed().as_secs_f64();
    d.stop();
    (secs, readings)
}

fn bench_ingest(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    let n = env_n("GWMON_BENCH_N", 100_000);
    println!(
        "== ingest 1: ceiling — {n} single-reading QoS 1 messages queued for a stopped persistent subscriber"
    );
    let broker = Mosquitto::start();
    let sub = |extra: &[&str]| {
        std::process::Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &broker.port.to_string(),
                "-q",
                "1",
                "-c",
                "-i",
                "bench-sub",
                "-t",
                "gw/+/meter/+",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("mosquitto_sub (apt-get install mosquitto-clients)")
    };
    sub(&["-E"]); // register the session and exit
    let config = gwmon::tools::fleet::synthetic_config(5000, 1).unwrap();
    let devices = gwmon::tools::fleet::devices(&config, 5000).unwrap();
    publish(&broker.url(), &devices, n, 1, None, None);
    let t = Instant::now();
    sub(&["-C", &n.to_string()]);
    let sub_s = t.elapsed().as_secs_f64();
    let sub_rate = n as f64 / sub_s;
    println!("mosquitto_sub -q 1: {n} messages in {sub_s:.2} s = {sub_rate:.0} msg/s");
    let work = dir.join("ingest");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let (d_s, got) = drain_daemon(&broker, &work, n, 1, "single");
    let d_rate = got as f64 / d_s;
    println!("gwmon run: {got} messages committed and acked in {d_s:.2} s = {d_rate:.0} msg/s");
    println!(
        "ratio gwmon / mosquitto_sub: {:.2} (goal ≥ 0.8)",
        d_rate / sub_rate
    );
    results.insert("ceiling_mosquitto_sub_msg_s".into(), sub_rate.into());
    results.insert("ceiling_gwmon_msg_s".into(), d_rate.into());
    results.insert("ceiling_ratio".into(), (d_rate / sub_rate).into());

    let nb = env_n("GWMON_BENCH_BATCHED_MSGS", 5_000);
    println!("== ingest 2: batched — {nb} messages of 100 readings");
    let (b_s, readings) = drain_daemon(&broker, &work, nb, 100, "batched");
    let b_rate = readings as f64 / b_s;
    println!(
        "gwmon run: {readings} readings committed in {b_s:.2} s = {b_rate:.0} readings/s (goal ≥ 200,000)"
    );
    results.insert("batched_readings_per_s".into(), b_rate.into());
    let with_plain = plain::available();
    if with_plain {
        for (batch, what, key) in [
            (false, "plain subscriber", "plain"),
            (true, "plain subscriber --batch", "plain_batch"),
        ] {
            let (p_s, p_readings) =
                plain::drain(&broker, &work.join(format!("{key}.db")), batch, || {
                    publish(&broker.url(), &devices, nb, 100, None, None).readings
                });
            let p_rate = p_readings as f64 / p_s;
            let goal = if batch { "" } else { " (goal ≥ 3.5)" };
            println!(
                "{what}: {p_readings} readings committed in {p_s:.2} s = {p_rate:.0} readings/s; gwmon / {what} = {:.2}{goal}",
                b_rate / p_rate
            );
            results.insert(format!("batched_{key}_readings_per_s"), p_rate.into());
            results.insert(format!("batched_ratio_to_{key}"), (b_rate / p_rate).into());
        }
    }

    let secs = env_n("GWMON_BENCH_STEADY_S", 180);
    println!("== ingest 3: steady state — 5,000 devices at 1,000 msg/s for {secs} s");
    let cfg = bench_config(&work, &broker.url(), "gwmon-bench-steady");
    let db = work.join("steady.db");
    let d = Daemon::start(&cfg, &db, &work.join("steady.log"));
    let (rep, cpu, hwm) = steady(&broker, &devices, secs, d.pid(), || count(&db) as u64);
    d.stop();
    println!(
        "published {} messages at {:.0} msg/s; gwmon CPU {cpu:.1} % of one core, peak RSS {hwm:.1} MB (goals < 5 %, < 50 MB)",
        rep.messages, rep.messages_per_s
    );
    results.insert("steady_msg_s".into(), rep.messages_per_s.into());
    results.insert("steady_cpu_percent".into(), cpu.into());
    results.insert("steady_peak_rss_mb".into(), hwm.into());
    if with_plain {
        let db = work.join("plain-steady.db");
        let p = plain::Plain::start(&broker, &db, "plain-steady", false);
        let (rep, cpu, hwm) = steady(&broker, &devices, secs, p.pid(), || {
            plain::count(&db) as u64
        });
        p.stop();
        println!(
            "plain subscriber: {} messages at {:.0} msg/s; CPU {cpu:.1} % of one core, peak RSS {hwm:.1} MB",
            rep.messages, rep.messages_per_s
        );
        results.insert("steady_plain_cpu_percent".into(), cpu.into());
        results.insert("steady_plain_peak_rss_mb".into(), hwm.into());
    }

    let secs = env_n("GWMON_BENCH_LATENCY_S", 30);
    println!(
        "== ingest 4: latency — PUBLISH to commit, single-reading messages at 1,000 msg/s for {secs} s, default batch settings"
    );
    let cfg = bench_config(&work, &broker.url(), "gwmon-bench-latency");
    let db = work.join("latency.db");
    let d = Daemon::start(&cfg, &db, &work.join("latency.log"));
    let l = plain::latency(
        &broker,
        &devices,
        1000.0,
        secs,
        plain::Store::Gwmon(&db),
        "gwmon",
    );
    d.stop();
    l.report("gwmon", "latency", " (goal p99 < 100 ms)", results);
    if with_plain {
        let db = work.join("plain-latency.db");
        let p = plain::Plain::start(&broker, &db, "plain-latency", false);
        let l = plain::latency(
            &broker,
            &devices,
            1000.0,
            secs,
            plain::Store::Plain(&db),
            "plain",
        );
        p.stop();
        l.report("plain subscriber", "latency_plain", "", results);
    }
}

// ---------------------------------------------------------------------------------------------
// Soak: the daemon under the faults an operator meets, counting every reading.
// ---------------------------------------------------------------------------------------------

/// Publishes one single-reading QoS 1 message per tick at `rate` msg/s over `devices` until
/// `stop`, riding out broker restarts (the client's session resends what was not acknowledged).
/// Returns how many messages the broker acknowledged: every one of them carries its own
/// (device, time) key, so the store must end with exactly that many rows.
fn soak_publisher(
    url: String,
    devices: Vec<(String, String)>,
    rate: f64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let u = gwmon::mqtt::BrokerUrl::parse(&url).unwrap();
        let mut mo = MqttOptions::new("soak-publisher", u.host, u.port);
        mo.set_clean_session(false)
            .set_keep_alive(Duration::from_secs(5))
            .set_inflight(1000);
        let (client, mut connection) = Client::new(mo, 100_000);
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (a, done) = (std::sync::Arc::clone(&acked), std::sync::Arc::clone(&stop));
        let s = std::sync::Arc::clone(&sent);
        let poller = std::thread::spawn(move || {
            for ev in connection.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    // The broker is down: the loop reconnects on the next iteration.
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
                if done.load(Ordering::Relaxed)
                    && a.load(Ordering::Relaxed) >= s.load(Ordering::Relaxed)
                {
                    return;
                }
            }
        });
        let start_ts = gwmon::domain::time::now_ts() - 86_400 * 30;
        let t0 = Instant::now();
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let due = Duration::from_secs_f64(n as f64 / rate);
            if let Some(wait) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(wait);
            }
            let d = (n as usize) % devices.len();
            let seq = n / devices.len() as u64;
            let (county, id) = &devices[d];
            let body = format!(
                "{{\"ts\":{},\"total_m3\":{}}}",
                start_ts + seq as i64 * 60,
                seq * 10
            );
            if client
                .publish(
                    format!("gw/{county}/meter/{id}"),
                    QoS::AtLeastOnce,
                    false,
                    body,
                )
                .is_err()
            {
                break;
            }
            sent.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
        let _ = poller.join();
        let _ = client.disconnect();
        acked.load(Ordering::Relaxed)
    })
}

fn bench_soak(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    use std::sync::atomic::Ordering;
    let secs = env_n("GWMON_SOAK_S", 600);
    let rate = env_n("GWMON_SOAK_RATE", 1000) as f64;
    let kill_every = Duration::from_secs(env_n("GWMON_SOAK_KILL_EVERY_S", 120));
    println!(
        "== soak: {rate} msg/s for {secs} s; broker kill -9 every {} s, a 300,000-row import, a daemon SIGTERM and restart",
        kill_every.as_secs()
    );
    let work = dir.join("soak");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mut broker = Mosquitto::start();
    let port = broker.port;
    let cfg = bench_config(&work, &broker.url(), "gwmon-soak");
    let config = gwmon::config::Config::load(&cfg).unwrap();
    let all = gwmon::tools::fleet::devices(&config, 5000).unwrap();
    // MQTT devices and imported intakes are disjoint, so each count is checked on its own.
    let (live, imported): (Vec<_>, Vec<_>) =
        all.into_iter().enumerate().partition(|(i, _)| i % 10 != 0);
    let live: Vec<(String, String)> = live.into_iter().map(|(_, d)| d).collect();
    let imported: Vec<String> = imported.into_iter().map(|(_, (_, id))| id).collect();
    let import_rows = 300_000usize;
    let csv = work.join("history.csv");
    {
        let mut text = String::from("intake_id,ts,total_m3\n");
        let per = import_rows / imported.len();
        let t0 = gwmon::domain::time::now_ts() - 86_400 * 400;
        for id in &imported {
            for k in 0..per {
                text.push_str(&format!("{id},{},{}\n", t0 + k as i64 * 3600, k * 5));
            }
        }
        std::fs::write(&csv, text).unwrap();
    }
    let import_total = (import_rows / imported.len() * imported.len()) as i64;

    let db = work.join("soak.db");
    let log = work.join("soak.log");
    let mut daemon = Some(Daemon::start(&cfg, &db, &log));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = soak_publisher(broker.url(), live, rate, std::sync::Arc::clone(&stop));

    let t0 = Instant::now();
    let total = Duration::from_secs(secs);
    let mut next_kill = kill_every;
    let restart_at = total / 2 + Duration::from_secs(15);
    let import_at = Duration::from_secs(secs.min(45));
    let (mut restarted, mut import) = (false, None);
    let (mut cpu_ticks, mut peak_rss_kb, mut kills) = (0u64, 0u64, 0);
    let ticks = |pid: u32| -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let f: Vec<&str> = s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    let hwm = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    while t0.elapsed() < total {
        std::thread::sleep(Duration::from_millis(250));
        let pid = daemon.as_ref().unwrap().pid();
        peak_rss_kb = peak_rss_kb.max(hwm(pid));
        if import.is_none() && t0.elapsed() >= import_at {
            import = Some(
                std::process::Command::new(env!("CARGO_BIN_EXE_gwmon"))
                    .args(["import", "--kind", "meter", "--config"])
                    .arg(&cfg)
                    .arg("--db")
                    .arg(&db)
                    .arg(&csv)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        if t0.elapsed() >= next_kill {
            let _ = broker.child.kill();
            let _ = broker.child.wait();
            kills += 1;
            broker.respawn(port);
            next_kill += kill_every;
        }
        if !restarted && t0.elapsed() >= restart_at {
            cpu_ticks += ticks(pid);
            daemon.take().unwrap().stop();
            daemon = Some(Daemon::start(&cfg, &db, &log));
            restarted = true;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let acked = publisher.join().unwrap();
    let imported_ok = import
        .map(|mut c| c.wait().map(|s| s.success()).unwrap_or(false))
        .unwrap_or(false);
    let mqtt_rows = || -> i64 {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM meter_readings WHERE source = 'mqtt'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0)
    };
    let settle = Instant::now();
    while mqtt_rows() < acked as i64 && settle.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let d = daemon.take().unwrap();
    let pid = d.pid();
    cpu_ticks += ticks(pid);
    peak_rss_kb = peak_rss_kb.max(hwm(pid));
    d.stop();
    let stored = mqtt_rows();
    let import_rows_stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM meter_readings WHERE source = 'import'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let cpu = cpu_ticks as f64 / 100.0 / t0.elapsed().as_secs_f64() * 100.0;
    println!(
        "acknowledged by the broker {acked}, stored {stored} ({} missing, {} extra); import {} ({import_rows_stored} of {import_total} rows); broker kills {kills}; daemon restarts 1",
        (acked as i64 - stored).max(0),
        (stored - acked as i64).max(0),
        if imported_ok { "ok" } else { "FAILED" },
    );
    println!(
        "daemon CPU {cpu:.1} % of one core over the run, peak RSS {:.1} MB",
        peak_rss_kb as f64 / 1024.0
    );
    results.insert("soak_acked".into(), acked.into());
    results.insert("soak_stored".into(), stored.into());
    results.insert("soak_import_ok".into(), imported_ok.into());
    results.insert("soak_broker_kills".into(), kills.into());
    results.insert("soak_cpu_percent".into(), cpu.into());
    results.insert(
        "soak_peak_rss_mb".into(),
        (peak_rss_kb as f64 / 1024.0).into(),
    );
}

// ---------------------------------------------------------------------------------------------
// The field-terminal gateway: N connected terminals, one report each a period.
// ---------------------------------------------------------------------------------------------

/// CPU ticks (user + system) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Share of one core (%) and peak RSS (MB) of process `pid` while `f` runs.
fn cpu_while<R>(pid: u32, f: impl FnOnce() -> R) -> (R, f64, f64) {
    let c0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let r = f();
    let cpu = (cpu_ticks(pid) - c0) as f64 / 100.0 / t0.elapsed().as_secs_f64() * 100.0;
    (r, cpu, status_mb(pid, "VmHWM"))
}

/// The steady state: 5,000 devices' single readings at 1,000 msg/s for `secs`, until `stored`
/// counts them all; the subscriber `pid`'s share of one core and peak RSS meanwhile.
fn steady(
    broker: &Mosquitto,
    devices: &[(String, String)],
    secs: u64,
    pid: u32,
    stored: impl Fn() -> u64,
) -> (gwmon::tools::loadgen::LoadReport, f64, f64) {
    cpu_while(pid, || {
        let rep = publish(
            &broker.url(),
            devices,
            0,
            1,
            Some(1000.0),
            Some(Duration::from_secs(secs)),
        );
        wait_for("the last readings", Duration::from_secs(60), || {
            stored() >= rep.readings
        });
        rep
    })
}

/// A `VmHWM`/`VmRSS` figure of a process, MB.
fn status_mb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn bench_gateway(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    use gwmon::config::stations::Protocol;
    use gwmon::tools::rtu;
    let n = env_n("GWMON_BENCH_RTUS", 5000) as usize;
    let period = env_n("GWMON_BENCH_RTU_PERIOD_S", 60);
    let rounds = env_n("GWMON_BENCH_RTU_ROUNDS", 3) as u32;
    println!(
        "== gateway: {n} SZY 206 terminals, one report each every {period} s, {rounds} rounds"
    );
    let broker = Mosquitto::start();
    let work = dir.join("gateway");
    let _ = std::fs::remove_dir_all(&work);
    let cfg_path = bench_config(&work, &broker.url(), "gwmon-bench-gw");
    // One SZY 206 terminal per synthetic intake: A1 = 140121, A2 = its number, low byte first.
    let base = gwmon::config::Config::load(&cfg_path).unwrap();
    let mut csv = String::from("station,protocol,device_id,quantity,element,reply\n");
    for (i, intake) in base.registry.intakes.iter().take(n).enumerate() {
        let a2 = (i + 1) as u16;
        csv.push_str(&format!(
            "140121{:02X}{:02X},szy206,{},total_m3,c0.volume.1,jetlinks\n",
            a2 & 0xFF,
            a2 >> 8,
            intake.id
        ));
    }
    std::fs::write(work.join("stations.csv"), csv).unwrap();
    let cfg = gwmon::config::Config::load(&cfg_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = work.join("gateway.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args(["gateway", "--config"])
        .arg(&cfg_path)
        .arg("--db")
        .arg(work.join("gateway.db"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for("the gateway", Duration::from_secs(30), || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.contains("gateway listening") && t.contains("gateway connected to broker")
    });
    let idle_rss = status_mb(pid, "VmRSS");
    let stations = rtu::stations(&cfg, Protocol::Szy206, Some(n));
    let step_s = 60;
    let opts = rtu::RtuOptions {
        gateway: format!("127.0.0.1:{port}"),
        rounds,
        interval: Duration::from_secs(period),
        start_ts: (gwmon::domain::time::now_ts() / step_s - i64::from(rounds) - 1) * step_s,
        step_s,
        confirm_timeout: Duration::from_secs(30),
        faults: false,
    };
    let c0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rep = rt
        .block_on(rtu::run(
            opts,
            Protocol::Szy206,
            stations,
            cfg.clock.clone(),
        ))
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let cpu_s = (cpu_ticks(pid) - c0) as f64 / 100.0;
    let hwm = status_mb(pid, "VmHWM");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    println!(
        "{} terminals, {} reports, {} confirmed ({} unconfirmed, {} could not connect) in {secs:.1} s: {:.1} confirms/s; gateway CPU {cpu_s:.2} s ({:.2} % of one core), RSS {idle_rss:.1} MB idle, peak {hwm:.1} MB",
        rep.stations,
        rep.reports,
        rep.confirmed,
        rep.unconfirmed,
        rep.connect_failures,
        rep.confirmed as f64 / secs,
        cpu_s / secs * 100.0
    );
    results.insert("gateway_terminals".into(), rep.stations.into());
    results.insert("gateway_period_s".into(), period.into());
    results.insert("gateway_confirmed".into(), rep.confirmed.into());
    results.insert("gateway_unconfirmed".into(), rep.unconfirmed.into());
    results.insert("gateway_seconds".into(), secs.into());
    results.insert(
        "gateway_confirms_per_s".into(),
        (rep.confirmed as f64 / secs).into(),
    );
    results.insert("gateway_cpu_s".into(), cpu_s.into());
    results.insert("gateway_cpu_percent".into(), (cpu_s / secs * 100.0).into());
    results.insert("gateway_peak_rss_mb".into(), hwm.into());
}

// ---------------------------------------------------------------------------------------------
// The web view: `gwmon serve` on the status benchmark store.
// ---------------------------------------------------------------------------------------------

/// A `gwmon` command's stdout, which must succeed.
fn gwmon_out(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gwmon {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The county page and the status API of `gwmon serve` over the status benchmark store: the
/// first (cold) request, which builds the county's bundle, then the median of 20 sequential
/// requests; then `GWMON_BENCH_WEB_CLIENTS` (50) clients for `GWMON_BENCH_WEB_S` (30) seconds
/// cycling through the pages and API of every county, with p50/p99 and errors.
fn bench_web(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    println!("== web view: gwmon serve over the status benchmark store");
    let (db, _) = status_store(dir, results);
    let work = dir.join("web");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let cfg = gwmon::tools::fleet::write_synthetic_config(&work, 5000, 200).unwrap();
    let loaded = gwmon::config::Config::load(&cfg).unwrap();
    let counties: Vec<String> = loaded.counties.iter().map(|c| c.code.to_string()).collect();
    let (cfg_s, db_s) = (cfg.to_str().unwrap(), db.to_str().unwrap());
    let token = |scope: &[&str]| {
        let mut args = vec!["token", "--config", cfg_s, "--db", db_s, "add"];
        args.extend_from_slice(scope);
        gwmon_out(&args).lines().last().unwrap().to_owned()
    };
    let city = token(&["--city"]);
    let first = token(&["--county", &counties[0]]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--config",
            cfg_s,
            "--db",
            db_s,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("serving ")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let fetch = |agent: &ureq::Agent, path: &str, token: &str| -> Result<usize, String> {
        let mut r = agent
            .get(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(100 << 20)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        if status == 200 {
            Ok(body.len())
        } else {
            Err(format!("{path}: HTTP {status}"))
        }
    };
    let page = format!("/county/{}?as_of={AS_OF}", counties[0]);
    let api = format!("/api/v1/status?as_of={AS_OF}");
    let timed = |path: &str, token: &str| {
        let t = Instant::now();
        let n = fetch(&agent, path, token).unwrap();
        (t.elapsed(), n)
    };
    let (page_cold, page_bytes) = timed(&page, &first);
    let (api_cold, api_bytes) = timed(&api, &city);
    let page_warm = median((0..20).map(|_| timed(&page, &first).0).collect());
    let api_warm = median((0..20).map(|_| timed(&api, &city).0).collect());
    println!(
        "county page ({} KiB): first request {:.0} ms (builds the county's bundle), then median of 20: {:.1} ms (goal < 200 ms)",
        page_bytes / 1024,
        ms(page_cold),
        ms(page_warm)
    );
    println!(
        "status API ({} KiB): first request {:.0} ms, then median of 20: {:.1} ms (goal < 200 ms)",
        api_bytes / 1024,
        ms(api_cold),
        ms(api_warm)
    );

    // Every county's page once, so the load below measures serving, as an operator's day does
    // after the first visit of each county.
    let t = Instant::now();
    for c in &counties {
        fetch(&agent, &format!("/county/{c}?as_of={AS_OF}"), &city).unwrap();
    }
    println!(
        "first visit of all {} county pages: {:.1} s",
        counties.len(),
        t.elapsed().as_secs_f64()
    );

    let clients = env_n("GWMON_BENCH_WEB_CLIENTS", 50) as usize;
    let secs = env_n("GWMON_BENCH_WEB_S", 30);
    let pid = child.id();
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let (lat, errors): (Vec<Vec<Duration>>, Vec<Vec<String>>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|k| {
                let (base_agent, counties, city) = (agent.clone(), &counties, &city);
                let fetch = &fetch;
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut errs = Vec::new();
                    let mut i = k;
                    while Instant::now() < deadline {
                        let c = &counties[i % counties.len()];
                        let path = match i % 3 {
                            0 => format!("/county/{c}?as_of={AS_OF}"),
                            1 => format!("/api/v1/status?as_of={AS_OF}"),
                            _ => format!("/api/v1/counties/{c}/daily?from=2026-01-01&to={AS_OF}"),
                        };
                        let t = Instant::now();
                        match fetch(&base_agent, &path, city) {
                            Ok(_) => lat.push(t.elapsed()),
                            Err(e) => errs.push(e),
                        }
                        i += 1;
                    }
                    (lat, errs)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).unzip()
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid) - cpu0) as f64 / 100.0 / wall * 100.0; // USER_HZ = 100
    let rss = status_mb(pid, "VmHWM");
    let _ = child.kill();
    let _ = child.wait();
    let mut all: Vec<Duration> = lat.into_iter().flatten().collect();
    all.sort();
    let errors: Vec<String> = errors.into_iter().flatten().collect();
    let (p50, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!(
        "{clients} clients for {secs} s (county pages, status API, daily API in turn): {} requests ({:.0}/s), {} errors, p50 {:.1} ms, p99 {:.1} ms; server CPU {cpu:.0}% of one core, peak RSS {rss:.0} MiB",
        all.len(),
        all.len() as f64 / wall,
        errors.len(),
        ms(p50),
        ms(p99)
    );
    if let Some(e) = errors.first() {
        println!("first error: {e}");
    }
    results.insert("web_county_page_cold_ms".into(), ms(page_cold).into());
    results.insert("web_county_page_ms".into(), ms(page_warm).into());
    results.insert("web_status_api_cold_ms".into(), ms(api_cold).into());
    results.insert("web_status_api_ms".into(), ms(api_warm).into());
    results.insert("web_load_clients".into(), clients.into());
    results.insert("web_load_requests".into(), all.len().into());
    results.insert("web_load_errors".into(), errors.len().into());
    results.insert("web_load_p50_ms".into(), ms(p50).into());
    results.insert("web_load_p99_ms".into(), ms(p99).into());
    results.insert("web_server_cpu_pct".into(), cpu.into());
    results.insert("web_server_peak_rss_mib".into(), rss.into());
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| args.is_empty() || args.iter().any(|a| a == s);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = target.join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut results = serde_json::Map::new();
    results.insert(
        "machine".into(),
        format!(
            "{} cores, {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(
                    |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                        .split(':')
                        .nth(1)
                        .unwrap_or("")
                        .trim()
                        .to_string())
                )
                .unwrap_or_default()
        )
        .into(),
    );
    if want("status") {
        bench_status(&dir, &mut results);
    }
    if want("ingest") {
        bench_ingest(&dir, &mut results);
    }
    if want("report") {
        bench_report(&dir, &mut results);
    }
    if want("web") {
        bench_web(&dir, &mut results);
    }
    // Minutes, and thousands of sockets: only when named.
    if args.iter().any(|a| a == "gateway") {
        bench_gateway(&dir, &mut results);
    }
    // Thousands of sockets and a minute: only when named.
    if args.iter().any(|a| a == "hostile") {
        hostile::bench_hostile(&dir, &mut results);
    }
    // Tens of minutes the first time (the province-scale store is built): only when named.
    if args.iter().any(|a| a == "pg") {
        postgresql::bench_pg(&dir, &mut results);
    }
    // Ten minutes: only when named (`cargo bench --bench harness -- soak`).
    if args.iter().any(|a| a == "soak") {
        bench_soak(&dir, &mut results);
    }
    let out = target.join("bench-results.json");
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    println!("results written to {}", out.display());
}
