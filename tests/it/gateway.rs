//! `gwmon gateway` with field terminals over TCP, a real Mosquitto and the daemon (`gwmon run`)
//! ingesting: frames end up as rows, a confirm goes back only once the broker holds the
//! readings, junk and bad CRCs are skipped, unknown stations change nothing, replay after a
//! mapping fix. Synchronisation is on confirm bytes, log lines and store rows, with deadlines.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gwmon::config::ListenProtocol;
use gwmon::gateway::stream::{Framer, Item};
use gwmon::gateway::{sl651, szy206};
use jiff::civil::DateTime;

use crate::support::*;

/// Strangers on the network: authentication, conflicts, connection limits.
mod auth;
/// Floods: the archive's bounds, reassembly memory, the parser's cost.
mod flood;

const STATIONS: &str = "station,protocol,device_id,quantity,element,reply
1401210001,sl651,W-QX-01,depth_m,0E,eot
1401210002,sl651,W-QX-02,depth_m,0E,esc
1401210100,szy206,QX-0002,total_m3,c0.volume.1,jetlinks
";

/// A gateway process of the test's own.
struct Gateway {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Gateway {
    /// Starts `gwmon gateway` on a port the system picks (read back from its log, so no other
    /// test can take it in between).
    fn start(cfg: &Path, db: &Path, log: &Path) -> Gateway {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(GWMON)
            .args(["gateway", "--config"])
            .arg(cfg)
            .arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
            .env("RUST_LOG", "info,gwmon::gateway=debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut g = Gateway {
            child: Some(child),
            port: 0,
            log: log.to_path_buf(),
        };
        g.wait_log("gateway connected to broker", 1);
        g.wait_log("gateway listening", 1);
        g.port = listening_port(&g.log_text());
        g
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, what: &str, count: usize) {
        wait_until(what, Duration::from_secs(20), || {
            self.log_text().matches(what).count() >= count
        });
    }

