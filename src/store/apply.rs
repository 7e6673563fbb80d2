//! Applying decoded batches: raw inserts with duplicate/conflict detection, then the rollups of
//! exactly the days the new readings affect ([`super::rollup`]), all in one transaction.
//!
//! A message with any refusal (decoding's, or a conflict found here) becomes one quarantine row,
//! however many of its elements were refused: the row counts them (`elements`) and quotes the
//! first few reasons. Rows in proportion to a message's length would let one hostile payload
//! grow the store by hundreds of megabytes.

use std::borrow::Cow;

use std::collections::BTreeSet;

#[cfg(test)]
use rusqlite::Connection;

use super::sql::{Db, Dialect, Row, Sql, SqlExt, Val};
use crate::vals;

use crate::domain::reading::summarise;
use crate::domain::sanitize::for_store;
use crate::domain::{
    Decoded, LocalClock, QUARANTINE_ORIGIN_MAX, QUARANTINE_PAYLOAD_MAX, Quarantined,
    REJECTIONS_KEPT, Reading, RejectCode, Rejection,
};

use super::volume_rollup::{self, Frontiers, Touched};
use super::{StoreError, StoreSettings};

/// What became of one message (or imported row) once its batch was committed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// New readings stored.
    pub stored: u32,
    /// Readings already stored with the same value (redelivery): no-ops.
    pub duplicates: u32,
    /// Elements refused: decode rejections and conflicts, every one counted.
    pub rejected: u32,
    /// The first refusals in full, at most [`REJECTIONS_KEPT`].
    pub reasons: Vec<Rejection>,
}

/// The writer's side of the database.
pub struct Store {
    pub(super) conn: Db,
    pub(super) settings: StoreSettings,
    /// Per-intake counter state at the frontier, so that readings arriving in time order (the
    /// live case) are applied as increments instead of recomputing their days from the table.
    frontier: Frontiers,
    /// `PRAGMA data_version` when `frontier` was last known valid: another connection's commit
    /// (an import running beside the daemon) changes it, and the cache is dropped.
    data_version: i64,
    /// When the quarantine table was last pruned ([`super::retention`]).
    pub(super) pruned: super::retention::PruneClock,
}

impl Store {
    pub(crate) fn new(conn: impl Into<Db>, settings: StoreSettings) -> Self {
        Self {
            conn: conn.into(),
            settings,
            frontier: Frontiers::new(),
            data_version: -1,
            pruned: Default::default(),
        }
    }

    /// Takes new settings (a reloaded configuration): counter rules and plausible flows apply
    /// from the next batch on; the cached frontiers, computed under the old rules, are dropped.
    pub fn set_settings(&mut self, settings: StoreSettings) {
        self.settings = settings;
        self.frontier.clear();
    }

    /// The store's connection, for queries on the writer's thread.
    pub fn sql(&self) -> &dyn Sql {
        &self.conn
    }

