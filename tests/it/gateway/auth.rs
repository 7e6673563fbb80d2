//! Strangers on the gateway's network: a station's frames count only with its password and
//! from its addresses, a link frame does not take a station's session over, a report that
//! contradicts a stored reading is not confirmed, one address cannot take every connection
//! slot, and a trickle of bytes does not keep a connection open.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use gwmon::gateway::sl651;

use super::{
    Gateway, STATIONS, Setup, assert_nothing_to_read, local_minutes_ago, reply_or_closed,
    sl651_confirm, sl651_report,
};
use crate::support::*;

/// STATIONS with passwords and addresses: 1401210001 needs password 1234 (what
/// [`sl651_report`] sends); 1401210002 needs 1234 too and may only report from 127.0.0.2.
pub(super) const GUARDED: &str =
    "station,protocol,device_id,quantity,element,reply,password,allow_from
1401210001,sl651,W-QX-01,depth_m,0E,eot,1234,
1401210002,sl651,W-QX-02,depth_m,0E,esc,1234,127.0.0.2
1401210100,szy206,QX-0002,total_m3,c0.volume.1,jetlinks,,
";

/// Broker, daemon and gateway as [`Setup::new`] makes them, with `stations` and `edit` applied
/// to the config text.
pub(super) fn setup(client_id: &str, stations: &str, edit: impl Fn(String) -> String) -> Setup {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), client_id, "gw");
    let text = edit(std::fs::read_to_string(&cfg).unwrap());
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path().join("stations.csv"), stations).unwrap();
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("daemon.log"));
    wait_until("subscription", Duration::from_secs(20), || {
        daemon.log_text().contains("subscribed")
    });
    let gateway = Gateway::start(&cfg, &db, &dir.path().join("gateway.log"));
    Setup {
        broker,
        dir,
        cfg,
        db,
        daemon,
        gateway,
    }
}

/// A connection to the gateway from the loopback address `from` (Linux routes all of
/// 127.0.0.0/8 to lo, so 127.0.0.2 is another terminal's address).
pub(super) fn connect_from(from: &str, port: u16) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&local.into()).unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&to.into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Waits until the gateway closes `s` (end of stream or reset); panics after `within`.
/// Returns how long it took.
fn wait_closed(s: &mut TcpStream, within: Duration, what: &str) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => panic!("{what}: unexpected bytes"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(
                    started.elapsed() < within,
                    "{what}: still open after {within:?}"
                );
            }
            Err(_) => return started.elapsed(),
        }
    }
}

fn metric_line(metrics: &str, line: &str) -> bool {
    metrics.lines().any(|l| l == line)
}

#[test]
fn a_link_frame_from_another_connection_does_not_take_the_station_over() {
    let s = setup("gw-it-takeover", GUARDED, |t| t);
    let mut real = s.gateway.connect();
    real.write_all(&sl651_report("1401210001", 1, local_minutes_ago(9), 1100).encode())
        .unwrap();
    assert_eq!(
        sl651_confirm(&reply_or_closed(&mut real, Duration::from_secs(20)).expect("a confirm")).0,
        1
    );
    // The attacker copied a link-maintenance frame, password and all, off the wire.
    let mut attacker = s.gateway.connect();
    let link = sl651::Report {
        function: sl651::LINK_KEEP,
        elements: Vec::new(),
        ..sl651_report("1401210001", 2, local_minutes_ago(8), 0)
    };
    attacker.write_all(&link.encode()).unwrap();
    wait_until("the link frame archived", Duration::from_secs(20), || {
        s.archived("1401210001", "link") == 1
    });
    // The real terminal's session holds: its next report is confirmed on the same connection.
    real.write_all(&sl651_report("1401210001", 3, local_minutes_ago(7), 1101).encode())
        .unwrap();
    let reply = reply_or_closed(&mut real, Duration::from_secs(20))
        .expect("a confirm on the real terminal's connection");
    assert_eq!(sl651_confirm(&reply).0, 3);
    wait_until("both readings", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 2
    });
}

#[test]
fn a_wrong_password_is_refused_and_archived() {
    let s = setup("gw-it-password", GUARDED, |t| t);
    let mut c = s.gateway.connect();
    let forged = sl651::Report {
        password: [0x99, 0x99],
        ..sl651_report("1401210001", 5, local_minutes_ago(30), 4321)
    };
    c.write_all(&forged.encode()).unwrap();
    wait_until(
        "the refused frame archived",
        Duration::from_secs(20),
        || s.archived("1401210001", "bad_password") == 1,
    );
    assert_nothing_to_read(&mut c);
    // The same report with the station's password goes through on the same connection: the
    // refusal was the password, nothing else.
    c.write_all(&sl651_report("1401210001", 6, local_minutes_ago(30), 1234).encode())
        .unwrap();
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply).0, 6);
    wait_until("the real reading", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 1
    });
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT CAST(depth_m * 100 AS INTEGER) FROM level_readings WHERE well_id = 'W-QX-01'"
        ),
        1234,
        "the forged depth was never stored"
    );
    let metrics = s.gateway.metrics();
    let line = "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"bad_password\"} 1";
    assert!(metric_line(&metrics, line), "{line} not in\n{metrics}");
    assert!(
        s.gateway
            .log_text()
            .contains("password 9999 is not the one station 1401210001 has"),
        "{}",
        s.gateway.log_text()
    );
}

