//! `gwmon run` under the faults an operator meets: another writer on the store, a full disk, a
//! second daemon, a broker that crashes or restarts, implausible timestamps, wrong credentials.
//! Each test runs its own Mosquitto (the shipped configuration) on a free port.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::*;

const TS0: i64 = 1_767_196_800; // 2026-01-01T00:00:00+08:00

/// Hourly readings of one intake, one message each, starting at hour `from`.
fn hourly_lines(from: i64, n: i64) -> Vec<String> {
    (from..from + n)
        .map(|h| format!("{{\"ts\":{},\"total_m3\":{}}}", TS0 + 3600 * h, 10 * h))
        .collect()
}

fn publish_all(port: u16, topic: &str, lines: &[String]) {
    assert!(
        publish_lines(port, topic, lines).wait().unwrap().success(),
        "mosquitto_pub failed"
    );
}

fn readings(db: &Path) -> i64 {
    query_i64(db, "SELECT count(*) FROM meter_readings")
}

/// Edits a written test config: each `(from, to)` replaces one line's text.
fn edit_config(cfg: &Path, edits: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(cfg).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "config has no '{from}'");
        text = text.replace(from, to);
    }
    std::fs::write(cfg, text).unwrap();
}

/// A daemon with its broker, config and store in one temporary folder.
struct Setup {
    broker: Broker,
    dir: tempfile::TempDir,
    cfg: std::path::PathBuf,
    db: std::path::PathBuf,
    topic: String,
}

impl Setup {
    fn new(kind: BrokerKind, client_id: &str) -> Setup {
        let broker = Broker::start(kind);
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), &broker.url(), client_id, "gw");
        let db = dir.path().join("gwmon.db");
        let (county, id) = intakes(1).remove(0);
        Setup {
            broker,
            cfg,
            db,
            topic: format!("gw/{county}/meter/{id}"),
            dir,
        }
    }

    fn daemon(&self, log: &str) -> Daemon {
        let d = Daemon::start(&self.cfg, &self.db, &self.dir.path().join(log));
        wait_until("subscription", Duration::from_secs(20), || {
            d.log_text().contains("subscribed")
        });
        d
    }
}

