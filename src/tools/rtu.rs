//! Simulated field terminals behind `gwmon simulate --protocol sl651|szy206 --gateway ADDR`, the
//! demo and the gateway benchmark: one TCP connection per station of stations.csv, frames with
//! plausible readings for the mapped devices, a wait for the centre's confirm and a resend when
//! none comes (3 tries, as the terminals do). With faults on, each terminal also sends DTU junk
//! bytes, a copy of its first frame with a wrong CRC (line noise: no confirm, so it resends),
//! and holds back its second report to send it last (a late backlog).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::DateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::stations::{DeviceKind, ElementKey, Protocol, Quantity, Reply, StationAddr};
use crate::config::{Config, ListenProtocol};
use crate::domain::time::LocalClock;
use crate::gateway::stream::{Framer, Item};
use crate::gateway::{sl651, szy206};

/// Tries per frame before a terminal gives up on it (SL 651: the first send and 2 retries).
pub const TRIES: u32 = 3;
/// Junk a DTU writes on connecting (a registration packet).
const DTU_JUNK: &[u8] = b"+REG:860000000000000\r\n";

/// What the simulated terminals do.
#[derive(Clone, Debug)]
pub struct RtuOptions {
    /// The gateway, `host:port`.
    pub gateway: String,
    /// Reports per terminal.
    pub rounds: u32,
    /// Wall-clock time between a terminal's reports (zero: as soon as the last is confirmed).
    pub interval: Duration,
    /// Epoch seconds of the first observation; each terminal's next ones follow at `step_s`.
    pub start_ts: i64,
    pub step_s: i64,
    /// How long a terminal waits for a confirm before it sends the frame again.
    pub confirm_timeout: Duration,
    /// Junk bytes, a wrong CRC and a late backlog.
    pub faults: bool,
}

/// One simulated terminal.
#[derive(Clone, Debug)]
pub struct SimStation {
    pub protocol: Protocol,
    pub addr: StationAddr,
    pub reply: Reply,
    /// The SL 651 password of stations.csv (none: `0000`).
    pub password: [u8; 2],
    /// (element, quantity, the first reading; later ones drift from it).
    pub elements: Vec<(ElementKey, Quantity, f64)>,
}

/// What the terminals saw.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct RtuReport {
    pub stations: u64,
    /// Reports sent (each counted once, however often it was resent).
    pub reports: u64,
    pub confirmed: u64,
    /// Readings in the confirmed reports.
    pub readings: u64,
    /// Sends after a missing confirm.
    pub resent: u64,
    /// Reports given up after [`TRIES`] sends.
    pub unconfirmed: u64,
    /// Terminals that could not connect.
    pub connect_failures: u64,
    pub seconds: f64,
    pub confirms_per_s: f64,
}

/// Why the simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum RtuError {
    #[error("no {0} stations in stations.csv to simulate: add rows for them")]
    NoStations(Protocol),
}

/// The terminals of `protocol` in stations.csv (the first `limit`), with plausible first
/// readings for their devices: depths of 8–27 m, levels that far below the well's ground,
/// meter totals in the thousands.
pub fn stations(cfg: &Config, protocol: Protocol, limit: Option<usize>) -> Vec<SimStation> {
    cfg.stations
        .iter()
        .filter(|(p, _, _)| *p == protocol)
        .take(limit.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(i, (protocol, addr, st))| {
            let mut elements: Vec<(ElementKey, Quantity, f64)> = st
                .elements
                .iter()
                .map(|(key, t)| {
                    let depth = 8.0 + (i % 20) as f64;
                    let first = match (t.kind, t.quantity) {
                        (DeviceKind::Well, Quantity::LevelM) => {
                            let ground = cfg
                                .registry
                                .well(&t.device_id)
                                .map_or(800.0, |w| w.ground_elevation_m);
                            ((ground - depth) * 100.0).round() / 100.0
                        }
                        (DeviceKind::Well, _) => depth,
                        (DeviceKind::Intake, _) => 1000.0 + 10.0 * i as f64,
                    };
                    (*key, t.quantity, first)
                })
                .collect();
            elements.sort_by_key(|(k, _, _)| k.to_string());
            SimStation {
                protocol,
                addr,
                reply: st.reply.unwrap_or(Reply::None),
                password: st.password.unwrap_or([0, 0]),
                elements,
            }
        })
        .collect()
}

/// The reading of round `k`: totals grow, depths and levels wander by centimetres.
fn reading(q: Quantity, first: f64, k: u32) -> f64 {
    match q {
        Quantity::TotalM3 => first + 3.0 * f64::from(k),
        Quantity::DepthM => first + 0.01 * f64::from(k % 7),
        Quantity::LevelM => first - 0.01 * f64::from(k % 7),
    }
}