    /// The SQLite connection (tests read the tables through it).
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        self.conn.sqlite().expect("a SQLite store")
    }

    #[cfg(test)]
    fn conn_mut(&mut self) -> &mut Connection {
        match &mut self.conn {
            Db::Lite(c) => c,
            Db::Pg(_) => panic!("a SQLite store"),
        }
    }

    /// Records a meter replacement entered by hand for `intake` (which must be registered) and
    /// recomputes the days around it, in one transaction.
    pub fn enter_replacement(
        &mut self,
        intake: &str,
        swap: crate::analysis::counter::Swap,
        now: i64,
    ) -> Result<(), StoreError> {
        let Self {
            conn,
            settings,
            frontier,
            ..
        } = self;
        conn.in_transaction(|tx| {
            lock_devices(tx, [intake])?;
            volume_rollup::enter_replacement(tx, settings, frontier, intake, swap, now)
        })
    }

    /// Applies a batch in one transaction. `source` is stored with each reading (`mqtt`,
    /// `import`). Returns one outcome per input, in order.
    pub fn apply(
        &mut self,
        batch: &[&Decoded],
        received_at: i64,
        source: &str,
    ) -> Result<Vec<Outcome>, StoreError> {
        match self.conn.sqlite() {
            Some(c) => {
                let version: i64 = c.pragma_query_value(None, "data_version", |r| r.get(0))?;
                if version != self.data_version {
                    self.frontier.clear();
                    self.data_version = version;
                }
            }
            // Other daemons write the same devices: a frontier is read afresh in each batch,
            // under the devices' locks.
            None => self.frontier.clear(),
        }
        let result = self.apply_in_transaction(batch, received_at, source);
        if result.is_err() {
            // The transaction rolled back: the cached frontier may be ahead of the table.
            self.frontier.clear();
        }
        result
    }

    /// [`Store::apply`], one message per transaction, for a batch the store refused as a whole
    /// for a reason retrying cannot fix (see [`StoreError::is_transient`]): the good messages
    /// are stored, and each one the store still refuses becomes a quarantine record with the
    /// reason `store_refused`, the error, its device and its readings, so that one bad message
    /// can never stop the others. `origin(i)` names the `i`-th message's source (its topic, or
    /// the file and line it was imported from). A transient or fatal error is returned, as
    /// from [`Store::apply`]; messages committed before it are duplicates when applied again.
    pub fn apply_each(
        &mut self,
        batch: &[&Decoded],
        origin: impl Fn(usize) -> String,
        received_at: i64,
        source: &str,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, &d) in batch.iter().enumerate() {
            match self.apply(&[d], received_at, source) {
                Ok(mut one) => outcomes.push(one.pop().unwrap_or_default()),
                Err(e) if e.is_fatal() || e.is_transient() => return Err(e),
                Err(e) => outcomes.push(self.set_aside(d, &origin(i), &e, received_at)?),
            }
        }
        Ok(outcomes)
    }

    /// Records a message the store refused as one `store_refused` quarantine row.
    fn set_aside(
        &mut self,
        d: &Decoded,
        origin: &str,
        err: &StoreError,
        received_at: i64,
    ) -> Result<Outcome, StoreError> {
        let device = d.readings.first().map_or("(none)", Reading::device_id);
        let rejection = Rejection::new(
            RejectCode::StoreRefused,
            format!(
                "the store refused this message ({} readings of {device}): {err}; nothing of it was stored — it is kept here so that it stops nothing else: report it with its payload",
                d.readings.len()
            ),
        );
        let mut payload = d
            .readings
            .iter()
            .map(reading_json)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
        payload.truncate(QUARANTINE_PAYLOAD_MAX);
        let q = Quarantined {
            origin: origin.to_string(),
            payload,
            rejection,
        };
        let elements = d.elements();
        self.conn.in_transaction(|tx| {
            RawInserts::new(tx, received_at, "store").quarantine(
                &[Cow::Borrowed(&q)],
                elements,
                elements,
            )
        })?;
        Ok(Outcome {
            stored: 0,
            duplicates: 0,
            rejected: elements,
            reasons: vec![q.rejection],
        })
    }

    fn apply_in_transaction(
        &mut self,
        batch: &[&Decoded],
        received_at: i64,
        source: &str,
    ) -> Result<Vec<Outcome>, StoreError> {
        // SQLite's transaction is immediate (see [`SqlExt::begin`]); PostgreSQL's holds a lock
        // per device, so that daemons sharing the load apply one device's readings one batch
        // at a time, as a single daemon would.
        let Self {
            conn,
            settings,
            frontier,
            ..
        } = self;
        conn.in_transaction(|tx| {
            lock_devices(
                tx,
                batch
                    .iter()
                    .flat_map(|d| d.readings.iter().map(Reading::device_id)),
            )?;
            volume_rollup::load_frontiers(tx, settings, frontier, batch)?;
            let (outcomes, touched) =
                insert_batch(tx, &settings.clock, batch, received_at, source)?;
            volume_rollup::roll_up(tx, settings, frontier, touched)?;
            Ok(outcomes)
        })
    }
}

/// On PostgreSQL, takes a transaction-scoped advisory lock per device, in one order (no two
/// daemons can deadlock on them). SQLite's write lock already serialises everything.
pub(super) fn lock_devices<'a>(
    tx: &dyn Sql,
    devices: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let ids: BTreeSet<&str> = devices.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    // One round trip for the whole batch, the locks taken in the ids' order. Advisory locks are
    // the database's, not the schema's: the key names the schema too, so that two stores in one
    // database (a city's and a test's, say) never wait for each other's devices.
    let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    tx.value::<i64>(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || value, 0)))
         FROM (SELECT value FROM json_each(?1) ORDER BY value) AS ids",
        vals![&json],
    )?;
    Ok(())
}