#[test]
fn a_forged_report_from_a_disallowed_address_is_refused() {
    let s = setup("gw-it-allow", GUARDED, |t| t);
    // The right password, from 127.0.0.1: 1401210002 reports only from 127.0.0.2.
    let mut forger = connect_from("127.0.0.1", s.gateway.port);
    forger
        .write_all(&sl651_report("1401210002", 8, local_minutes_ago(15), 999).encode())
        .unwrap();
    wait_until(
        "the refused frame archived",
        Duration::from_secs(20),
        || s.archived("1401210002", "not_allowed") == 1,
    );
    assert_nothing_to_read(&mut forger);
    let mut real = connect_from("127.0.0.2", s.gateway.port);
    real.write_all(&sl651_report("1401210002", 8, local_minutes_ago(15), 2210).encode())
        .unwrap();
    let reply = reply_or_closed(&mut real, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply), (8, sl651::ESC));
    wait_until("the real reading", Duration::from_secs(20), || {
        s.depth_rows("W-QX-02") == 1
    });
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT CAST(depth_m * 100 AS INTEGER) FROM level_readings WHERE well_id = 'W-QX-02'"
        ),
        2210
    );
    let metrics = s.gateway.metrics();
    let line = "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"not_allowed\"} 1";
    assert!(metric_line(&metrics, line), "{line} not in\n{metrics}");
}

#[test]
fn a_report_conflicting_with_a_stored_reading_is_not_confirmed() {
    // Without passwords, as a bureau starts: the store's stored reading is the forgery (a
    // report for a time ahead), and the terminal's real report for that time comes later.
    let s = setup("gw-it-conflict", STATIONS, |t| t);
    let at = local_minutes_ago(-5);
    let mut forger = s.gateway.connect();
    forger
        .write_all(&sl651_report("1401210001", 20, at, 4000).encode())
        .unwrap();
    assert!(reply_or_closed(&mut forger, Duration::from_secs(20)).is_some());
    wait_until("the forged reading stored", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 1
    });
    let mut real = s.gateway.connect();
    real.write_all(&sl651_report("1401210001", 21, at, 1500).encode())
        .unwrap();
    wait_until("the conflict archived", Duration::from_secs(20), || {
        s.archived("1401210001", "conflict") == 1
    });
    // Not confirmed: the terminal keeps the report and sends it again until it is reviewed.
    assert_nothing_to_read(&mut real);
    let metrics = s.gateway.metrics();
    for line in [
        "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"conflict\"} 1",
        "gwmon_gateway_elements_total{protocol=\"sl651\",outcome=\"conflict\"} 1",
    ] {
        assert!(metric_line(&metrics, line), "{line} not in\n{metrics}");
    }
    let log = s.gateway.log_text();
    assert!(
        log.contains("WARN") && log.contains("conflict with stored ones (W-QX-01 at"),
        "{log}"
    );
    // A resend of the stored value is a duplicate, not a conflict: confirmed.
    forger
        .write_all(&sl651_report("1401210001", 20, at, 4000).encode())
        .unwrap();
    assert!(reply_or_closed(&mut forger, Duration::from_secs(20)).is_some());
    assert_eq!(s.depth_rows("W-QX-01"), 1);
}

