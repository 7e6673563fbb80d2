//! Hostile input against `gwmon run`: one message is one quarantine row and at most a line of log,
//! device text cannot forge log lines, and the quarantine table is pruned.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// Peak resident memory of a process, KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bytes of the store: the database and its write-ahead log.
fn store_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|ext| std::fs::metadata(format!("{}{ext}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// Regression: a 1 MB `[1,1,…]` on a registered topic gave 500,000 quarantine rows, 123 MB of
/// log and +290 MB of store; payload strings and topics reached the log unescaped.
#[test]
fn a_hostile_message_is_one_row_and_device_text_cannot_forge_log_lines() {
    const ELEMENTS: usize = 500_000;
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-hostile", "gw");
    let db = dir.path().join("gwmon.db");
    let log = dir.path().join("gwmon.log");
    let mut daemon = Daemon::start(&cfg, &db, &log);
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let before_lines = daemon.log_text().lines().count();
    let before_bytes = store_bytes(&db);
    let devices = intakes(2);
    let (county, id) = devices[0].clone();
    let t = format!("gw/{county}/meter/{id}");
    // Another intake, so that its refusal is not held back behind the first one's.
    let t2 = format!("gw/{}/meter/{}", devices[1].0, devices[1].1);

    // 1,000,001 bytes: 500,000 elements, none of them an object.
    let big = format!("[{}1]", "1,".repeat(ELEMENTS - 1));
    publish_bytes(broker.port, &t, big.as_bytes());
    // A 60,000-character topic.
    let long_id = "A".repeat(60_000 - t.len() + id.len());
    let long_topic = format!("gw/{county}/meter/{long_id}");
    assert_eq!(long_topic.len(), 60_000);
    publish(
        broker.port,
        &long_topic,
        r#"{"ts":1772323200,"total_m3":1}"#,
    );
    // A forged log line and terminal escapes in payload strings (JSON escapes: the decoded
    // strings hold a real newline and ESC), and a right-to-left override in a topic.
    publish(
        broker.port,
        &t,
        r#"{"ts":"x\nFORGED 2026-03-01T08:00:00Z  INFO gwmon: all readings verified \u001b[31m","total_m3":1}"#,
    );
    publish(
        broker.port,
        &t2,
        r#"{"ts":1772323200,"total_m3":"\u001b[2J\r\nFORGED"}"#,
    );
    publish(
        broker.port,
        &format!("gw/{county}/meter/QX\u{202E}1"),
        r#"{"ts":1772323200,"total_m3":1}"#,
    );
    // An unregistered device sending 50 messages: one line, not 50.
    let flood: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"ts":{},"total_m3":{i}}}"#, 1_772_323_200 + i))
        .collect();
    let mut p = publish_lines(broker.port, &format!("gw/{county}/meter/NOPE-1"), &flood);
    assert!(p.wait().unwrap().success());

    wait_until("every message quarantined", Duration::from_secs(60), || {
        query_i64(&db, "SELECT count(*) FROM quarantine") >= 55
    });
    let peak_kib = daemon.pid().and_then(peak_rss_kib);
    assert_eq!(daemon.terminate().code(), Some(0));
    let grown = store_bytes(&db).saturating_sub(before_bytes);

    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM quarantine"),
        55,
        "one row per message"
    );
    let (code, elements, reason): (String, i64, String) = conn
        .query_row(
            "SELECT reason_code, elements, reason FROM quarantine WHERE elements > 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((code.as_str(), elements), ("bad_field", ELEMENTS as i64));
    assert!(
        reason.starts_with(&format!(
            "500000 of 500000 elements refused: element 0 of the array on {t} is not a JSON object;"
        )),
        "{reason}"
    );
    let longest = |col: &str| {
        query_i64(
            &db,
            &format!("SELECT max(length(CAST({col} AS BLOB))) FROM quarantine"),
        )
    };
    assert!(
        longest("origin") <= 256,
        "origin of {} bytes",
        longest("origin")
    );
    assert!(
        longest("reason") <= 1024,
        "reason of {} bytes",
        longest("reason")
    );
    assert!(longest("payload") <= 4096);
    let a300 = "A".repeat(300);
    assert_eq!(
        query_i64(
            &db,
            &format!(
                "SELECT count(*) FROM quarantine WHERE instr(origin, '{a300}') OR instr(reason, '{a300}')"
            )
        ),
        0,
        "the long topic is stored cut"
    );
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM quarantine WHERE instr(reason, char(10)) OR instr(reason, char(27)) OR instr(origin, char(8238))"
        ),
        0,
        "reasons and origins are escaped"
    );

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().skip(before_lines).collect();
    eprintln!(
        "hostile messages: {} log lines ({} bytes), store +{} KiB, daemon peak RSS {:?} KiB",
        lines.len(),
        lines.iter().map(|l| l.len() + 1).sum::<usize>(),
        grown / 1024,
        peak_kib
    );
    let quarantined = lines.iter().filter(|l| l.contains("quarantined")).count();
    assert!(
        lines.len() < 20,
        "{} lines:\n{}",
        lines.len(),
        lines.join("\n")
    );
    assert!(quarantined >= 6, "each device's first message is logged");
    assert!(!text.contains('\u{1b}'), "a raw ESC reached the log");
    assert!(!text.contains('\u{202E}'), "a raw U+202E reached the log");
    assert!(
        !text.lines().any(|l| l.starts_with("FORGED")),
        "a forged line"
    );
    assert!(
        text.contains(r"x\u{a}FORGED"),
        "the forged text is shown escaped"
    );
    assert!(text.contains(r"\u{1b}[2J\u{d}\u{a}FORGED"), "{text}");
    assert!(
        !text.contains(&a300),
        "the long topic reached the log whole"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("NOPE-1")).count(),
        1,
        "the flooding device is logged once"
    );
    assert!(grown < 4 << 20, "the store grew by {grown} bytes");
    if let Some(kib) = peak_kib {
        assert!(kib < 150 * 1024, "peak RSS {kib} KiB");
    }
}

/// Store-level retention: rows older than `max_age_days` go, then the oldest beyond `max_rows`,
/// through the public function the daemon's writer calls.
#[test]
fn quarantine_retention_prunes_old_rows_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gwmon.db");
    let conn = gwmon::store::open_rw(&db, gwmon::store::Durability::Normal).unwrap();
    let now = 1_772_323_200;
    for age_days in 0..200 {
        conn.execute(
            "INSERT INTO quarantine (received_at, origin, payload, reason_code, reason) VALUES (?1, 'gw/x', x'', 'bad_field', 'r')",
            [now - age_days * 86_400],
        )
        .unwrap();
    }
    let settings = gwmon::config::QuarantineConfig {
        max_age_days: 90,
        max_rows: 50,
    };
    let pruned = gwmon::store::retention::prune_quarantine(&conn, now, &settings).unwrap();
    assert_eq!(pruned, 150);
    let (n, oldest): (i64, i64) = conn
        .query_row(
            "SELECT count(*), (?1 - min(received_at)) / 86400 FROM quarantine",
            [now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, oldest), (50, 49));
}
