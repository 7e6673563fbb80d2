//! `gwmon run` against real Mosquitto: exactly-once under SIGKILL, quarantine of hostile input,
//! counter semantics end to end, clean shutdown, broker restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use gwmon::store::sql::SqlExt;

use crate::support::*;

const TS0: i64 = 1_767_196_800; // 2026-01-01T00:00:00+08:00

/// Deterministic pseudo-random increments (xorshift), so failures reproduce.
fn increments(seed: u64, n: usize) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 40
        })
        .collect()
}

#[test]
fn crash_test_sigkill_twice_keeps_every_reading_exactly_once() {
    crash_test(None);
}

/// The same with the daemon on a PostgreSQL store.
#[test]
fn crash_test_on_postgresql() {
    let schema = Schema::new("crash");
    crash_test(Some(schema.url().into()));
}

/// 20 meters × 1,000 hourly totals, the daemon SIGKILLed twice mid-stream: every reading
/// stored once and every day's volume exact, on the store at `db` (a SQLite file of its own
/// when `None`).
fn crash_test(db: Option<std::path::PathBuf>) {
    const INTAKES: usize = 20;
    const PER_INTAKE: usize = 1000;
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-crash", "gw");
    let db = db.unwrap_or_else(|| dir.path().join("gwmon.db"));
    let mut daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });

    // Hourly totals for 20 intakes over ~42 days.
    let devices = intakes(INTAKES);
    let mut expected: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    let mut publishers = Vec::new();
    for (k, (county, id)) in devices.iter().enumerate() {
        let mut total = 1000 * k as u64;
        let mut series = Vec::new();
        let mut lines = Vec::new();
        for (h, inc) in increments(k as u64 + 7, PER_INTAKE).into_iter().enumerate() {
            total += inc;
            let ts = TS0 + 3600 * h as i64;
            series.push((ts, total));
            lines.push(format!("{{\"ts\":{ts},\"total_m3\":{total}}}"));
        }
        expected.insert(id.clone(), series);
        publishers.push(publish_lines(
            broker.port,
            &format!("gw/{county}/meter/{id}"),
            &lines,
        ));
    }

    let count = || query_i64(&db, "SELECT count(*) FROM meter_readings");
    wait_until("3,000 readings", Duration::from_secs(60), || {
        count() >= 3000
    });
    let at_first_kill = count();
    daemon.restart(); // SIGKILL, then start again
    wait_until("9,000 readings", Duration::from_secs(60), || {
        count() >= 9000
    });
    let at_second_kill = count();
    daemon.restart(); // second SIGKILL
    for mut p in publishers {
        assert!(p.wait().unwrap().success(), "mosquitto_pub failed");
    }
    let total = (INTAKES * PER_INTAKE) as i64;
    wait_until("all 20,000 readings", Duration::from_secs(120), || {
        count() >= total
    });
    assert_eq!(daemon.terminate().code(), Some(0));
    eprintln!("crash test: killed at {at_first_kill} and {at_second_kill} stored readings");
    assert!(
        at_second_kill < total,
        "the second kill came before the end of the stream"
    );

    assert_eq!(count(), total, "exactly 20,000 readings");
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM (SELECT intake_id, ts FROM meter_readings GROUP BY 1, 2 HAVING count(*) > 1) AS dup"
        ),
        0
    );
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM quarantine"),
        0,
        "nothing quarantined"
    );
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM meter_events"),
        0,
        "no counter events in clean data"
    );

    let conn = gwmon::store::open_read(&db).unwrap();
    for (id, series) in &expected {
        // Readings are on the hour, so a local day's volume is the difference of the totals at
        // its two midnights (the 23:00→00:00 interval belongs to the earlier day).
        let rows: Vec<(String, f64, f64)> = conn
            .rows(
                "SELECT day, volume_m3, estimated_m3 FROM daily_volume WHERE intake_id = ?1 ORDER BY day",
                gwmon::vals![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let days = PER_INTAKE.div_ceil(24);
        assert_eq!(rows.len(), days, "{id}: one row per day covered");
        for (d, (day, vol, est)) in rows.iter().enumerate() {
            let start = series[d * 24].1;
            let end = series[((d + 1) * 24).min(PER_INTAKE - 1)].1;
            assert_eq!(*vol, (end - start) as f64, "{id} {day}");
            assert_eq!(*est, 0.0);
        }
        let sum: f64 = rows.iter().map(|r| r.1).sum();
        assert_eq!(sum, (series[PER_INTAKE - 1].1 - series[0].1) as f64, "{id}");
    }
    let log = daemon.log_text();
    assert_eq!(
        log.matches("gwmon starting").count(),
        3,
        "started three times"
    );
}

#[test]
fn hostile_payloads_are_quarantined_with_reasons_and_ingest_goes_on() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-bad", "gw");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("max_payload_bytes = 1048576", "max_payload_bytes = 4096");
    std::fs::write(&cfg, text).unwrap();
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let (county, id) = intakes(1).remove(0);
    let (wcounty, wid) = a_well();
    let t = format!("gw/{county}/meter/{id}");
    let cases: Vec<(String, String, &str)> = vec![
        (t.clone(), "{\"ts\":".into(), "malformed_json"),
        (t.clone(), r#"{"ts":1772323200}"#.into(), "bad_field"),
        (
            t.clone(),
            r#"{"ts":1772323200,"total_m3":"12"}"#.into(),
            "bad_field",
        ),
        (
            t.clone(),
            r#"{"ts":1772323200,"total_m3":-5}"#.into(),
            "bad_value",
        ),
        (
            t.clone(),
            r#"{"ts":"yesterday","total_m3":5}"#.into(),
            "bad_timestamp",
        ),
        (
            t.clone(),
            r#"{"ts":4000000000,"total_m3":5}"#.into(),
            "future_timestamp",
        ),
        (
            t.clone(),
            format!(
                r#"{{"ts":1772323200,"total_m3":1,"pad":"{}"}}"#,
                "x".repeat(5000)
            ),
            "oversize",
        ),
        (
            format!("gw/{county}/meter/NO-SUCH"),
            r#"{"ts":1772323200,"total_m3":1}"#.into(),
            "unknown_device",
        ),
        (
            format!("gw/140199/meter/{id}"),
            r#"{"ts":1772323200,"total_m3":1}"#.into(),
            "county_mismatch",
        ),
        (
            format!("gw/{wcounty}/meter/{wid}"),
            r#"{"ts":1772323200,"total_m3":1}"#.into(),
            "wrong_kind",
        ),
        (
            format!("gw/{wcounty}/level/{wid}"),
            r#"{"ts":1772323200,"depth_m":1e300}"#.into(),
            "bad_value",
        ),
        (t.clone(), "[1,2]".into(), "bad_field"),
        (t.clone(), "null".into(), "bad_field"),
    ];
    publish_bytes(broker.port, &t, b"\x00\xff\xfe{binary");
    for (topic, payload, _) in &cases {
        publish(broker.port, topic, payload);
    }
    let n = cases.len() as i64 + 1;
    wait_until("all quarantined", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM quarantine") >= n // [1,2] is one row
    });
    // Valid readings after all that, including a conflicting resend.
    publish(
        broker.port,
        &t,
        r#"{"ts":"2026-03-01T08:00:00+08:00","total_m3":100.5}"#,
    );
    publish(
        broker.port,
        &t,
        r#"{"ts":"2026-03-01T08:00:00+08:00","total_m3":100.5}"#,
    );
    publish(
        broker.port,
        &t,
        r#"{"ts":"2026-03-01T08:00:00+08:00","total_m3":999}"#,
    );
    publish(
        broker.port,
        &format!("gw/{wcounty}/level/{wid}"),
        r#"{"ts":1772323200,"depth_m":31.5}"#,
    );
    wait_until("valid readings stored", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") == 1
            && query_i64(&db, "SELECT count(*) FROM level_readings") == 1
            && query_i64(
                &db,
                "SELECT count(*) FROM quarantine WHERE reason_code = 'conflict'",
            ) == 1
    });
    let conn = rusqlite::Connection::open(&db).unwrap();
    let got: Vec<(String, String)> = conn
        .prepare("SELECT reason_code, reason FROM quarantine WHERE reason_code <> 'conflict' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut want: Vec<&str> = vec!["malformed_json"];
    want.extend(cases.iter().map(|c| c.2));
    assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), want);
    for (code, reason) in &got {
        assert!(!reason.is_empty(), "{code} has a reason");
    }
    assert!(
        got.iter()
            .any(|g| g.1.contains("exceeds max_payload_bytes = 4096"))
    );
    assert!(got.iter().any(|g| g.1.contains("belongs to")));
    let conflict: String = conn
        .query_row(
            "SELECT reason FROM quarantine WHERE reason_code = 'conflict'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        conflict.contains("already has total_m3 = 100.5"),
        "{conflict}"
    );
}

