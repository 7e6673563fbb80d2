//! `migrate-store` against the machine's PostgreSQL (127.0.0.1:5432, database `test`, trust auth;
//! `GWMON_TEST_PG` names another): a simulated SQLite store copied into a schema of its own, every
//! value read back bit for bit, and the refusals an operator meets.

use crate::support::*;
use crate::web::{Server, get, text};

#[test]
fn a_sqlite_store_is_copied_into_postgresql_exactly_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store_between(dir.path(), "2025-01-01", "2026-11-27");
    let db_s = db.to_str().unwrap();
    // A token, so that a table beyond the readings holds a row too.
    let (code, _, err) = gwmon(&["token", "add", "--db", db_s, "--county", "140121"]);
    assert_eq!(code, 0, "{err}");
    let schema = Schema::new("copy");
    let url = schema.url();
    let (code, out, err) = gwmon(&["migrate-store", "--from", db_s, "--to", &url]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("核对一致"), "{out}");
    assert!(
        out.contains("清徐县（140121）"),
        "per county and year: {out}"
    );

    // Every daily volume and every meter total reads back with the same bits.
    let sqlite = rusqlite::Connection::open(&db).unwrap();
    let mut pg = schema.client();
    for (table, key, value) in [
        ("daily_volume", "intake_id, day", "volume_m3"),
        ("daily_volume", "intake_id, day", "cum_year_m3"),
        ("meter_readings", "intake_id, ts::text", "total_m3"),
        ("daily_level", "well_id, day", "mean_level_m"),
    ] {
        let sql = format!("SELECT {value} FROM {table} ORDER BY {key}");
        let a: Vec<u64> = sqlite
            .prepare(&sql.replace("::text", ""))
            .unwrap()
            .query_map([], |r| r.get::<_, f64>(0))
            .unwrap()
            .map(|v| v.unwrap().to_bits())
            .collect();
        let b: Vec<u64> = pg
            .query(&sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, f64>(0).to_bits())
            .collect();
        assert!(!a.is_empty(), "{table}");
        assert_eq!(a, b, "{table}.{value}");
    }
    let tokens: i64 = pg
        .query_one("SELECT count(*) FROM access_tokens", &[])
        .unwrap()
        .get(0);
    assert_eq!(tokens, 1);
    // A new token row continues after the copied ids.
    pg.execute(
        "INSERT INTO access_tokens (scope, sha256, created) VALUES ('city', '\\x01', 0)",
        &[],
    )
    .unwrap();

    // A second copy into the same store is refused: it would mix two histories.
    let (code, _, err) = gwmon(&["migrate-store", "--from", db_s, "--to", &url]);
    assert_ne!(code, 0);
    assert!(
        err.contains("already holds") && err.contains("empty database or schema"),
        "{err}"
    );
    // A store a newer gwmon wrote is refused.
    pg.execute("INSERT INTO gwmon_schema (version) VALUES (99)", &[])
        .unwrap();
    let (code, _, err) = gwmon(&["migrate-store", "--from", db_s, "--to", &url]);
    assert_ne!(code, 0);
    assert!(
        err.contains("schema version 99") && err.contains("upgrade gwmon"),
        "{err}"
    );
    // A server that is not there is named, with what to check; a password never printed.
    let (code, _, err) = gwmon(&[
        "migrate-store",
        "--from",
        db_s,
        "--to",
        "postgres://gwmon:s3cret@127.0.0.1:1/test",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot connect to PostgreSQL at postgres://gwmon:***@127.0.0.1:1/test"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

/// `status --json` of the store at `db` (a path or a URL) as of `as_of`, without what differs by
/// backend or run (the store's row counts are compared separately).
fn status_json(db: &str, as_of: &str) -> serde_json::Value {
    let (code, out, err) = gwmon(&["status", "--db", db, "--as-of", as_of, "--json"]);
    assert_eq!(code, 0, "status on {db}: {err}");
    let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("generated_at");
    }
    v
}

/// The paths where two JSON values differ, with both values.
fn differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    differences_within(a, b, path, 0.0, out);
}

