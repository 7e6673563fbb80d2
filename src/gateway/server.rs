//! The gateway's TCP side: listeners from `[gateway] listen`, one task per terminal
//! connection, and [`replay`].
//!
//! A connection's bytes go through a [`Framer`]; each frame is decoded, archived, mapped through
//! stations.csv and its readings published; the terminal's confirm is written only after the
//! broker acknowledged every reading (and never for a frame that cannot be published, a bad
//! CRC, an unknown station, or a link-maintenance frame). A frame is handled before the next
//! one of the same connection is read: a terminal waits for its confirm anyway.
//!
//! Unknown stations, bad CRCs, unmapped and invalid elements are counted in metrics and logged
//! at WARN, a line per station and outcome a minute at most. A station that reports on a new
//! connection closes its old one (a 4G link that dropped without closing leaves it behind).
//!
//! Strangers can reach the port, so a frame speaks for a station only from an address of its
//! `allow_from` and, for SL 651, with its `password`; a frame failing either is archived
//! (`not_allowed`, `bad_password`), counted and otherwise ignored. A new connection takes a
//! station's session over only with an authenticated report that was published or confirmed:
//! a link-maintenance frame, which anyone can copy off the wire and which carries no reading,
//! is not enough. A report that contradicts a stored reading is not confirmed ([`conflicts`]).
//! Connections are capped in all and per address, idle ones are closed `idle_timeout_s` after
//! their last complete frame, and accepting pauses near the open-file limit ([`admission`]).
//!
//! [`conflicts`]: super::conflicts
//! [`admission`]: super::admission

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::civil::DateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::admission::{RateBucket, Refusal, Slots, fd_budget};
use super::conflicts::Lookup;
use super::crc::{from_hex, to_hex};
use super::frame::{Frame, FrameError, Header, Packet};
use super::map::{map, publishes};
use super::metrics::Metrics;
use super::publish::Publisher;
use super::stream::{Assembled, Framer, Item, Reassembly, ReassemblyBudget};
use super::{sl651, szy206};
use crate::config::stations::{Protocol, Reply, StationAddr, Stations};
use crate::config::{Config, ListenConfig, ListenProtocol};
use crate::domain::time::now_ts;
use crate::ingest::warn_limit::WarnLimit;
use crate::mqtt::ClientError;
use crate::store::StoreError;
use crate::store::frames::{self as archive, Archive, Row};

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 4096;
/// Multi-packet messages held per connection, in frames' bytes, at most this many times
/// `max_frame_bytes`.
const REASSEMBLY_FRAMES: usize = 64;
/// How long replay waits for the broker.
const REPLAY_CONNECT: Duration = Duration::from_secs(30);
/// A run of bad-CRC frames from one connection is archived as one row at most this long after
/// its first frame.
const BAD_RUN_S: i64 = 60;
/// The archive's bound when `[gateway] archive_max_mb` is unset: this share of the space free
/// on the store's volume, within [`ARCHIVE_AUTO_MB`].
const ARCHIVE_AUTO_SHARE: u64 = 20;
const ARCHIVE_AUTO_MB: (u64, u64) = (16, 1024);

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Mqtt(#[from] ClientError),
    #[error("the archive: {0}")]
    Store(#[from] StoreError),
    #[error(
        "cannot listen on {addr}: {source}; is another gateway running there, or is the port below 1024 without the right to bind it?"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "no stations in {0}: map the field terminals to registered devices first (README, \"Field terminals\")"
    )]
    NoStations(String),
    #[error("the broker {0} did not accept a connection within {1} s")]
    BrokerAway(String, u64),
    #[error("the archive: {0}")]
    Archive(#[from] rusqlite::Error),
}

/// Where the gateway listens, publishes and archives.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// The listeners [`run`] binds ([`serve`] takes listeners already bound).
    pub listen: Vec<ListenConfig>,
    /// Broker URL.
    pub broker: String,
    /// The store whose `gateway_frames` table is the archive.
    pub db: PathBuf,
}

/// What every connection shares.
struct Shared {
    cfg: Arc<Config>,
    publisher: Publisher,
    archive: Archive,
    metrics: Arc<Metrics>,
    warnings: Mutex<WarnLimit<&'static str>>,
    slots: Arc<Slots>,
    /// Terminal connections the open-file limit leaves room for (`None`: no limit known).
    fd_budget: Option<usize>,
    /// Signalled when a connection closes: a paused accept loop looks again.
    closed: Notify,
    /// The store, read-only, for conflicts (a blocking SQLite connection: used on the
    /// blocking pool).
    lookup: Arc<Mutex<Lookup>>,
    db: PathBuf,
    /// The connection each station last reported on, and how to close it: a terminal that
    /// reconnects (a 4G link that dropped without a FIN) replaces its old session.
    sessions: Mutex<HashMap<(Protocol, StationAddr), Session>>,
    next_connection: AtomicU64,
    /// Packets held for reassembly, all connections together.
    reassembly_budget: Arc<ReassemblyBudget>,
    /// Archive rows of frames not applied, per station of stations.csv.
    station_buckets: Mutex<HashMap<(Protocol, StationAddr), RateBucket>>,
    /// The origin of the rate buckets' clock.
    started: std::time::Instant,
}

/// The connection a station reports on: its id, and how to close it.
type Session = (u64, Arc<watch::Sender<bool>>);