    /// The gateway's `/metrics` text.
    fn metrics(&self) -> String {
        let log = self.log_text();
        let key = "serving the gateway's /metrics address=127.0.0.1:";
        let at = log.find(key).expect("the metrics line") + key.len();
        let port: u16 = log[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The port of the gateway's listener, from its log line.
fn listening_port(log: &str) -> u16 {
    let key = "gateway listening address=127.0.0.1:";
    let at = log.find(key).expect("the gateway's listening line") + key.len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// Broker, daemon and gateway with their config, stations.csv and store in one folder.
struct Setup {
    broker: Broker,
    dir: tempfile::TempDir,
    cfg: PathBuf,
    db: PathBuf,
    daemon: Daemon,
    gateway: Gateway,
}

impl Setup {
    fn new(client_id: &str) -> Setup {
        Setup::on(client_id, None)
    }

    /// On the store at `db` (a PostgreSQL URL), else a SQLite file of its own.
    fn on(client_id: &str, db: Option<PathBuf>) -> Setup {
        let broker = Broker::start(BrokerKind::Production);
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), &broker.url(), client_id, "gw");
        std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
        let db = db.unwrap_or_else(|| dir.path().join("gwmon.db"));
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

    fn depth_rows(&self, well: &str) -> i64 {
        query_i64(
            &self.db,
            &format!("SELECT count(*) FROM level_readings WHERE well_id = '{well}'"),
        )
    }

    fn archived(&self, station: &str, outcome: &str) -> i64 {
        query_i64(
            &self.db,
            &format!(
                "SELECT count(*) FROM gateway_frames WHERE station = '{station}' AND outcome = '{outcome}'"
            ),
        )
    }
}

/// Local time `minutes_ago` minutes before now, on the minute (SL 651 observation times have
/// no seconds).
fn local_minutes_ago(minutes_ago: i64) -> DateTime {
    let clock = gwmon::domain::time::LocalClock::new("Asia/Shanghai").unwrap();
    let now = gwmon::domain::time::now_ts();
    clock.local((now / 60 - minutes_ago) * 60)
}

/// A 定时报 of station `station` with 埋深 `depth_cm` centimetres.
fn sl651_report(station: &str, serial: u16, observed: DateTime, depth_cm: u32) -> sl651::Report {
    let digits = format!("{depth_cm:06}");
    let data: Vec<u8> = digits
        .as_bytes()
        .chunks(2)
        .map(|p| (p[0] - b'0') << 4 | (p[1] - b'0'))
        .collect();
    sl651::Report {
        centre: 1,
        station: station.parse().unwrap(),
        password: [0x12, 0x34],
        function: 0x32,
        serial,
        sent: observed,
        class: b'G',
        observed,
        elements: vec![(0x0E, 0x1A, data), (0x38, 0x12, vec![0x12, 0x56])],
    }
}

/// Reads until one frame arrives (its bytes), or `None` at the deadline or when the gateway
/// closed the connection.
fn reply_or_closed(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut framer = Framer::new(ListenProtocol::Auto, 4112);
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => {
                framer.push(&buf[..n]);
                while let Some(item) = framer.next_item() {
                    if let Item::Frame(_, f) = item {
                        return Some(f);
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Asserts that no byte is waiting on the socket (after the gateway has decided, per the
/// archive, not to confirm).
fn assert_nothing_to_read(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no reply, got {other:?}"),
    }
}

fn sl651_confirm(reply: &[u8]) -> (u16, u8) {
    let env = sl651::envelope(reply).expect("an SL 651 frame");
    assert!(env.downlink, "a downlink frame");
    (u16::from_be_bytes([env.body[0], env.body[1]]), env.end)
}

#[test]
fn frames_over_tcp_become_rows_and_are_confirmed() {
    rows_and_confirms(Setup::new("gw-it-rows"));
}

/// The same with the daemon and the gateway on a PostgreSQL store (its archive and its check
/// for conflicting readings included).
#[test]
fn frames_over_tcp_become_rows_on_postgresql() {
    let schema = Schema::new("gateway");
    rows_and_confirms(Setup::on("gw-it-rows-pg", Some(schema.url().into())));
}

fn rows_and_confirms(s: Setup) {
    let mut c = s.gateway.connect();
    // SL 651, preceded by a DTU's registration text.
    let report = sl651_report("1401210001", 41, local_minutes_ago(30), 1520);
    c.write_all(b"+REG:861234567890\r\n").unwrap();
    c.write_all(&report.encode()).unwrap();
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply), (41, sl651::EOT));
    wait_until("the depth row", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 1
    });
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT CAST(depth_m * 100 AS INTEGER) FROM level_readings WHERE well_id = 'W-QX-01'"
        ),
        1520
    );
    // A multi-packet message (M3) from the ESC station: one confirm, after the last packet.
    let report = sl651_report("1401210002", 7, local_minutes_ago(20), 2210);
    for p in report.encode_parts(3) {
        c.write_all(&p).unwrap();
    }
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    let env = sl651::envelope(&reply).unwrap();
    assert_eq!(
        env.packet,
        gwmon::gateway::frame::Packet::Part { total: 3, seq: 3 }
    );
    assert_eq!(env.end, sl651::ESC);
    wait_until("the M3 depth row", Duration::from_secs(20), || {
        s.depth_rows("W-QX-02") == 1
    });
    // SZY 206 on the same connection: a cumulative total, confirmed the JetLinks way.
    let clock = gwmon::domain::time::LocalClock::new("Asia/Shanghai").unwrap();
    let r = szy206::Report7 {
        station: "1401210100".parse().unwrap(),
        type_code: szy206::TYPE_FLOW,
        values: vec![12_500, 345_678],
        status: 0,
        time: local_minutes_ago(10),
    };
    c.write_all(&r.encode()).unwrap();
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    let expected_station = [0x14, 0x01, 0x21, 0x01, 0x00];
    assert_eq!(reply[..3], [0x68, 0x08, 0x68]);
    assert_eq!(reply[4..9], expected_station);
    assert_eq!(reply[9..11], [szy206::AFN_REPORT, 0x00]);
    wait_until("the meter row", Duration::from_secs(20), || {
        query_i64(
            &s.db,
            "SELECT count(*) FROM meter_readings WHERE intake_id = 'QX-0002' AND total_m3 = 345678",
        ) == 1
    });
    let ts = query_i64(
        &s.db,
        "SELECT ts FROM meter_readings WHERE intake_id = 'QX-0002'",
    );
    assert_eq!(
        clock.format(ts),
        r.time.strftime("%Y-%m-%d %H:%M:%S").to_string()
    );
    assert_eq!(s.archived("1401210001", "published"), 1);
}

#[test]
fn junk_and_a_bad_crc_are_skipped_and_an_unknown_station_changes_nothing() {
    let s = Setup::new("gw-it-junk");
    let mut c = s.gateway.connect();
    let good = sl651_report("1401210001", 5, local_minutes_ago(40), 1234).encode();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x5A;
    let unknown = sl651_report("9999999999", 6, local_minutes_ago(40), 999).encode();
    // Junk, the frame with a wrong CRC, the unknown station, a stray 7E, then the good frame,
    // all in one write.
    let mut burst = vec![0x00, 0x7E, 0x68, 0xFF, 0x16];
    burst.extend_from_slice(&bad);
    burst.extend_from_slice(&unknown);
    burst.push(0x7E);
    burst.extend_from_slice(&good);
    c.write_all(&burst).unwrap();
    // Frames of a connection are handled in order: the good frame's confirm comes after the
    // others were decided, and it is the only reply.
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply).0, 5);
    assert_nothing_to_read(&mut c);
    wait_until("the depth row", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 1
    });
    wait_until("the archive rows", Duration::from_secs(20), || {
        s.archived("9999999999", "unknown_station") == 1 && s.archived("1401210001", "bad_crc") == 1
    });
    assert_eq!(
        query_i64(&s.db, "SELECT count(*) FROM level_readings"),
        1,
        "the unknown station added no reading"
    );
    assert_eq!(query_i64(&s.db, "SELECT count(*) FROM quarantine"), 0);
    let metrics = s.gateway.metrics();
    for line in [
        "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"bad_crc\"} 1",
        "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"unknown_station\"} 1",
        "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"published\"} 1",
        "gwmon_gateway_elements_total{protocol=\"sl651\",outcome=\"published\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    assert!(
        s.gateway
            .log_text()
            .contains("station 9999999999 (127.0.0.1:"),
        "{}",
        s.gateway.log_text()
    );
    // The operator maps the station (to a second well) and replays its frames.
    let mapped = format!("{STATIONS}9999999999,sl651,W-QX-02,depth_m,0E,eot\n");
    std::fs::write(s.dir.path().join("stations.csv"), mapped).unwrap();
    let since = local_minutes_ago(24 * 60).strftime("%Y-%m-%d").to_string();
    let (code, out, err) = gwmon(&[
        "gateway",
        "--config",
        s.cfg.to_str().unwrap(),
        "--db",
        s.db.to_str().unwrap(),
        "replay",
        "--station",
        "9999999999",
        "--since",
        &since,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 readings published"), "{out}");
    wait_until("the replayed row", Duration::from_secs(20), || {
        s.depth_rows("W-QX-02") == 1
    });
}

#[test]
fn no_confirm_without_the_broker_and_the_resend_lands_exactly_once() {
    let mut s = Setup::new("gw-it-puback");
    let mut c = s.gateway.connect();
    let frame = sl651_report("1401210001", 77, local_minutes_ago(50), 1888).encode();
    s.broker.stop();
    s.gateway.wait_log("gateway lost the broker", 1);
    c.write_all(&frame).unwrap();
    wait_until(
        "the unconfirmed frame in the archive",
        Duration::from_secs(20),
        || s.archived("1401210001", "broker_unavailable") == 1,
    );
    assert_nothing_to_read(&mut c);
    s.broker.start_again();
    s.gateway.wait_log("gateway connected to broker", 2);
    wait_until("the daemon back", Duration::from_secs(30), || {
        s.daemon.log_text().matches("connected to broker").count() >= 2
    });
    // The terminal's retry is confirmed; a retry after a lost confirm is confirmed again.
    for attempt in 0..2 {
        c.write_all(&frame).unwrap();
        let reply = reply_or_closed(&mut c, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no confirm for attempt {attempt}"));
        assert_eq!(sl651_confirm(&reply).0, 77);
    }
    wait_until("the reading", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 1
    });
    wait_until("both resends committed", Duration::from_secs(20), || {
        query_i64(
            &s.db,
            "SELECT count(*) FROM gateway_frames WHERE outcome = 'published'",
        ) == 2
    });
    // Exactly once: the second copy is a duplicate to the daemon.
    assert_eq!(s.depth_rows("W-QX-01"), 1);
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT count(*) FROM gateway_frames WHERE protocol = 'sl651'"
        ),
        3
    );
}

