//! Test harness: real Mosquitto brokers on free ports, the real `gwmon` binary, temp stores.
//!
//! Waiting is always for a condition (a row count, a log line, a port) with a deadline, never a
//! fixed sleep.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");
pub const GWMON: &str = env!("CARGO_BIN_EXE_gwmon");

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `cond` every few milliseconds until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Which broker configuration to run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The shipped `config/mosquitto.conf` (persistence, no queue limit, 1000 in flight).
    Production,
    /// Production settings but no persistence: a restart forgets every session.
    Forgetful,
    /// Production settings with passwords checked: user `gwmon`, password `secret`.
    Authenticated,
}

/// A Mosquitto process of the test's own.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    kind: BrokerKind,
}

impl Broker {
    /// A broker on a port of its own. The port is picked free, but another process may take it
    /// before Mosquitto binds it (Mosquitto cannot listen on port 0 and say which port it got):
    /// then Mosquitto exits saying so, and another port is tried.
    pub fn start(kind: BrokerKind) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Broker {
            child: None,
            port: free_port(),
            dir,
            kind,
        };
        for _ in 0..5 {
            if b.try_spawn() {
                return b;
            }
            b.port = free_port();
        }
        panic!("mosquitto could not listen on five free ports in a row");
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts Mosquitto on this broker's port; panics if it does not come up.
    fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "mosquitto could not listen on {}",
            self.port
        );
    }

    /// Starts Mosquitto on this broker's port: false if it exits instead (the port is taken).
    fn try_spawn(&mut self) -> bool {
        let shipped = std::fs::read_to_string(Path::new(REPO).join("config/mosquitto.conf"))
            .expect("config/mosquitto.conf");
        let mut conf = String::new();
        for line in shipped.lines() {
            let t = line.trim_start();
            if t.starts_with("listener ") {
                conf.push_str(&format!("listener {} 127.0.0.1\n", self.port));
            } else if t.starts_with("persistence_location ") {
                conf.push_str(&format!(
                    "persistence_location {}/\n",
                    self.dir.path().display()
                ));
            } else if t.starts_with("allow_anonymous ") && self.kind == BrokerKind::Authenticated {
                let passwd = self.dir.path().join("passwd");
                let made = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&passwd)
                    .args(["gwmon", "secret"])
                    .status()
                    .expect("mosquitto_passwd (package mosquitto)");
                assert!(made.success());
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    passwd.display()
                ));
            } else if t.starts_with("persistence ") && self.kind == BrokerKind::Forgetful {
                conf.push_str("persistence false\n");
            } else if t.starts_with("log_dest ") {
                conf.push_str(&format!(
                    "log_dest file {}/mosquitto.log\n",
                    self.dir.path().display()
                ));
            } else {
                conf.push_str(line);
                conf.push('\n');
            }
        }
        if is_root() {
            conf.push_str("user root\n");
        }
        let path = self.dir.path().join("mosquitto.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto not installed: run .ci/run or apt-get install mosquitto");
        let log = self.dir.path().join("mosquitto.log");
        let running = || {
            std::fs::read_to_string(&log)
                .map(|t| t.matches(" running").count())
                .unwrap_or(0)
        };
        let before = running();
        self.child = Some(child);
        let mut exited = false;
        // A deadline, not a measure: with the whole suite running on two cores a broker has
        // been seen to take more than 10 s to log that it is running.
        wait_until("mosquitto to listen", Duration::from_secs(30), || {
            exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            // Listening shows in the log, or directly as a port that accepts (the log is
            // written through a buffer that has lagged behind under load).
            exited
                || running() > before
                || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        if exited {
            self.child = None;
        }
        !exited
    }

    /// Stops the broker cleanly (SIGTERM: it saves its persistence file).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "TERM");
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same persistence folder.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// SIGKILL: the broker loses whatever it held since its last autosave.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again after [`Broker::kill9`] or [`Broker::stop`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker still running");
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(c: &Child, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(c.id().to_string())
        .status();
}

/// A config for tests: the shipped one with the broker, client id, topic prefix and registry
/// paths adjusted. Returns the config path.
pub fn write_config(dir: &Path, broker_url: &str, client_id: &str, prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(REPO).join("config/taiyuan.toml")).unwrap();
    let cfgdir = Path::new(REPO).join("config");
    let text = text
        .replace(
            "url = \"mqtt://127.0.0.1:1883\"",
            &format!("url = \"{broker_url}\""),
        )
        .replace(
            "client_id = \"gwmon-taiyuan\"",
            &format!("client_id = \"{client_id}\""),
        )
        .replace(
            "topic_prefix = \"gw\"",
            &format!("topic_prefix = \"{prefix}\""),
        )
        .replace(
            "intakes = \"intakes.csv\"",
            &format!("intakes = \"{}/intakes.csv\"", cfgdir.display()),
        )
        .replace(
            "wells = \"wells.csv\"",
            &format!("wells = \"{}/wells.csv\"", cfgdir.display()),
        )
        .replace(
            "projects = \"projects.csv\"",
            &format!("projects = \"{}/projects.csv\"", cfgdir.display()),
        )
        // Tests run daemons side by side: each listens on a port of its own.
        .replace("listen = \"127.0.0.1:9650\"", "listen = \"127.0.0.1:0\"");
    let p = dir.join("gwmon.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A running `gwmon run`.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
    config: PathBuf,
    db: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, db: &Path, log: &Path) -> Daemon {
        let mut d = Daemon {
            child: None,
            log: log.to_path_buf(),
            config: config.to_path_buf(),
            db: db.to_path_buf(),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let start_mark = self.log_text().matches("connected to broker").count();
        let child = Command::new(GWMON)
            .args(["run", "--config"])
            .arg(&self.config)
            .arg("--db")
            .arg(&self.db)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while self.log_text().matches("connected to broker").count() <= start_mark {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "gwmon did not connect within 20 s; its log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to commit or ack anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The exit status if the daemon has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("daemon not running");
        signal(&c, "TERM");
        c.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Publishes each line of `lines` as one QoS 1 message on `topic` with `mosquitto_pub -l`.
pub fn publish_lines(port: u16, topic: &str, lines: &[String]) -> Child {
    let mut child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-l",
            "-t",
            topic,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mosquitto_pub not installed: run .ci/run or apt-get install mosquitto-clients");
    let mut stdin = child.stdin.take().unwrap();
    let body = lines.join("\n") + "\n";
    std::thread::spawn(move || {
        let _ = stdin.write_all(body.as_bytes());
    });
    child
}

/// Publishes one message (QoS 1) and waits for mosquitto_pub to finish.
pub fn publish(port: u16, topic: &str, payload: &str) {
    let st = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ])
        .status()
        .expect("mosquitto_pub");
    assert!(st.success(), "mosquitto_pub failed for {topic}");
}

/// Publishes raw bytes (which may hold NUL or invalid UTF-8) from a file with `mosquitto_pub -f`.
pub fn publish_bytes(port: u16, topic: &str, payload: &[u8]) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), payload).unwrap();
    let st = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-f",
        ])
        .arg(f.path())
        .status()
        .expect("mosquitto_pub");
    assert!(st.success(), "mosquitto_pub failed for {topic}");
}