/// One terminal connection's state.
struct Conn {
    id: u64,
    peer: String,
    ip: IpAddr,
    /// Set when a newer connection of one of its stations takes over.
    kick: Arc<watch::Sender<bool>>,
    /// Stations this connection reported for.
    claimed: Vec<(Protocol, StationAddr)>,
    reassembly: Reassembly,
    /// Archive rows of frames not applied from this connection.
    bucket: RateBucket,
    /// Bad-CRC frames one after another, archived as one row when the run ends.
    bad_run: Option<BadRun>,
}

/// A run of bad-CRC frames: the first frame, where it seemed to come from, and how many.
struct BadRun {
    protocol: Protocol,
    station: String,
    first: Vec<u8>,
    first_at: i64,
    count: u32,
}

/// A decoded unit of a connection's stream.
enum Decoded {
    /// A whole message.
    Frame(Frame),
    /// A packet of a multi-packet message that is not complete yet.
    Packet,
    /// The last packet came but some are missing: (the envelope's frame, first missing).
    Missing(Frame, u16),
    /// A frame the centre sent, looped back: not a report.
    Downlink,
    /// A packet not held for reassembly: its outcome and why.
    Refused(&'static str, String),
    Error(FrameError),
}

/// Decodes a frame received at `received` from `ip` (`None`: from the archive, admitted when
/// it was received). A packet of a multi-packet message is held only for a station of
/// stations.csv whose `allow_from` and password it passes.
fn decode(
    protocol: Protocol,
    bytes: &[u8],
    received: i64,
    reassembly: &mut Reassembly,
    cfg: &Config,
    ip: Option<IpAddr>,
) -> Decoded {
    let clock = &cfg.clock;
    match protocol {
        Protocol::Szy206 => {
            match szy206::decode(bytes, received, cfg.ingest.future_margin_s, clock) {
                Ok(f) if matches!(f.header, Header::Szy206 { control, .. } if control & 0x80 == 0) => {
                    Decoded::Downlink
                }
                Ok(f) => Decoded::Frame(f),
                Err(e) => Decoded::Error(e),
            }
        }
        Protocol::Sl651 => {
            let env = match sl651::envelope(bytes) {
                Ok(env) => env,
                Err(e) => return Decoded::Error(e),
            };
            if env.downlink {
                return Decoded::Downlink;
            }
            let Packet::Part { total, .. } = env.packet else {
                return match sl651::decode_message(&env, env.body, clock) {
                    Ok(f) => Decoded::Frame(f),
                    Err(e) => Decoded::Error(e),
                };
            };
            if let Some(ip) = ip {
                if cfg.stations.get(Protocol::Sl651, &env.station).is_none() {
                    return Decoded::Refused(
                        "unknown_station",
                        format!(
                            "a packet for station {} which is not in {}: not held",
                            env.station, cfg.stations.source
                        ),
                    );
                }
                if let Some(r) = station_refusal(
                    &cfg.stations,
                    Protocol::Sl651,
                    env.station,
                    Some(env.password),
                    ip,
                ) {
                    return Decoded::Refused(r.0, r.1);
                }
            }
            match reassembly.add(bytes, received) {
                Assembled::Dropped(outcome) => Decoded::Refused(
                    outcome,
                    if outcome == "too_many_packets" {
                        format!(
                            "a message of {total} packets: more than [gateway] max_packets = {}",
                            cfg.gateway.max_packets
                        )
                    } else {
                        format!(
                            "no room to hold the packet ([gateway] reassembly_max_mb = {}, or this connection's share): the terminal sends it again",
                            cfg.gateway.reassembly_max_mb
                        )
                    },
                ),
                Assembled::Pending => Decoded::Packet,
                Assembled::Missing(seqs) => match sl651::decode(bytes, clock) {
                    Ok(f) => Decoded::Missing(f, seqs[0]),
                    Err(e) => Decoded::Error(e),
                },
                Assembled::Complete(m) => {
                    let result = sl651::envelope(&m.last)
                        .and_then(|env| sl651::decode_message(&env, &m.body, clock));
                    match result {
                        Ok(f) => Decoded::Frame(f),
                        Err(e) => Decoded::Error(e),
                    }
                }
            }
        }
    }
}

/// The station address of a frame that did not decode, if its header holds one.
fn station_of(protocol: Protocol, bytes: &[u8]) -> String {
    let addr = match protocol {
        Protocol::Sl651 if bytes.len() >= 12 => {
            if bytes[11] >> 4 == 8 {
                bytes.get(2..7)
            } else {
                bytes.get(3..8)
            }
        }
        Protocol::Szy206 if bytes.len() >= 4 => {
            let at = if bytes[3] & 0x40 != 0 { 5 } else { 4 };
            bytes.get(at..at + 5)
        }
        _ => None,
    };
    addr.map(to_hex).unwrap_or_default()
}

/// Why station `addr` of stations.csv may not be spoken for from `ip` with `password` (SL 651;
/// `None` for SZY 206, whose uplink frames carry none): (outcome, why). `None` when it may, or
/// when the station is not in stations.csv.
fn station_refusal(
    stations: &Stations,
    protocol: Protocol,
    addr: StationAddr,
    password: Option<[u8; 2]>,
    ip: IpAddr,
) -> Option<(&'static str, String)> {
    let st = stations.get(protocol, &addr)?;
    if !st.allows(ip) {
        return Some((
            "not_allowed",
            format!(
                "{ip} is not in the allow_from of station {addr} in {}",
                stations.source
            ),
        ));
    }
    if let (Some(want), Some(password)) = (st.password, password)
        && want != password
    {
        return Some((
            "bad_password",
            format!(
                "password {:04X} is not the one station {addr} has in {}",
                u16::from_be_bytes(password),
                stations.source
            ),
        ));
    }
    None
}

/// Whether a frame with `outcome` was applied: its rows are archived whatever the rate (the
/// station authenticated itself and the readings went out); every other row is rate-limited.
fn applied(outcome: &str) -> bool {
    matches!(outcome, "published" | "confirmed")
}

impl Shared {
    /// Counts, archives and (rate-limited) logs a frame's outcome.
    fn record(
        &self,
        conn: &mut Conn,
        protocol: Protocol,
        station: &str,
        bytes: &[u8],
        outcome: &'static str,
        now: i64,
    ) {
        self.metrics.frame(protocol, outcome);
        self.archive_row(conn, protocol, station, bytes, outcome, now, 1);
        debug!(
            peer = %conn.peer,
            protocol = protocol.as_str(),
            station,
            outcome,
            "frame"
        );
    }