#[test]
fn simulated_terminals_resend_after_noise_and_their_backlog_lands() {
    let s = Setup::new("gw-it-sim");
    let gateway = format!("127.0.0.1:{}", s.gateway.port);
    let (code, out, err) = gwmon(&[
        "simulate",
        "--config",
        s.cfg.to_str().unwrap(),
        "--protocol",
        "sl651",
        "--gateway",
        &gateway,
        "--rounds",
        "4",
        "--confirm-timeout",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // Two terminals, four reports each; each sent its first report once more after the copy
    // with a wrong CRC went unanswered.
    assert!(
        out.contains("2 sl651 terminals: 8 reports, 8 confirmed, 2 sent again"),
        "{out}"
    );
    wait_until("every report as a row", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 4 && s.depth_rows("W-QX-02") == 4
    });
    assert_eq!(
        query_i64(
            &s.db,
            "SELECT count(*) FROM gateway_frames WHERE outcome = 'bad_crc'"
        ),
        2
    );
    let (code, out, err) = gwmon(&[
        "simulate",
        "--config",
        s.cfg.to_str().unwrap(),
        "--protocol",
        "szy206",
        "--gateway",
        &gateway,
        "--rounds",
        "3",
        "--confirm-timeout",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    wait_until("the meter's rows", Duration::from_secs(20), || {
        query_i64(
            &s.db,
            "SELECT count(*) FROM meter_readings WHERE intake_id = 'QX-0002'",
        ) == 3
    });
}

/// A broker that accepts the gateway's connection and hands each PUBLISH to the test, which
/// decides when (or whether) its PUBACK goes out.
struct HeldBroker {
    port: u16,
    publishes: std::sync::mpsc::Receiver<(u16, String)>,
    acks: std::sync::mpsc::Sender<u16>,
}

impl HeldBroker {
    fn start() -> HeldBroker {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pub_tx, publishes) = std::sync::mpsc::channel();
        let (acks, ack_rx) = std::sync::mpsc::channel::<u16>();
        std::thread::spawn(move || {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            let mut writer = sock.try_clone().unwrap();
            std::thread::spawn(move || {
                for pkid in ack_rx {
                    let [hi, lo] = pkid.to_be_bytes();
                    if writer.write_all(&[0x40, 0x02, hi, lo]).is_err() {
                        return;
                    }
                }
            });
            let mut out = sock.try_clone().unwrap();
            while let Some((kind, body)) = read_packet(&mut sock) {
                match kind >> 4 {
                    1 => out.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap(),
                    3 => {
                        let tlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
                        let pkid = u16::from_be_bytes([body[2 + tlen], body[3 + tlen]]);
                        let payload = String::from_utf8_lossy(&body[4 + tlen..]).into_owned();
                        if pub_tx.send((pkid, payload)).is_err() {
                            return;
                        }
                    }
                    12 => out.write_all(&[0xD0, 0x00]).unwrap(),
                    _ => {}
                }
            }
        });
        HeldBroker {
            port,
            publishes,
            acks,
        }
    }
}

/// One MQTT packet: (first byte, body).
fn read_packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).ok()?;
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let mut d = [0u8; 1];
        s.read_exact(&mut d).ok()?;
        len |= usize::from(d[0] & 0x7F) << shift;
        shift += 7;
        if d[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((b[0], body))
}

#[test]
fn the_confirm_waits_for_the_puback_and_none_comes_without_it() {
    let held = HeldBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("mqtt://127.0.0.1:{}", held.port),
        "gw-it-held",
        "gw",
    );
    // A short PUBACK timeout for the second half of the test.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("puback_timeout_s = 10", "puback_timeout_s = 2");
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
    let db = dir.path().join("gwmon.db");
    let g = Gateway::start(&cfg, &db, &dir.path().join("gateway.log"));
    let mut c = g.connect();
    c.write_all(&sl651_report("1401210001", 3, local_minutes_ago(5), 1010).encode())
        .unwrap();
    let (pkid, payload) = held
        .publishes
        .recv_timeout(Duration::from_secs(20))
        .expect("the reading published");
    assert!(payload.contains("\"depth_m\":10.1"), "{payload}");
    // The broker holds the PUBACK: the gateway cannot have confirmed.
    assert_nothing_to_read(&mut c);
    held.acks.send(pkid).unwrap();
    let reply =
        reply_or_closed(&mut c, Duration::from_secs(20)).expect("the confirm after the PUBACK");
    assert_eq!(sl651_confirm(&reply), (3, sl651::EOT));
    // A PUBACK that never comes: no confirm, and the archive says why.
    c.write_all(&sl651_report("1401210001", 4, local_minutes_ago(4), 1011).encode())
        .unwrap();
    held.publishes
        .recv_timeout(Duration::from_secs(20))
        .expect("the second reading published");
    wait_until(
        "the unconfirmed frame in the archive",
        Duration::from_secs(20),
        || {
            query_i64(
                &db,
                "SELECT count(*) FROM gateway_frames WHERE outcome = 'broker_unavailable'",
            ) == 1
        },
    );
    assert_nothing_to_read(&mut c);
}