/// Inserts the batch's raw readings and quarantine records. Returns each message's outcome and
/// what the stored readings touch.
fn insert_batch<'a>(
    tx: &dyn Sql,
    clock: &LocalClock,
    batch: &[&'a Decoded],
    received_at: i64,
    source: &str,
) -> Result<(Vec<Outcome>, Touched<'a>), StoreError> {
    let mut raw = RawInserts::new(tx, received_at, source);
    let mut touched = Touched::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    for &d in batch {
        let mut out = Outcome::default();
        // The message's refusals, decoding's first: the first few kept, all counted.
        let mut kept: Vec<Cow<'_, Quarantined>> = d.rejected.iter().map(Cow::Borrowed).collect();
        let mut refused = d.rejected_elements();
        for r in &d.readings {
            match raw.insert(r, clock)? {
                Landing::Stored => {
                    out.stored += 1;
                    touched.add(r, clock);
                }
                Landing::Duplicate => out.duplicates += 1,
                Landing::Conflict(message) => {
                    refused = refused.saturating_add(1);
                    if kept.len() < REJECTIONS_KEPT {
                        kept.push(Cow::Owned(conflict(d, r, message)));
                    }
                }
            }
        }
        raw.quarantine(&kept, refused, d.elements())?;
        out.rejected = refused;
        out.reasons = kept
            .into_iter()
            .map(|q| match q {
                Cow::Borrowed(q) => q.rejection.clone(),
                Cow::Owned(q) => q.rejection,
            })
            .collect();
        outcomes.push(out);
    }
    Ok((outcomes, touched))
}

/// What became of one reading's insert.
#[derive(Debug, PartialEq)]
enum Landing {
    Stored,
    /// The key was stored with the same value: a redelivery.
    Duplicate,
    /// The key was stored with another value, described here; the stored one is kept.
    Conflict(String),
}

const INS_METER: &str = "INSERT INTO meter_readings (intake_id, ts, total_m3, received_at, source) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
const GET_METER: &str = "SELECT total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts = ?2";
const INS_LEVEL: &str = "INSERT INTO level_readings (well_id, ts, depth_m, level_m, received_at, source, sent, sent_m) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING";
const GET_LEVEL: &str =
    "SELECT depth_m, level_m FROM level_readings WHERE well_id = ?1 AND ts = ?2";
const INS_DAILY: &str = "INSERT INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, measured_s, source) VALUES (?1, ?2, ?3, ?4, 0, 86400, ?5, 'import') ON CONFLICT DO NOTHING";
const GET_DAILY: &str =
    "SELECT volume_m3, source FROM daily_volume WHERE intake_id = ?1 AND day = ?2";
/// An imported row refused again (the same file imported twice) keeps its one row: its origin
/// names the file and line.
const INS_QUARANTINE_ONCE: &str =
    "INSERT INTO quarantine (received_at, origin, payload, reason_code, reason, elements)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6
     WHERE NOT EXISTS (SELECT 1 FROM quarantine WHERE origin = ?2 AND reason = ?5)";
const INS_QUARANTINE: &str = "INSERT INTO quarantine (received_at, origin, payload, reason_code, reason, elements) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The batch's raw inserts (the connection keeps their statements prepared).
struct RawInserts<'t, 's> {
    tx: &'t dyn Sql,
    received_at: i64,
    source: &'s str,
}

impl<'t, 's> RawInserts<'t, 's> {
    fn new(tx: &'t dyn Sql, received_at: i64, source: &'s str) -> Self {
        Self {
            tx,
            received_at,
            source,
        }
    }

    /// Writes a message's one quarantine row, if anything of it was refused: `kept` are its first
    /// refusals, `refused` counts them all, of `elements` in the message. The row takes the first
    /// refusal's origin and code; its payload is the refused element, or the kept ones one per
    /// line.
    fn quarantine(
        &mut self,
        kept: &[Cow<'_, Quarantined>],
        refused: u32,
        elements: u32,
    ) -> Result<(), StoreError> {
        let Some(first) = kept.first() else {
            return Ok(());
        };
        let payload: Cow<'_, [u8]> = match kept {
            [one] => Cow::Borrowed(&one.payload),
            _ => {
                let mut joined = kept
                    .iter()
                    .map(|q| q.payload.as_slice())
                    .collect::<Vec<_>>()
                    .join(&b'\n');
                joined.truncate(QUARANTINE_PAYLOAD_MAX);
                Cow::Owned(joined)
            }
        };
        let origin = for_store(&first.origin, QUARANTINE_ORIGIN_MAX);
        let reason = summarise(kept.iter().map(|q| &q.rejection), refused, elements);
        self.tx.exec(
            if self.source == "import" {
                INS_QUARANTINE_ONCE
            } else {
                INS_QUARANTINE
            },
            vals![
                self.received_at,
                origin.as_ref(),
                payload.as_ref(),
                first.rejection.code.as_str(),
                &reason,
                refused
            ],
        )?;
        Ok(())
    }