    /// Archives a row, unless a frame not applied is past its connection's or its station's
    /// rate.
    #[allow(clippy::too_many_arguments)]
    fn archive_row(
        &self,
        conn: &mut Conn,
        protocol: Protocol,
        station: &str,
        bytes: &[u8],
        outcome: &'static str,
        now: i64,
        repeats: u32,
    ) {
        if !applied(outcome) && !self.within_rate(conn, protocol, station) {
            self.metrics.archive_dropped("rate");
            return;
        }
        let kept = self.archive.keep(Row {
            received_at: now,
            peer: conn.peer.clone(),
            protocol: protocol.as_str().to_string(),
            station: station.to_string(),
            hex: to_hex(bytes),
            outcome: outcome.to_string(),
            repeats,
        });
        if !kept {
            self.metrics.archive_dropped("behind");
        }
        let stats = self.archive.stats();
        self.metrics.archive(
            stats.bytes.load(Ordering::Relaxed),
            stats.evicted.load(Ordering::Relaxed),
        );
    }

    /// Takes a token from the connection's bucket and, for a station of stations.csv, from
    /// the station's.
    fn within_rate(&self, conn: &mut Conn, protocol: Protocol, station: &str) -> bool {
        let t = self.started.elapsed().as_secs_f64();
        if !conn.bucket.take(t) {
            return false;
        }
        let Ok(addr) = station.parse::<StationAddr>() else {
            return true;
        };
        if self.cfg.stations.get(protocol, &addr).is_none() {
            return true;
        }
        let per_minute = self.cfg.gateway.archive_rows_per_minute;
        self.station_buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((protocol, addr))
            .or_insert_with(|| RateBucket::new(per_minute))
            .take(t)
    }

    /// Archives the connection's run of bad-CRC frames, if it has one, as one row.
    fn end_bad_run(&self, conn: &mut Conn) {
        if let Some(run) = conn.bad_run.take() {
            self.metrics.bad_crc_run();
            self.archive_row(
                conn,
                run.protocol,
                &run.station,
                &run.first,
                "bad_crc",
                run.first_at,
                run.count,
            );
        }
    }

    /// A WARN line, at most one per station and outcome a minute.
    fn warn(
        &self,
        station: &str,
        outcome: &'static str,
        now: i64,
        detail: impl FnOnce() -> String,
    ) {
        let line = {
            let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
            w.admit(station, outcome, now)
        };
        if let Some(line) = line {
            let detail = detail();
            if line.more == 0 {
                warn!(station, outcome, "{detail}");
            } else {
                warn!(
                    station,
                    outcome,
                    more = line.more,
                    "{detail} ({} more since the last line)",
                    line.more
                );
            }
        }
    }

    /// Why `frame` may not speak for its stations from `ip`: (outcome, why), or `None` when it
    /// may. Every station the frame carries elements for is checked (an SL 651 body may hold
    /// several station groups), each against its own `allow_from` and password. Stations not
    /// in stations.csv are left to [`Shared::handle`], which refuses them as unknown.
    fn refusal(&self, frame: &Frame, ip: IpAddr) -> Option<(&'static str, String)> {
        let mut addrs = vec![frame.station];
        for e in &frame.elements {
            if !addrs.contains(&e.station) {
                addrs.push(e.station);
            }
        }
        // SZY 206 uplink frames carry no password: allow_from is their only check.
        let password = match &frame.header {
            Header::Sl651 { password, .. } => Some(*password),
            Header::Szy206 { .. } => None,
        };
        addrs.into_iter().find_map(|addr| {
            station_refusal(&self.cfg.stations, frame.protocol, addr, password, ip)
        })
    }

    /// Records that `conn` reports for `addr`, closing the station's previous connection.
    fn claim(&self, conn: &mut Conn, protocol: Protocol, addr: StationAddr) {
        let key = (protocol, addr);
        if conn.claimed.contains(&key) {
            return;
        }
        conn.claimed.push(key);
        let old = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (conn.id, Arc::clone(&conn.kick)));
        if let Some((id, kick)) = old
            && id != conn.id
        {
            let _ = kick.send(true);
            debug!(station = %addr, peer = %conn.peer, "station reconnected: its previous connection is closed");
        }
    }