#[test]
fn the_gateway_runs_inside_the_daemon_when_enabled() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gw-it-inproc", "gw");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("enabled = false", "enabled = true")
        .replace("0.0.0.0:9651", "127.0.0.1:0");
    std::fs::write(&cfg, text).unwrap();
    let db = dir.path().join("gwmon.db");
    // Enabled without stations.csv: a start-up refusal naming the file.
    let (code, _, err) = gwmon(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("stations.csv does not exist"), "{err}");
    std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
    let d = Daemon::start(&cfg, &db, &dir.path().join("daemon.log"));
    // The gateway takes terminals only once the daemon has subscribed.
    wait_until("the gateway", Duration::from_secs(20), || {
        let t = d.log_text();
        let (sub, listening) = (t.find("subscribed"), t.find("gateway listening"));
        t.contains("gateway connected to broker") && sub.is_some() && listening > sub
    });
    let port = listening_port(&d.log_text());
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    c.write_all(&sl651_report("1401210001", 12, local_minutes_ago(3), 905).encode())
        .unwrap();
    let reply = reply_or_closed(&mut c, Duration::from_secs(20)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply), (12, sl651::EOT));
    wait_until("the depth row", Duration::from_secs(20), || {
        query_i64(
            &db,
            "SELECT count(*) FROM level_readings WHERE well_id = 'W-QX-01'",
        ) == 1
    });
    // The gateway's counters are on the daemon's own /metrics.
    let log = d.log_text();
    let web = log
        .lines()
        .find(|l| l.contains("serving the web view"))
        .and_then(|l| l.split("address=").nth(1))
        .and_then(|a| a.split_whitespace().next())
        .expect("the daemon's listener in its log")
        .to_owned();
    let mut h = TcpStream::connect(web.as_str()).unwrap();
    h.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut h, &mut text).unwrap();
    assert!(
        text.contains("gwmon_gateway_frames_total{")
            && text.contains("gwmon_readings_stored_total"),
        "{text}"
    );
}

