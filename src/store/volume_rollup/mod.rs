//! The derived tables — daily, monthly and running yearly volumes, daily and monthly levels —
//! kept current as raw readings land, inside the batch's transaction.
//!
//! Meter readings that extend an intake's history in time order (the live case) are added as
//! increments from a cached [`Frontier`]. Anything else (late, out of order, history) recomputes
//! the days whose intervals the new readings change, then the running yearly sums and the months
//! from there. Level readings recompute the days and months they fall on (`level_rollup`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::sql::{Sql, SqlExt};
use crate::vals;
use jiff::civil::Date;

use crate::analysis::counter::{
    CounterParams, DayShare, Interval, IntervalKind, Point, Swap, apportion, interval,
    intervals_with, rate_for_next,
};
use crate::domain::time::month_key;
use crate::domain::{Decoded, LocalClock, Reading};

use super::{StoreError, StoreSettings};

mod append;

use append::{append_meter, appends, load_frontier, load_frontiers_at_once};

/// Inserted meter readings closer than this are recomputed as one range.
const CLUSTER_GAP_S: i64 = 2 * 86_400;

/// What the incremental path needs to know about an intake.
#[derive(Clone, Debug)]
pub(super) struct Frontier {
    /// The latest reading.
    last: Option<Point>,
    /// Flow passed on to a following replacement estimate.
    rate: Option<f64>,
    /// The latest daily row: day, running yearly sums, and whether it is meter-derived.
    row: Option<(Date, f64, f64, bool)>,
}

/// Cached frontiers by intake id.
pub(super) type Frontiers = HashMap<String, Frontier>;

/// What a batch's newly stored readings touch.
#[derive(Default)]
pub(super) struct Touched<'a> {
    /// New meter readings per intake, in arrival order.
    meters: HashMap<&'a str, Vec<Point>>,
    /// Wells and the local days of their new level readings.
    levels: BTreeSet<(&'a str, Date)>,
    /// First and last day of each intake's newly imported daily volumes.
    imports: HashMap<&'a str, (Date, Date)>,
}

impl<'a> Touched<'a> {
    /// Notes a reading that was stored.
    pub(super) fn add(&mut self, r: &'a Reading, clock: &LocalClock) {
        match r {
            Reading::Meter {
                intake_id,
                ts,
                total_m3,
            } => self
                .meters
                .entry(intake_id.as_str())
                .or_default()
                .push(Point {
                    ts: *ts,
                    total_m3: *total_m3,
                }),
            Reading::Level { well_id, ts, .. } => {
                self.levels.insert((well_id.as_str(), clock.day_of(*ts)));
            }
            Reading::DailyVolume { intake_id, day, .. } => {
                let e = self
                    .imports
                    .entry(intake_id.as_str())
                    .or_insert((*day, *day));
                e.0 = e.0.min(*day);
                e.1 = e.1.max(*day);
            }
        }
    }
}

/// Reads the frontier of each intake in the batch that has none cached, before the batch's
/// readings land.
pub(super) fn load_frontiers(
    tx: &dyn Sql,
    settings: &StoreSettings,
    cache: &mut Frontiers,
    batch: &[&Decoded],
) -> Result<(), StoreError> {
    if tx.dialect() == super::sql::Dialect::Postgres {
        let mut missing: Vec<&str> = batch
            .iter()
            .flat_map(|d| &d.readings)
            .filter_map(|r| match r {
                Reading::Meter { intake_id, .. } if !cache.contains_key(intake_id) => {
                    Some(intake_id.as_str())
                }
                _ => None,
            })
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let loaded = load_frontiers_at_once(tx, settings, &missing)?;
            for (id, f) in missing.into_iter().zip(loaded) {
                cache.insert(id.to_string(), f);
            }
        }
        return Ok(());
    }
    for d in batch {
        for r in &d.readings {
            if let Reading::Meter { intake_id, .. } = r
                && !cache.contains_key(intake_id)
            {
                let f = load_frontier(tx, settings, intake_id)?;
                cache.insert(intake_id.clone(), f);
            }
        }
    }
    Ok(())
}