    /// Forgets the stations `conn` still holds.
    fn release(&self, conn: &Conn) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for key in &conn.claimed {
            if sessions.get(key).is_some_and(|(id, _)| *id == conn.id) {
                sessions.remove(key);
            }
        }
    }

    /// Handles one item of a connection's stream; returns the reply to write, if any.
    async fn item(&self, item: Item, conn: &mut Conn) -> Option<Vec<u8>> {
        let now = now_ts();
        let peer = conn.peer.clone();
        let peer = peer.as_str();
        match item {
            Item::Junk(n) => {
                self.metrics.junk(n);
                None
            }
            Item::BadCrc(protocol, bytes) => {
                self.metrics.frame(protocol, "bad_crc");
                let station = station_of(protocol, &bytes);
                match &mut conn.bad_run {
                    Some(run) if run.protocol == protocol && now - run.first_at < BAD_RUN_S => {
                        run.count = run.count.saturating_add(1);
                    }
                    _ => {
                        self.end_bad_run(conn);
                        self.warn(&station, "bad_crc", now, || {
                            format!("{protocol} frame from {peer} with a wrong CRC: not confirmed, the terminal sends it again")
                        });
                        conn.bad_run = Some(BadRun {
                            protocol,
                            station,
                            first: bytes,
                            first_at: now,
                            count: 1,
                        });
                    }
                }
                None
            }
            Item::Frame(protocol, bytes) => {
                self.end_bad_run(conn);
                let decoded = decode(
                    protocol,
                    &bytes,
                    now,
                    &mut conn.reassembly,
                    &self.cfg,
                    Some(conn.ip),
                );
                self.metrics.reassembly(self.reassembly_budget.used());
                if let Decoded::Frame(f) | Decoded::Missing(f, _) = &decoded
                    && let Some((outcome, why)) = self.refusal(f, conn.ip)
                {
                    let station = f.station.to_string();
                    self.record(conn, protocol, &station, &bytes, outcome, now);
                    self.warn(&station, outcome, now, || {
                        format!("{protocol} frame for station {station} from {peer} refused: {why}; archived, not applied, not confirmed")
                    });
                    return None;
                }
                self.frame(protocol, decoded, &bytes, conn, now).await
            }
        }
    }

    async fn frame(
        &self,
        protocol: Protocol,
        decoded: Decoded,
        bytes: &[u8],
        conn: &mut Conn,
        now: i64,
    ) -> Option<Vec<u8>> {
        let peer = conn.peer.clone();
        let peer = peer.as_str();
        let station_hex = station_of(protocol, bytes);
        let frame = match decoded {
            Decoded::Frame(f) => f,
            Decoded::Packet => {
                self.record(conn, protocol, &station_hex, bytes, "packet", now);
                return None;
            }
            Decoded::Downlink => {
                self.record(conn, protocol, &station_hex, bytes, "downlink", now);
                return None;
            }
            Decoded::Refused(outcome, why) => {
                self.record(conn, protocol, &station_hex, bytes, outcome, now);
                self.warn(&station_hex, outcome, now, || {
                    format!("{protocol} packet from {peer} refused: {why}")
                });
                return None;
            }
            Decoded::Error(e) => {
                let outcome = e.outcome();
                self.record(conn, protocol, &station_hex, bytes, outcome, now);
                self.warn(&station_hex, outcome, now, || {
                    format!("{protocol} frame from {peer} refused: {e}")
                });
                return None;
            }
            Decoded::Missing(f, seq) => {
                self.record(conn, protocol, &station_hex, bytes, "packet_missing", now);
                let station = self.cfg.stations.get(protocol, &f.station)?;
                if station.reply == Some(Reply::None) {
                    return None;
                }
                let Header::Sl651 {
                    centre,
                    password,
                    packet: Packet::Part { total, .. },
                    ..
                } = f.header
                else {
                    return None;
                };
                let local = self.cfg.clock.local(now);
                return Some(sl651::reply(
                    f.station,
                    centre,
                    password,
                    f.function,
                    0,
                    Packet::Part { total, seq },
                    sl651::NAK,
                    local,
                ));
            }
        };
        let (outcome, reply) = self.handle(&frame, peer, now).await;
        self.record(conn, protocol, &station_hex, bytes, outcome, now);
        // Only an authenticated report that went through takes the station's session over.
        if matches!(outcome, "published" | "confirmed") {
            self.claim(conn, protocol, frame.station);
        }
        reply.then(|| self.reply(&frame, now)).flatten()
    }

    /// What becomes of a decoded frame: its outcome and whether it is confirmed.
    async fn handle(&self, frame: &Frame, peer: &str, now: i64) -> (&'static str, bool) {
        let protocol = frame.protocol;
        let station_hex = frame.station.to_string();
        if self.cfg.stations.get(protocol, &frame.station).is_none() {
            self.warn(&station_hex, "unknown_station", now, || {
                format!("{protocol} station {station_hex} ({peer}) is not in {}: frame archived, not published, not confirmed; map it and run `gwmon gateway replay --station {station_hex} --since <date>`", self.cfg.stations.source)
            });
            return ("unknown_station", false);
        }
        match (protocol, frame.function) {
            (Protocol::Sl651, sl651::LINK_KEEP) => return ("link", false),
            (Protocol::Sl651, sl651::TEST_REPORT) => return ("test", true),
            (Protocol::Szy206, szy206::AFN_LINK) => return ("link", true),
            // Alarms, pictures, query responses: archived; no confirm form is known for them.
            (Protocol::Szy206, afn) if afn != szy206::AFN_REPORT => return ("unsupported", false),
            _ => {}
        }
        let cfg = &self.cfg;
        let mapped = map(frame, &cfg.stations, &cfg.mqtt.topic_prefix);
        self.metrics
            .elements(protocol, "unmapped", u64::from(mapped.unmapped));
        self.metrics
            .elements(protocol, "invalid", mapped.invalid.len() as u64);
        if let Some((key, why)) = mapped.invalid.first() {
            self.warn(&station_hex, "invalid_value", now, || {
                format!(
                    "station {station_hex}: element {key} carries no reading ({})",
                    why.as_str()
                )
            });
        }
        if mapped.publishes.is_empty() {
            let outcome = if !mapped.invalid.is_empty() {
                "invalid_value"
            } else if mapped.unmapped > 0 {
                self.warn(&station_hex, "unmapped", now, || {
                    format!(
                        "station {station_hex}: none of the frame's {} elements is mapped in {}",
                        mapped.unmapped, cfg.stations.source
                    )
                });
                "unmapped"
            } else {
                "confirmed"
            };
            return (outcome, true);
        }
        let timeout = Duration::from_secs(cfg.gateway.puback_timeout_s);
        let conflicts = match self.conflicts(&mapped.points).await {
            Ok(c) => c,
            Err(e) => {
                // Not knowing is not confirming: the terminal sends the report again.
                self.warn(&station_hex, "store_unavailable", now, || {
                    format!("station {station_hex}: cannot look for conflicting readings in the store ({e}): not confirmed, the terminal sends it again")
                });
                return ("store_unavailable", false);
            }
        };
        if !conflicts.is_empty() {
            // The readings that agree with the store (or are new) still go out; the frame is
            // not confirmed, so the terminal keeps it, and the archive holds it for a replay
            // once the stored reading has been reviewed.
            let rest: Vec<_> = mapped
                .points
                .iter()
                .filter(|p| !conflicts.iter().any(|c| &c.point == *p))
                .cloned()
                .collect();
            self.metrics
                .elements(protocol, "conflict", conflicts.len() as u64);
            let c = &conflicts[0];
            let first = format!(
                "{} at {} is stored as {} {}, the report says {}",
                c.point.device_id,
                cfg.clock.format(c.point.ts),
                c.point.quantity.field(),
                c.stored,
                c.point.value
            );
            self.warn(&station_hex, "conflict", now, || {
                format!("station {station_hex} ({peer}): {} reading(s) conflict with stored ones ({first}): not confirmed until the stored reading is reviewed (README, \"Field terminals\")", conflicts.len())
            });
            if !rest.is_empty() {
                if !self.publisher.publish_all(publishes(&rest), timeout).await {
                    return ("broker_unavailable", false);
                }
                self.metrics
                    .elements(protocol, "published", rest.len() as u64);
            }
            return ("conflict", false);
        }
        if self.publisher.publish_all(mapped.publishes, timeout).await {
            self.metrics
                .elements(protocol, "published", u64::from(mapped.readings));
            ("published", true)
        } else {
            self.warn(&station_hex, "broker_unavailable", now, || {
                format!("station {station_hex}: the broker did not acknowledge the readings within {} s: not confirmed, the terminal sends them again", cfg.gateway.puback_timeout_s)
            });
            ("broker_unavailable", false)
        }
    }

    /// The readings of `points` the store holds another value for, looked up on the blocking
    /// pool.
    async fn conflicts(
        &self,
        points: &[super::map::Point],
    ) -> Result<Vec<super::conflicts::Conflict>, String> {
        let lookup = Arc::clone(&self.lookup);
        let db = self.db.clone();
        let points = points.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut l = lookup.lock().unwrap_or_else(|e| e.into_inner());
            l.conflicts(&db, &points).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// The confirm for a handled frame, per the station's `reply`.
    fn reply(&self, frame: &Frame, now: i64) -> Option<Vec<u8>> {
        let station = self.cfg.stations.get(frame.protocol, &frame.station)?;
        let bytes = confirm(frame, station.reply?, self.cfg.clock.local(now))?;
        self.metrics.reply(frame.protocol);
        Some(bytes)
    }
}

