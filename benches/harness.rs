//! gwmon's benchmark harness: `cargo bench --bench harness [-- SECTION...]`.
//!
//! Sections (all by default): `status` — a store of 5,000 intakes × 5 years of daily volumes and
//! 200 wells × 5 years of levels; `gwmon status` for all counties timed against a plain SQLite
//! aggregate over the same daily table in the same run; `report` — `gwmon report --all` over
//! that store.
//!
//! Timings are medians of repeated runs after a warm-up. Figures go to stdout and to
//! `target/bench-results.json`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gwmon::store::{Durability, open_ro, open_store};

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

/// Builds (or reuses) the benchmark store; returns its path and the config.
fn status_store(
    dir: &Path,
    results: &mut serde_json::Map<String, serde_json::Value>,
) -> (std::path::PathBuf, Arc<gwmon::config::Config>) {
    let cfg = Arc::new(gwmon::sim::synthetic_config(5000, 200).expect("synthetic config"));
    let db = dir.join("bench-status.db");
    let as_of: jiff::civil::Date = AS_OF.parse().unwrap();
    let from = as_of
        .checked_sub(jiff::ToSpan::years(5))
        .unwrap()
        .tomorrow()
        .unwrap();
    if !db.exists() {
        let partial = dir.join("bench-status.db.partial");
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", partial.display()));
        }
        let mut store = open_store(Arc::clone(&cfg), &partial, Durability::Normal).unwrap();
        let t = Instant::now();
        let n = gwmon::sim::populate(&mut store, &cfg, 42, from, as_of, 5).unwrap();
        let secs = t.elapsed().as_secs_f64();
        drop(store);
        println!(
            "built the store: {n} readings in {secs:.1} s ({:.0} readings/s)",
            n as f64 / secs
        );
        results.insert("status_store_build_readings".into(), n.into());
        results.insert("status_store_build_s".into(), secs.into());
        let conn = rusqlite::Connection::open(&partial).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        drop(conn);
        std::fs::rename(&partial, &db).unwrap();
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
        let n = st.query_map([], |r| r.get::<_, f64>(1)).unwrap().count();
        assert_eq!(n, 5000);
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
    if want("report") {
        bench_report(&dir, &mut results);
    }
    let out = target.join("bench-results.json");
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    println!("results written to {}", out.display());
}