/// Read-only view of a store that may not exist yet: a SQLite file, or a PostgreSQL URL (an
/// integer result of another width is read as i64).
pub fn query_i64(db: &Path, sql: &str) -> i64 {
    if let Some(url) = db.to_str().filter(|s| s.starts_with("postgres")) {
        return postgres::Client::connect(url, postgres::NoTls)
            .and_then(|mut c| c.query_one(&format!("SELECT CAST(({sql}) AS BIGINT)"), &[]))
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(-1);
    }
    Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(-1)
}

/// A schema of its own in the development machine's PostgreSQL (127.0.0.1:5432, database
/// `test`, trust auth; `GWMON_TEST_PG` names another), dropped at the end.
pub struct Schema {
    base: String,
    name: String,
}

impl Schema {
    pub fn new(tag: &str) -> Schema {
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
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }

    pub fn client(&self) -> postgres::Client {
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

/// The first `n` intakes of the shipped registry as (county, id).
pub fn intakes(n: usize) -> Vec<(String, String)> {
    let cfg = gwmon::config::Config::load(&Path::new(REPO).join("config/taiyuan.toml")).unwrap();
    cfg.registry
        .intakes
        .iter()
        .take(n)
        .map(|i| (i.county.to_string(), i.id.clone()))
        .collect()
}

/// The first well of the shipped registry as (county, id).
pub fn a_well() -> (String, String) {
    let cfg = gwmon::config::Config::load(&Path::new(REPO).join("config/taiyuan.toml")).unwrap();
    let w = &cfg.registry.wells[0];
    (w.county.to_string(), w.id.clone())
}

/// A store with simulated history 2020-01-01 .. 2026-11-27 for the shipped registry.
pub fn simulated_store(dir: &Path) -> PathBuf {
    simulated_store_between(dir, "2020-01-01", "2026-11-27")
}

/// A store with simulated history between two days (inclusive).
pub fn simulated_store_between(dir: &Path, from: &str, to: &str) -> PathBuf {
    simulated_store_for(&Path::new(REPO).join("config/taiyuan.toml"), dir, from, to)
}

/// A store in `dir` with simulated history between two days (inclusive) for the registry of the
/// config at `config`.
pub fn simulated_store_for(config: &Path, dir: &Path, from: &str, to: &str) -> PathBuf {
    let db = dir.join("gwmon.db");
    simulate_into(config, &db, from, to);
    db
}

/// Writes simulated history between two days (inclusive) for the registry of the config at
/// `config` into the store at `db` (a SQLite path or a PostgreSQL URL), through its writer.
pub fn simulate_into(config: &Path, db: &Path, from: &str, to: &str) {
    let cfg = std::sync::Arc::new(gwmon::config::Config::load(config).unwrap());
    let mut store = gwmon::store::open_store(
        gwmon::store::StoreSettings::from_config(&cfg),
        db,
        gwmon::store::Durability::Normal,
    )
    .unwrap();
    gwmon::tools::fleet::populate(
        &mut store,
        &cfg,
        42,
        from.parse().unwrap(),
        to.parse().unwrap(),
        5,
    )
    .unwrap();
}

/// Runs the gwmon binary in the repository folder: (exit code, stdout, stderr).
pub fn gwmon(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(GWMON)
        .args(args)
        .current_dir(REPO)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The address of the daemon's HTTP listener, from its log.
pub fn listener_address(log: &str) -> String {
    log.lines()
        .find(|l| l.contains("serving the web view"))
        .and_then(|l| l.split("address=").nth(1))
        .and_then(|a| a.split_whitespace().next())
        .map(str::to_string)
        .expect("the listener's address in the log")
}

/// `GET path` on a daemon's listener: (status code, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: gwmon\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (code, body)
}