/// Brings every table derived from the touched readings up to date.
pub(super) fn roll_up(
    tx: &dyn Sql,
    settings: &StoreSettings,
    cache: &mut Frontiers,
    touched: Touched<'_>,
) -> Result<(), StoreError> {
    // Replacements entered by hand are rare: looked up per intake only when there are any.
    let any_swaps = !touched.meters.is_empty()
        && tx.value::<bool>("SELECT EXISTS (SELECT 1 FROM meter_replacements)", &[])?;
    for (intake, points) in touched.meters {
        let swaps = if any_swaps {
            swaps_of(tx, intake)?
        } else {
            Vec::new()
        };
        roll_up_meter(tx, settings, cache, intake, points, &swaps)?;
    }
    for (intake, (d0, d1)) in touched.imports {
        roll_up_volume(tx, intake, d0, d1)?;
    }
    super::level_rollup::roll_up_levels(tx, &settings.clock, touched.levels)
}

/// Applies one intake's new readings: as increments when they extend its frontier, otherwise by
/// recomputing around each cluster of them, so that one late reading years back does not
/// recompute everything since.
fn roll_up_meter(
    tx: &dyn Sql,
    settings: &StoreSettings,
    cache: &mut Frontiers,
    intake: &str,
    mut points: Vec<Point>,
    swaps: &[Swap],
) -> Result<(), StoreError> {
    points.sort_unstable_by_key(|p| p.ts);
    if let Some(f) = cache.get_mut(intake)
        && appends(f, &points, &settings.clock)
        // A replacement after the last reading: the recompute path knows it.
        && !swaps.iter().any(|s| f.last.is_none_or(|l| s.at > l.ts))
    {
        return append_meter(tx, settings, intake, f, &points);
    }
    cache.remove(intake);
    let mut start = points[0].ts;
    let mut prev = start;
    for p in &points[1..] {
        if p.ts - prev > CLUSTER_GAP_S {
            recompute_range(tx, settings, intake, start, prev)?;
            start = p.ts;
        }
        prev = p.ts;
    }
    recompute_range(tx, settings, intake, start, prev)
}

/// The replacements entered by hand for `intake`, in time order.
fn swaps_of(tx: &dyn Sql, intake: &str) -> Result<Vec<Swap>, StoreError> {
    tx.rows(
        "SELECT at, old_final, new_start FROM meter_replacements WHERE intake_id = ?1 ORDER BY at",
        vals![intake],
        |r| {
            Ok(Swap {
                at: r.get(0)?,
                old_final: r.get(1)?,
                new_start: r.get(2)?,
            })
        },
    )
}

/// Records a replacement entered by hand and recomputes the days around it.
pub(super) fn enter_replacement(
    tx: &dyn Sql,
    settings: &StoreSettings,
    cache: &mut Frontiers,
    intake: &str,
    swap: Swap,
    now: i64,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO meter_replacements (intake_id, at, old_final, new_start, entered_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (intake_id, at) DO UPDATE SET old_final = excluded.old_final,
           new_start = excluded.new_start, entered_at = excluded.entered_at",
        vals![intake, swap.at, swap.old_final, swap.new_start, now],
    )?;
    cache.remove(intake);
    recompute_range(tx, settings, intake, swap.at, swap.at)
}

/// Recomputes the days around readings in `[t0, t1]`, then the sums that run on from them.
fn recompute_range(
    tx: &dyn Sql,
    settings: &StoreSettings,
    intake: &str,
    t0: i64,
    t1: i64,
) -> Result<(), StoreError> {
    if let Some((d0, d1)) = recompute_meter(tx, settings, intake, t0, t1)? {
        roll_up_volume(tx, intake, d0, d1)?;
    }
    Ok(())
}

/// Shares of intervals summed for one day.
#[derive(Default)]
struct DayAcc {
    volume: f64,
    estimated: f64,
    flagged: f64,
    covered: i64,
    /// Seconds covered by measured (not estimated) intervals: the day reported when > 0.
    measured: i64,
}

impl DayAcc {
    fn add(&mut self, sh: &DayShare) {
        self.volume += sh.volume_m3;
        if sh.estimated {
            self.estimated += sh.volume_m3;
        } else {
            self.measured += sh.seconds;
        }
        if sh.flagged {
            self.flagged += sh.volume_m3;
        }
        self.covered += sh.seconds;
    }
}