    /// Inserts one reading under its idempotent key (device and time, or intake and day).
    fn insert(&mut self, r: &Reading, clock: &LocalClock) -> Result<Landing, StoreError> {
        let (at, source, tx) = (self.received_at, self.source, self.tx);
        match r {
            Reading::Meter {
                intake_id,
                ts,
                total_m3,
            } => insert_or_compare(
                tx,
                (INS_METER, vals![intake_id, ts, total_m3, at, source]),
                (GET_METER, vals![intake_id, ts]),
                |row| row.get::<f64>(0),
                |&old| same(old, *total_m3),
                |old| {
                    format!(
                        "conflict: {intake_id} at {} already has total_m3 = {old}, this message says {total_m3}; the stored reading is kept",
                        clock.format(*ts)
                    )
                },
            ),
            Reading::Level {
                well_id,
                ts,
                depth_m,
                level_m,
                sent,
            } => insert_or_compare(
                tx,
                (
                    INS_LEVEL,
                    vals![
                        well_id,
                        ts,
                        depth_m,
                        level_m,
                        at,
                        source,
                        sent.parts().0,
                        sent.parts().1
                    ],
                ),
                (GET_LEVEL, vals![well_id, ts]),
                |row| Ok((row.get::<f64>(0)?, row.get::<f64>(1)?)),
                |&(od, ol)| same(od, *depth_m) && same(ol, *level_m),
                |(od, ol)| {
                    format!(
                        "conflict: {well_id} at {} already has depth {od} m / level {ol} m, this message says {depth_m} m / {level_m} m; the stored reading is kept",
                        clock.format(*ts)
                    )
                },
            ),
            Reading::DailyVolume {
                intake_id,
                day,
                volume_m3,
                estimated,
            } => {
                let day_s = day.to_string();
                // An estimated figure is estimated volume on a day no meter covered.
                let (est, measured_s) = if *estimated {
                    (*volume_m3, 0)
                } else {
                    (0.0, 86_400)
                };
                insert_or_compare(
                    tx,
                    (
                        INS_DAILY,
                        vals![intake_id, &day_s, volume_m3, est, measured_s],
                    ),
                    (GET_DAILY, vals![intake_id, &day_s]),
                    |row| Ok((row.get::<f64>(0)?, row.get::<String>(1)?)),
                    |(old, src)| src == "import" && same(*old, *volume_m3),
                    |(old, src)| {
                        format!(
                            "conflict: {intake_id} on {day} already has a daily volume of {old} m³ (from {}), this row says {volume_m3} m³; the stored figure is kept",
                            if src == "import" {
                                "an earlier import"
                            } else {
                                "meter readings"
                            }
                        )
                    },
                )
            }
        }
    }
}

