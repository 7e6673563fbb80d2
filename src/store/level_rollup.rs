//! The daily and monthly level statistics of the wells a batch touched, recomputed from their raw
//! readings inside the batch's transaction (levels are not counters: a day's statistics are
//! simply those of its readings).

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;

use super::StoreError;
use super::sql::{Sql, SqlExt};
use crate::vals;
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
    tx: &dyn Sql,
    clock: &LocalClock,
    datums: &HashMap<String, Vec<Datum>>,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    let mut touched = BTreeSet::new();
    let mut wells: Vec<(&String, &Vec<Datum>)> = datums.iter().collect();
    wells.sort_by_key(|w| w.0);
    for (well, versions) in wells {
        let fp = fingerprint(versions);
        let stored: Option<String> = tx.opt(
            "SELECT fingerprint FROM level_datums WHERE well_id = ?1",
            vals![well],
            |r| r.get(0),
        )?;
        if stored.as_deref() == Some(fp.as_str()) {
            continue;
        }
        let rows: Vec<StoredLevel> = tx.rows(
            "SELECT ts, sent, sent_m, depth_m, level_m FROM level_readings
             WHERE well_id = ?1 AND sent IN ('depth', 'level')",
            vals![well],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
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
                tx.exec(
                    "UPDATE level_readings SET depth_m = ?3, level_m = ?4 WHERE well_id = ?1 AND ts = ?2",
                    vals![well, ts, d, l],
                )?;
                touched.insert((well.as_str(), day));
                changed += 1;
            }
        }
        tx.exec(
            "INSERT INTO level_datums (well_id, fingerprint) VALUES (?1, ?2)
             ON CONFLICT (well_id) DO UPDATE SET fingerprint = excluded.fingerprint",
            vals![well, &fp],
        )?;
    }
    roll_up_levels(tx, clock, touched)?;
    Ok(changed)
}

/// Recomputes the daily and monthly level statistics of the touched wells and days.
pub(super) fn roll_up_levels(
    tx: &dyn Sql,
    clock: &LocalClock,
    touched: BTreeSet<(&str, Date)>,
) -> Result<(), StoreError> {
    if touched.is_empty() {
        return Ok(());
    }
    let mut months = BTreeSet::new();
    for (well, day) in touched {
        tx.exec(
        "INSERT INTO daily_level (well_id, day, mean_level_m, min_level_m, max_level_m, mean_depth_m, n)
         SELECT ?1, ?2, avg(level_m), min(level_m), max(level_m), avg(depth_m), count(*)
         FROM level_readings WHERE well_id = ?1 AND ts >= ?3 AND ts < ?4
         ON CONFLICT (well_id, day) DO UPDATE SET
           mean_level_m = excluded.mean_level_m, min_level_m = excluded.min_level_m,
           max_level_m = excluded.max_level_m, mean_depth_m = excluded.mean_depth_m, n = excluded.n",
            vals![
                well,
                &day.to_string(),
                clock.day_start(day),
                clock.day_end(day)
            ],
        )?;
        months.insert((well, month_key(day)));
    }
    for (well, month) in months {
        let (first, last) = (format!("{month}-01"), format!("{month}-31"));
        tx.exec(
            "INSERT INTO monthly_level (well_id, month, mean_level_m, mean_depth_m, days)
             SELECT ?1, ?2, avg(mean_level_m), avg(mean_depth_m), count(*)
             FROM daily_level WHERE well_id = ?1 AND day >= ?3 AND day <= ?4
             ON CONFLICT (well_id, month) DO UPDATE SET
               mean_level_m = excluded.mean_level_m, mean_depth_m = excluded.mean_depth_m,
               days = excluded.days",
            vals![well, &month, &first, &last],
        )?;
    }
    Ok(())
}
