//! `migrate-store` against the machine's PostgreSQL (127.0.0.1:5432, database `test`, trust auth;
//! `GWMON_TEST_PG` names another): a simulated SQLite store copied into a schema of its own, every
//! value read back bit for bit, and the refusals an operator meets.

use crate::support::*;

/// A schema of its own in the test database, dropped at the end.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new(tag: &str) -> Schema {
        let base = std::env::var("GWMON_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("gwmon_it_{tag}_{}", std::process::id());
        let mut c = postgres::Client::connect(&base, postgres::NoTls).expect(
            "PostgreSQL on 127.0.0.1:5432 (database test): run .ci/run to install and start it",
        );
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .unwrap();
        Schema { base, name }
    }

    /// The URL whose connections work in this schema.
    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

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
    use serde_json::Value;
    match (a, b) {
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

#[test]
fn the_same_history_on_either_backend_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store_between(dir.path(), "2025-06-01", "2026-11-27");
    let schema = Schema::new("same");
    let url = schema.url();
    // The same simulation, written by the store's writer straight into PostgreSQL.
    let cfg = std::sync::Arc::new(
        gwmon::config::Config::load(&std::path::Path::new(REPO).join("config/taiyuan.toml"))
            .unwrap(),
    );
    let mut store = gwmon::store::open_store(
        gwmon::store::StoreSettings::from_config(&cfg),
        std::path::Path::new(&url),
        gwmon::store::Durability::Normal,
    )
    .unwrap();
    gwmon::tools::fleet::populate(
        &mut store,
        &cfg,
        42,
        "2025-06-01".parse().unwrap(),
        "2026-11-27".parse().unwrap(),
        5,
    )
    .unwrap();
    drop(store);
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
    let (_, sqlite_out, _) = gwmon(&["devices", "--db", db.to_str().unwrap(), "--as-of", "2026-11-27"]);
    assert_eq!(out, sqlite_out);
}
