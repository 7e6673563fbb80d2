//! What the gateway does with each frame a terminal sends: decode (with multi-packet
//! reassembly), admit (the station's `allow_from` and password), archive, map through
//! stations.csv, publish, and confirm only once the broker has every reading — or refuse, count
//! and warn. [`Gateway`] is what every connection shares; [`Conn`] one connection's state.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::{debug, warn};

use super::admission::{RateBucket, Slots};
use super::conflicts::Lookup;
use super::crc::to_hex;
use super::frame::{Frame, Header, Packet};
use super::map::{map, publishes};
use super::metrics::Metrics;
use super::publish::Publisher;
use super::stream::{Item, Reassembly, ReassemblyBudget};
use super::{sl651, szy206};
use crate::config::Config;
use crate::config::stations::{Protocol, Reply, StationAddr};
use crate::domain::time::now_ts;
use crate::ingest::warn_limit::WarnLimit;
use crate::store::frame_archive::{Archive, Row};

use super::decode::{Decoded, confirm, decode, station_of, station_refusal};

/// A run of bad-CRC frames from one connection is archived as one row at most this long after
/// its first frame.
const BAD_RUN_S: i64 = 60;

/// What every connection of the gateway shares.
pub(super) struct Gateway {
    pub(super) cfg: Arc<Config>,
    pub(super) publisher: Publisher,
    pub(super) archive: Archive,
    pub(super) metrics: Arc<Metrics>,
    pub(super) warnings: Mutex<WarnLimit<&'static str>>,
    pub(super) slots: Arc<Slots>,
    /// Terminal connections the open-file limit leaves room for (`None`: no limit known).
    pub(super) fd_budget: Option<usize>,
    /// Signalled when a connection closes: a paused accept loop looks again.
    pub(super) closed: Notify,
    /// The store, read-only, for conflicts (a blocking SQLite connection: used on the
    /// blocking pool).
    pub(super) lookup: Arc<Mutex<Lookup>>,
    pub(super) db: PathBuf,
    /// The connection each station last reported on, and how to close it: a terminal that
    /// reconnects (a 4G link that dropped without a FIN) replaces its old session.
    pub(super) sessions: Mutex<HashMap<(Protocol, StationAddr), Session>>,
    pub(super) next_connection: AtomicU64,
    /// Packets held for reassembly, all connections together.
    pub(super) reassembly_budget: Arc<ReassemblyBudget>,
    /// Archive rows of frames not applied, per station of stations.csv.
    pub(super) station_buckets: Mutex<HashMap<(Protocol, StationAddr), RateBucket>>,
    /// The origin of the rate buckets' clock.
    pub(super) started: std::time::Instant,
}

/// The connection a station reports on: its id, and how to close it.
pub(super) type Session = (u64, Arc<watch::Sender<bool>>);

/// One terminal connection's state.
pub(super) struct Conn {
    pub(super) id: u64,
    pub(super) peer: String,
    pub(super) ip: IpAddr,
    /// Set when a newer connection of one of its stations takes over.
    pub(super) kick: Arc<watch::Sender<bool>>,
    /// Stations this connection reported for.
    pub(super) claimed: Vec<(Protocol, StationAddr)>,
    pub(super) reassembly: Reassembly,
    /// Archive rows of frames not applied from this connection.
    pub(super) bucket: RateBucket,
    /// Bad-CRC frames one after another, archived as one row when the run ends.
    pub(super) bad_run: Option<BadRun>,
}

/// A run of bad-CRC frames: the first frame, where it seemed to come from, and how many.
pub(super) struct BadRun {
    protocol: Protocol,
    station: String,
    first: Vec<u8>,
    first_at: i64,
    count: u32,
}

/// Whether a frame with `outcome` was applied: its rows are archived whatever the rate (the
/// station authenticated itself and the readings went out); every other row is rate-limited.
fn applied(outcome: &str) -> bool {
    matches!(outcome, "published" | "confirmed")
}

impl Gateway {
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
    pub(super) fn end_bad_run(&self, conn: &mut Conn) {
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
    pub(super) fn warn(
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
    /// in stations.csv are left to [`Gateway::handle`], which refuses them as unknown.
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
    pub(super) fn release(&self, conn: &Conn) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for key in &conn.claimed {
            if sessions.get(key).is_some_and(|(id, _)| *id == conn.id) {
                sessions.remove(key);
            }
        }
    }

    /// Handles one item of a connection's stream; returns the reply to write, if any.
    pub(super) async fn item(&self, item: Item, conn: &mut Conn) -> Option<Vec<u8>> {
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
