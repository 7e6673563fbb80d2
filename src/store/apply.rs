//! Applying decoded batches: raw inserts with duplicate/conflict detection, then recomputation of
//! the daily tables for exactly the days the new readings affect, all in one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::analysis::counter::{
    CounterParams, DayShare, Interval, IntervalKind, Point, apportion, interval, intervals,
    rate_for_next,
};
use crate::config::Config;
use crate::domain::time::month_key;
use crate::domain::{Decoded, Quarantined, Reading, RejectCode, Rejection};

use super::StoreError;

/// What became of one message (or imported row) once its batch was committed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// New readings stored.
    pub stored: u32,
    /// Readings already stored with the same value (redelivery): no-ops.
    pub duplicates: u32,
    /// Everything quarantined: decode rejections and conflicts.
    pub rejected: Vec<Rejection>,
}

/// Inserted meter readings closer than this are recomputed as one range.
const CLUSTER_GAP_S: i64 = 2 * 86_400;

/// The writer's side of the database.
pub struct Store {
    conn: Connection,
    cfg: Arc<Config>,
    /// Per-intake counter state at the frontier, so that readings arriving in time order (the
    /// live case) are applied as increments instead of recomputing their days from the table.
    frontier: HashMap<String, Frontier>,
    /// `PRAGMA data_version` when `frontier` was last known valid: another connection's commit
    /// (an import running beside the daemon) changes it, and the cache is dropped.
    data_version: i64,
}

/// What the incremental path needs to know about an intake.
#[derive(Clone, Debug)]
struct Frontier {
    /// The latest reading.
    last: Option<Point>,
    /// Flow passed on to a following replacement estimate.
    rate: Option<f64>,
    /// The latest daily row: day, running yearly sums, and whether it is meter-derived.
    row: Option<(Date, f64, f64, bool)>,
}

impl Store {
    pub(crate) fn new(conn: Connection, cfg: Arc<Config>) -> Self {
        Self {
            conn,
            cfg,
            frontier: HashMap::new(),
            data_version: -1,
        }
    }