/// Inserts a row unless its key is taken; then reads the stored value by its key and compares:
/// the same value is a duplicate, another value a conflict described by `describe`.
fn insert_or_compare<T>(
    tx: &dyn Sql,
    (insert, row): (&str, &[Val<'_>]),
    (select, key): (&str, &[Val<'_>]),
    read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    unchanged: impl FnOnce(&T) -> bool,
    describe: impl FnOnce(T) -> String,
) -> Result<Landing, StoreError> {
    if tx.exec(insert, row)? == 1 {
        return Ok(Landing::Stored);
    }
    let stored = tx.one(select, key, read)?;
    Ok(if unchanged(&stored) {
        Landing::Duplicate
    } else {
        Landing::Conflict(describe(stored))
    })
}

/// Values equal up to float noise from text round trips.
pub(crate) fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn conflict(d: &Decoded, r: &Reading, message: String) -> Quarantined {
    let origin = d
        .rejected
        .first()
        .map(|q| q.origin.clone())
        .unwrap_or_else(|| match r {
            Reading::Meter { intake_id, .. } | Reading::DailyVolume { intake_id, .. } => {
                format!("meter/{intake_id}")
            }
            Reading::Level { well_id, .. } => format!("level/{well_id}"),
        });
    Quarantined {
        origin,
        payload: reading_json(r).into_bytes(),
        rejection: Rejection::new(RejectCode::Conflict, message),
    }
}

/// A reading as the JSON element a device would have sent, for a quarantine record.
fn reading_json(r: &Reading) -> String {
    match r {
        Reading::Meter { ts, total_m3, .. } => format!("{{\"ts\":{ts},\"total_m3\":{total_m3}}}"),
        Reading::Level {
            ts,
            depth_m,
            level_m,
            ..
        } => format!("{{\"ts\":{ts},\"depth_m\":{depth_m},\"level_m\":{level_m}}}"),
        Reading::DailyVolume { day, volume_m3, .. } => {
            format!("{{\"day\":\"{day}\",\"volume_m3\":{volume_m3}}}")
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::domain::time::LocalClock;
    use crate::store::{Durability, open_rw};
    use rusqlite::TransactionBehavior;

    /// 2026-03-01 08:00 in Asia/Shanghai.
    const T0: i64 = 1_772_323_200;

    pub(crate) fn settings() -> StoreSettings {
        StoreSettings {
            clock: LocalClock::new("Asia/Shanghai").unwrap(),
            counter: crate::analysis::counter::CounterParams {
                max_flow_m3_per_h: 50.0,
                gap_s: 86_400,
                max_spread_s: 31 * 86_400,
                jitter_m3: 1.0,
            },
            max_flow_m3_per_h: Default::default(),
            quarantine: Default::default(),
            datums: Default::default(),
        }
    }

    fn memory_store() -> Store {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::to_latest(&mut conn).unwrap();
        Store::new(conn, settings())
    }

    fn message(readings: Vec<Reading>) -> Decoded {
        Decoded {
            readings,
            ..Decoded::default()
        }
    }

    fn meter(ts: i64, total_m3: f64) -> Reading {
        Reading::Meter {
            intake_id: "QX-1".into(),
            ts,
            total_m3,
        }
    }

    fn level(ts: i64, depth_m: f64, level_m: f64) -> Reading {
        Reading::Level {
            well_id: "W-1".into(),
            ts,
            depth_m,
            level_m,
            sent: crate::domain::Sent::Both,
        }
    }

    fn apply_one(store: &mut Store, r: Reading) -> Outcome {
        let d = message(vec![r]);
        store.apply(&[&d], T0 + 10, "mqtt").unwrap().remove(0)
    }

    fn one<T: crate::store::sql::Col>(store: &Store, sql: &str) -> T {
        store.sql().value(sql, &[]).unwrap()
    }

    /// A quarantine payload column as text (BLOB in SQLite, BYTEA in PostgreSQL).
    fn payload_text(r: &Row<'_>, i: usize) -> Result<String, StoreError> {
        Ok(String::from_utf8_lossy(&r.get::<Vec<u8>>(i)?).into_owned())
    }

    /// The quarantine rows as (origin, payload, reason_code, reason).
    fn quarantine(store: &Store) -> Vec<(String, String, String, String)> {
        store
            .sql()
            .rows(
                "SELECT origin, payload, reason_code, reason FROM quarantine ORDER BY id",
                &[],
                |r| Ok((r.get(0)?, payload_text(r, 1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    }

    fn a_new_meter_total_is_stored_with_its_receipt(mut store: Store) {
        let out = apply_one(&mut store, meter(T0, 100.0));
        assert_eq!(
            out,
            Outcome {
                stored: 1,
                ..Outcome::default()
            }
        );
        let row: (f64, i64, String) = store
            .sql()
            .one(
                "SELECT total_m3, received_at, source FROM meter_readings WHERE intake_id = 'QX-1' AND ts = ?1",
                vals![T0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, (100.0, T0 + 10, "mqtt".to_string()));
        assert!(quarantine(&store).is_empty());
    }

    fn a_resent_meter_total_is_a_duplicate_and_changes_nothing(mut store: Store) {
        apply_one(&mut store, meter(T0, 100.0));
        apply_one(&mut store, meter(T0 + 3600, 110.0));
        let volume: f64 = one(&store, "SELECT sum(volume_m3) FROM daily_volume");
        // The same value after a text round trip (0.1 + 0.2 ≠ 0.3 in binary) is the same reading.
        let out = apply_one(&mut store, meter(T0 + 3600, 109.9 + 0.1));
        assert_eq!(
            out,
            Outcome {
                duplicates: 1,
                ..Outcome::default()
            }
        );
        // A redelivery inside one batch too.
        let d = message(vec![meter(T0, 100.0), meter(T0, 100.0)]);
        let out = store.apply(&[&d, &d], T0 + 20, "mqtt").unwrap();
        assert!(out.iter().all(|o| o.duplicates == 2 && o.stored == 0));
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM meter_readings"), 2);
        assert_eq!(
            one::<f64>(&store, "SELECT sum(volume_m3) FROM daily_volume"),
            volume
        );
        assert!(quarantine(&store).is_empty());
    }

    fn a_different_meter_total_for_a_stored_key_is_quarantined_as_a_conflict(mut store: Store) {
        apply_one(&mut store, meter(T0, 100.0));
        apply_one(&mut store, meter(T0 + 3600, 110.0));
        let out = apply_one(&mut store, meter(T0 + 3600, 150.0));
        assert_eq!((out.stored, out.duplicates), (0, 0));
        assert_eq!(out.reasons.len(), 1);
        assert_eq!(out.reasons[0].code, RejectCode::Conflict);
        assert_eq!(
            out.reasons[0].message,
            "conflict: QX-1 at 2026-03-01 09:00:00 already has total_m3 = 110, this message says 150; the stored reading is kept"
        );
        assert_eq!(
            quarantine(&store),
            vec![(
                "meter/QX-1".to_string(),
                format!("{{\"ts\":{},\"total_m3\":150}}", T0 + 3600),
                "conflict".to_string(),
                out.reasons[0].message.clone()
            )]
        );
        // The stored reading and its rollup are kept.
        assert_eq!(
            one::<f64>(
                &store,
                "SELECT total_m3 FROM meter_readings ORDER BY ts DESC"
            ),
            110.0
        );
        assert_eq!(
            one::<f64>(&store, "SELECT sum(volume_m3) FROM daily_volume"),
            10.0
        );
    }

    fn a_new_level_reading_is_stored_and_rolled_up(mut store: Store) {
        let out = apply_one(&mut store, level(T0, 42.5, 757.5));
        assert_eq!(out.stored, 1);
        assert_eq!(
            one::<f64>(
                &store,
                "SELECT level_m FROM level_readings WHERE well_id = 'W-1'"
            ),
            757.5
        );
        assert_eq!(
            one::<f64>(
                &store,
                "SELECT mean_level_m FROM daily_level WHERE day = '2026-03-01'"
            ),
            757.5
        );
        assert_eq!(
            one::<i64>(
                &store,
                "SELECT days FROM monthly_level WHERE month = '2026-03'"
            ),
            1
        );
    }

    fn a_resent_level_reading_is_a_duplicate(mut store: Store) {
        apply_one(&mut store, level(T0, 42.5, 757.5));
        let out = apply_one(&mut store, level(T0, 42.5, 757.5));
        assert_eq!(
            out,
            Outcome {
                duplicates: 1,
                ..Outcome::default()
            }
        );
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM level_readings"), 1);
        assert_eq!(one::<i64>(&store, "SELECT n FROM daily_level"), 1);
        assert!(quarantine(&store).is_empty());
    }

    fn a_different_level_for_a_stored_key_is_quarantined_as_a_conflict(mut store: Store) {
        apply_one(&mut store, level(T0, 42.5, 757.5));
        // Depth agrees, level does not: still a conflict.
        let out = apply_one(&mut store, level(T0, 42.5, 758.0));
        assert_eq!((out.stored, out.duplicates), (0, 0));
        assert_eq!(out.reasons[0].code, RejectCode::Conflict);
        assert_eq!(
            out.reasons[0].message,
            "conflict: W-1 at 2026-03-01 08:00:00 already has depth 42.5 m / level 757.5 m, this message says 42.5 m / 758 m; the stored reading is kept"
        );
        let q = quarantine(&store);
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].0.as_str(), q[0].2.as_str()),
            ("level/W-1", "conflict")
        );
        assert_eq!(
            one::<f64>(&store, "SELECT mean_level_m FROM daily_level"),
            757.5
        );
    }

    fn an_imported_day_over_a_metered_day_is_a_conflict_and_a_repeat_import_a_duplicate(
        mut store: Store,
    ) {
        apply_one(&mut store, meter(T0, 100.0));
        apply_one(&mut store, meter(T0 + 3600, 110.0));
        let day = |d: &str, v: f64| Reading::DailyVolume {
            intake_id: "QX-1".into(),
            day: d.parse().unwrap(),
            volume_m3: v,
            estimated: false,
        };
        let out = apply_one(&mut store, day("2026-03-01", 10.0));
        assert_eq!(out.reasons.len(), 1);
        assert!(
            out.reasons[0].message.contains("(from meter readings)"),
            "{}",
            out.reasons[0].message
        );
        assert_eq!(apply_one(&mut store, day("2026-02-01", 5.0)).stored, 1);
        assert_eq!(apply_one(&mut store, day("2026-02-01", 5.0)).duplicates, 1);
        let out = apply_one(&mut store, day("2026-02-01", 6.0));
        assert!(
            out.reasons[0].message.contains("(from an earlier import)"),
            "{}",
            out.reasons[0].message
        );
        assert_eq!(quarantine(&store).len(), 2);
    }

    /// A message with several refusals, decoding's and conflicts, is one quarantine row that
    /// counts them and quotes the first.
    fn a_message_with_many_refusals_is_one_row(mut store: Store) {
        apply_one(&mut store, meter(T0, 100.0));
        let bad = |i: u32| Quarantined {
            origin: "gw/140121/meter/QX-1".into(),
            payload: format!("{i}").into_bytes(),
            rejection: Rejection::new(
                RejectCode::BadField,
                format!("element {i} is not a JSON object"),
            ),
        };
        let mut d = message(vec![meter(T0, 999.0), meter(T0 + 3600, 110.0)]);
        for i in 0..7 {
            d.refuse(|| bad(i));
        }
        let out = store.apply(&[&d], T0 + 10, "mqtt").unwrap().remove(0);
        assert_eq!((out.stored, out.rejected), (1, 8));
        assert_eq!(out.reasons.len(), REJECTIONS_KEPT);
        let row: (String, String, String, String, i64) = store
            .sql()
            .one(
                "SELECT origin, payload, reason_code, reason, elements FROM quarantine",
                &[],
                |r| {
                    Ok((
                        r.get(0)?,
                        payload_text(r, 1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "gw/140121/meter/QX-1".to_string(),
                "0\n1\n2\n3\n4".to_string(),
                "bad_field".to_string(),
                "8 of 9 elements refused: element 0 is not a JSON object; element 1 is not a JSON object; element 2 is not a JSON object; …".to_string(),
                8
            )
        );
        // Only conflicts: the row is still one, and says so.
        let d = message(vec![meter(T0, 1.0), meter(T0 + 3600, 2.0)]);
        let out = store.apply(&[&d], T0 + 20, "mqtt").unwrap().remove(0);
        assert_eq!(out.rejected, 2);
        let (n, elements, reason): (i64, i64, String) = store
            .sql()
            .one(
                "SELECT count(*), max(elements), (SELECT reason FROM quarantine ORDER BY id DESC LIMIT 1) FROM quarantine",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((n, elements), (2, 8));
        assert!(
            reason.starts_with("2 of 2 elements refused: conflict: QX-1"),
            "{reason}"
        );
    }

    /// The tests above on each backend: SQLite in memory, and a PostgreSQL schema of their own.
    macro_rules! on_both_backends {
        ($($name:ident),* $(,)?) => {
            mod on_sqlite {
                $(#[test]
                fn $name() {
                    super::$name(super::memory_store());
                })*
            }
            mod on_postgresql {
                $(#[test]
                fn $name() {
                    let schema = crate::store::sql::testing::PgSchema::new();
                    super::$name(super::Store::new(schema.conn(), super::settings()));
                })*
            }
        };
    }

    on_both_backends!(
        a_new_meter_total_is_stored_with_its_receipt,
        a_resent_meter_total_is_a_duplicate_and_changes_nothing,
        a_different_meter_total_for_a_stored_key_is_quarantined_as_a_conflict,
        a_new_level_reading_is_stored_and_rolled_up,
        a_resent_level_reading_is_a_duplicate,
        a_different_level_for_a_stored_key_is_quarantined_as_a_conflict,
        an_imported_day_over_a_metered_day_is_a_conflict_and_a_repeat_import_a_duplicate,
        a_message_with_many_refusals_is_one_row,
    );

    #[test]
    fn stores_in_two_schemas_of_one_database_do_not_wait_for_each_others_devices() {
        use crate::store::sql::SqlExt;
        let (one, two) = (
            crate::store::sql::testing::PgSchema::new(),
            crate::store::sql::testing::PgSchema::new(),
        );
        let (a, b) = (one.conn(), two.conn());
        a.begin().unwrap();
        lock_devices(&a, ["QX-1"]).unwrap();
        // Without the schema in the key this waits for `a`'s transaction: a second's patience
        // tells the two apart.
        b.exec("SET lock_timeout = '1s'", &[]).unwrap();
        b.begin().unwrap();
        lock_devices(&b, ["QX-1"]).expect("the other schema's lock on QX-1 does not hold this one");
        b.commit().unwrap();
        a.commit().unwrap();
    }

    /// Regression: a deferred write transaction that read first got SQLITE_BUSY at once when
    /// another connection wrote in between, without waiting for the busy timeout.
    #[test]
    fn a_write_waits_for_another_writers_transaction() {
        enum Event {
            Waiting,
            Done(Result<Vec<Outcome>, String>),
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwmon.db");
        let mut store = Store::new(open_rw(&path, Durability::Normal).unwrap(), settings());
        let mut other = open_rw(&path, Durability::Normal).unwrap();

        // The other writer (an import beside the daemon) holds a write transaction.
        let held = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        held.execute(
            "INSERT INTO meter_readings VALUES ('QX-2', ?1, 5.0, ?1, 'import')",
            [T0],
        )
        .unwrap();

        let (events, seen) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        // The busy handler is what the busy timeout installs; this one reports that the store is
        // waiting for the lock and keeps it waiting until the other writer has committed.
        let waiting = events.clone();
        store
            .conn_mut()
            .busy_handler(Some(move |attempt: i32| {
                if attempt == 0 {
                    // Errors here mean the test already failed on the other side.
                    let _ = waiting.send(Event::Waiting);
                    let _ = released.recv();
                }
                attempt < 100
            }))
            .unwrap();
        let writer = std::thread::spawn(move || {
            let d = message(vec![meter(T0, 100.0)]);
            let r = store.apply(&[&d], T0, "mqtt").map_err(|e| e.to_string());
            events.send(Event::Done(r)).unwrap();
            store
        });

        match seen.recv().unwrap() {
            Event::Waiting => {}
            Event::Done(r) => panic!("the write did not wait for the lock: {r:?}"),
        }
        held.commit().unwrap();
        release.send(()).unwrap();
        match seen.recv().unwrap() {
            Event::Done(Ok(out)) => assert_eq!(out[0].stored, 1),
            Event::Done(Err(e)) => panic!("the write failed after waiting: {e}"),
            Event::Waiting => panic!("waited twice"),
        }
        let store = writer.join().unwrap();
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM meter_readings"), 2);
    }
    /// A store that refuses one device's readings for good (here a trigger, standing for a
    /// constraint or a bug): the whole batch fails, message by message the others land and the
    /// refused one becomes a `store_refused` quarantine row naming the device and the error.
    #[test]
    fn a_message_the_store_refuses_for_good_is_set_aside_and_the_others_land() {
        let mut store = memory_store();
        store
            .conn()
            .execute_batch(
                "CREATE TRIGGER poison BEFORE INSERT ON meter_readings WHEN NEW.intake_id = 'QX-9'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )
            .unwrap();
        let of = |id: &str, ts: i64, total: f64| {
            message(vec![Reading::Meter {
                intake_id: id.into(),
                ts,
                total_m3: total,
            }])
        };
        let batch = [
            of("QX-1", T0, 100.0),
            of("QX-9", T0, 5.0),
            of("QX-2", T0, 7.0),
        ];
        let refs: Vec<&Decoded> = batch.iter().collect();
        let err = store.apply(&refs, T0 + 10, "mqtt").unwrap_err();
        assert!(!err.is_transient() && !err.is_fatal(), "{err}");
        let origins = [
            "gw/140121/meter/QX-1",
            "gw/140121/meter/QX-9",
            "gw/140121/meter/QX-2",
        ];
        let out = store
            .apply_each(&refs, |i| origins[i].to_string(), T0 + 10, "mqtt")
            .unwrap();
        assert_eq!(
            out.iter()
                .map(|o| (o.stored, o.rejected))
                .collect::<Vec<_>>(),
            [(1, 0), (0, 1), (1, 0)]
        );
        assert_eq!(out[1].reasons[0].code, RejectCode::StoreRefused);
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM meter_readings"), 2);
        let q = quarantine(&store);
        assert_eq!(q.len(), 1);
        let (origin, payload, code, reason) = &q[0];
        assert_eq!(origin, "gw/140121/meter/QX-9");
        assert_eq!(payload, &format!("{{\"ts\":{T0},\"total_m3\":5}}"));
        assert_eq!(code, "store_refused");
        assert!(
            reason.contains("QX-9") && reason.contains("injected failure"),
            "{reason}"
        );
        // The refused reading is not stored, so its redelivery is refused again, not lost in a
        // wedge: the next batch with it goes through the same way.
        let out = store
            .apply_each(&refs[1..2], |_| origins[1].to_string(), T0 + 20, "mqtt")
            .unwrap();
        assert_eq!(out[0].rejected, 1);
    }
}
