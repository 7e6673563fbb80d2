//! `pg` (only when named: `cargo bench --bench harness -- pg`): PostgreSQL beside SQLite in one
//! run, on the same broker and the same input.
//!
//! 1. Drain: `GWMON_BENCH_PG_N` (50,000) single-reading QoS 1 messages queued for a stopped
//!    persistent subscriber, then `GWMON_BENCH_PG_BATCHED` (2,000) messages of 100 readings,
//!    each drained by `gwmon run` into a SQLite store and into a PostgreSQL store.
//! 2. Steady state: 5,000 devices at 1,000 msg/s for `GWMON_BENCH_PG_STEADY_S` (60) s into
//!    each: the daemon's share of a core and peak RSS, and on PostgreSQL the server's share too
//!    (every `postgres` process's CPU time over the run).
//! 3. Province scale: `gwmon status` for all counties over `GWMON_BENCH_PROVINCE_INTAKES`
//!    (50,000) intakes × 5 years of daily volumes and 1,000 wells × 5 years of levels, written
//!    by the store's writer into SQLite (kept in `target/bench-data/`) and copied into
//!    PostgreSQL with `migrate-store`'s copy (kept in the schema `gwmon_bench_province`);
//!    median of 5 on each.
//!
//! The PostgreSQL server is `GWMON_BENCH_PG` (postgres://postgres@127.0.0.1:5432/test); each
//! part works in a schema of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    AS_OF, Daemon, Mosquitto, bench_config, count, cpu_ticks, env_n, ms, publish, simulated_store,
    status_mb, time_n, wait_for,
};

