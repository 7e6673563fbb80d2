//! No reading wedges the writer: a late reading inside a long meter gap, and a message the store
//! refuses for a reason retrying cannot fix, each stop nothing else — through MQTT and import.

use std::time::Duration;

use rusqlite::Connection;

use crate::support::*;

/// The four readings that once failed every batch on a fresh store: a meter silent from
/// 2024-01-28 to 03-28 (longer than `max_spread_days`) whose reading of 03-01 arrives last.
const WEDGE: [(&str, f64); 4] = [
    ("2024-01-05T08:00:00+08:00", 100.0),
    ("2024-01-28T08:00:00+08:00", 300.0),
    ("2024-03-28T08:00:00+08:00", 900.0),
    ("2024-03-01T08:00:00+08:00", 600.0),
];

fn reading(ts: &str, total: f64) -> String {
    format!(r#"{{"ts":"{ts}","total_m3":{total}}}"#)
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    query_i64(db, sql)
}

#[test]
fn a_late_reading_inside_a_long_gap_stops_nothing_through_mqtt() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-wedge", "gw");
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let mut devices = intakes(2);
    let (other_county, other) = devices.pop().unwrap();
    let (county, id) = devices.pop().unwrap();
    let topic = format!("gw/{county}/meter/{id}");
    for (i, (ts, total)) in WEDGE.iter().enumerate() {
        publish(broker.port, &topic, &reading(ts, *total));
        // One batch each: the late reading must be a batch of its own after the others.
        wait_until("the reading", Duration::from_secs(20), || {
            count(&db, "SELECT count(*) FROM meter_readings") == i as i64 + 1
        });
    }
    // Another device's readings still land afterwards.
    let other_topic = format!("gw/{other_county}/meter/{other}");
    publish(
        broker.port,
        &other_topic,
        &reading("2024-03-29T08:00:00+08:00", 10.0),
    );
    wait_until(
        "the other device's reading",
        Duration::from_secs(20),
        || count(&db, "SELECT count(*) FROM meter_readings") == 5,
    );
    let log = daemon.log_text();
    assert!(!log.contains("store refused"), "{log}");
    assert_eq!(
        http_get(&listener_address(&log), "/healthz").0,
        200,
        "{log}"
    );
    // The long gap 01-28 08:00 → 03-01 08:00 (33 days, 300 m³) is spread by time over the
    // months it spans, estimated; 03-01 → 03-28 (300 m³) is March's. 800 m³ in all.
    let conn = Connection::open(&db).unwrap();
    let months: Vec<(String, f64)> = conn
        .prepare("SELECT month, volume_m3 FROM monthly_volume WHERE intake_id = ?1 ORDER BY month")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want = [
        ("2024-01", 200.0 + 300.0 * (3.0 + 2.0 / 3.0) / 33.0),
        ("2024-02", 300.0 * 29.0 / 33.0),
        ("2024-03", 300.0 + 300.0 / 3.0 / 33.0),
    ];
    assert_eq!(months.len(), want.len(), "{months:?}");
    for ((m, v), (wm, wv)) in months.iter().zip(want) {
        assert!(m == wm && (v - wv).abs() < 1e-6, "{months:?}");
    }
}

/// Writes `rows` of one intake as a meter CSV and imports it: (exit code, output).
fn import_rows(
    dir: &std::path::Path,
    name: &str,
    db: &std::path::Path,
    rows: &[String],
) -> (i32, String) {
    let csv = dir.join(name);
    std::fs::write(
        &csv,
        format!("intake_id,ts,total_m3\n{}\n", rows.join("\n")),
    )
    .unwrap();
    let (code, out, err) = gwmon(&[
        "import",
        "--kind",
        "meter",
        csv.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    (code, format!("{out}{err}"))
}

#[test]
fn a_late_reading_inside_a_long_gap_imports() {
    let dir = tempfile::tempdir().unwrap();
    let (_, id) = intakes(1).remove(0);
    let rows: Vec<String> = WEDGE
        .iter()
        .map(|(ts, total)| format!("{id},{ts},{total}"))
        .collect();
    let db = dir.path().join("gwmon.db");
    // The first three, then all four: the fourth is the late reading inside the long gap.
    let (code, out) = import_rows(dir.path(), "first.csv", &db, &rows[..3]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = import_rows(dir.path(), "all.csv", &db, &rows);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 stored, 3 duplicates skipped, 0 rejected"),
        "{out}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM meter_readings"), 4);
}

/// `import` names the row the store refused and stores the others (exit code 3).
#[test]
fn import_names_the_row_the_store_refuses_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let devices = intakes(3);
    let db = dir.path().join("gwmon.db");
    let (code, out) = import_rows(dir.path(), "none.csv", &db, &[]);
    assert_eq!(code, 0, "{out}");
    poison(&db, &devices[1].1);
    let rows: Vec<String> = devices
        .iter()
        .map(|(_, id)| format!("{id},2026-11-02T08:00:00+08:00,100"))
        .collect();
    let (code, out) = import_rows(dir.path(), "three.csv", &db, &rows);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("2 stored, 0 duplicates skipped, 1 rejected"),
        "{out}"
    );
    assert!(
        out.contains("line 3") && out.contains("injected failure") && out.contains(&devices[1].1),
        "{out}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM meter_readings"), 2);
}

/// Poisons one device in the store (a trigger standing for a constraint or a bug that refuses
/// its readings for good).
fn poison(db: &std::path::Path, id: &str) {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER poison BEFORE INSERT ON meter_readings WHEN NEW.intake_id = '{id}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .unwrap();
}

#[test]
fn a_message_the_store_refuses_is_quarantined_and_the_others_keep_landing() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-refused", "gw");
    let db = dir.path().join("gwmon.db");
    let mut daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let devices = intakes(3);
    let (bad_county, bad) = devices[1].clone();
    poison(&db, &bad);
    let topic = |i: usize| format!("gw/{}/meter/{}", devices[i].0, devices[i].1);
    // Several messages of all three devices, so they share batches with the bad one.
    let mut good = 0;
    for h in 0..6u32 {
        for (i, _) in devices.iter().enumerate() {
            publish(
                broker.port,
                &topic(i),
                &reading(
                    &format!("2026-11-02T{h:02}:00:00+08:00"),
                    f64::from(h) * 10.0,
                ),
            );
            good += i64::from(i != 1);
        }
    }
    wait_until(
        "the good devices' readings",
        Duration::from_secs(30),
        || count(&db, "SELECT count(*) FROM meter_readings") == good,
    );
    wait_until("six store_refused rows", Duration::from_secs(30), || {
        count(
            &db,
            "SELECT count(*) FROM quarantine WHERE reason_code = 'store_refused'",
        ) == 6
    });
    let reason: String = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT origin || ' ' || reason FROM quarantine WHERE reason_code = 'store_refused' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        reason.contains(&format!("gw/{bad_county}/meter/{bad}"))
            && reason.contains("injected failure"),
        "{reason}"
    );
    let log = daemon.log_text();
    assert!(log.contains("storing its messages one by one"), "{log}");
    assert_eq!(http_get(&listener_address(&log), "/healthz").0, 200);
    // Acknowledged: a restart brings none of them back, and new readings keep landing.
    assert!(daemon.terminate().success());
    daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    publish(
        broker.port,
        &topic(2),
        &reading("2026-11-02T07:00:00+08:00", 70.0),
    );
    wait_until(
        "a reading after the restart",
        Duration::from_secs(20),
        || count(&db, "SELECT count(*) FROM meter_readings") == good + 1,
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM quarantine WHERE reason_code = 'store_refused'"
        ),
        6
    );
    drop(daemon);
}