fn hourly(day: &str, hour: u32) -> String {
    format!("{day}T{hour:02}:00:00+08:00")
}

#[test]
fn late_duplicate_reset_and_gap_end_to_end() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-counter", "gw");
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let (county, id) = intakes(3).remove(2);
    let t = format!("gw/{county}/meter/{id}");
    let msg = |ts: String, total: f64| format!(r#"{{"ts":"{ts}","total_m3":{total}}}"#);
    // In time order: 22:00 100, 23:00 110, 01:00 130 (next day), 02:00 5 (reset), 03:00 15,
    // then a 48 h gap to 03:00 two days later with +480.
    // Sent out of order, with a duplicate and a backlog array.
    publish(broker.port, &t, &msg(hourly("2026-05-10", 22), 100.0));
    publish(broker.port, &t, &msg(hourly("2026-05-11", 1), 130.0));
    publish(broker.port, &t, &msg(hourly("2026-05-10", 23), 110.0)); // late
    publish(broker.port, &t, &msg(hourly("2026-05-10", 23), 110.0)); // duplicate
    publish(
        broker.port,
        &t,
        &format!(
            "[{},{},{}]",
            msg(hourly("2026-05-11", 2), 5.0),
            msg(hourly("2026-05-11", 3), 15.0),
            msg(hourly("2026-05-13", 3), 495.0)
        ),
    );
    wait_until("six readings", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") == 6
    });
    let conn = rusqlite::Connection::open(&db).unwrap();
    let days: Vec<(String, f64, f64)> = conn
        .prepare("SELECT day, volume_m3, estimated_m3 FROM daily_volume WHERE intake_id = ?1 ORDER BY day")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // 05-10: 22→23 = 10, 23→01 = 20 split 10/10 at midnight → 20.
    // 05-11: 10 (from 23→01) + reset 5 + 10 + gap share 21 h/48 h × 480 = 210 → 235.
    // 05-12: 24/48 × 480 = 240 (estimated); 05-13: 3/48 × 480 = 30 (estimated).
    let want = [
        ("2026-05-10", 20.0, 0.0),
        ("2026-05-11", 235.0, 210.0),
        ("2026-05-12", 240.0, 240.0),
        ("2026-05-13", 30.0, 30.0),
    ];
    assert_eq!(days.len(), want.len(), "{days:?}");
    for ((d, v, e), (wd, wv, we)) in days.iter().zip(want) {
        assert_eq!(d, wd);
        assert!((v - wv).abs() < 1e-9, "{d}: {v} != {wv}");
        assert!((e - we).abs() < 1e-9, "{d}: estimated {e} != {we}");
    }
    let events: Vec<String> = conn
        .prepare("SELECT kind FROM meter_events WHERE intake_id = ?1 ORDER BY ts")
        .unwrap()
        .query_map([&id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events, ["reset"]);
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM quarantine"),
        0,
        "a same-value resend is a no-op"
    );
}