/// The centre's confirm of a handled frame in `mode`, with the centre's local time `now`:
/// SL 651 EOT or ESC (ACK after a frame ending ETB; for a multi-packet message the total as
/// the sequence answered), SZY 206 in the JetLinks or SL/T 427 form; `None` for `none` and
/// for frames that get no answer.
pub fn confirm(frame: &Frame, mode: Reply, now: DateTime) -> Option<Vec<u8>> {
    match (&frame.header, mode) {
        (_, Reply::None) => None,
        (
            Header::Sl651 {
                centre,
                password,
                packet,
                end,
                ..
            },
            mode,
        ) => {
            let end_char = if *end == sl651::ETB {
                sl651::ACK
            } else if mode == Reply::Esc {
                sl651::ESC
            } else {
                sl651::EOT
            };
            let packet = match packet {
                Packet::Single => Packet::Single,
                Packet::Part { total, .. } => Packet::Part {
                    total: *total,
                    seq: *total,
                },
            };
            Some(sl651::reply(
                frame.station,
                *centre,
                *password,
                frame.function,
                frame.serial?,
                packet,
                end_char,
                now,
            ))
        }
        (Header::Szy206 { .. }, Reply::Sl427) => {
            szy206::reply(frame, szy206::ReplyForm::Sl427, now)
        }
        (Header::Szy206 { .. }, _) => szy206::reply(frame, szy206::ReplyForm::Jetlinks, now),
    }
}

/// Runs the gateway until `shutdown` resolves.
pub async fn run(
    cfg: Arc<Config>,
    opts: GatewayOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let listeners = bind(&opts.listen).await?;
    serve(cfg, opts, listeners, metrics, shutdown).await
}

