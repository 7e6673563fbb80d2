//! `demo` (in-process broker and a real Mosquitto) and `simulate` end to end, and what a build
//! without the in-process broker (`--no-default-features`) says instead of starting one.

use std::time::Duration;

use crate::support::*;

fn check_demo_output(code: i32, out: &str, err: &str, dir: &std::path::Path) {
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("index.html") && out.contains("readings stored"),
        "{out}"
    );
    assert!(dir.join("index.html").exists());
    let db = dir.join("gwmon.db");
    let (code, json, err) = gwmon(&["status", "--db", db.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["ingest"]["quarantined"], 5,
        "the demo's five hostile payloads"
    );
    // Six years of daily totals and two days of hourly ones from every metered intake (farm
    // wells below the duty have no meter).
    assert!(doc["ingest"]["meter_readings"].as_i64().unwrap() > 600_000);
    assert!(doc["ingest"]["level_readings"].as_i64().unwrap() > 80_000);
    let verdicts: std::collections::BTreeSet<String> = doc["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap().to_string())
        .collect();
    assert!(
        verdicts.len() >= 3,
        "verdicts differ between counties: {verdicts:?}"
    );
    assert!(
        query_i64(
            &db,
            "SELECT count(*) FROM meter_events WHERE kind IN ('reset', 'replacement')"
        ) > 0
    );
    assert!(
        query_i64(
            &db,
            "SELECT count(*) FROM daily_volume WHERE estimated_m3 > 0"
        ) > 0,
        "gaps"
    );
    // The shipped stations reported as field terminals through the gateway: three reports
    // each, and each terminal's copy with a wrong CRC refused.
    assert!(
        out.contains("field terminals (SL 651, SZY 206) reported"),
        "{out}"
    );
    let stations = gwmon::config::Config::embedded().unwrap().stations.len() as i64;
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM gateway_frames WHERE outcome = 'published'"
        ),
        3 * stations
    );
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM gateway_frames WHERE outcome = 'bad_crc'"
        ),
        stations
    );
}

#[cfg(feature = "embedded-broker")]
#[test]
fn demo_on_embedded_defaults_with_the_in_process_broker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (code, stdout, err) = gwmon(&["demo", "--http", "", "--out", out.to_str().unwrap()]);
    check_demo_output(code, &stdout, &err, &out);
}

#[test]
fn demo_against_a_real_mosquitto() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (code, stdout, err) = gwmon(&[
        "demo",
        "--http",
        "",
        "--broker",
        &broker.url(),
        "--out",
        out.to_str().unwrap(),
    ]);
    check_demo_output(code, &stdout, &err, &out);
}

#[test]
fn simulate_publishes_what_the_daemon_stores() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-sim", "gw");
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let (code, out, err) = gwmon(&[
        "simulate",
        "--config",
        cfg.to_str().unwrap(),
        "--broker",
        &broker.url(),
        "--devices",
        "20",
        "--count",
        "400",
        "--batch",
        "5",
        "--connections",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("published 400 messages (2000 readings)"),
        "{out}"
    );
    wait_until("2,000 readings", Duration::from_secs(30), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") == 2000
    });
    assert_eq!(query_i64(&db, "SELECT count(*) FROM quarantine"), 0);
}

#[cfg(not(feature = "embedded-broker"))]
#[test]
fn demo_without_the_in_process_broker_asks_for_one_and_leaves_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("gwmon.db"), b"an earlier demo's store").unwrap();
    let (code, _, err) = gwmon(&["demo", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the demo needs --broker URL") && err.contains("embedded-broker"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(out.join("gwmon.db")).unwrap(),
        b"an earlier demo's store"
    );
}

#[cfg(not(feature = "embedded-broker"))]
#[test]
fn embedded_broker_in_the_config_without_the_feature_is_a_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1883", "gwmon-noembed", "gw");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("embedded_broker = false"));
    std::fs::write(
        &cfg,
        text.replace("embedded_broker = false", "embedded_broker = true"),
    )
    .unwrap();
    let db = dir.path().join("gwmon.db");
    let (code, _, err) = gwmon(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cargo feature `embedded-broker`") && err.contains("[mqtt] url"),
        "{err}"
    );
}