    /// The underlying connection (for queries on the writer's thread, e.g. in tests).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Applies a batch in one transaction. `source` is stored with each reading (`mqtt`,
    /// `import`). Returns one outcome per input, in order.
    pub fn apply(
        &mut self,
        batch: &[&Decoded],
        received_at: i64,
        source: &str,
    ) -> Result<Vec<Outcome>, StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?;
        if version != self.data_version {
            self.frontier.clear();
            self.data_version = version;
        }
        let result = self.apply_inner(batch, received_at, source);
        if result.is_err() {
            // The transaction rolled back: the cached frontier may be ahead of the table.
            self.frontier.clear();
        }
        result
    }

    fn apply_inner(
        &mut self,
        batch: &[&Decoded],
        received_at: i64,
        source: &str,
    ) -> Result<Vec<Outcome>, StoreError> {
        let cfg = Arc::clone(&self.cfg);
        let tx = self.conn.transaction()?;
        // Frontier state of the intakes in this batch, read before their new readings land.
        for d in batch {
            for r in &d.readings {
                if let Reading::Meter { intake_id, .. } = r
                    && !self.frontier.contains_key(intake_id)
                {
                    let f = load_frontier(&tx, &cfg, intake_id)?;
                    self.frontier.insert(intake_id.clone(), f);
                }
            }
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut touched_meters: HashMap<&str, Vec<Point>> = HashMap::new();
        let mut touched_levels: BTreeSet<(&str, Date)> = BTreeSet::new();
        let mut touched_imports: HashMap<&str, (Date, Date)> = HashMap::new();
        {
            let mut ins_meter = tx.prepare_cached(
                "INSERT OR IGNORE INTO meter_readings (intake_id, ts, total_m3, received_at, source) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut get_meter = tx.prepare_cached(
                "SELECT total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts = ?2",
            )?;
            let mut ins_level = tx.prepare_cached(
                "INSERT OR IGNORE INTO level_readings (well_id, ts, depth_m, level_m, received_at, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut get_level = tx.prepare_cached(
                "SELECT depth_m, level_m FROM level_readings WHERE well_id = ?1 AND ts = ?2",
            )?;
            let mut ins_daily = tx.prepare_cached(
                "INSERT OR IGNORE INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, source) VALUES (?1, ?2, ?3, 0, 0, 86400, 'import')",
            )?;
            let mut get_daily = tx.prepare_cached(
                "SELECT volume_m3, source FROM daily_volume WHERE intake_id = ?1 AND day = ?2",
            )?;
            let mut ins_q = tx.prepare_cached(
                "INSERT INTO quarantine (received_at, origin, payload, reason_code, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut quarantine = |q: &Quarantined| -> Result<(), StoreError> {
                ins_q.execute(params![
                    received_at,
                    q.origin,
                    q.payload,
                    q.rejection.code.as_str(),
                    q.rejection.message
                ])?;
                Ok(())
            };

            for d in batch {
                let mut out = Outcome::default();
                for q in &d.rejected {
                    quarantine(q)?;
                    out.rejected.push(q.rejection.clone());
                }
                for r in &d.readings {
                    match r {
                        Reading::Meter {
                            intake_id,
                            ts,
                            total_m3,
                        } => {
                            if ins_meter.execute(params![
                                intake_id,
                                ts,
                                total_m3,
                                received_at,
                                source
                            ])? == 1
                            {
                                out.stored += 1;
                                touched_meters
                                    .entry(intake_id.as_str())
                                    .or_default()
                                    .push(Point {
                                        ts: *ts,
                                        total_m3: *total_m3,
                                    });
                                continue;
                            }
                            let old: f64 =
                                get_meter.query_row(params![intake_id, ts], |r| r.get(0))?;
                            if same(old, *total_m3) {
                                out.duplicates += 1;
                            } else {
                                let q = conflict(
                                    d,
                                    r,
                                    format!(
                                        "conflict: {intake_id} at {} already has total_m3 = {old}, this message says {total_m3}; the stored reading is kept",
                                        cfg.clock.format(*ts)
                                    ),
                                );
                                quarantine(&q)?;
                                out.rejected.push(q.rejection);
                            }
                        }
                        Reading::Level {
                            well_id,
                            ts,
                            depth_m,
                            level_m,
                        } => {
                            if ins_level.execute(params![
                                well_id,
                                ts,
                                depth_m,
                                level_m,
                                received_at,
                                source
                            ])? == 1
                            {
                                out.stored += 1;
                                touched_levels.insert((well_id.as_str(), cfg.clock.day_of(*ts)));
                                continue;
                            }
                            let (od, ol): (f64, f64) = get_level
                                .query_row(params![well_id, ts], |r| Ok((r.get(0)?, r.get(1)?)))?;
                            if same(od, *depth_m) && same(ol, *level_m) {
                                out.duplicates += 1;
                            } else {
                                let q = conflict(
                                    d,
                                    r,
                                    format!(
                                        "conflict: {well_id} at {} already has depth {od} m / level {ol} m, this message says {depth_m} m / {level_m} m; the stored reading is kept",
                                        cfg.clock.format(*ts)
                                    ),
                                );
                                quarantine(&q)?;
                                out.rejected.push(q.rejection);
                            }
                        }
                        Reading::DailyVolume {
                            intake_id,
                            day,
                            volume_m3,
                        } => {
                            let day_s = day.to_string();
                            if ins_daily.execute(params![intake_id, day_s, volume_m3])? == 1 {
                                out.stored += 1;
                                let e = touched_imports
                                    .entry(intake_id.as_str())
                                    .or_insert((*day, *day));
                                e.0 = e.0.min(*day);
                                e.1 = e.1.max(*day);
                                continue;
                            }
                            let (old, src): (f64, String) = get_daily
                                .query_row(params![intake_id, day_s], |r| {
                                    Ok((r.get(0)?, r.get(1)?))
                                })?;
                            if src == "import" && same(old, *volume_m3) {
                                out.duplicates += 1;
                            } else {
                                let q = conflict(
                                    d,
                                    r,
                                    format!(
                                        "conflict: {intake_id} on {day} already has a daily volume of {old} m³ (from {}), this row says {volume_m3} m³; the stored figure is kept",
                                        if src == "import" {
                                            "an earlier import"
                                        } else {
                                            "meter readings"
                                        }
                                    ),
                                );
                                quarantine(&q)?;
                                out.rejected.push(q.rejection);
                            }
                        }
                    }
                }
                outcomes.push(out);
            }
        }

        for (intake, mut points) in touched_meters {
            points.sort_unstable_by_key(|p| p.ts);
            if let Some(f) = self.frontier.get_mut(intake)
                && appends(f, &points, &cfg)
            {
                append_meter(&tx, &cfg, intake, f, &points)?;
                continue;
            }
            self.frontier.remove(intake);
            let stamps: Vec<i64> = points.iter().map(|p| p.ts).collect();
            let mut start = stamps[0];
            let mut prev = stamps[0];
            for &t in &stamps[1..] {
                if t - prev > CLUSTER_GAP_S {
                    if let Some((d0, d1)) = recompute_meter(&tx, &cfg, intake, start, prev)? {
                        roll_up_volume(&tx, intake, d0, d1)?;
                    }
                    start = t;
                }
                prev = t;
            }
            if let Some((d0, d1)) = recompute_meter(&tx, &cfg, intake, start, prev)? {
                roll_up_volume(&tx, intake, d0, d1)?;
            }
        }
        for (intake, (d0, d1)) in touched_imports {
            roll_up_volume(&tx, intake, d0, d1)?;
        }
        if !touched_levels.is_empty() {
            let mut upd = tx.prepare_cached(
                "INSERT INTO daily_level (well_id, day, mean_level_m, min_level_m, max_level_m, mean_depth_m, n)
                 SELECT ?1, ?2, avg(level_m), min(level_m), max(level_m), avg(depth_m), count(*)
                 FROM level_readings WHERE well_id = ?1 AND ts >= ?3 AND ts < ?4
                 ON CONFLICT (well_id, day) DO UPDATE SET
                   mean_level_m = excluded.mean_level_m, min_level_m = excluded.min_level_m,
                   max_level_m = excluded.max_level_m, mean_depth_m = excluded.mean_depth_m, n = excluded.n",
            )?;
            let mut months = BTreeSet::new();
            for (well, day) in touched_levels {
                upd.execute(params![
                    well,
                    day.to_string(),
                    cfg.clock.day_start(day),
                    cfg.clock.day_end(day)
                ])?;
                months.insert((well, month_key(day)));
            }
            let mut m = tx.prepare_cached(
                "INSERT INTO monthly_level (well_id, month, mean_level_m, mean_depth_m, days)
                 SELECT ?1, ?2, avg(mean_level_m), avg(mean_depth_m), count(*)
                 FROM daily_level WHERE well_id = ?1 AND day >= ?2 || '-01' AND day <= ?2 || '-31'
                 ON CONFLICT (well_id, month) DO UPDATE SET
                   mean_level_m = excluded.mean_level_m, mean_depth_m = excluded.mean_depth_m,
                   days = excluded.days",
            )?;
            for (well, month) in months {
                m.execute(params![well, month])?;
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }
}

/// Values equal up to float noise from text round trips.
fn same(a: f64, b: f64) -> bool {
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
    let payload = match r {
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
    };
    Quarantined {
        origin,
        payload: payload.into_bytes(),
        rejection: Rejection::new(RejectCode::Conflict, message),
    }
}

/// Reads an intake's frontier: its last reading, the rate of its last interval, its last daily row.
fn load_frontier(tx: &Transaction<'_>, cfg: &Config, intake: &str) -> Result<Frontier, StoreError> {
    let mut last_two = points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 ORDER BY ts DESC LIMIT 2",
        params![intake],
    )?;
    last_two.reverse();
    let rate = match last_two.as_slice() {
        [a, b] => rate_for_next(&interval(*a, *b, None, &counter_params(cfg, intake))),
        _ => None,
    };
    let row = tx
        .prepare_cached(
            "SELECT day, cum_year_m3, cum_year_est_m3, source FROM daily_volume
             WHERE intake_id = ?1 ORDER BY day DESC LIMIT 1",
        )?
        .query_row(params![intake], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?
        .and_then(|(d, c, e, s)| d.parse::<Date>().ok().map(|d| (d, c, e, s == "meter")));
    Ok(Frontier {
        last: last_two.last().copied(),
        rate,
        row,
    })
}

/// True when `points` (sorted) all lie after the intake's last reading and its daily rows end
/// where that reading's interval ends, so they can be applied as increments.
fn appends(f: &Frontier, points: &[Point], cfg: &Config) -> bool {
    let after_last = f.last.is_none_or(|l| points[0].ts > l.ts);
    let rows_ok = match (f.row, f.last) {
        (None, _) => true,
        (Some((day, _, _, is_meter)), Some(l)) => is_meter && day <= cfg.clock.day_of(l.ts),
        (Some(_), None) => false,
    };
    after_last && rows_ok
}

/// The incremental path: intervals from the frontier through the new points, their shares
/// added to the daily rows (new rows continue the running yearly sums) and to the months.
fn append_meter(
    tx: &Transaction<'_>,
    cfg: &Config,
    intake: &str,
    f: &mut Frontier,
    new: &[Point],
) -> Result<(), StoreError> {
    let p = counter_params(cfg, intake);
    let mut ivs = Vec::with_capacity(new.len());
    let mut prev = f.last;
    for &pt in new {
        if let Some(a) = prev {
            let iv = interval(a, pt, f.rate, &p);
            f.rate = rate_for_next(&iv);
            ivs.push(iv);
        }
        prev = Some(pt);
    }
    f.last = prev;
    let mut days: BTreeMap<Date, DayAcc> = BTreeMap::new();
    let mut shares = Vec::new();
    for iv in &ivs {
        shares.clear();
        apportion(iv, &cfg.clock, &mut shares);
        for sh in &shares {
            days.entry(sh.day).or_default().add(sh);
        }
    }
    let mut add_existing = tx.prepare_cached(
        "UPDATE daily_volume SET volume_m3 = volume_m3 + ?3, estimated_m3 = estimated_m3 + ?4,
           flagged_m3 = flagged_m3 + ?5, covered_s = covered_s + ?6,
           cum_year_m3 = cum_year_m3 + ?3, cum_year_est_m3 = cum_year_est_m3 + ?4
         WHERE intake_id = ?1 AND day = ?2",
    )?;
    let mut insert_new = tx.prepare_cached(
        "INSERT INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, source, cum_year_m3, cum_year_est_m3)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'meter', ?7, ?8)",
    )?;
    let mut months: BTreeMap<String, (DayAcc, i64)> = BTreeMap::new();
    for (day, a) in &days {
        let is_new = match f.row {
            Some((row_day, cum, est, _)) if row_day == *day => {
                add_existing.execute(params![
                    intake,
                    day.to_string(),
                    a.volume,
                    a.estimated,
                    a.flagged,
                    a.covered
                ])?;
                f.row = Some((row_day, cum + a.volume, est + a.estimated, true));
                false
            }
            row => {
                let (cum, est) = match row {
                    Some((d, c, e, _)) if d.year() == day.year() => (c + a.volume, e + a.estimated),
                    _ => (a.volume, a.estimated),
                };
                insert_new.execute(params![
                    intake,
                    day.to_string(),
                    a.volume,
                    a.estimated,
                    a.flagged,
                    a.covered,
                    cum,
                    est
                ])?;
                f.row = Some((*day, cum, est, true));
                true
            }
        };
        let m = months.entry(month_key(*day)).or_default();
        m.0.volume += a.volume;
        m.0.estimated += a.estimated;
        m.0.flagged += a.flagged;
        m.1 += i64::from(is_new);
    }
    let mut up = tx.prepare_cached(
        "INSERT INTO monthly_volume (intake_id, month, volume_m3, estimated_m3, flagged_m3, days)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (intake_id, month) DO UPDATE SET
           volume_m3 = volume_m3 + excluded.volume_m3, estimated_m3 = estimated_m3 + excluded.estimated_m3,
           flagged_m3 = flagged_m3 + excluded.flagged_m3, days = days + excluded.days",
    )?;
    for (month, (a, new_days)) in &months {
        up.execute(params![
            intake,
            month,
            a.volume,
            a.estimated,
            a.flagged,
            new_days
        ])?;
    }
    record_events(tx, intake, &ivs, &p)
}

/// Shares of intervals summed for one day.
#[derive(Default)]
struct DayAcc {
    volume: f64,
    estimated: f64,
    flagged: f64,
    covered: i64,
}

impl DayAcc {
    fn add(&mut self, sh: &DayShare) {
        self.volume += sh.volume_m3;
        if sh.estimated {
            self.estimated += sh.volume_m3;
        }
        if sh.flagged {
            self.flagged += sh.volume_m3;
        }
        self.covered += sh.seconds;
    }
}

/// Brings `cum_year_*` and `monthly_volume` of one intake up to date after its daily rows in
/// `[d0, d1]` changed: running sums from `d0` to the end of `d1`'s year, month sums for the months
/// of `[d0, d1]`.
fn roll_up_volume(
    tx: &Transaction<'_>,
    intake: &str,
    d0: Date,
    d1: Date,
) -> Result<(), StoreError> {
    let year_start = |d: Date| format!("{:04}-01-01", d.year());
    let (mut cum, mut cum_est): (f64, f64) = tx
        .prepare_cached(
            "SELECT cum_year_m3, cum_year_est_m3 FROM daily_volume
             WHERE intake_id = ?1 AND day < ?2 AND day >= ?3 ORDER BY day DESC LIMIT 1",
        )?
        .query_row(params![intake, d0.to_string(), year_start(d0)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0.0, 0.0));
    let rows: Vec<(String, f64, f64, f64, f64)> = tx
        .prepare_cached(
            "SELECT day, volume_m3, estimated_m3, cum_year_m3, cum_year_est_m3 FROM daily_volume
             WHERE intake_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
        )?
        .query_map(
            params![intake, d0.to_string(), format!("{:04}-12-31", d1.year())],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?
        .collect::<Result<_, _>>()?;
    let mut upd = tx.prepare_cached(
        "UPDATE daily_volume SET cum_year_m3 = ?3, cum_year_est_m3 = ?4 WHERE intake_id = ?1 AND day = ?2",
    )?;
    let mut year = d0.year();
    for (day, v, e, old, old_e) in rows {
        let y: i16 = day[..4].parse().unwrap_or(year);
        if y != year {
            year = y;
            cum = 0.0;
            cum_est = 0.0;
        }
        cum += v;
        cum_est += e;
        if old != cum || old_e != cum_est {
            upd.execute(params![intake, day, cum, cum_est])?;
        }
    }
    let mut m = tx.prepare_cached(
        "INSERT INTO monthly_volume (intake_id, month, volume_m3, estimated_m3, flagged_m3, days)
         SELECT ?1, ?2, sum(volume_m3), sum(estimated_m3), sum(flagged_m3), count(*)
         FROM daily_volume WHERE intake_id = ?1 AND day >= ?2 || '-01' AND day <= ?2 || '-31'
         ON CONFLICT (intake_id, month) DO UPDATE SET
           volume_m3 = excluded.volume_m3, estimated_m3 = excluded.estimated_m3,
           flagged_m3 = excluded.flagged_m3, days = excluded.days",
    )?;
    let mut month = d0.first_of_month();
    while month <= d1 {
        m.execute(params![intake, month_key(month)])?;
        match month.checked_add(jiff::ToSpan::month(1)) {
            Ok(next) => month = next,
            Err(_) => break,
        }
    }
    Ok(())
}

/// Records the counter events (resets, replacements, jitter, spikes) of `ivs`.
fn record_events(
    tx: &Transaction<'_>,
    intake: &str,
    ivs: &[Interval],
    p: &CounterParams,
) -> Result<(), StoreError> {
    let mut ev = tx.prepare_cached(
        "INSERT OR REPLACE INTO meter_events (intake_id, ts, kind, prev_ts, prev_total, total, volume_m3, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for iv in ivs {
        let mut record = |kind: &str, detail: String| {
            ev.execute(params![
                intake,
                iv.end,
                kind,
                iv.start,
                iv.start_total,
                iv.end_total,
                iv.volume_m3,
                detail
            ])
        };
        if let Some(kind) = iv.kind.event_name() {
            let detail = match iv.kind {
                IntervalKind::Reset => format!(
                    "total fell from {} to {} m³: counter reset, {} m³ counted from zero",
                    iv.start_total, iv.end_total, iv.end_total
                ),
                IntervalKind::Replacement if iv.volume_m3 > 0.0 => format!(
                    "total fell from {} to {} m³: meter replaced; {:.3} m³ estimated from the previous rate",
                    iv.start_total, iv.end_total, iv.volume_m3
                ),
                IntervalKind::Replacement => format!(
                    "total fell from {} to {} m³: meter replaced; volume across the change unknown (no previous rate)",
                    iv.start_total, iv.end_total
                ),
                _ => format!(
                    "total stepped back from {} to {} m³ (within the jitter tolerance): zero volume",
                    iv.start_total, iv.end_total
                ),
            };
            record(kind, detail)?;
        }
        if iv.flagged {
            record(
                "spike",
                format!(
                    "{:.3} m³ in {} s is {:.1} m³/h, above the plausible maximum of {} m³/h: kept and flagged",
                    iv.volume_m3,
                    iv.end - iv.start,
                    iv.flow_m3_per_h(),
                    p.max_flow_m3_per_h
                ),
            )?;
        }
    }
    Ok(())
}

/// Counter parameters for an intake.
pub fn counter_params(cfg: &Config, intake_id: &str) -> CounterParams {
    CounterParams {
        max_flow_m3_per_h: cfg
            .registry
            .intake(intake_id)
            .map_or(cfg.ingest.default_max_flow_m3_per_h, |i| {
                i.max_flow_m3_per_h
            }),
        gap_s: (cfg.ingest.gap_hours * 3600.0) as i64,
        jitter_m3: cfg.ingest.counter_jitter_m3,
    }
}

fn points(
    tx: &Transaction<'_>,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Point>, StoreError> {
    let mut st = tx.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| {
        Ok(Point {
            ts: r.get(0)?,
            total_m3: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Recomputes `daily_volume` and `meter_events` of one intake for every day whose volume can
/// change because readings with timestamps in `[t0, t1]` were inserted: from the reading before
/// `t0` to the second reading after `t1` (a replacement's estimate depends on the interval before
/// it).
fn recompute_meter(
    tx: &Transaction<'_>,
    cfg: &Config,
    intake: &str,
    t0: i64,
    t1: i64,
) -> Result<Option<(Date, Date)>, StoreError> {
    let before: Option<i64> = tx
        .prepare_cached(
            "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 1",
        )?
        .query_row(params![intake, t0], |r| r.get(0))
        .optional()?;
    let after: Option<i64> = tx
        .prepare_cached(
            "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts > ?2 ORDER BY ts LIMIT 1 OFFSET 1",
        )?
        .query_row(params![intake, t1], |r| r.get(0))
        .optional()?;
    let after = match after {
        Some(a) => Some(a),
        None => tx
            .prepare_cached(
                "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts > ?2 ORDER BY ts LIMIT 1",
            )?
            .query_row(params![intake, t1], |r| r.get(0))
            .optional()?,
    };
    let clock = &cfg.clock;
    let first_day = clock.day_of(before.unwrap_or(t0));
    let last_day = clock.day_of(after.unwrap_or(t1) - 1).max(first_day);
    let s = clock.day_start(first_day);
    let e = clock.day_end(last_day);

    // Two readings before the window (the interval into the window and its predecessor's rate),
    // all inside, and the first at or after its end.
    let mut pts = points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 2",
        params![intake, s],
    )?;
    pts.reverse();
    pts.extend(points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
        params![intake, s, e],
    )?);
    pts.extend(points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts >= ?2 ORDER BY ts LIMIT 1",
        params![intake, e],
    )?);

    let params_ = counter_params(cfg, intake);
    let ivs: Vec<Interval> = intervals(&pts, None, &params_)
        .into_iter()
        .filter(|iv| iv.end > s && iv.start < e)
        .collect();
    if ivs.is_empty() {
        return Ok(None);
    }

    let mut days: BTreeMap<Date, DayAcc> = BTreeMap::new();
    let mut shares: Vec<DayShare> = Vec::new();
    for iv in &ivs {
        shares.clear();
        apportion(iv, clock, &mut shares);
        for sh in &shares {
            if sh.day < first_day || sh.day > last_day {
                continue;
            }
            days.entry(sh.day).or_default().add(sh);
        }
    }
    let mut up = tx.prepare_cached(
        "INSERT INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'meter')
         ON CONFLICT (intake_id, day) DO UPDATE SET
           volume_m3 = excluded.volume_m3, estimated_m3 = excluded.estimated_m3,
           flagged_m3 = excluded.flagged_m3, covered_s = excluded.covered_s
         WHERE daily_volume.source = 'meter'",
    )?;
    for (day, d) in &days {
        up.execute(params![
            intake,
            day.to_string(),
            d.volume,
            d.estimated,
            d.flagged,
            d.covered
        ])?;
    }

    // Events of the recomputed intervals replace whatever was recorded for them before.
    let lo = ivs.first().map_or(0, |iv| iv.end);
    let hi = ivs.last().map_or(0, |iv| iv.end);
    tx.prepare_cached("DELETE FROM meter_events WHERE intake_id = ?1 AND ts BETWEEN ?2 AND ?3")?
        .execute(params![intake, lo, hi])?;
    record_events(tx, intake, &ivs, &params_)?;
    Ok(days
        .keys()
        .next()
        .copied()
        .zip(days.keys().next_back().copied()))
}
