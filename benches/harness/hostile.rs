//! `hostile` (only when named): the attacks of a stranger on the gateway's and the web
//! listener's ports, each measured by what it costs the process: disk (store and WAL growth,
//! archive rows), memory (RSS, peak RSS), CPU, descriptors.
//!
//! - archive: one connection sends bad-CRC frames back to back for `GWMON_BENCH_HOSTILE_S`
//!   (15) seconds;
//! - reassembly: `GWMON_BENCH_HOSTILE_CONNS` (1,500) connections from 94 addresses, 16
//!   "packet 1 of 4095" frames each, of stations not in stations.csv;
//! - parser: one connection trickles 4,100 bytes of nested frame heads, one byte a
//!   millisecond ([`trickle_attack`]);
//! - web: 1,050 connections to `gwmon serve` that never finish a request (half idle, half with
//!   half a request head), then 30 s later the server's open descriptors and whether a new
//!   request is served.
//!
//! `GWMON_BENCH_BIN` runs another build of gwmon (an older one, to compare); the configuration
//! is written with only the keys every build knows.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Mosquitto, bench_config, cpu_ticks, env_n, status_mb, wait_for};

/// Lines of the shipped configuration that older builds do not know (their defaults apply).
const NEWER_KEYS: &[&str] = &[
    "header_read_timeout_s = ",
    "tls_handshake_timeout_s = ",
    "max_connections = 1024",
    "max_connections_per_address = 64",
    "build_queue = ",
    "build_queue_per_token = ",
    "max_packets = ",
    "reassembly_max_mb = ",
    "archive_rows_per_minute = ",
    "gap_tolerance_share = ",
    "gap_tolerance_min_minutes = ",
    "max_long_gap_share = ",
];

fn binary() -> PathBuf {
    std::env::var_os("GWMON_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gwmon")))
}

/// An SL 651 uplink frame of `station` with `body`, as packet (total, seq) when given.
fn sl651(station: &str, body: &[u8], packet: Option<(u16, u16)>, bad_crc: bool) -> Vec<u8> {
    let mut f = vec![0x7E, 0x7E, 0x01];
    f.extend(gwmon::gateway::crc::from_hex(station).unwrap());
    f.extend([0x12, 0x34, 0x32]);
    let mut rest: Vec<u8> = Vec::new();
    if let Some((total, seq)) = packet {
        let v = (u32::from(total) << 12 | u32::from(seq)).to_be_bytes();
        rest.extend(&v[1..]);
    }
    rest.extend(body);
    let len = rest.len() as u16;
    f.extend([(len >> 8) as u8 & 0x0F, len as u8]);
    f.push(if packet.is_some() { 0x16 } else { 0x02 });
    f.extend(rest);
    f.push(0x03);
    let crc = gwmon::gateway::crc::crc16_modbus(&f) ^ u16::from(bad_crc);
    f.extend(crc.to_be_bytes());
    f
}

/// A head announcing a 4,112-byte frame, then 150 heads of frames that all end at byte 3,000
/// (an end character there, a wrong CRC after it), then filler to 4,100 bytes: every byte after
/// the 3,000th made the old framer check the CRC of all 150 nested frames again.
pub fn trickle_attack() -> Vec<u8> {
    const END: usize = 3000;
    let mut b = gwmon::gateway::crc::from_hex("7E7E0000000000000000320FFF02").unwrap();
    for _ in 0..150 {
        let len = (END - b.len() - 17) as u16;
        b.extend([
            0x7E, 0x7E, 0x01, 0x14, 0x01, 0x21, 0x99, 0x99, 0x12, 0x34, 0x32,
        ]);
        b.extend([(len >> 8) as u8, len as u8, 0x02]);
    }
    b.resize(END - 3, 0x55);
    b.extend([0x03, 0x00, 0x00]);
    b.resize(4100, 0x55);
    b
}

fn connect_from(from: &str, to: SocketAddr) -> Option<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    let local: SocketAddr = format!("{from}:0").parse().ok()?;
    sock.bind(&local.into()).ok()?;
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .ok()?;
    Some(sock.into())
}