/// Finding 1: another connection holding the write lock longer than the writer's busy timeout
/// pauses the daemon (one ERROR, nothing acknowledged); it resumes by itself when the lock goes.
#[test]
fn a_long_lock_pauses_the_daemon_and_it_resumes_by_itself() {
    let s = Setup::new(BrokerKind::Production, "gwmon-lock");
    let mut daemon = s.daemon("gwmon.log");
    publish_all(s.broker.port, &s.topic, &hourly_lines(0, 10));
    wait_until("the first readings", Duration::from_secs(20), || {
        readings(&s.db) == 10
    });

    let other = Connection::open(&s.db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    publish_all(s.broker.port, &s.topic, &hourly_lines(10, 200));
    wait_until("the pause to be logged", Duration::from_secs(30), || {
        daemon.log_text().contains("store refused a batch")
    });
    assert!(daemon.exited().is_none(), "the daemon must not exit");
    assert_eq!(readings(&s.db), 10, "nothing committed while locked");
    other.execute_batch("COMMIT").unwrap();
    drop(other);

    wait_until(
        "every reading after the lock",
        Duration::from_secs(60),
        || readings(&s.db) == 210,
    );
    let log = daemon.log_text();
    assert!(log.contains("store available again"), "{log}");
    assert_eq!(
        log.matches("store refused a batch").count(),
        1,
        "one ERROR per pause: {log}"
    );
    assert!(
        log.contains("another process holds the store's write lock"),
        "the cause in plain words: {log}"
    );
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// Finding 1: `gwmon import` of a large file beside the running daemon; both finish, nothing
/// lost on either side.
#[test]
fn import_runs_beside_the_daemon() {
    let s = Setup::new(BrokerKind::Production, "gwmon-import");
    let mut daemon = s.daemon("gwmon.log");
    let (_, other) = intakes(2).remove(1);
    let rows = 60_000;
    let mut csv = String::from("intake_id,ts,total_m3\n");
    for i in 0..rows {
        csv.push_str(&format!("{other},{},{}\n", TS0 - 600 * (rows - i), i));
    }
    let file = s.dir.path().join("history.csv");
    std::fs::write(&file, csv).unwrap();

    let publisher = publish_lines(s.broker.port, &s.topic, &hourly_lines(0, 3000));
    let import = Command::new(GWMON)
        .args(["import", "--kind", "meter", "--config"])
        .arg(&s.cfg)
        .arg("--db")
        .arg(&s.db)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "import beside the daemon: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(publisher.wait_with_output().unwrap().status.success());
    wait_until("every reading", Duration::from_secs(60), || {
        readings(&s.db) == rows + 3000
    });
    assert!(daemon.exited().is_none(), "{}", daemon.log_text());
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// Finding 1 (full disk): the store on a small tmpfs fills up; the daemon pauses, and when the
/// file system grows it resumes and stores every reading. Needs root for `mount`.
#[test]
fn a_full_disk_pauses_the_daemon_until_there_is_room() {
    let s = Setup::new(BrokerKind::Production, "gwmon-full");
    let mnt = s.dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the full-disk case is not run");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mnt);
    let db = mnt.join("gwmon.db");
    let mut daemon = Daemon::start(&s.cfg, &db, &s.dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(20), || {
        daemon.log_text().contains("subscribed")
    });
    // 40 messages of 1,000 readings: far more than 1 MB of rows.
    let lines: Vec<String> = (0..40)
        .map(|m| {
            let items: Vec<String> = (0..1000)
                .map(|i| {
                    let h = m * 1000 + i;
                    format!("{{\"ts\":{},\"total_m3\":{}}}", TS0 + 60 * h, h)
                })
                .collect();
            format!("[{}]", items.join(","))
        })
        .collect();
    publish_all(s.broker.port, &s.topic, &lines);
    wait_until(
        "the full disk to be logged",
        Duration::from_secs(60),
        || daemon.log_text().contains("store refused a batch"),
    );
    assert!(
        readings(&db) < 40_000,
        "the disk filled before the last batch"
    );
    assert!(daemon.exited().is_none(), "{}", daemon.log_text());
    let grown = Command::new("mount")
        .args(["-o", "remount,size=256m"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(grown.success());
    wait_until(
        "every reading after the disk grew",
        Duration::from_secs(90),
        || readings(&db) == 40_000,
    );
    let log = daemon.log_text();
    assert!(log.contains("store available again"), "{log}");
    let refused = log
        .lines()
        .find(|l| l.contains("store refused a batch"))
        .unwrap();
    assert!(
        refused.contains("the disk holding the store is full"),
        "the cause is named: {refused}"
    );
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// Finding 3: a second daemon on the same store is refused at once with exit code 2.
#[test]
fn a_second_daemon_on_the_same_store_is_refused() {
    let s = Setup::new(BrokerKind::Production, "gwmon-twin");
    let mut daemon = s.daemon("gwmon.log");
    let out = Command::new(GWMON)
        .args(["run", "--config"])
        .arg(&s.cfg)
        .arg("--db")
        .arg(&s.db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another gwmon daemon is already writing to") && err.contains("gwmon.db.lock"),
        "{err}"
    );
    assert!(daemon.exited().is_none());
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// Finding 3: two daemons with one client id on separate stores take the session from each
/// other; the takeover is named in an ERROR line instead of a generic "connection lost".
#[test]
fn two_daemons_sharing_a_client_id_are_named() {
    let s = Setup::new(BrokerKind::Production, "gwmon-same-id");
    let first = s.daemon("first.log");
    let db2 = s.dir.path().join("second.db");
    let log2 = s.dir.path().join("second.log");
    let second = Daemon::start(&s.cfg, &db2, &log2);
    let named =
        |t: &str| t.contains("another client is most likely connected with the same client id");
    wait_until("the takeover ERROR", Duration::from_secs(60), || {
        named(&first.log_text()) || named(&second.log_text())
    });
    let text = format!("{}{}", first.log_text(), second.log_text());
    let line = text.lines().find(|l| named(l)).unwrap();
    assert!(
        line.contains("ERROR") && line.contains("gwmon-same-id"),
        "{line}"
    );
}

/// Finding 4: a stop during the reconnect wait after a broker crash returns at once, having
/// committed everything received, and says what is true about the acknowledgements.
#[test]
fn stop_during_the_reconnect_wait_commits_and_says_what_is_true() {
    let mut s = Setup::new(BrokerKind::Production, "gwmon-stop-wait");
    let mut daemon = s.daemon("gwmon.log");
    publish_all(s.broker.port, &s.topic, &hourly_lines(0, 500));
    wait_until("500 readings", Duration::from_secs(30), || {
        readings(&s.db) == 500
    });
    s.broker.kill9();
    wait_until("two reconnect attempts", Duration::from_secs(30), || {
        daemon.log_text().matches("broker connection lost").count() >= 2
    });
    let asked = Instant::now();
    let status = daemon.terminate();
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(
        took < Duration::from_secs(4),
        "a stop must not wait out the reconnect backoff: {took:?}"
    );
    let log = daemon.log_text();
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("gwmon stopped"))
        .unwrap();
    assert!(
        last.contains("every message received before the stop is committed")
            && last.contains("the broker was unreachable"),
        "{last}"
    );
    assert_eq!(readings(&s.db), 500);
}

/// Finding 5: an RTC's default date is refused, and a gap longer than the spread limit is spread
/// over its days as estimated volume and kept as a `long_gap` event, which `status` warns about.
#[test]
fn implausible_times_do_not_rewrite_history() {
    let s = Setup::new(BrokerKind::Production, "gwmon-time");
    let mut daemon = s.daemon("gwmon.log");
    publish(
        s.broker.port,
        &s.topic,
        r#"{"ts":"2001-06-01T00:00:00+08:00","total_m3":0}"#,
    );
    wait_until("the quarantine row", Duration::from_secs(20), || {
        query_i64(
            &s.db,
            "SELECT count(*) FROM quarantine WHERE reason_code = 'bad_timestamp' AND reason LIKE '%earliest%'",
        ) == 1
    });
    // 1 March, then 45 days later, then one hour after that.
    let t1 = 1_772_294_400; // 2026-03-01T00:00:00+08:00
    let t2 = t1 + 45 * 86_400;
    for (ts, total) in [(t1, 1000.0), (t2, 51_000.0), (t2 + 3600, 51_010.0)] {
        publish(
            s.broker.port,
            &s.topic,
            &format!("{{\"ts\":{ts},\"total_m3\":{total}}}"),
        );
    }
    wait_until("three readings", Duration::from_secs(20), || {
        readings(&s.db) == 3
    });
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT count(*) FROM meter_events WHERE kind = 'long_gap' AND volume_m3 = 50000"
        ),
        1
    );
    // 45 days of the gap, estimated, and the day of the hour after it.
    assert_eq!(
        query_i64(&s.db, "SELECT count(*) FROM daily_volume"),
        46,
        "the gap's days and the hour after it"
    );
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT CAST(round(sum(estimated_m3)) AS INTEGER) FROM daily_volume"
        ),
        50_000
    );
    assert_eq!(daemon.terminate().code(), Some(0));
    let (code, out, err) = gwmon(&[
        "status",
        "--as-of",
        "2026-05-01",
        "--json",
        "--config",
        s.cfg.to_str().unwrap(),
        "--db",
        s.db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("long_gap") && out.contains("50000 m³"),
        "{out}"
    );
    // Such a year cannot pass quantity.
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let county = s.topic.split('/').nth(1).unwrap();
    let c = doc["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == county)
        .unwrap();
    let quantity = c["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "quantity")
        .unwrap();
    assert_ne!(quantity["status"], "pass", "{quantity}");
}

/// Finding 6: after an outage long enough for the backoff to reach its cap, the daemon is back
/// within the cap (5 s by default) of the broker.
#[test]
fn reconnects_within_the_backoff_cap() {
    let mut s = Setup::new(BrokerKind::Production, "gwmon-prompt");
    let daemon = s.daemon("gwmon.log");
    s.broker.kill9();
    wait_until(
        "the backoff to reach its cap",
        Duration::from_secs(60),
        || daemon.log_text().contains("retry_in_ms=5000"),
    );
    let connects = daemon.log_text().matches("connected to broker").count();
    s.broker.start_again();
    let up = Instant::now();
    wait_until("the reconnect", Duration::from_secs(30), || {
        daemon.log_text().matches("connected to broker").count() > connects
    });
    assert!(
        up.elapsed() < Duration::from_secs(7),
        "back {:?} after the broker",
        up.elapsed()
    );
    // The persistent session survived (the shipped config persists it); readings flow again.
    publish_all(s.broker.port, &s.topic, &hourly_lines(0, 5));
    wait_until("readings after the outage", Duration::from_secs(20), || {
        readings(&s.db) == 5
    });
}

/// Finding 7: a password source that yields nothing is a start-up error naming it (exit 2); a
/// refused login is an ERROR naming the user and where the password came from.
#[test]
fn credentials_errors_name_their_source() {
    let s = Setup::new(BrokerKind::Production, "gwmon-creds");
    edit_config(
        &s.cfg,
        &[("# username = \"gwmon\"", "username = \"gwmon\"")],
    );
    let out = Command::new(GWMON)
        .args(["run", "--config"])
        .arg(&s.cfg)
        .arg("--db")
        .arg(&s.db)
        .env_remove("GWMON_MQTT_PASSWORD")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("password_env = \"GWMON_MQTT_PASSWORD\"") && err.contains("not set"),
        "{err}"
    );
    assert!(!s.db.exists(), "refused before the store is touched");

    // A broker that checks passwords, and a wrong one.
    let secured = Broker::start(BrokerKind::Authenticated);
    let cfg2 = write_config(s.dir.path(), &secured.url(), "gwmon-creds", "gw");
    edit_config(&cfg2, &[("# username = \"gwmon\"", "username = \"gwmon\"")]);
    let log = s.dir.path().join("refused.log");
    let mut child = Command::new(GWMON)
        .args(["run", "--config"])
        .arg(&cfg2)
        .arg("--db")
        .arg(&s.db)
        .env("GWMON_MQTT_PASSWORD", "wrong")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("the refusal", Duration::from_secs(20), || {
        text().contains("broker refused the connection")
    });
    let _ = child.kill();
    let _ = child.wait();
    let t = text();
    let line = t
        .lines()
        .find(|l| l.contains("broker refused the connection"))
        .unwrap();
    assert!(
        line.contains("ERROR")
            && line.contains("user=gwmon")
            && line.contains("environment variable GWMON_MQTT_PASSWORD")
            && !line.contains("wrong"),
        "{line}"
    );
}

/// Finding 7: an idle daemon still logs a heartbeat (connected, last message age, totals).
#[test]
fn an_idle_daemon_logs_a_heartbeat() {
    let s = Setup::new(BrokerKind::Production, "gwmon-idle");
    edit_config(&s.cfg, &[("heartbeat_s = 300", "heartbeat_s = 1")]);
    let daemon = s.daemon("gwmon.log");
    wait_until("a heartbeat", Duration::from_secs(20), || {
        daemon.log_text().contains("INFO heartbeat")
    });
    let log = daemon.log_text();
    let line = log.lines().find(|l| l.contains("INFO heartbeat")).unwrap();
    assert!(
        line.contains("connected=true") && line.contains("last_message_age_s=none yet"),
        "{line}"
    );
}

/// Finding 7: an error whose message already quotes its cause does not repeat it.
#[test]
fn an_error_states_its_cause_once() {
    let (code, _, err) = gwmon(&["status", "--db", "/proc/gwmon/x.db"]);
    assert_ne!(code, 0);
    let first = err.lines().next().unwrap_or_default();
    let words = [
        "No such file",
        "not found",
        "Permission denied",
        "unable to open",
    ];
    let repeats = words
        .iter()
        .map(|w| first.matches(w).count())
        .max()
        .unwrap_or(0);
    assert!(repeats <= 1, "{err}");
}

/// Logs written to a file or the journal carry no ANSI colour codes, without NO_COLOR too.
#[test]
fn logs_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("mqtt://127.0.0.1:{}", free_port()),
        "gwmon-plain",
        "gw",
    );
    let log = dir.path().join("gwmon.log");
    let mut child = Command::new(GWMON)
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("gwmon.db"))
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    // Never connected: the line names the broker it cannot reach.
    wait_until("a reconnect line", Duration::from_secs(20), || {
        text().contains("cannot connect to the broker at mqtt://127.0.0.1:")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(!text().contains('\u{1b}'), "{}", text());
}

/// `/healthz` says 200 while all is well and 503 with the reason while the store refuses
/// writes; `/metrics` counts what was stored, the connection and the silent devices.
#[test]
fn health_and_metrics_over_http() {
    let s = Setup::new(BrokerKind::Production, "gwmon-http");
    let daemon = s.daemon("gwmon.log");
    let addr = listener_address(&daemon.log_text());
    let (code, body) = http_get(&addr, "/healthz");
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));
    // The same listener serves the web view (one listener in the process).
    let (code, body) = http_get(&addr, "/login");
    assert_eq!(code, 200);
    assert!(body.contains("访问令牌"), "{body}");

    publish_all(s.broker.port, &s.topic, &hourly_lines(0, 5));
    wait_until("five readings", Duration::from_secs(20), || {
        readings(&s.db) == 5
    });
    let (code, text) = http_get(&addr, "/metrics");
    assert_eq!(code, 200);
    for want in [
        "gwmon_readings_stored_total{kind=\"meter\"} 5",
        "gwmon_mqtt_connected 1",
        "gwmon_commit_duration_seconds_bucket",
        "gwmon_silent_devices{county=\"140121\",kind=\"well\"}",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }

    let other = Connection::open(&s.db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    publish_all(s.broker.port, &s.topic, &hourly_lines(5, 1));
    wait_until("the pause", Duration::from_secs(30), || {
        daemon.log_text().contains("store refused a batch")
    });
    let (code, body) = http_get(&addr, "/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("store refuses writes"), "{body}");
    assert!(body.contains(r#""status":"degraded""#), "{body}");
    other.execute_batch("COMMIT").unwrap();
    wait_until(
        "the reading after the pause",
        Duration::from_secs(30),
        || readings(&s.db) == 6,
    );
    assert_eq!(http_get(&addr, "/healthz").0, 200);
}

/// Under systemd (Type=notify): READY=1 once started, WATCHDOG=1 pings at half the interval,
/// STOPPING=1 on SIGTERM.
#[test]
fn tells_systemd_it_is_ready_and_alive() {
    let s = Setup::new(BrokerKind::Production, "gwmon-notify");
    let sock_path = s.dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let log = s.dir.path().join("gwmon.log");
    // systemd names the watched process in WATCHDOG_PID: the shell's pid, which `exec` keeps.
    let child = Command::new("sh")
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" \"$@\"",
            GWMON,
            "run",
            "--config",
        ])
        .arg(&s.cfg)
        .arg("--db")
        .arg(&s.db)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Reap(child);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !(seen.iter().any(|m: &String| m.contains("READY=1"))
        && seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = sock.recv(&mut buf).expect("a notification within 20 s");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status();
    loop {
        let n = sock.recv(&mut buf).expect("STOPPING=1 within 20 s");
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}
