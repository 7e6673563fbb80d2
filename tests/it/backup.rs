//! `gwmon backup` beside a daemon that keeps committing: the copy is consistent, checked, and a
//! store restored from it works.

use std::time::Duration;

use crate::support::*;

#[test]
fn a_backup_beside_a_running_daemon_restores() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-backup", "gw");
    let db = dir.path().join("gwmon.db");
    let mut daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let (county, id) = intakes(1).remove(0);
    let topic = format!("gw/{county}/meter/{id}");
    let lines: Vec<String> = (0..20_000)
        .map(|h| format!(r#"{{"ts":{},"total_m3":{}}}"#, 1_700_000_000 + 600 * h, h))
        .collect();
    let mut publisher = publish_lines(broker.port, &topic, &lines);
    wait_until("the first readings", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") > 100
    });
    // The daemon is still committing while the backup runs.
    let dest = dir.path().join("backup.db");
    let (code, out, err) = gwmon(&[
        "backup",
        dest.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checked (quick_check ok"), "{out}");
    let copied = query_i64(&dest, "SELECT count(*) FROM meter_readings");
    assert!(
        out.contains(&format!("{copied} meter readings")),
        "{out} vs {copied}"
    );
    assert!(copied > 0);
    assert!(!dir.path().join("backup.db-wal").exists());
    // A second backup to the same file needs --force.
    let (code, _, err) = gwmon(&[
        "backup",
        dest.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--force"), "{err}");
    assert!(publisher.wait().unwrap().success());
    assert!(daemon.terminate().success());
    // Restored in place of the store, it answers status.
    let restored = dir.path().join("restored.db");
    std::fs::copy(&dest, &restored).unwrap();
    let (code, json, err) = gwmon(&[
        "status",
        "--json",
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["ingest"]["meter_readings"], copied);
}