fn base_url() -> String {
    std::env::var("GWMON_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The URL of `schema` on the benchmark's server, created empty when `fresh`.
fn schema_url(schema: &str, fresh: bool) -> String {
    let base = base_url();
    let mut c = postgres::Client::connect(&base, postgres::NoTls)
        .expect("PostgreSQL (GWMON_BENCH_PG, else 127.0.0.1:5432 database test)");
    if fresh {
        c.batch_execute(&format!(
            "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    } else {
        c.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .unwrap();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

fn pg_count(url: &str, sql: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one(sql, &[]))
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
}

/// Where a part's store is: a SQLite file, or a PostgreSQL schema.
#[derive(Clone)]
enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
    fn db(&self) -> PathBuf {
        match self {
            Backend::Sqlite(p) => p.clone(),
            Backend::Postgres(u) => PathBuf::from(u),
        }
    }
    fn readings(&self) -> u64 {
        match self {
            Backend::Sqlite(p) => count(p) as u64,
            Backend::Postgres(u) => pg_count(u, "SELECT count(*) FROM meter_readings") as u64,
        }
    }
}

/// The two backends for a part named `tag`, both empty.
fn both(work: &Path, tag: &str) -> [Backend; 2] {
    let db = work.join(format!("{tag}.db"));
    for ext in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    [
        Backend::Sqlite(db),
        Backend::Postgres(schema_url(&format!("gwmon_bench_{tag}"), true)),
    ]
}

/// Seconds for a stopped persistent subscriber to drain `n` queued messages of `batch`
/// readings into `backend`; and the readings.
fn drain(broker: &Mosquitto, work: &Path, backend: &Backend, n: u64, batch: usize) -> (f64, u64) {
    let tag = format!("{}-{batch}", backend.name());
    let cfg = bench_config(&work.join(&tag), &broker.url(), &format!("gwmon-pg-{tag}"));
    let log = work.join(format!("{tag}.log"));
    let db = backend.db();
    Daemon::start(&cfg, &db, &log).stop();
    let config = gwmon::config::Config::load(&cfg).unwrap();
    let devices = gwmon::tools::fleet::devices(&config, 5000).unwrap();
    let before = backend.readings();
    let p = publish(&broker.url(), &devices, n, batch, None, None);
    let t = Instant::now();
    let d = Daemon::start(&cfg, &db, &log);
    wait_for(
        "the daemon to commit every reading",
        Duration::from_secs(900),
        || backend.readings() >= before + p.readings,
    );
    let secs = t.elapsed().as_secs_f64();
    d.stop();
    (secs, p.readings)
}

/// CPU ticks of every PostgreSQL server process.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_ticks)
        .sum()
}

/// 1,000 msg/s from 5,000 devices for `secs` into `backend`: (gwmon CPU %, peak RSS MB,
/// PostgreSQL server CPU %).
fn steady(broker: &Mosquitto, work: &Path, backend: &Backend, secs: u64) -> (f64, f64, f64) {
    let tag = format!("{}-steady", backend.name());
    let cfg = bench_config(&work.join(&tag), &broker.url(), &format!("gwmon-pg-{tag}"));
    let config = gwmon::config::Config::load(&cfg).unwrap();
    let devices = gwmon::tools::fleet::devices(&config, 5000).unwrap();
    let before = backend.readings();
    let d = Daemon::start(&cfg, &backend.db(), &work.join(format!("{tag}.log")));
    let pid = d.pid();
    let (c0, s0, t0) = (cpu_ticks(pid), postgres_ticks(), Instant::now());
    let rep = publish(
        &broker.url(),
        &devices,
        0,
        1,
        Some(1000.0),
        Some(Duration::from_secs(secs)),
    );
    wait_for("the last readings", Duration::from_secs(120), || {
        backend.readings() >= before + rep.readings
    });
    let wall = t0.elapsed().as_secs_f64();
    let hz = 100.0;
    let cpu = (cpu_ticks(pid) - c0) as f64 / hz / wall * 100.0;
    let server = match backend {
        Backend::Postgres(_) => (postgres_ticks().saturating_sub(s0)) as f64 / hz / wall * 100.0,
        Backend::Sqlite(_) => 0.0,
    };
    let rss = status_mb(pid, "VmHWM");
    d.stop();
    (cpu, rss, server)
}

/// The province-scale stores: SQLite written by the store's writer, PostgreSQL its copy.
fn province(dir: &Path, n: usize) -> (PathBuf, String, Arc<gwmon::config::Config>) {
    let cfg = Arc::new(gwmon::tools::fleet::synthetic_config(n, 1000).expect("synthetic config"));
    let (db, built) = simulated_store(dir, &format!("bench-province-{n}.db"), &cfg);
    if let Some((rows, secs)) = built {
        println!("built the SQLite province store: {rows} readings in {secs:.0} s");
    }
    let schema = format!("gwmon_bench_province_{n}");
    let url = schema_url(&schema, false);
    let want: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM daily_volume", [], |r| r.get(0))
        .unwrap();
    if pg_count(&url, "SELECT count(*) FROM daily_volume") != want {
        let url = schema_url(&schema, true);
        let mut client = gwmon::store::pg::open(&url).unwrap();
        let t = Instant::now();
        let sqlite = gwmon::store::open_ro(&db).unwrap();
        let copied = gwmon::store::pg::copy_from_sqlite(&sqlite, &mut client).unwrap();
        println!(
            "copied the province store into PostgreSQL: {} rows in {:.0} s",
            copied.iter().map(|c| c.1).sum::<u64>(),
            t.elapsed().as_secs_f64()
        );
    }
    (db, url, cfg)
}

pub fn bench_pg(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    let work = dir.join("pg");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let broker = Mosquitto::start();

    let n = env_n("GWMON_BENCH_PG_N", 50_000);
    let nb = env_n("GWMON_BENCH_PG_BATCHED", 2_000);
    println!(
        "== pg 1: drain — {n} single-reading messages, then {nb} messages of 100 readings, into SQLite and into PostgreSQL"
    );
    for backend in both(&work, "drain") {
        let (s, got) = drain(&broker, &work, &backend, n, 1);
        let single = got as f64 / s;
        let (s, got) = drain(&broker, &work, &backend, nb, 100);
        let batched = got as f64 / s;
        let name = backend.name();
        println!("{name}: single readings {single:.0} msg/s; batched {batched:.0} readings/s");
        results.insert(format!("pg_drain_{name}_msg_s"), single.into());
        results.insert(format!("pg_batched_{name}_readings_s"), batched.into());
    }

    let secs = env_n("GWMON_BENCH_PG_STEADY_S", 60);
    println!("== pg 2: steady state — 5,000 devices at 1,000 msg/s for {secs} s");
    for backend in both(&work, "steady") {
        let (cpu, rss, server) = steady(&broker, &work, &backend, secs);
        let name = backend.name();
        println!(
            "{name}: gwmon {cpu:.1} % of a core, peak RSS {rss:.1} MB{}",
            if server > 0.0 {
                format!("; PostgreSQL server {server:.1} % of a core")
            } else {
                String::new()
            }
        );
        results.insert(format!("pg_steady_{name}_cpu_percent"), cpu.into());
        results.insert(format!("pg_steady_{name}_peak_rss_mb"), rss.into());
        if server > 0.0 {
            results.insert("pg_steady_server_cpu_percent".into(), server.into());
        }
    }
    drop(broker);

    let intakes = env_n("GWMON_BENCH_PROVINCE_INTAKES", 50_000) as usize;
    println!(
        "== pg 3: province scale — status for all counties, {intakes} intakes × 5 years, 1,000 wells"
    );
    let (db, url, cfg) = province(dir, intakes);
    let as_of: jiff::civil::Date = AS_OF.parse().unwrap();
    for (name, location) in [("sqlite", db.clone()), ("postgres", PathBuf::from(&url))] {
        let conn = gwmon::store::open_read(&location).unwrap();
        let t = time_n(5, || {
            let doc = gwmon::assess::status(&cfg, &conn, as_of).unwrap();
            assert_eq!(doc.counties.len(), 10);
        });
        println!(
            "{name}: status, all counties (median of 5): {:.0} ms (goal on PostgreSQL < 1,000 ms)",
            ms(t)
        );
        results.insert(format!("pg_province_status_{name}_ms"), ms(t).into());
    }
    results.insert(
        "pg_province_daily_rows".into(),
        pg_count(&url, "SELECT count(*) FROM daily_volume").into(),
    );
}