/// Binds every listener (port 0 picks a free port: see the returned addresses).
pub async fn bind(
    listen: &[ListenConfig],
) -> Result<Vec<(TcpListener, ListenProtocol)>, GatewayError> {
    let mut out = Vec::new();
    for l in listen {
        let sock = TcpListener::bind(&l.addr)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: l.addr.clone(),
                source,
            })?;
        out.push((sock, l.protocol));
    }
    Ok(out)
}

/// The gateway's MQTT options: the daemon's connection settings (TLS, credentials), the
/// gateway's own client id, `broker` as the URL.
fn publisher(cfg: &Config, broker: &str) -> Result<Publisher, GatewayError> {
    let mut c = cfg.clone();
    c.mqtt.url = broker.to_string();
    c.mqtt.client_id = cfg.gateway.client_id.clone();
    let opts = crate::mqtt::options(&c)?;
    Ok(Publisher::start(
        opts,
        Duration::from_secs(cfg.mqtt.reconnect_max_s),
    ))
}

/// Serves on already bound listeners until `shutdown` resolves.
pub async fn serve(
    cfg: Arc<Config>,
    opts: GatewayOptions,
    listeners: Vec<(TcpListener, ListenProtocol)>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let archive_bytes = archive_bound(&cfg, &opts.db);
    info!(
        max_mb = archive_bytes >> 20,
        "gateway archive bound ([gateway] archive_max_mb)"
    );
    let archive = Archive::start(&opts.db, cfg.gateway.archive_max_age_days, archive_bytes)?;
    let shared = Arc::new(Shared {
        publisher: publisher(&cfg, &opts.broker)?,
        archive,
        metrics,
        warnings: Mutex::new(WarnLimit::default()),
        slots: Slots::new(
            cfg.gateway.max_connections,
            cfg.gateway.max_connections_per_address,
        ),
        fd_budget: fd_budget(),
        closed: Notify::new(),
        lookup: Arc::new(Mutex::new(Lookup::default())),
        db: opts.db.clone(),
        sessions: Mutex::new(HashMap::new()),
        next_connection: AtomicU64::new(0),
        reassembly_budget: ReassemblyBudget::new(
            usize::try_from(cfg.gateway.reassembly_max_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
        ),
        station_buckets: Mutex::new(HashMap::new()),
        started: std::time::Instant::now(),
        cfg,
    });
    let open = shared.cfg.stations.warnings().len();
    if open > 0 {
        warn!(
            stations = open,
            "{open} sl651 stations have no password in {}: anyone who reaches the gateway can report for them (`gwmon check-config` lists them)",
            shared.cfg.stations.source
        );
    }
    if let Some(budget) = shared.fd_budget
        && budget < shared.cfg.gateway.max_connections
    {
        info!(
            budget,
            max_connections = shared.cfg.gateway.max_connections,
            "the open-file limit leaves room for fewer terminal connections than [gateway] max_connections: raise it (ulimit -n, LimitNOFILE)"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = TaskTracker::new();
    let mut tasks = Vec::new();
    for (listener, accept) in listeners {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        info!(address = %addr, protocol = ?accept, stations = shared.cfg.stations.len(), "gateway listening");
        tasks.push(tokio::spawn(accept_loop(
            listener,
            accept,
            Arc::clone(&shared),
            stop_rx.clone(),
            connections.clone(),
        )));
    }
    shutdown.await;
    info!(
        "gateway stopping: no new terminals; the frames being handled are published and answered"
    );
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    // Each connection finishes the frame it is handling (its readings acknowledged by the
    // broker, its reply sent) and closes.
    connections.close();
    connections.wait().await;
    info!("gateway stopped");
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    accept: ListenProtocol,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    connections: TaskTracker,
) {
    loop {
        // Near the open-file limit, stop accepting until a connection closes: waiting
        // connections queue in the kernel's backlog instead of failing accept() in a loop,
        // and the store and the broker keep the descriptors they need.
        let near_limit = shared
            .fd_budget
            .is_some_and(|budget| shared.slots.open() >= budget);
        if near_limit {
            pause(&shared, &mut stop, "the open-file limit is near").await;
            if *stop.borrow() {
                return;
            }
            continue;
        }
        let (sock, peer) = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    pause(&shared, &mut stop, "out of file descriptors").await;
                    continue;
                }
                Err(e) => {
                    // A connection reset before it was accepted and the like: wait a little
                    // rather than spin.
                    warn!(error = %e, "gateway: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let slot = match shared.slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                let g = &shared.cfg.gateway;
                let reason = refusal.as_str();
                shared.metrics.refused(reason);
                let peer_s = peer.ip().to_string();
                shared.warn(&peer_s, reason, now_ts(), || match refusal {
                    Refusal::Total => format!(
                        "connection from {peer} closed: [gateway] max_connections = {} are open",
                        g.max_connections
                    ),
                    Refusal::PerAddress => format!(
                        "connection from {peer} closed: [gateway] max_connections_per_address = {} are open from {}",
                        g.max_connections_per_address,
                        peer.ip()
                    ),
                });
                drop(sock);
                continue;
            }
        };
        shared.metrics.connections(shared.slots.open());
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        connections.spawn(async move {
            connection(&shared, sock, peer, accept, stop).await;
            drop(slot);
            shared.metrics.connections(shared.slots.open());
            shared.closed.notify_waiters();
        });
    }
}

/// Waits until a connection closes (or a second passes, or the gateway stops) before the
/// accept loop looks again.
async fn pause(shared: &Shared, stop: &mut watch::Receiver<bool>, why: &str) {
    shared.metrics.accept_paused();
    shared.warn("accept", "accept_paused", now_ts(), || {
        format!(
            "gateway: accepting paused, {why} ({} terminal connections open): raise the open-file limit (ulimit -n, LimitNOFILE) or lower [gateway] max_connections",
            shared.slots.open()
        )
    });
    // The second is a backstop for a close signalled between the check and this wait.
    tokio::select! {
        _ = stop.changed() => {}
        _ = shared.closed.notified() => {}
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}

async fn connection(
    shared: &Shared,
    mut sock: TcpStream,
    peer: SocketAddr,
    accept: ListenProtocol,
    mut stop: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    let g = &shared.cfg.gateway;
    let ip = peer.ip();
    let peer = peer.to_string();
    let mut framer = Framer::new(accept, g.max_frame_bytes);
    let (kick, mut kicked) = watch::channel(false);
    let mut conn = Conn {
        id: shared.next_connection.fetch_add(1, Ordering::Relaxed),
        peer: peer.clone(),
        ip,
        kick: Arc::new(kick),
        claimed: Vec::new(),
        reassembly: Reassembly::new(
            g.reassembly_timeout_s as i64,
            g.max_frame_bytes * REASSEMBLY_FRAMES,
            g.max_packets,
            Arc::clone(&shared.reassembly_budget),
        ),
        bucket: RateBucket::new(g.archive_rows_per_minute),
        bad_run: None,
    };
    serve_connection(
        shared,
        &mut sock,
        &mut conn,
        &mut framer,
        &mut kicked,
        &mut stop,
    )
    .await;
    shared.end_bad_run(&mut conn);
    shared.release(&conn);
    // The connection's reassembly gives its bytes back to the shared budget.
    drop(conn);
    shared.metrics.reassembly(shared.reassembly_budget.used());
    debug!(peer = %peer, "terminal disconnected");
}

/// Reads, handles and answers frames until the terminal leaves, idles, is replaced or the
/// gateway stops.
async fn serve_connection(
    shared: &Shared,
    sock: &mut TcpStream,
    conn: &mut Conn,
    framer: &mut Framer,
    kicked: &mut watch::Receiver<bool>,
    stop: &mut watch::Receiver<bool>,
) {
    let peer = conn.peer.clone();
    let idle = Duration::from_secs(shared.cfg.gateway.idle_timeout_s);
    let mut buf = vec![0u8; READ_CHUNK];
    // Counted from the last complete frame, not from any byte: a byte now and then would
    // otherwise hold a connection slot for ever.
    let mut idle_at = tokio::time::Instant::now() + idle;
    debug!(peer = %peer, "terminal connected");
    loop {
        let n = tokio::select! {
            _ = stop.changed() => break,
            _ = kicked.changed() => {
                debug!(peer = %peer, "a newer connection of the same station took over");
                break;
            }
            _ = tokio::time::sleep_until(idle_at) => {
                debug!(peer = %peer, "terminal idle: connection closed");
                break;
            }
            r = sock.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        framer.push(&buf[..n]);
        while let Some(item) = framer.next_item() {
            if matches!(item, Item::Frame(..)) {
                idle_at = tokio::time::Instant::now() + idle;
            }
            if let Some(reply) = shared.item(item, conn).await
                && sock.write_all(&reply).await.is_err()
            {
                return;
            }
        }
    }
}

/// What a replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Archived rows read.
    pub rows: usize,
    /// Messages decoded.
    pub frames: usize,
    /// Readings published (and acknowledged by the broker).
    pub readings: usize,
    /// Messages whose readings the broker did not acknowledge.
    pub failed: usize,
}

/// Decodes the archived frames of `station` received since `since` with the current
/// stations.csv and publishes their readings; the daemon's duplicate detection makes readings
/// already stored a no-op.
pub async fn replay(
    cfg: Arc<Config>,
    broker: &str,
    db: &Path,
    station: StationAddr,
    since: i64,
) -> Result<ReplayReport, GatewayError> {
    let rows = {
        let conn = crate::store::open_ro(db)?;
        archive::frames_of(&conn, &station.to_string(), since)?
    };
    let publisher = publisher(&cfg, broker)?;
    if !publisher.wait_connected(REPLAY_CONNECT).await {
        return Err(GatewayError::BrokerAway(
            broker.to_string(),
            REPLAY_CONNECT.as_secs(),
        ));
    }
    let mut report = ReplayReport {
        rows: rows.len(),
        ..Default::default()
    };
    let mut reassembly = Reassembly::unbounded(i64::MAX / 4);
    let timeout = Duration::from_secs(cfg.gateway.puback_timeout_s);
    for row in rows {
        let Some(bytes) = from_hex(&row.hex) else {
            continue;
        };
        let Ok(protocol) = row.protocol.parse::<Protocol>() else {
            continue;
        };
        let Decoded::Frame(frame) = decode(
            protocol,
            &bytes,
            row.received_at,
            &mut reassembly,
            &cfg,
            None,
        ) else {
            continue;
        };
        report.frames += 1;
        if protocol == Protocol::Sl651 && frame.function == sl651::TEST_REPORT {
            continue;
        }
        let mapped = map(&frame, &cfg.stations, &cfg.mqtt.topic_prefix);
        if mapped.publishes.is_empty() {
            continue;
        }
        let readings = mapped.readings as usize;
        let publishes = mapped.publishes;
        if publisher.publish_all(publishes, timeout).await {
            report.readings += readings;
        } else {
            report.failed += 1;
        }
    }
    Ok(report)
}

/// The archive's bound in bytes: `[gateway] archive_max_mb`, or a share of the space free on
/// the store's volume.
pub fn archive_bound(cfg: &Config, db: &Path) -> u64 {
    if let Some(mb) = cfg.gateway.archive_max_mb {
        return mb.saturating_mul(1 << 20);
    }
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let free_mb = free_bytes(dir).map_or(ARCHIVE_AUTO_MB.0, |b| b >> 20);
    (free_mb / ARCHIVE_AUTO_SHARE).clamp(ARCHIVE_AUTO_MB.0, ARCHIVE_AUTO_MB.1) << 20
}

/// Bytes free for an unprivileged user on the volume holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs reads a NUL-terminated path and writes one struct through a valid
    // pointer to a zeroed local.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0;
    ok.then(|| st.f_bavail.saturating_mul(st.f_frsize))
}

/// The stations of a config, refused when there are none (a gateway would only archive).
pub fn require_stations(cfg: &Config) -> Result<&Stations, GatewayError> {
    if cfg.stations.is_empty() {
        return Err(GatewayError::NoStations(cfg.stations.source.clone()));
    }
    Ok(&cfg.stations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::crc::to_hex;

    fn cfg() -> Config {
        Config::embedded().unwrap()
    }

    fn report(function: u8) -> sl651::Report {
        sl651::Report {
            password: [0x12, 0x34],
            function,
            ..sl651::Report::sample(23, vec![(0x0E, 0x1A, vec![0x00, 0x15, 0x20])])
        }
    }

    fn now() -> DateTime {
        "2026-11-30T08:01:05".parse().unwrap()
    }

    fn frame_of(bytes: &[u8], cfg: &Config) -> Frame {
        let mut r = Reassembly::unbounded(120);
        match decode(Protocol::Sl651, bytes, 0, &mut r, cfg, None) {
            Decoded::Frame(f) => f,
            _ => panic!("not a frame"),
        }
    }

    #[test]
    fn sl651_confirms_end_as_the_station_is_configured() {
        let c = cfg();
        let f = frame_of(&report(0x32).encode(), &c);
        let eot = confirm(&f, Reply::Eot, now()).unwrap();
        let env = sl651::envelope(&eot).unwrap();
        assert!(env.downlink);
        assert_eq!(
            (env.end, env.function, env.password),
            (sl651::EOT, 0x32, [0x12, 0x34])
        );
        assert_eq!(to_hex(env.body), "0017261130080105");
        assert_eq!(
            sl651::envelope(&confirm(&f, Reply::Esc, now()).unwrap())
                .unwrap()
                .end,
            sl651::ESC
        );
        assert_eq!(confirm(&f, Reply::None, now()), None);
        // A frame ending ETB (more follow) is acknowledged with ACK whatever the mode.
        let mut etb = report(0x32).encode();
        let n = etb.len();
        etb[n - 3] = sl651::ETB;
        let crc = crate::gateway::crc::crc16_modbus(&etb[..n - 2]).to_be_bytes();
        etb[n - 2..].copy_from_slice(&crc);
        let f = frame_of(&etb, &c);
        assert_eq!(
            sl651::envelope(&confirm(&f, Reply::Esc, now()).unwrap())
                .unwrap()
                .end,
            sl651::ACK
        );
    }

    #[test]
    fn a_multi_packet_message_is_answered_once_with_its_total() {
        let c = cfg();
        let parts = report(0x32).encode_parts(3);
        let mut r = Reassembly::unbounded(120);
        assert!(matches!(
            decode(Protocol::Sl651, &parts[0], 0, &mut r, &c, None),
            Decoded::Packet
        ));
        // The last packet before the second: NAK material, the second is missing.
        assert!(matches!(
            decode(Protocol::Sl651, &parts[2], 1, &mut r, &c, None),
            Decoded::Missing(_, 2)
        ));
        assert!(matches!(
            decode(Protocol::Sl651, &parts[1], 2, &mut r, &c, None),
            Decoded::Packet
        ));
        let Decoded::Frame(f) = decode(Protocol::Sl651, &parts[2], 3, &mut r, &c, None) else {
            panic!("not reassembled")
        };
        assert_eq!(f.serial, Some(23));
        assert_eq!(f.elements.len(), 1);
        let env_bytes = confirm(&f, Reply::Eot, now()).unwrap();
        let env = sl651::envelope(&env_bytes).unwrap();
        assert_eq!(env.packet, Packet::Part { total: 3, seq: 3 });
    }

    #[test]
    fn downlink_frames_looped_back_are_not_reports() {
        let c = cfg();
        let down = sl651::reply(
            "1401210001".parse().unwrap(),
            1,
            [0, 0],
            0x32,
            1,
            Packet::Single,
            sl651::EOT,
            now(),
        );
        let mut r = Reassembly::unbounded(120);
        assert!(matches!(
            decode(Protocol::Sl651, &down, 0, &mut r, &c, None),
            Decoded::Downlink
        ));
        let szy_down = crate::gateway::crc::from_hex("680868335303810D00C0003E16").unwrap();
        assert!(matches!(
            decode(Protocol::Szy206, &szy_down, 0, &mut r, &c, None),
            Decoded::Downlink
        ));
    }

    #[test]
    fn station_addresses_of_frames_that_did_not_decode() {
        let b = report(0x32).encode();
        assert_eq!(station_of(Protocol::Sl651, &b), "1401210001");
        let z = crate::gateway::crc::from_hex(
            "681A68B35303810D00C00059000000826110000001106000004508090A3516",
        )
        .unwrap();
        assert_eq!(station_of(Protocol::Szy206, &z), "5303810D00");
        assert_eq!(station_of(Protocol::Szy206, &[0x68]), "");
    }
}
