//! The web listener against connections that never finish a request, one address taking every
//! connection, and one token's flood of page builds.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{QINGXU, Server, get, shared_store, text, token};
use crate::support::*;

/// A copy of the shipped configuration in `dir` with `edits` applied to its text.
fn config_with(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(Path::new(REPO).join("config/taiyuan.toml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in the shipped config");
        text = text.replace(from, to);
    }
    let cfgdir = Path::new(REPO).join("config");
    for f in ["intakes.csv", "wells.csv", "projects.csv"] {
        std::fs::copy(cfgdir.join(f), dir.join(f)).unwrap();
    }
    let config = dir.join("gwmon.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// A connection to `base` (`http://ip:port` or `https://…`) from the loopback address `from`.
fn connect_from(from: &str, base: &str) -> TcpStream {
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&local.into()).unwrap();
    sock.connect(&addr.into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Reads (and drops) whatever comes until the server closes `s`; panics after `within`.
/// Returns how long it took.
fn wait_closed(s: &mut TcpStream, within: Duration, what: &str) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return started.elapsed(),
        }
        assert!(
            started.elapsed() < within,
            "{what}: still open after {within:?}"
        );
    }
}

#[test]
fn idle_half_sent_and_kept_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(
        dir.path(),
        &[("header_read_timeout_s = 20", "header_read_timeout_s = 2")],
    );
    let server = Server::start(shared_store(), Some(&config));
    let base = server.url("");
    let mut silent = connect_from("127.0.0.1", &base);
    let mut half = connect_from("127.0.0.1", &base);
    half.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut kept = connect_from("127.0.0.1", &base);
    kept.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // The kept-alive connection's response comes first.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    while !String::from_utf8_lossy(&got).contains("</html>") {
        match kept.read(&mut buf) {
            Ok(0) => panic!("closed before the response"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => assert!(started.elapsed() < Duration::from_secs(20), "no response"),
        }
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    // A header line trickled every 300 ms does not keep the half-sent request alive.
    let trickle = Instant::now();
    while trickle.elapsed() < Duration::from_secs(12) {
        if half.write_all(b"X-A: b\r\n").is_err() {
            break;
        }
        let mut b = [0u8; 256];
        match half.read(&mut b) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
        // The attacker's pace, not a wait for the server.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        trickle.elapsed() < Duration::from_secs(8),
        "a trickled request head kept its connection {:?}",
        trickle.elapsed()
    );
    for (c, what) in [
        (&mut silent, "a silent connection"),
        (&mut kept, "a kept-alive one"),
    ] {
        wait_closed(c, Duration::from_secs(8), what);
    }
}

#[test]
fn a_tls_handshake_that_never_comes_is_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: openssl could not make a test certificate");
        return;
    }
    let cert_line = format!("cert_file = \"{}\"", cert.display());
    let key_line = format!("key_file = \"{}\"", key.display());
    let config = config_with(
        dir.path(),
        &[
            ("# cert_file = \"/etc/gwmon/tls/cert.pem\"", &cert_line),
            ("# key_file = \"/etc/gwmon/tls/key.pem\"", &key_line),
            (
                "tls_handshake_timeout_s = 10",
                "tls_handshake_timeout_s = 2",
            ),
            ("header_read_timeout_s = 20", "header_read_timeout_s = 600"),
        ],
    );
    let server = Server::start(shared_store(), Some(&config));
    assert!(server.base.starts_with("https://"));
    let mut c = connect_from("127.0.0.1", &server.base);
    let took = wait_closed(
        &mut c,
        Duration::from_secs(8),
        "a connection without a handshake",
    );
    assert!(took >= Duration::from_millis(1500), "{took:?}");
}