/// The gateway's open connections, from its gauge.
fn open_connections(g: &Gateway) -> Option<u64> {
    g.metrics()
        .lines()
        .find_map(|l| l.strip_prefix("gwmon_gateway_connections "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

#[test]
fn one_address_cannot_take_every_connection_slot() {
    let s = setup("gw-it-slots", GUARDED, |t| t);
    let port = s.gateway.port;
    // 16 idle connections from 127.0.0.1, the default max_connections_per_address.
    let idle: Vec<TcpStream> = (0..16).map(|_| connect_from("127.0.0.1", port)).collect();
    wait_until("16 connections open", Duration::from_secs(20), || {
        open_connections(&s.gateway) == Some(16)
    });
    let mut seventeenth = connect_from("127.0.0.1", port);
    wait_closed(
        &mut seventeenth,
        Duration::from_secs(10),
        "the 17th connection from one address",
    );
    let metrics = s.gateway.metrics();
    let line = "gwmon_gateway_connections_refused_total{reason=\"too_many_from_address\"} 1";
    assert!(metric_line(&metrics, line), "{line} not in\n{metrics}");
    // A real terminal from another address still gets in and reports.
    let mut real = connect_from("127.0.0.2", port);
    real.write_all(&sl651_report("1401210002", 9, local_minutes_ago(12), 2300).encode())
        .unwrap();
    let reply = reply_or_closed(&mut real, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply).0, 9);
    wait_until("the real reading", Duration::from_secs(20), || {
        s.depth_rows("W-QX-02") == 1
    });
    drop(idle);
}

#[test]
fn a_trickle_of_bytes_does_not_keep_a_connection_open() {
    let s = setup("gw-it-trickle", GUARDED, |t| {
        t.replace("idle_timeout_s = 300", "idle_timeout_s = 3")
    });
    let mut c = s.gateway.connect();
    // A whole frame first: the idle time counts from it.
    c.write_all(&sl651_report("1401210001", 30, local_minutes_ago(3), 1000).encode())
        .unwrap();
    assert!(reply_or_closed(&mut c, Duration::from_secs(20)).is_some());
    let last_frame = Instant::now();
    // Then one byte a second, never a frame: each would have restarted a timer counted from
    // the last byte. The pace is the attack's, not a wait for the gateway.
    let mut closed = None;
    while last_frame.elapsed() < Duration::from_secs(15) {
        if c.write_all(b"A").is_err() {
            closed = Some(last_frame.elapsed());
            break;
        }
        let mut buf = [0u8; 16];
        let read_until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < read_until {
            match c.read(&mut buf) {
                Ok(0) => {
                    closed = Some(last_frame.elapsed());
                    break;
                }
                Ok(_) => panic!("unexpected bytes"),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    closed = Some(last_frame.elapsed());
                    break;
                }
            }
        }
        if closed.is_some() {
            break;
        }
    }
    let after = closed.expect("the trickling connection stayed open for 15 s");
    assert!(
        after >= Duration::from_millis(2500) && after < Duration::from_secs(8),
        "closed {after:?} after the last frame; idle_timeout_s = 3"
    );
}

#[test]
fn check_config_warns_of_stations_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1", "gw-it-warn", "gw");
    std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
    let (code, out, err) = gwmon(&["check-config", "--config", cfg.to_str().unwrap()]);
    // A warning, not an error: the configuration is valid.
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning: ")
            && err.contains("sl651 station 1401210001 has no password and no allow_from"),
        "{err}"
    );
    // SZY 206 reports carry no password: nothing to warn about for its station.
    assert!(!err.contains("1401210100"), "{err}");
    std::fs::write(dir.path().join("stations.csv"), GUARDED).unwrap();
    let (code, out, err) = gwmon(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn accepting_pauses_near_the_open_file_limit_and_resumes_when_a_connection_closes() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gw-it-fds", "gw");
    std::fs::write(dir.path().join("stations.csv"), GUARDED).unwrap();
    let log = dir.path().join("gateway.log");
    let mut cmd = std::process::Command::new(GWMON);
    cmd.args(["gateway", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("gwmon.db"))
        .args(["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    // A small open-file limit, as a unit file with a low LimitNOFILE would give.
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let lim = libc::rlimit {
                rlim_cur: 120,
                rlim_max: 120,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut g = Gateway {
        child: Some(cmd.spawn().unwrap()),
        port: 0,
        log: log.clone(),
    };
    g.wait_log("gateway connected to broker", 1);
    g.wait_log("gateway listening", 1);
    g.port = super::listening_port(&g.log_text());
    let text = g.log_text();
    let budget: usize = text
        .split("budget=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the budget line in\n{text}"));
    assert!((1..=56).contains(&budget), "{budget}");
    // Fill the budget from addresses of their own (each under the per-address cap).
    let mut idle: Vec<TcpStream> = (0..budget)
        .map(|i| connect_from(&format!("127.0.1.{}", i % 8 + 1), g.port))
        .collect();
    wait_until(
        "the budget's connections open",
        Duration::from_secs(20),
        || open_connections(&g) == Some(budget as u64),
    );
    // The next terminal waits in the listen queue: it is neither served nor refused.
    let mut real = connect_from("127.0.0.2", g.port);
    real.write_all(&sl651_report("1401210002", 40, local_minutes_ago(6), 1999).encode())
        .unwrap();
    g.wait_log("accepting paused", 1);
    assert_nothing_to_read(&mut real);
    // One connection closes: the gateway accepts the waiting terminal and confirms.
    drop(idle.pop());
    let reply = reply_or_closed(&mut real, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply).0, 40);
    let text = g.log_text();
    assert!(!text.contains("accept failed"), "{text}");
    let metrics = g.metrics();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gwmon_gateway_accept_paused_total ")),
        "{metrics}"
    );
}