/// The intervals' shares summed per local day, for the days `keep` accepts.
fn day_sums(
    ivs: &[Interval],
    clock: &LocalClock,
    keep: impl Fn(Date) -> bool,
) -> BTreeMap<Date, DayAcc> {
    let mut days: BTreeMap<Date, DayAcc> = BTreeMap::new();
    let mut shares: Vec<DayShare> = Vec::new();
    for iv in ivs {
        shares.clear();
        apportion(iv, clock, &mut shares);
        for sh in &shares {
            if keep(sh.day) {
                days.entry(sh.day).or_default().add(sh);
            }
        }
    }
    days
}

/// Brings `cum_year_*` and `monthly_volume` of one intake up to date after its daily rows in
/// `[d0, d1]` changed: running sums from `d0` to the end of `d1`'s year, month sums for the months
/// of `[d0, d1]`.
fn roll_up_volume(tx: &dyn Sql, intake: &str, d0: Date, d1: Date) -> Result<(), StoreError> {
    let year_start = |d: Date| format!("{:04}-01-01", d.year());
    let (d0s, y0) = (d0.to_string(), year_start(d0));
    let (mut cum, mut cum_est): (f64, f64) = tx
        .opt(
            "SELECT cum_year_m3, cum_year_est_m3 FROM daily_volume
             WHERE intake_id = ?1 AND day < ?2 AND day >= ?3 ORDER BY day DESC LIMIT 1",
            vals![intake, &d0s, &y0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .unwrap_or((0.0, 0.0));
    let y1 = format!("{:04}-12-31", d1.year());
    let rows: Vec<(String, f64, f64, f64, f64)> = tx.rows(
        "SELECT day, volume_m3, estimated_m3, cum_year_m3, cum_year_est_m3 FROM daily_volume
         WHERE intake_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
        vals![intake, &d0s, &y1],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
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
            tx.exec(
                "UPDATE daily_volume SET cum_year_m3 = ?3, cum_year_est_m3 = ?4 WHERE intake_id = ?1 AND day = ?2",
                vals![intake, &day, cum, cum_est],
            )?;
        }
    }
    // A month can be left without daily rows (its readings all removed, or older stores whose
    // long gaps were on no day). Such a month gets no row (the aggregate of no rows is one row of
    // NULLs, which the table refuses), and a row it had is removed.
    let mut month = d0.first_of_month();
    while month <= d1 {
        let key = month_key(month);
        let (first, last) = (format!("{key}-01"), format!("{key}-31"));
        // Summed here in day order, not by SQL's sum(): the two backends round differently.
        let days: Vec<(f64, f64, f64, i64)> = tx.rows(
            "SELECT volume_m3, estimated_m3, flagged_m3, measured_s FROM daily_volume
             WHERE intake_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
            vals![intake, &first, &last],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        if days.is_empty() {
            tx.exec(
                "DELETE FROM monthly_volume WHERE intake_id = ?1 AND month = ?2",
                vals![intake, &key],
            )?;
        } else {
            let (mut v, mut e, mut f, mut reported) = (0.0, 0.0, 0.0, 0i64);
            for d in &days {
                v += d.0;
                e += d.1;
                f += d.2;
                reported += i64::from(d.3 > 0);
            }
            tx.exec(
                "INSERT INTO monthly_volume (intake_id, month, volume_m3, estimated_m3, flagged_m3, days, reported_days)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (intake_id, month) DO UPDATE SET
                   volume_m3 = excluded.volume_m3, estimated_m3 = excluded.estimated_m3,
                   flagged_m3 = excluded.flagged_m3, days = excluded.days,
                   reported_days = excluded.reported_days",
                vals![intake, &key, v, e, f, days.len(), reported],
            )?;
        }
        match month.checked_add(jiff::ToSpan::month(1)) {
            Ok(next) => month = next,
            Err(_) => break,
        }
    }
    Ok(())
}

/// Records the counter events (resets, replacements, jitter, spikes) of `ivs`.
fn record_events(
    tx: &dyn Sql,
    intake: &str,
    ivs: &[Interval],
    p: &CounterParams,
) -> Result<(), StoreError> {
    for iv in ivs {
        let record = |kind: &str, detail: String| {
            tx.exec(
                "INSERT INTO meter_events (intake_id, ts, kind, prev_ts, prev_total, total, volume_m3, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (intake_id, ts, kind) DO UPDATE SET prev_ts = excluded.prev_ts,
                   prev_total = excluded.prev_total, total = excluded.total,
                   volume_m3 = excluded.volume_m3, detail = excluded.detail",
                vals![
                    intake,
                    iv.end,
                    kind,
                    iv.start,
                    iv.start_total,
                    iv.end_total,
                    iv.volume_m3,
                    &detail
                ],
            )
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
                IntervalKind::LongGap => format!(
                    "no reading for {:.1} days (total {} → {} m³): {:.3} m³ spread over the days of the gap as estimated volume, the gap being longer than [ingest] max_spread_days; review it and, where the days' true volumes are known, import them",
                    (iv.end - iv.start) as f64 / 86_400.0,
                    iv.start_total,
                    iv.end_total,
                    iv.volume_m3
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

fn points(tx: &dyn Sql, sql: &str, args: &[super::sql::Val<'_>]) -> Result<Vec<Point>, StoreError> {
    tx.rows(sql, args, |r| {
        Ok(Point {
            ts: r.get(0)?,
            total_m3: r.get(1)?,
        })
    })
}

/// Recomputes `daily_volume` and `meter_events` of one intake for every day whose volume can
/// change because readings with timestamps in `[t0, t1]` were inserted. Returns the first and
/// last day written.
fn recompute_meter(
    tx: &dyn Sql,
    settings: &StoreSettings,
    intake: &str,
    t0: i64,
    t1: i64,
) -> Result<Option<(Date, Date)>, StoreError> {
    let clock = &settings.clock;
    let (first_day, last_day) = affected_days(tx, clock, intake, t0, t1)?;
    let s = clock.day_start(first_day);
    let e = clock.day_end(last_day);
    let pts = window_points(tx, intake, s, e)?;
    let p = settings.counter_params(intake);
    let swaps = swaps_of(tx, intake)?;
    let ivs: Vec<Interval> = intervals_with(&pts, None, &p, &swaps)
        .into_iter()
        .filter(|iv| iv.end > s && iv.start < e)
        .collect();
    if ivs.is_empty() {
        return Ok(None);
    }
    let days = day_sums(&ivs, clock, |d| d >= first_day && d <= last_day);
    write_days(tx, intake, &days)?;
    // Events of the recomputed intervals replace whatever was recorded for them before.
    let lo = ivs.first().map_or(0, |iv| iv.end);
    let hi = ivs.last().map_or(0, |iv| iv.end);
    tx.exec(
        "DELETE FROM meter_events WHERE intake_id = ?1 AND ts BETWEEN ?2 AND ?3",
        vals![intake, lo, hi],
    )?;
    record_events(tx, intake, &ivs, &p)?;
    Ok(days
        .keys()
        .next()
        .copied()
        .zip(days.keys().next_back().copied()))
}

/// The local days whose volume readings in `[t0, t1]` can change: from the reading before `t0`
/// to the second reading after `t1` (a replacement's estimate depends on the interval before it).
fn affected_days(
    tx: &dyn Sql,
    clock: &LocalClock,
    intake: &str,
    t0: i64,
    t1: i64,
) -> Result<(Date, Date), StoreError> {
    let before: Option<i64> = tx.opt(
        "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 1",
        vals![intake, t0],
        |r| r.get(0),
    )?;
    let after: Option<i64> = tx.opt(
        "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts > ?2 ORDER BY ts LIMIT 1 OFFSET 1",
        vals![intake, t1],
        |r| r.get(0),
    )?;
    let after = match after {
        Some(a) => Some(a),
        None => tx.opt(
            "SELECT ts FROM meter_readings WHERE intake_id = ?1 AND ts > ?2 ORDER BY ts LIMIT 1",
            vals![intake, t1],
            |r| r.get(0),
        )?,
    };
    let first_day = clock.day_of(before.unwrap_or(t0));
    let last_day = clock.day_of(after.unwrap_or(t1) - 1).max(first_day);
    Ok((first_day, last_day))
}

/// The readings that make the intervals of the window `[s, e)`: two before it (the interval into
/// the window and its predecessor's rate), all inside, and the first at or after its end.
fn window_points(tx: &dyn Sql, intake: &str, s: i64, e: i64) -> Result<Vec<Point>, StoreError> {
    let mut pts = points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 2",
        vals![intake, s],
    )?;
    pts.reverse();
    pts.extend(points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
        vals![intake, s, e],
    )?);
    pts.extend(points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts >= ?2 ORDER BY ts LIMIT 1",
        vals![intake, e],
    )?);
    Ok(pts)
}

/// Writes recomputed meter-derived daily rows (an imported day is never overwritten).
fn write_days(tx: &dyn Sql, intake: &str, days: &BTreeMap<Date, DayAcc>) -> Result<(), StoreError> {
    for (day, d) in days {
        tx.exec(
            "INSERT INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, measured_s, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'meter')
             ON CONFLICT (intake_id, day) DO UPDATE SET
               volume_m3 = excluded.volume_m3, estimated_m3 = excluded.estimated_m3,
               flagged_m3 = excluded.flagged_m3, covered_s = excluded.covered_s,
               measured_s = excluded.measured_s
             WHERE daily_volume.source = 'meter'",
            vals![
                intake,
                &day.to_string(),
                d.volume,
                d.estimated,
                d.flagged,
                d.covered,
                d.measured
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The incremental rollups against a recompute from scratch.

    use proptest::prelude::*;
    use rusqlite::Connection;

    use super::*;
    use crate::analysis::counter::CounterParams;
    use crate::store::Store;

    /// 2025-12-29 00:00 in Asia/Shanghai: series start within three days of it, so many cross
    /// New Year (a new running yearly sum) and the turn of the month.
    const BASE: i64 = 1_766_937_600;
    const INTAKES: [&str; 2] = ["QX-1", "QX-2"];

    fn settings() -> StoreSettings {
        StoreSettings {
            clock: LocalClock::new("Asia/Shanghai").unwrap(),
            counter: CounterParams {
                max_flow_m3_per_h: 50.0,
                gap_s: 86_400,
                max_spread_s: 31 * 86_400,
                jitter_m3: 1.0,
            },
            max_flow_m3_per_h: HashMap::from([("QX-2".to_string(), 80.0)]),
            quarantine: Default::default(),
            datums: Default::default(),
        }
    }

    /// How a meter's total moves from one reading to the next.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// Counts up at this flow, m³/h (up to the plausible maximum).
        Flow(f64),
        /// Steps back by less than the jitter tolerance.
        Jitter(f64),
        /// Drops to this share of its figure: a reset or a replacement, as the counter decides.
        Drop(f64),
        /// Counts up at four times the plausible maximum: flagged.
        Spike,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (0.0..50.0f64).prop_map(Step::Flow),
            1 => (0.0..0.9f64).prop_map(Step::Jitter),
            1 => (0.0..1.0f64).prop_map(Step::Drop),
            1 => Just(Step::Spike),
        ]
    }

    /// The settings' `max_spread_s`: a longer interval is a long gap, on no day.
    const MAX_SPREAD_S: i64 = 31 * 86_400;

    /// Seconds between readings: minutes, hours, a gap of more than a day, or a meter silent
    /// for longer than `max_spread_s` (months, so the gap spans months without daily rows).
    fn spacing() -> impl Strategy<Value = i64> {
        prop_oneof![
            3 => 60..3_600i64,
            3 => 3_600..6 * 3_600i64,
            1 => 86_401..4 * 86_400i64,
            1 => MAX_SPREAD_S - 86_400..80 * 86_400i64,
        ]
    }

    /// One meter's readings in time order.
    fn series() -> impl Strategy<Value = Vec<Point>> {
        (
            0..3 * 86_400i64,
            0.0..10_000.0f64,
            prop::collection::vec((spacing(), step()), 0..24),
        )
            .prop_map(|(offset, first, steps)| {
                let mut p = Point {
                    ts: BASE + offset,
                    total_m3: first,
                };
                let mut out = vec![p];
                for (dt, step) in steps {
                    let hours = dt as f64 / 3600.0;
                    p.ts += dt;
                    p.total_m3 = match step {
                        Step::Flow(q) => p.total_m3 + q * hours,
                        Step::Jitter(d) => (p.total_m3 - d).max(0.0),
                        Step::Drop(share) => p.total_m3 * share,
                        Step::Spike => p.total_m3 + 200.0 * hours,
                    };
                    out.push(p);
                }
                out
            })
    }

    /// How readings arrive: in time order (live), in any order, in time order with every
    /// reading whose key is a multiple of 4 arriving late, after all the others, or in time
    /// order with every reading that lies inside a long gap of the others (its neighbours more
    /// than `max_spread_s` apart) arriving last: the meter silent for months whose backlog
    /// fills the gap afterwards.
    #[derive(Clone, Copy, Debug)]
    enum Order {
        Live,
        Any,
        SomeLate,
        InsideGapsLate,
    }

    /// Whether the `i`-th reading of a series lies inside a gap its neighbours leave longer
    /// than `max_spread_s`.
    fn inside_long_gap(series: &[Point], i: usize) -> bool {
        i > 0 && i + 1 < series.len() && series[i + 1].ts - series[i - 1].ts > MAX_SPREAD_S
    }

    #[derive(Debug)]
    struct Arrival {
        series: [Vec<Point>; 2],
        /// Readings as (intake index, point), in arrival order, resends included.
        readings: Vec<(usize, Point)>,
        /// Readings per message and messages per batch, used in turn.
        per_message: Vec<usize>,
        per_batch: Vec<usize>,
    }

    fn arrival() -> impl Strategy<Value = Arrival> {
        (series(), series()).prop_flat_map(|(a, b)| {
            let n = a.len() + b.len();
            (
                prop::collection::vec(any::<u32>(), n),
                prop_oneof![
                    Just(Order::Live),
                    Just(Order::Any),
                    Just(Order::SomeLate),
                    Just(Order::InsideGapsLate)
                ],
                prop::collection::vec(any::<prop::sample::Index>(), 0..4),
                prop::collection::vec(1..4usize, 1..8),
                prop::collection::vec(1..5usize, 1..8),
            )
                .prop_map(move |(keys, order, resend, per_message, per_batch)| {
                    let late = |series: &[Point]| -> Vec<bool> {
                        (0..series.len())
                            .map(|i| inside_long_gap(series, i))
                            .collect()
                    };
                    let gap_late: Vec<bool> = late(&a).into_iter().chain(late(&b)).collect();
                    let readings: Vec<(usize, Point)> = a
                        .iter()
                        .map(|p| (0, *p))
                        .chain(b.iter().map(|p| (1, *p)))
                        .collect();
                    let mut keyed: Vec<(u32, (usize, Point))> =
                        keys.iter().copied().zip(readings.iter().copied()).collect();
                    match order {
                        Order::Live => keyed.sort_by_key(|(_, (_, p))| p.ts),
                        Order::Any => keyed.sort_by_key(|(k, _)| *k),
                        Order::SomeLate => keyed.sort_by_key(|(k, (_, p))| (k % 4 == 0, p.ts)),
                        Order::InsideGapsLate => {
                            // Readings keep their index, which says whether they arrive late.
                            let mut indexed: Vec<_> = keyed.into_iter().enumerate().collect();
                            indexed.sort_by_key(
                                |(i, (_, (_, p))): &(usize, (u32, (usize, Point)))| {
                                    (gap_late[*i], p.ts)
                                },
                            );
                            keyed = indexed.into_iter().map(|(_, k)| k).collect();
                        }
                    }
                    let mut arrived: Vec<(usize, Point)> =
                        keyed.into_iter().map(|(_, r)| r).collect();
                    for i in resend {
                        arrived.push(*i.get(&readings));
                    }
                    Arrival {
                        series: [a.clone(), b.clone()],
                        readings: arrived,
                        per_message: per_message.clone(),
                        per_batch: per_batch.clone(),
                    }
                })
        })
    }

    /// A fresh store: SQLite in memory, or a PostgreSQL schema of its own (kept while the
    /// returned guard lives).
    fn fresh(pg: bool) -> (Store, Option<crate::store::sql::testing::PgSchema>) {
        if pg {
            let schema = crate::store::sql::testing::PgSchema::new();
            (Store::new(schema.conn(), settings()), Some(schema))
        } else {
            let mut conn = Connection::open_in_memory().unwrap();
            crate::store::migrate::to_latest(&mut conn).unwrap();
            (Store::new(conn, settings()), None)
        }
    }

    /// Feeds the readings to a fresh store in the arrival's messages and batches.
    fn ingest(
        arrival: &Arrival,
        pg: bool,
    ) -> (Store, Option<crate::store::sql::testing::PgSchema>) {
        let (mut store, guard) = fresh(pg);
        let mut messages: Vec<Decoded> = Vec::new();
        let mut rest = arrival.readings.as_slice();
        for &size in arrival.per_message.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(size.min(rest.len()));
            messages.push(Decoded {
                readings: now
                    .iter()
                    .map(|&(i, p)| Reading::Meter {
                        intake_id: INTAKES[i].to_string(),
                        ts: p.ts,
                        total_m3: p.total_m3,
                    })
                    .collect(),
                ..Decoded::default()
            });
            rest = later;
        }
        let mut rest = messages.as_slice();
        for &size in arrival.per_batch.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(size.min(rest.len()));
            let refs: Vec<&Decoded> = now.iter().collect();
            let out = store.apply(&refs, BASE, "mqtt").unwrap();
            assert!(out.iter().all(|o| o.rejected == 0), "{out:?}");
            rest = later;
        }
        (store, guard)
    }

    /// One intake's daily row: volume, estimated, flagged, covered seconds, the running yearly
    /// sums of volume and estimated volume, and measured seconds.
    type DayRow = (f64, f64, f64, i64, f64, f64, i64);
    /// One intake's monthly row: volume, estimated, flagged, days, reported days.
    type MonthRow = (f64, f64, f64, i64, i64);

    /// The daily and monthly rows computed from scratch out of all of an intake's readings.
    fn from_scratch(
        settings: &StoreSettings,
        intake: &str,
        pts: &[Point],
    ) -> (BTreeMap<String, DayRow>, BTreeMap<String, MonthRow>) {
        let ivs = crate::analysis::counter::intervals(pts, None, &settings.counter_params(intake));
        let mut days = BTreeMap::new();
        let mut months: BTreeMap<String, MonthRow> = BTreeMap::new();
        let (mut year, mut cum, mut cum_est) = (0, 0.0, 0.0);
        for (day, a) in day_sums(&ivs, &settings.clock, |_| true) {
            if day.year() != year {
                (year, cum, cum_est) = (day.year(), 0.0, 0.0);
            }
            cum += a.volume;
            cum_est += a.estimated;
            days.insert(
                day.to_string(),
                (
                    a.volume,
                    a.estimated,
                    a.flagged,
                    a.covered,
                    cum,
                    cum_est,
                    a.measured,
                ),
            );
            let m = months.entry(month_key(day)).or_default();
            m.0 += a.volume;
            m.1 += a.estimated;
            m.2 += a.flagged;
            m.3 += 1;
            m.4 += i64::from(a.measured > 0);
        }
        (days, months)
    }

    fn stored_days(store: &Store, intake: &str) -> BTreeMap<String, DayRow> {
        store.sql().rows(
                "SELECT day, volume_m3, estimated_m3, flagged_m3, covered_s, cum_year_m3, cum_year_est_m3, measured_s
                 FROM daily_volume WHERE intake_id = ?1",
            vals![intake],
            |r| {
            Ok((
                r.get(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ),
            ))
        })
        .unwrap()
        .into_iter()
        .collect()
    }

    fn stored_months(store: &Store, intake: &str) -> BTreeMap<String, MonthRow> {
        store
            .sql()
            .rows(
                "SELECT month, volume_m3, estimated_m3, flagged_m3, days, reported_days
                 FROM monthly_volume WHERE intake_id = ?1",
                vals![intake],
                |r| {
                    Ok((
                        r.get(0)?,
                        (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                    ))
                },
            )
            .unwrap()
            .into_iter()
            .collect()
    }

    /// Equal up to the rounding of sums added in another order.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn check(arrival: &Arrival, pg: bool) -> Result<(), TestCaseError> {
        let (store, _guard) = ingest(arrival, pg);
        let settings = settings();
        for (i, intake) in INTAKES.iter().enumerate() {
            let (days, months) = from_scratch(&settings, intake, &arrival.series[i]);
            let got = stored_days(&store, intake);
            prop_assert_eq!(
                got.keys().collect::<Vec<_>>(),
                days.keys().collect::<Vec<_>>(),
                "days of {}",
                intake
            );
            for (day, want) in &days {
                let g = got[day];
                prop_assert!(
                    close(g.0, want.0)
                        && close(g.1, want.1)
                        && close(g.2, want.2)
                        && g.3 == want.3
                        && close(g.4, want.4)
                        && close(g.5, want.5)
                        && g.6 == want.6,
                    "{} on {}: stored {:?}, from scratch {:?}",
                    intake,
                    day,
                    g,
                    want
                );
            }
            let got = stored_months(&store, intake);
            prop_assert_eq!(
                got.keys().collect::<Vec<_>>(),
                months.keys().collect::<Vec<_>>(),
                "months of {}",
                intake
            );
            for (month, want) in &months {
                let g = got[month];
                prop_assert!(
                    close(g.0, want.0)
                        && close(g.1, want.1)
                        && close(g.2, want.2)
                        && g.3 == want.3
                        && g.4 == want.4,
                    "{} in {}: stored {:?}, from scratch {:?}",
                    intake,
                    month,
                    g,
                    want
                );
            }
        }
        Ok(())
    }

    /// The wedge: a meter silent for longer than `max_spread_s` (2024-01-28 to 03-28) whose
    /// reading inside the gap (03-01) arrives afterwards. February is then left without daily
    /// rows; its monthly row must be absent, not a row of NULLs that fails the batch.
    #[test]
    fn a_late_reading_inside_a_long_gap_lands_on_the_months_of_the_gap() {
        let clock = LocalClock::new("Asia/Shanghai").unwrap();
        let at = |d: &str| clock.day_start(d.parse::<Date>().unwrap()) + 8 * 3600;
        let series = vec![
            Point {
                ts: at("2024-01-05"),
                total_m3: 100.0,
            },
            Point {
                ts: at("2024-01-28"),
                total_m3: 300.0,
            },
            Point {
                ts: at("2024-03-01"),
                total_m3: 600.0,
            },
            Point {
                ts: at("2024-03-28"),
                total_m3: 900.0,
            },
        ];
        // In time order but 03-01, which comes last, in a batch of its own.
        let arrival = Arrival {
            readings: [0, 1, 3, 2].iter().map(|&i| (0, series[i])).collect(),
            series: [series.clone(), Vec::new()],
            per_message: vec![1],
            per_batch: vec![1],
        };
        for pg in [false, true] {
            check(&arrival, pg).unwrap();
        }
        let (store, _) = ingest(&arrival, false);
        let months = stored_months(&store, "QX-1");
        assert_eq!(
            months.keys().map(String::as_str).collect::<Vec<_>>(),
            ["2024-01", "2024-02", "2024-03"],
            "February lies in the long gap 01-28 → 03-01 and gets its share"
        );
        // 01-28 08:00 → 03-01 08:00 is 33 days and 300 m³, spread by time: 3⅔ days of January
        // (33.33 m³), the 29 days of February (263.64 m³), 8 hours of March (3.03 m³); then
        // 03-01 → 03-28 is 300 m³ in March. 800 m³ in all.
        assert!(
            close(
                months["2024-01"].0,
                200.0 + 300.0 * (3.0 + 2.0 / 3.0) / 33.0
            ),
            "{:?}",
            months["2024-01"]
        );
        assert!(
            close(months["2024-02"].0, 300.0 * 29.0 / 33.0),
            "{:?}",
            months["2024-02"]
        );
        assert!(
            close(months["2024-03"].0, 300.0 + 300.0 / 3.0 / 33.0),
            "{:?}",
            months["2024-03"]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever the order and batching of arrival, the daily, monthly and running yearly
        /// volumes are those of the whole history computed at once.
        #[test]
        fn rollups_equal_a_recompute_from_the_raw_readings(arrival in arrival()) {
            check(&arrival, false)?;
        }
    }

    proptest! {
        // Each case migrates a schema of its own: fewer cases than on SQLite.
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// The same on PostgreSQL.
        #[test]
        fn rollups_equal_a_recompute_on_postgresql(arrival in arrival()) {
            check(&arrival, true)?;
        }
    }
}