/// Bytes of the store and its WAL.
fn store_bytes(db: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    [db.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one struct through valid pointers.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(65_536);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    lim.rlim_cur
}

/// The sum of a metric's lines from a Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

struct Gateway {
    child: std::process::Child,
    port: u16,
    metrics: SocketAddr,
    db: PathBuf,
}

impl Gateway {
    fn start(work: &Path, broker: &str) -> Gateway {
        let _ = std::fs::remove_dir_all(work);
        let cfg = bench_config(work, broker, "gwmon-bench-hostile");
        let text: String = std::fs::read_to_string(&cfg)
            .unwrap()
            .lines()
            .filter(|l| !NEWER_KEYS.iter().any(|k| l.starts_with(k)))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&cfg, text).unwrap();
        let loaded = gwmon::config::Config::load(&cfg).unwrap();
        let intake = &loaded.registry.intakes[0].id;
        std::fs::write(
            work.join("stations.csv"),
            format!(
                "station,protocol,device_id,quantity,element,reply\n1401210001,sl651,{intake},total_m3,FFA1,eot\n"
            ),
        )
        .unwrap();
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (listen, metrics) = (free(), free());
        let db = work.join("gateway.db");
        let log = work.join("gateway.log");
        let child = std::process::Command::new(binary())
            .args(["gateway", "--config"])
            .arg(&cfg)
            .arg("--db")
            .arg(&db)
            .args(["--listen", &listen.to_string()])
            .args(["--metrics", &metrics.to_string()])
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        wait_for("the gateway", Duration::from_secs(30), || {
            TcpStream::connect(listen).is_ok() && TcpStream::connect(metrics).is_ok()
        });
        Gateway {
            child,
            port: listen.port(),
            metrics,
            db,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn frames(&self) -> f64 {
        metric(
            &http_get(self.metrics, "/metrics").unwrap_or_default(),
            "gwmon_gateway_frames_total",
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn archive_rows(db: &Path) -> i64 {
    gwmon::store::open_ro(db)
        .ok()
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM gateway_frames", [], |r| r.get(0))
                .ok()
        })
        .unwrap_or(0)
}

pub fn bench_hostile(dir: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    let limit = raise_nofile();
    println!(
        "== hostile: {} (open-file limit {limit})",
        binary().display()
    );
    let broker = Mosquitto::start();
    let work = dir.join("hostile");

    // The archive: bad-CRC frames back to back from one connection.
    let secs = env_n("GWMON_BENCH_HOSTILE_S", 15);
    let g = Gateway::start(&work.join("archive"), &broker.url());
    let bad = sl651("1401219999", &[0x55; 40], None, true);
    let blob: Vec<u8> = bad.iter().copied().cycle().take(4096).collect();
    let (disk0, cpu0) = (store_bytes(&g.db), cpu_ticks(g.pid()));
    let mut c = TcpStream::connect(g.addr()).unwrap();
    let t0 = Instant::now();
    let mut sent = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        if c.write_all(&blob).is_err() {
            break;
        }
        sent += blob.len() as u64;
    }
    drop(c);
    // Let the archive thread write what it was given.
    let mut last = u64::MAX;
    wait_for("the archive to settle", Duration::from_secs(120), || {
        let now = store_bytes(&g.db);
        let settled = now == last;
        last = now;
        std::thread::sleep(Duration::from_millis(500));
        settled
    });
    let grown = store_bytes(&g.db).saturating_sub(disk0);
    let rows = archive_rows(&g.db);
    let cpu = (cpu_ticks(g.pid()) - cpu0) as f64 / 100.0;
    println!(
        "archive: {} MB of bad-CRC frames in {secs} s from one connection: store grew {:.1} MB, {rows} archive rows, gateway CPU {cpu:.1} s",
        sent >> 20,
        grown as f64 / 1048576.0
    );
    results.insert("hostile_archive_sent_mb".into(), (sent >> 20).into());
    results.insert(
        "hostile_archive_growth_mb".into(),
        (grown as f64 / 1048576.0).into(),
    );
    results.insert("hostile_archive_rows".into(), rows.into());
    drop(g);

    // Reassembly: many connections claiming 4,095-packet messages.
    let conns = env_n("GWMON_BENCH_HOSTILE_CONNS", 1500) as usize;
    let g = Gateway::start(&work.join("packets"), &broker.url());
    let rss0 = status_mb(g.pid(), "VmRSS");
    let mut held = Vec::new();
    for i in 0..conns {
        let from = format!("127.0.{}.{}", 10 + i / 16 / 200, i / 16 % 200 + 1);
        let Some(mut s) = connect_from(&from, g.addr()) else {
            continue;
        };
        let mut bytes = Vec::new();
        for k in 0..16 {
            let station = format!("14013{:05}", (i * 16 + k) % 100_000);
            bytes.extend(sl651(&station, &[0x55; 20], Some((4095, 1)), false));
        }
        if s.write_all(&bytes).is_ok() {
            held.push(s);
        }
    }
    let want = (held.len() * 16) as f64;
    wait_for("the packets handled", Duration::from_secs(120), || {
        g.frames() >= want
    });
    let (rss, hwm) = (status_mb(g.pid(), "VmRSS"), status_mb(g.pid(), "VmHWM"));
    println!(
        "reassembly: {} connections x 16 \"packet 1 of 4095\" frames: RSS {rss0:.1} -> {rss:.1} MB (peak {hwm:.1} MB)",
        held.len()
    );
    results.insert("hostile_packets_connections".into(), held.len().into());
    results.insert("hostile_packets_rss_mb".into(), rss.into());
    drop(held);
    drop(g);

    // The parser: a long incomplete frame trickled in.
    let g = Gateway::start(&work.join("parser"), &broker.url());
    let bytes = trickle_attack();
    let mut c = TcpStream::connect(g.addr()).unwrap();
    c.set_nodelay(true).unwrap();
    let cpu0 = cpu_ticks(g.pid());
    for b in &bytes {
        c.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    // A whole frame after it: handled once every byte before it was.
    c.write_all(&sl651("1401219997", &[0x55; 10], None, false))
        .unwrap();
    wait_for("the trickle handled", Duration::from_secs(120), || {
        g.frames() >= 1.0
    });
    let cpu = (cpu_ticks(g.pid()) - cpu0) as f64 / 100.0;
    println!(
        "parser: {} bytes of nested frame heads a byte a millisecond: gateway CPU {cpu:.2} s ({:.3} ms a byte)",
        bytes.len(),
        cpu * 1000.0 / bytes.len() as f64
    );
    results.insert("hostile_parser_cpu_s".into(), cpu.into());
    drop(c);
    drop(g);

    // The web listener: connections that never finish a request.
    let g = Gateway::start(&work.join("web"), &broker.url());
    let cfg = work.join("web").join("taiyuan.toml");
    let mut serve = std::process::Command::new(binary())
        .args(["serve", "--http", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(&g.db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("serving http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let pid = serve.id();
    let mut idle = Vec::new();
    for i in 0..1050 {
        let from = format!("127.0.{}.{}", 100 + i / 50, i % 50 + 1);
        if let Some(mut s) = connect_from(&from, addr) {
            if i % 2 == 1 {
                let _ = s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n");
            }
            idle.push(s);
        }
    }
    let fds_at_once = open_fds(pid);
    std::thread::sleep(Duration::from_secs(30));
    let fds = open_fds(pid);
    let served = http_get(addr, "/login")
        .is_some_and(|t| t.starts_with("HTTP/1.") && t.get(8..12) == Some(" 200"));
    println!(
        "web: {} connections that never finish a request: the server holds {fds_at_once} descriptors at once, {fds} after 30 s; a new request {}",
        idle.len(),
        if served { "is served" } else { "is NOT served" }
    );
    results.insert("hostile_web_fds_after_30s".into(), fds.into());
    results.insert("hostile_web_served".into(), served.into());
    drop(idle);
    let _ = serve.kill();
    let _ = serve.wait();
}