#[test]
fn one_address_cannot_take_every_web_connection() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(
        dir.path(),
        &[
            (
                "max_connections_per_address = 64",
                "max_connections_per_address = 8",
            ),
            ("header_read_timeout_s = 20", "header_read_timeout_s = 600"),
        ],
    );
    let server = Server::start(shared_store(), Some(&config));
    let base = server.url("");
    let idle: Vec<TcpStream> = (0..8).map(|_| connect_from("127.0.0.1", &base)).collect();
    let mut ninth = connect_from("127.0.0.1", &base);
    wait_closed(
        &mut ninth,
        Duration::from_secs(10),
        "the 9th connection from one address",
    );
    // Another address is served.
    let mut other = connect_from("127.0.0.2", &base);
    other
        .write_all(b"GET /login HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    loop {
        match other.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => assert!(started.elapsed() < Duration::from_secs(20), "no response"),
        }
    }
    let head = String::from_utf8_lossy(&got);
    assert!(
        head.starts_with("HTTP/1.") && head[..12].ends_with(" 200"),
        "{head}"
    );
    drop(idle);
}

#[test]
fn one_tokens_flood_of_dates_is_refused_with_retry_after_and_the_city_is_served() {
    let db = shared_store();
    let (_, county) = token(db, &["--county", QINGXU]);
    let (_, city) = token(db, &["--city"]);
    let server = Server::start(db, None);
    let urls: Vec<String> = (1..=12)
        .map(|d| server.url(&format!("/api/v1/status?as_of=2026-10-{d:02}")))
        .collect();
    let flood: Vec<_> = urls
        .into_iter()
        .map(|u| {
            let t = county.clone();
            std::thread::spawn(move || {
                let (code, h, _) = get(&u, Some(&t));
                (code, super::header(&h, "retry-after").to_string())
            })
        })
        .collect();
    let (code, _, body) = get(&server.url("/api/v1/status"), Some(&city));
    assert_eq!(code, 200, "{}", text(&body));
    let answers: Vec<(u16, String)> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    let busy: Vec<_> = answers.iter().filter(|(c, _)| *c == 503).collect();
    assert!(busy.len() >= 5, "{answers:?}");
    assert!(busy.iter().all(|(_, r)| r == "5"), "{answers:?}");
    assert!(
        answers.iter().all(|(c, _)| *c == 200 || *c == 503),
        "{answers:?}"
    );
}

/// `gwmon run` under a small open-file limit, as a unit with a low LimitNOFILE gives it: web
/// connections that never finish a request fill what it can hold, the broker restarts, and the
/// daemon still reconnects (it used to fail with "Too many open files"); the listener pauses
/// instead of failing, and serves again once a connection closes.
#[test]
fn web_connections_cannot_starve_the_daemons_broker_connection() {
    let mut broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "web-it-fds", "wf");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("header_read_timeout_s = 20", "header_read_timeout_s = 600");
    std::fs::write(&cfg, text).unwrap();
    let log = dir.path().join("daemon.log");
    let mut cmd = Command::new(GWMON);
    cmd.args(["run", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("gwmon.db"))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let lim = libc::rlimit {
                rlim_cur: 160,
                rlim_max: 160,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = cmd.spawn().unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("the daemon subscribed", Duration::from_secs(30), || {
        log_text().contains("subscribed") && log_text().contains("serving the web view")
    });
    let base = format!("http://{}", listener_address(&log_text()));
    // More connections than the limit leaves room for, from addresses of their own.
    let idle: Vec<TcpStream> = (0..200)
        .map(|i| connect_from(&format!("127.0.4.{}", i % 8 + 1), &base))
        .collect();
    wait_until("accepting paused", Duration::from_secs(30), || {
        log_text().contains("accepting paused")
    });
    let connected = log_text().matches("connected to broker").count();
    broker.restart();
    wait_until(
        "the daemon reconnected to the restarted broker",
        Duration::from_secs(60),
        || log_text().matches("connected to broker").count() > connected,
    );
    assert!(
        !log_text().contains("Too many open files"),
        "{}",
        log_text()
    );
    // Once connections close, the listener serves again.
    drop(idle);
    let (code, _) = http_get(base.trim_start_matches("http://"), "/healthz");
    assert_eq!(code, 200);
    let _ = child.kill();
    let _ = child.wait();
}