/// SIGTERM while a terminal reports and MQTT messages arrive: the daemon's supervisor stops the
/// gateway first (the frame being handled is still published and confirmed), then ingest commits
/// and acknowledges, then the web listener closes. Nothing received is lost: once the daemon is
/// back, every frame the terminal had confirmed and every message published is stored, once
/// (what the daemon had not acknowledged stayed with the broker).
#[test]
fn sigterm_stops_input_then_commits_then_closes_the_listener_and_loses_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gw-it-order", "gw");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("enabled = false", "enabled = true")
        .replace("0.0.0.0:9651", "127.0.0.1:0");
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
    let db = dir.path().join("gwmon.db");
    let log = dir.path().join("daemon.log");
    let mut d = Daemon::start(&cfg, &db, &log);
    wait_until("the gateway", Duration::from_secs(20), || {
        d.log_text().contains("gateway listening")
    });
    let port = listening_port(&d.log_text());
    // The terminal reports a new minute as soon as the last one is confirmed, until the
    // gateway closes its connection: the times it had confirmed.
    let confirmed = Arc::new(AtomicUsize::new(0));
    let terminal = {
        let confirmed = Arc::clone(&confirmed);
        std::thread::spawn(move || {
            let clock = gwmon::domain::time::LocalClock::new("Asia/Shanghai").unwrap();
            let first = (gwmon::domain::time::now_ts() / 60 - 5000) * 60;
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut done = Vec::new();
            for serial in 1..4000u16 {
                let ts = first + 60 * i64::from(serial);
                let frame = sl651_report("1401210001", serial, clock.local(ts), 900).encode();
                if c.write_all(&frame).is_err() {
                    break;
                }
                match reply_or_closed(&mut c, Duration::from_secs(10)) {
                    Some(reply) if sl651_confirm(&reply).0 == serial => {
                        done.push(ts);
                        confirmed.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            done
        })
    };
    let (county, id) = intakes(1).remove(0);
    let topic = format!("gw/{county}/meter/{id}");
    let lines: Vec<String> = (0..3000)
        .map(|h| {
            format!(
                "{{\"ts\":{},\"total_m3\":{}}}",
                1_767_196_800 + 3600 * h,
                10 * h
            )
        })
        .collect();
    let mut publisher = publish_lines(broker.port, &topic, &lines);
    wait_until(
        "reports confirmed and messages stored",
        Duration::from_secs(30),
        || {
            confirmed.load(Ordering::SeqCst) >= 20
                && query_i64(&db, "SELECT count(*) FROM meter_readings") >= 100
        },
    );
    let status = d.terminate();
    assert!(status.success(), "{status:?}\n{}", d.log_text());
    let done = terminal.join().unwrap();
    assert!(done.len() >= 20, "{} confirmed", done.len());
    let text = std::fs::read_to_string(&log).unwrap();
    // In order: the gateway stops, ingest commits and acknowledges, the listener closes.
    let at = |what: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("{what:?} not in the log:\n{text}"))
    };
    assert!(at("gateway stopped") < at("gwmon stopped:"), "{text}");
    assert!(at("gwmon stopped:") < at("web listener closed"), "{text}");
    // What the daemon had received is committed; what it had not stays with the broker: once it
    // is back, every confirmed report and every published message is stored, each once.
    assert!(publisher.wait().unwrap().success(), "mosquitto_pub failed");
    let _back = Daemon::start(&cfg, &db, &dir.path().join("again.log"));
    let missing = || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut st = conn
            .prepare("SELECT count(*) FROM level_readings WHERE well_id = 'W-QX-01' AND ts = ?1")
            .unwrap();
        done.iter()
            .filter(|ts| st.query_row([ts], |r| r.get::<_, i64>(0)).unwrap() != 1)
            .count()
    };
    wait_until(
        "every message and report stored",
        Duration::from_secs(60),
        || query_i64(&db, "SELECT count(*) FROM meter_readings") == 3000 && missing() == 0,
    );
}