#[test]
fn sigterm_commits_acks_and_exits_zero() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-term", "gw");
    let db = dir.path().join("gwmon.db");
    let log = dir.path().join("gwmon.log");
    let mut daemon = Daemon::start(&cfg, &db, &log);
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let (county, id) = intakes(1).remove(0);
    let t = format!("gw/{county}/meter/{id}");
    let lines: Vec<String> = (0..500)
        .map(|h| format!("{{\"ts\":{},\"total_m3\":{}}}", TS0 + 3600 * h, 10 * h))
        .collect();
    assert!(
        publish_lines(broker.port, &t, &lines)
            .wait()
            .unwrap()
            .success()
    );
    wait_until("500 readings", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") == 500
    });
    assert_eq!(daemon.terminate().code(), Some(0), "exit code 0 on SIGTERM");
    assert!(daemon.log_text().contains("gwmon stopped"));

    // Everything was acked: the next session receives only the new message, no redelivery.
    let mut daemon = Daemon::start(&cfg, &db, &log);
    publish(
        broker.port,
        &t,
        &format!("{{\"ts\":{},\"total_m3\":99999}}", TS0 + 3600 * 600),
    );
    wait_until("the new reading", Duration::from_secs(20), || {
        query_i64(&db, "SELECT count(*) FROM meter_readings") == 501
    });
    assert_eq!(daemon.terminate().code(), Some(0));
    let text = daemon.log_text();
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("gwmon stopped"))
        .unwrap();
    assert!(
        last.contains("stored=1") && last.contains("duplicates=0"),
        "{last}"
    );
}

#[test]
fn resubscribes_after_a_broker_restart_that_forgot_the_session() {
    let mut broker = Broker::start(BrokerKind::Forgetful);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-restart", "gw");
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    broker.restart();
    wait_until("a second subscription", Duration::from_secs(40), || {
        daemon.log_text().matches("subscribed").count() >= 2
    });
    let (county, id) = intakes(1).remove(0);
    publish(
        broker.port,
        &format!("gw/{county}/meter/{id}"),
        &format!("{{\"ts\":{TS0},\"total_m3\":1}}"),
    );
    wait_until(
        "the reading after the restart",
        Duration::from_secs(20),
        || query_i64(&db, "SELECT count(*) FROM meter_readings") == 1,
    );
    assert!(daemon.log_text().contains("broker connection lost"));
}