/// [`differences`], numbers equal within a relative `tolerance` (sums taken in another order).
fn differences_within(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
    tolerance: f64,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    let differences =
        |a, b, p: &str, out: &mut Vec<String>| differences_within(a, b, p, tolerance, out);
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if tolerance > 0.0 => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            if (x - y).abs() > tolerance * x.abs().max(y.abs()).max(1.0) {
                out.push(format!("{path}: {x} vs {y}"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => differences(v, w, &p, out),
                    None => out.push(format!("{p}: only in the first")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: only in the second"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// The simulated history of the shipped registry between two days, written into the
/// PostgreSQL store at `url`.
fn populate(url: &str, from: &str, to: &str) {
    simulate_into(
        &std::path::Path::new(REPO).join("config/taiyuan.toml"),
        std::path::Path::new(url),
        from,
        to,
    );
}

#[test]
fn the_same_history_on_either_backend_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store_between(dir.path(), "2025-06-01", "2026-11-27");
    let schema = Schema::new("same");
    let url = schema.url();
    populate(&url, "2025-06-01", "2026-11-27");
    for as_of in ["2026-11-27", "2026-06-30"] {
        let a = status_json(db.to_str().unwrap(), as_of);
        let b = status_json(&url, as_of);
        let mut diffs = Vec::new();
        differences(&a, &b, "", &mut diffs);
        assert!(
            diffs.is_empty(),
            "status as of {as_of}: SQLite and PostgreSQL differ at {} places, first: {:#?}",
            diffs.len(),
            &diffs[..diffs.len().min(12)]
        );
    }
    let (code, out, err) = gwmon(&["devices", "--db", &url, "--as-of", "2026-11-27"]);
    assert_eq!(code, 0, "{err}");
    let (_, sqlite_out, _) = gwmon(&[
        "devices",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
    ]);
    assert_eq!(out, sqlite_out);
}

/// Rows of a PostgreSQL query's first column as i64.
fn pg_i64(url: &str, sql: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one(sql, &[]))
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(-1)
}

/// A daemon's config in `dir`: the shipped one on `broker`, as member `client_id` of the shared
/// group `group` when one is given.
fn member_config(
    dir: &std::path::Path,
    broker: &str,
    client_id: &str,
    group: Option<&str>,
) -> std::path::PathBuf {
    let cfg = write_config(dir, broker, client_id, "gw");
    if let Some(g) = group {
        let text = std::fs::read_to_string(&cfg).unwrap().replacen(
            "topic_prefix = \"gw\"",
            &format!("topic_prefix = \"gw\"\nshared_group = \"{g}\""),
            1,
        );
        std::fs::write(&cfg, text).unwrap();
    }
    cfg
}

/// Two daemons in one shared group on one PostgreSQL store, a third alone on SQLite subscribed to
/// the same topics as the reference. 20,000 QoS 1 readings from 200 meters, with counter resets
/// and late readings; one member is killed (SIGKILL) mid-stream and started again. Every reading
/// the broker acknowledged is stored once, and the county figures equal the single daemon's.
#[test]
fn two_daemons_sharing_the_load_survive_a_sigkill_and_agree_with_one() {
    const DEVICES: usize = 200;
    const PER_DEVICE: i64 = 100;
    const TS0: i64 = 1_767_196_800; // 2026-01-01T00:00:00+08:00
    let broker = Broker::start(BrokerKind::Production);
    let schema = Schema::new("share");
    let url = schema.url();
    let pg_db = std::path::PathBuf::from(&url);
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let cfg_a = member_config(dirs[0].path(), &broker.url(), "gwmon-a", Some("gwmon"));
    let cfg_b = member_config(dirs[1].path(), &broker.url(), "gwmon-b", Some("gwmon"));
    let cfg_ref = member_config(dirs[2].path(), &broker.url(), "gwmon-ref", None);
    let sqlite_db = dirs[2].path().join("gwmon.db");
    let mut a = Daemon::start(&cfg_a, &pg_db, &dirs[0].path().join("a.log"));
    let mut b = Daemon::start(&cfg_b, &pg_db, &dirs[1].path().join("b.log"));
    let mut reference = Daemon::start(&cfg_ref, &sqlite_db, &dirs[2].path().join("ref.log"));
    for d in [&a, &b, &reference] {
        wait_until("subscriptions", std::time::Duration::from_secs(20), || {
            d.log_text().contains("subscribed")
        });
    }
    assert!(
        a.log_text().contains("$share/gwmon/gw/+/meter/+"),
        "{}",
        a.log_text()
    );

    // Hourly totals; every tenth meter is reset to zero half-way, and on every tenth (another
    // one) a reading from the first day arrives after all the others.
    let mut publishers = Vec::new();
    for (k, (county, id)) in intakes(DEVICES).into_iter().enumerate() {
        let mut total = 1000.0 + k as f64;
        let mut lines = Vec::new();
        for h in 0..PER_DEVICE {
            total = if k % 10 == 0 && h == 50 {
                3.0
            } else {
                total + 5.0 + ((k as i64 * 7 + h * 13) % 11) as f64
            };
            lines.push(format!(
                "{{\"ts\":{},\"total_m3\":{total}}}",
                TS0 + 3600 * h
            ));
        }
        if k % 10 == 1 {
            let late = lines.remove(20);
            lines.push(late);
        }
        publishers.push(publish_lines(
            broker.port,
            &format!("gw/{county}/meter/{id}"),
            &lines,
        ));
        if publishers.len() >= 40 {
            for mut p in publishers.drain(..) {
                assert!(p.wait().unwrap().success(), "mosquitto_pub failed");
            }
        }
    }
    let stored = || pg_i64(&url, "SELECT count(*) FROM meter_readings");
    wait_until(
        "5,000 readings in PostgreSQL",
        std::time::Duration::from_secs(120),
        || stored() >= 5000,
    );
    a.kill9();
    let at_kill = stored();
    // The other member goes on alone.
    wait_until(
        "the surviving member to store more",
        std::time::Duration::from_secs(60),
        || stored() >= at_kill + 1000,
    );
    a.restart();
    for mut p in publishers {
        assert!(p.wait().unwrap().success(), "mosquitto_pub failed");
    }
    let total = DEVICES as i64 * PER_DEVICE;
    wait_until(
        "all readings in PostgreSQL",
        std::time::Duration::from_secs(180),
        || stored() >= total,
    );
    wait_until(
        "all readings in the reference",
        std::time::Duration::from_secs(180),
        || query_i64(&sqlite_db, "SELECT count(*) FROM meter_readings") >= total,
    );
    for d in [&mut a, &mut b, &mut reference] {
        assert_eq!(d.terminate().code(), Some(0));
    }
    eprintln!("failover: member a killed at {at_kill} stored readings");
    assert!(
        at_kill < total,
        "the kill came before the end of the stream"
    );
    assert_eq!(stored(), total, "every reading stored once");
    assert_eq!(
        query_i64(&sqlite_db, "SELECT count(*) FROM meter_readings"),
        total
    );
    assert_eq!(
        pg_i64(
            &url,
            "SELECT count(*) FROM meter_events WHERE kind = 'reset'"
        ),
        query_i64(
            &sqlite_db,
            "SELECT count(*) FROM meter_events WHERE kind = 'reset'"
        ),
    );
    assert!(
        pg_i64(
            &url,
            "SELECT count(*) FROM meter_events WHERE kind = 'reset'"
        ) >= (DEVICES / 10) as i64,
        "the resets were seen"
    );
    let a_ = status_json(sqlite_db.to_str().unwrap(), "2026-01-06");
    let b_ = status_json(&url, "2026-01-06");
    let mut diffs = Vec::new();
    differences_within(&a_, &b_, "", 1e-9, &mut diffs);
    assert!(
        diffs.is_empty(),
        "status differs between the shared PostgreSQL store and the single SQLite daemon at {} places, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(12)]
    );
}

/// The commands an operator and a county run, on a PostgreSQL store: tokens, two web views on
/// the same store (a revocation holds on both), status, report, plan, devices, quarantine,
/// import; backup refuses with what to use instead.
#[test]
fn every_command_runs_on_postgresql() {
    let schema = Schema::new("cmds");
    let url = schema.url();
    populate(&url, "2024-01-01", "2026-11-27");

    // Tokens.
    let (code, out, err) = gwmon(&[
        "token", "--db", &url, "add", "--county", "140121", "--note", "pg",
    ]);
    assert_eq!(code, 0, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let id: String = err.split_whitespace().nth(1).unwrap().to_owned();
    let (code, out, _) = gwmon(&["token", "--db", &url, "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("140121") && out.contains("pg"), "{out}");

    // Two web views on the one store.
    let servers = [
        Server::start(std::path::Path::new(&url), None),
        Server::start(std::path::Path::new(&url), None),
    ];
    for server in &servers {
        let (code, _, body) = get(&server.url("/api/v1/status?as_of=2026-11-27"), Some(&token));
        assert_eq!(code, 200, "{}", text(&body));
        assert!(text(&body).contains("\"140121\""));
        let (code, _, body) = get(&server.url("/county/140121?as_of=2026-11-27"), Some(&token));
        assert_eq!(code, 200, "{}", text(&body));
        assert!(text(&body).contains("清徐县"));
    }
    let (code, _, err) = gwmon(&["token", "--db", &url, "revoke", &id]);
    assert_eq!(code, 0, "{err}");
    for server in &servers {
        let (code, _, _) = get(&server.url("/api/v1/status"), Some(&token));
        assert_eq!(code, 401, "a revoked token is refused by every web view");
    }
    drop(servers);
    let used: i64 = schema
        .client()
        .query_one(
            "SELECT count(*) FROM access_tokens WHERE last_used IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(used, 1, "the web view records a token's use in PostgreSQL");

    // Reading commands.
    let out_dir = tempfile::tempdir().unwrap();
    let (code, out, err) = gwmon(&[
        "report",
        "--db",
        &url,
        "--as-of",
        "2026-11-27",
        "--county",
        "140121",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out_dir.path().join("index.html").exists());
    for args in [
        vec!["plan", "--db", &url, "--as-of", "2026-11-27"],
        vec!["devices", "--db", &url, "--as-of", "2026-11-27"],
        vec!["quarantine", "--db", &url],
    ] {
        let (code, out, err) = gwmon(&args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }

    // Import: a late meter reading, and a row the registry does not know.
    let (_, intake) = intakes(1).remove(0);
    let file = out_dir.path().join("late.csv");
    std::fs::write(
        &file,
        format!("intake_id,ts,total_m3\n{intake},2023-06-01 00:00,5\nNOPE,2023-06-01 00:00,1\n"),
    )
    .unwrap();
    let (code, out, err) = gwmon(&[
        "import",
        "--kind",
        "meter",
        "--db",
        &url,
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "one row stored, one refused: {out}{err}");
    let mut c = schema.client();
    let stored: i64 = c
        .query_one(
            "SELECT count(*) FROM meter_readings WHERE intake_id = $1 AND ts = 1685548800 AND total_m3 = 5",
            &[&intake],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let quarantined: i64 = c
        .query_one("SELECT count(*) FROM quarantine", &[])
        .unwrap()
        .get(0);
    assert!(quarantined >= 1);
    let (code, out, _) = gwmon(&["quarantine", "--db", &url, "--since", "2020-01-01"]);
    assert_eq!(code, 0);
    assert!(out.contains("NOPE") || out.contains("unknown"), "{out}");

    // Backup is SQLite's; PostgreSQL has its own tools.
    let (code, _, err) = gwmon(&[
        "backup",
        "--db",
        &url,
        out_dir.path().join("b.db").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("pg_dump"), "{err}");
}