/// The frame of round `k`, observed at local time `observed`, sent at `sent`.
pub fn frame(s: &SimStation, k: u32, observed: DateTime, sent: DateTime) -> Vec<u8> {
    match s.protocol {
        Protocol::Sl651 => {
            let elements = s
                .elements
                .iter()
                .filter_map(|(key, q, first)| {
                    let ElementKey::Sl651(id) = key else {
                        return None;
                    };
                    // (bytes, decimals) of the data-definition byte.
                    let (bytes, dec) = match q {
                        Quantity::DepthM => (3, 2),
                        Quantity::LevelM => (4, 3),
                        Quantity::TotalM3 => (5, 1),
                    };
                    let data = sl651::encode_value(reading(*q, *first, k), bytes, dec)?;
                    Some((*id, ((bytes as u8) << 3) | dec, data))
                })
                .collect::<Vec<_>>();
            let well = s.elements.iter().any(|(_, q, _)| *q != Quantity::TotalM3);
            sl651::Report {
                centre: 1,
                station: s.addr,
                password: s.password,
                function: 0x32,
                serial: (k % 65_535 + 1) as u16,
                sent,
                class: if well { b'G' } else { b'I' },
                observed,
                elements: [elements, vec![(0x38, 0x12, vec![0x12, 0x56])]].concat(),
            }
            .encode()
        }
        Protocol::Szy206 => {
            let level = s
                .elements
                .iter()
                .any(|(key, _, _)| matches!(key, ElementKey::Szy206Level(_)));
            let nth = |key: &ElementKey| match key {
                ElementKey::Szy206Volume(n) | ElementKey::Szy206Level(n) => usize::from(*n),
                _ => 0,
            };
            let count = s
                .elements
                .iter()
                .map(|(key, _, _)| nth(key))
                .max()
                .unwrap_or(1);
            let mut values = Vec::new();
            for n in 1..=count {
                let v = s
                    .elements
                    .iter()
                    .find(|(key, _, _)| nth(key) == n)
                    .map_or(0.0, |(_, q, first)| reading(*q, *first, k));
                if level {
                    values.push((v * 1000.0).round() as i64);
                } else {
                    values.push(12_500);
                    values.push(v.round() as i64);
                }
            }
            szy206::Report7 {
                station: s.addr,
                type_code: if level {
                    szy206::TYPE_LEVEL
                } else {
                    szy206::TYPE_FLOW
                },
                values,
                status: 0,
                time: observed,
            }
            .encode()
        }
    }
}

/// Whether `reply` confirms a frame of `s`.
fn confirms(s: &SimStation, reply: &[u8]) -> bool {
    match s.protocol {
        Protocol::Sl651 => sl651::envelope(reply)
            .is_ok_and(|e| e.downlink && e.station == s.addr && e.end != sl651::NAK),
        Protocol::Szy206 => reply.len() > 9 && reply[4..9] == s.addr.0,
    }
}

/// Counters shared by the terminals.
#[derive(Default)]
struct Counters {
    reports: AtomicU64,
    confirmed: AtomicU64,
    readings: AtomicU64,
    resent: AtomicU64,
    unconfirmed: AtomicU64,
    connect_failures: AtomicU64,
}