#[test]
fn a_station_that_reconnects_replaces_its_old_connection() {
    let s = Setup::new("gw-it-session");
    let mut old = s.gateway.connect();
    old.write_all(&sl651_report("1401210001", 1, local_minutes_ago(9), 1100).encode())
        .unwrap();
    assert!(reply_or_closed(&mut old, Duration::from_secs(20)).is_some());
    // The link dropped without a FIN; the terminal dials again.
    let mut new = s.gateway.connect();
    new.write_all(&sl651_report("1401210001", 2, local_minutes_ago(8), 1101).encode())
        .unwrap();
    assert!(reply_or_closed(&mut new, Duration::from_secs(20)).is_some());
    // The gateway closes the old connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 16];
    loop {
        match old.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => panic!("unexpected bytes on the old connection"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(Instant::now() < deadline, "the old connection stayed open");
            }
            Err(_) => break,
        }
    }
    wait_until("both readings", Duration::from_secs(20), || {
        s.depth_rows("W-QX-01") == 2
    });
}

#[test]
fn check_config_names_a_bad_stations_row_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1", "gw-it-check", "gw");
    std::fs::write(
        dir.path().join("stations.csv"),
        format!("{STATIONS}1401210003,szy206,W-QX-03,depth_m,c0.volume,jetlinks\n"),
    )
    .unwrap();
    let (code, out, err) = gwmon(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    let stations = dir.path().join("stations.csv");
    assert!(
        err.contains(&format!(
            "{} line 5, field element: 'c0.volume': expected c0.volume.N",
            stations.display()
        )),
        "{err}"
    );
    // Without the file: valid, no gateway stations.
    std::fs::remove_file(&stations).unwrap();
    let (code, out, err) = gwmon(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("field terminals"), "{out}");
}

#[test]
fn an_idle_connection_is_closed() {
    let held = HeldBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("mqtt://127.0.0.1:{}", held.port),
        "gw-it-idle",
        "gw",
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("idle_timeout_s = 300", "idle_timeout_s = 1");
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path().join("stations.csv"), STATIONS).unwrap();
    let g = Gateway::start(
        &cfg,
        &dir.path().join("gwmon.db"),
        &dir.path().join("gateway.log"),
    );
    let mut c = g.connect();
    // Junk keeps nothing alive: the idle time counts from the last complete frame.
    c.write_all(b"AT\r\n").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => panic!("unexpected bytes"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "the idle connection stayed open"
                );
            }
            Err(_) => break,
        }
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
}
