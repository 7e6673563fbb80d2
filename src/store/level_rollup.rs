//! The daily and monthly level statistics of the wells a batch touched, recomputed from their raw
//! readings inside the batch's transaction (levels are not counters: a day's statistics are
//! simply those of its readings).

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;
use rusqlite::{OptionalExtension, Transaction, params};

use super::StoreError;
use crate::domain::time::month_key;
use crate::domain::{Datum, LocalClock, Sent};

/// A stored level reading: time, what was sent (kind and value), depth and level.
type StoredLevel = (i64, Option<String>, Option<f64>, f64, f64);

/// A well's datum history as stored in `level_datums`: changes when any version does.
fn fingerprint(datums: &[Datum]) -> String {
    datums
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d.from.map_or("-".to_string(), |f| f.to_string()),
                d.ground_elevation_m,
                d.measuring_point_m
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Derives the stored levels again for every well whose datum history changed since they were
/// last derived (a corrected ground elevation, a new measuring point), from what the terminals
/// sent, with the version in force on each reading's day; and recomputes the days and months
/// that changed. Readings stored before the store kept what was sent keep their figures.
/// Returns how many readings changed.
pub(super) fn rederive(
    tx: &Transaction<'_>,
    clock: &LocalClock,
    datums: &HashMap<String, Vec<Datum>>,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    let mut touched = BTreeSet::new();
    let mut wells: Vec<(&String, &Vec<Datum>)> = datums.iter().collect();
    wells.sort_by_key(|w| w.0);
    for (well, versions) in wells {
        let fp = fingerprint(versions);
        let stored: Option<String> = tx
            .query_row(
                "SELECT fingerprint FROM level_datums WHERE well_id = ?1",
                [well],
                |r| r.get(0),
            )
            .optional()?;
        if stored.as_deref() == Some(fp.as_str()) {
            continue;
        }
        let rows: Vec<StoredLevel> = {
            let mut st = tx.prepare_cached(
                "SELECT ts, sent, sent_m, depth_m, level_m FROM level_readings
                 WHERE well_id = ?1 AND sent IN ('depth', 'level')",
            )?;
            st.query_map([well], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let mut upd = tx.prepare_cached(
            "UPDATE level_readings SET depth_m = ?3, level_m = ?4 WHERE well_id = ?1 AND ts = ?2",
        )?;
        for (ts, kind, value, depth, level) in rows {
            let Some(sent) = Sent::from_parts(kind.as_deref(), value) else {
                continue;
            };
            let day = clock.day_of(ts);
            let Some((d, l)) = Datum::in_force(versions, day).and_then(|v| v.derive(sent)) else {
                continue;
            };
            if (d - depth).abs() > 1e-9 || (l - level).abs() > 1e-9 {
                upd.execute(params![well, ts, d, l])?;
                touched.insert((well.as_str(), day));
                changed += 1;
            }
        }
        tx.execute(
            "INSERT INTO level_datums (well_id, fingerprint) VALUES (?1, ?2)
             ON CONFLICT (well_id) DO UPDATE SET fingerprint = excluded.fingerprint",
            params![well, fp],
        )?;
    }
    roll_up_levels(tx, clock, touched)?;
    Ok(changed)
}

/// Recomputes the daily and monthly level statistics of the touched wells and days.
pub(super) fn roll_up_levels(
    tx: &Transaction<'_>,
    clock: &LocalClock,
    touched: BTreeSet<(&str, Date)>,
) -> Result<(), StoreError> {
    if touched.is_empty() {
        return Ok(());
    }
    let mut upd = tx.prepare_cached(
        "INSERT INTO daily_level (well_id, day, mean_level_m, min_level_m, max_level_m, mean_depth_m, n)
         SELECT ?1, ?2, avg(level_m), min(level_m), max(level_m), avg(depth_m), count(*)
         FROM level_readings WHERE well_id = ?1 AND ts >= ?3 AND ts < ?4
         ON CONFLICT (well_id, day) DO UPDATE SET
           mean_level_m = excluded.mean_level_m, min_level_m = excluded.min_level_m,
           max_level_m = excluded.max_level_m, mean_depth_m = excluded.mean_depth_m, n = excluded.n",
    )?;
    let mut months = BTreeSet::new();
    for (well, day) in touched {
        upd.execute(params![
            well,
            day.to_string(),
            clock.day_start(day),
            clock.day_end(day)
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
    Ok(())
}