/// Runs every terminal to the end of its rounds.
pub async fn run(
    opts: RtuOptions,
    protocol: Protocol,
    stations: Vec<SimStation>,
    clock: LocalClock,
) -> Result<RtuReport, RtuError> {
    if stations.is_empty() {
        return Err(RtuError::NoStations(protocol));
    }
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let n = stations.len();
    let mut tasks = Vec::with_capacity(n);
    for (i, s) in stations.into_iter().enumerate() {
        let opts = opts.clone();
        let clock = clock.clone();
        let c = Arc::clone(&counters);
        // Spread the terminals' reports over the interval, as real ones are.
        let offset = opts.interval.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            terminal(&opts, &s, &clock, &c).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let confirmed = counters.confirmed.load(Ordering::Relaxed);
    Ok(RtuReport {
        stations: n as u64,
        reports: counters.reports.load(Ordering::Relaxed),
        confirmed,
        readings: counters.readings.load(Ordering::Relaxed),
        resent: counters.resent.load(Ordering::Relaxed),
        unconfirmed: counters.unconfirmed.load(Ordering::Relaxed),
        connect_failures: counters.connect_failures.load(Ordering::Relaxed),
        seconds,
        confirms_per_s: confirmed as f64 / seconds.max(1e-9),
    })
}

/// One terminal's connection and reports.
async fn terminal(opts: &RtuOptions, s: &SimStation, clock: &LocalClock, c: &Counters) {
    let Ok(mut sock) = TcpStream::connect(&opts.gateway).await else {
        c.connect_failures.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _ = sock.set_nodelay(true);
    let mut link = Link::default();
    if opts.faults && sock.write_all(DTU_JUNK).await.is_err() {
        return;
    }
    let mut backlog = Vec::new();
    let t0 = tokio::time::Instant::now();
    for k in 0..opts.rounds {
        let observed = clock.local(opts.start_ts + i64::from(k) * opts.step_s);
        let sent = clock.local(crate::domain::time::now_ts());
        let bytes = frame(s, k, observed, sent);
        if opts.faults && k == 1 && opts.rounds > 2 {
            // Held back: sent after the others.
            backlog.push(bytes);
        } else {
            if opts.faults && k == 0 {
                // A flipped bit in the CRC (the byte before SZY 206's end byte, SL 651's high
                // CRC byte): the frame's shape is intact, its check fails.
                let mut noisy = bytes.clone();
                let at = noisy.len() - 2;
                noisy[at] ^= 0x01;
                if !link.send(&mut sock, s, &noisy, opts.confirm_timeout).await {
                    c.resent.fetch_add(1, Ordering::Relaxed);
                }
            }
            if !report(&mut sock, &mut link, s, &bytes, opts, c).await {
                return;
            }
        }
        if !opts.interval.is_zero() {
            tokio::time::sleep_until(t0 + opts.interval * (k + 1)).await;
        }
    }
    for bytes in backlog {
        if !report(&mut sock, &mut link, s, &bytes, opts, c).await {
            return;
        }
    }
}

/// Sends one report until it is confirmed or [`TRIES`] sends have gone unanswered; false when
/// the connection is gone.
async fn report(
    sock: &mut TcpStream,
    link: &mut Link,
    s: &SimStation,
    bytes: &[u8],
    opts: &RtuOptions,
    c: &Counters,
) -> bool {
    c.reports.fetch_add(1, Ordering::Relaxed);
    for attempt in 0..TRIES {
        if attempt > 0 {
            c.resent.fetch_add(1, Ordering::Relaxed);
        }
        if link.send(sock, s, bytes, opts.confirm_timeout).await {
            c.confirmed.fetch_add(1, Ordering::Relaxed);
            c.readings
                .fetch_add(s.elements.len() as u64, Ordering::Relaxed);
            return true;
        }
        if link.closed {
            return false;
        }
    }
    c.unconfirmed.fetch_add(1, Ordering::Relaxed);
    true
}

/// A terminal's side of the connection: its reads go through a framer, as the gateway's do.
struct Link {
    framer: Framer,
    closed: bool,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            framer: Framer::new(ListenProtocol::Auto, 4112),
            closed: false,
        }
    }
}

impl Link {
    /// Writes `bytes` and waits up to `timeout` for a confirm; true when one came (always for
    /// a station configured to get no reply).
    async fn send(
        &mut self,
        sock: &mut TcpStream,
        s: &SimStation,
        bytes: &[u8],
        timeout: Duration,
    ) -> bool {
        if sock.write_all(bytes).await.is_err() {
            self.closed = true;
            return false;
        }
        if s.reply == Reply::None {
            return true;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut buf = [0u8; 512];
        loop {
            while let Some(item) = self.framer.next_item() {
                if let Item::Frame(_, f) = item
                    && confirms(s, &f)
                {
                    return true;
                }
            }
            match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.closed = true;
                    return false;
                }
                Ok(Ok(n)) => self.framer.push(&buf[..n]),
                Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::map::map;

    /// Every shipped station's simulated report decodes and maps to its device, with the
    /// quantity its row names.
    #[test]
    fn simulated_reports_map_to_their_devices() {
        let cfg = Config::embedded().unwrap();
        let now = 1_796_000_000;
        let observed = cfg.clock.local(now - 120);
        let sent = cfg.clock.local(now - 60);
        let mut topics = Vec::new();
        for protocol in [Protocol::Sl651, Protocol::Szy206] {
            for s in stations(&cfg, protocol, None) {
                let bytes = frame(&s, 2, observed, sent);
                let f = match protocol {
                    Protocol::Sl651 => sl651::decode(&bytes, &cfg.clock).unwrap(),
                    Protocol::Szy206 => szy206::decode(&bytes, now, 600, &cfg.clock).unwrap(),
                };
                let m = map(&f, &cfg.stations, "gw");
                assert_eq!(m.readings as usize, s.elements.len(), "{}", s.addr);
                assert!(m.invalid.is_empty(), "{:?}", m.invalid);
                topics.extend(m.publishes.into_iter().map(|p| p.topic));
            }
        }
        assert_eq!(topics.len(), cfg.stations.len());
        assert!(topics.contains(&"gw/140121/meter/QX-0001".to_string()));
        assert!(topics.contains(&"gw/140109/level/W-WBL-01".to_string()));
    }

    #[test]
    fn readings_grow_or_wander() {
        assert_eq!(reading(Quantity::TotalM3, 1000.0, 2), 1006.0);
        assert!((reading(Quantity::DepthM, 12.0, 3) - 12.03).abs() < 1e-9);
        assert!((reading(Quantity::LevelM, 760.0, 3) - 759.97).abs() < 1e-9);
    }
}
