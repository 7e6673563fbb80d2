//! The daily and monthly level statistics of the wells a batch touched, recomputed from their raw
//! readings inside the batch's transaction (levels are not counters: a day's statistics are
//! simply those of its readings).

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;

use super::StoreError;
use super::sql::{Sql, SqlExt};
use crate::domain::time::month_key;
use crate::domain::{Datum, LocalClock, Sent};
use crate::vals;

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
    // The statistics are computed here, in time order, not by SQL's avg(): SQLite and
    // PostgreSQL sum floating point differently, and the stored means must be the same bits on
    // both (a trend test's ties depend on them).
    let mut months = BTreeSet::new();
    for (well, day) in touched {
        let rows: Vec<(f64, f64)> = tx.rows(
            "SELECT level_m, depth_m FROM level_readings
             WHERE well_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
            vals![well, clock.day_start(day), clock.day_end(day)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let day_s = day.to_string();
        match mean_min_max(rows.iter().map(|r| r.0)) {
            Some((mean, min, max)) => {
                let depth = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
                tx.exec(
                    "INSERT INTO daily_level (well_id, day, mean_level_m, min_level_m, max_level_m, mean_depth_m, n)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (well_id, day) DO UPDATE SET
                       mean_level_m = excluded.mean_level_m, min_level_m = excluded.min_level_m,
                       max_level_m = excluded.max_level_m, mean_depth_m = excluded.mean_depth_m,
                       n = excluded.n",
                    vals![well, &day_s, mean, min, max, depth, rows.len()],
                )?;
            }
            None => {
                tx.exec(
                    "DELETE FROM daily_level WHERE well_id = ?1 AND day = ?2",
                    vals![well, &day_s],
                )?;
            }
        }
        months.insert((well, month_key(day)));
    }
    for (well, month) in months {
        let (first, last) = (format!("{month}-01"), format!("{month}-31"));
        let days: Vec<(f64, f64)> = tx.rows(
            "SELECT mean_level_m, mean_depth_m FROM daily_level
             WHERE well_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
            vals![well, &first, &last],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if days.is_empty() {
            tx.exec(
                "DELETE FROM monthly_level WHERE well_id = ?1 AND month = ?2",
                vals![well, &month],
            )?;
            continue;
        }
        let n = days.len() as f64;
        let level = days.iter().map(|d| d.0).sum::<f64>() / n;
        let depth = days.iter().map(|d| d.1).sum::<f64>() / n;
        tx.exec(
            "INSERT INTO monthly_level (well_id, month, mean_level_m, mean_depth_m, days)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (well_id, month) DO UPDATE SET
               mean_level_m = excluded.mean_level_m, mean_depth_m = excluded.mean_depth_m,
               days = excluded.days",
            vals![well, &month, level, depth, days.len()],
        )?;
    }
    Ok(())
}

/// Mean, minimum and maximum of `xs`, summed in the order given; `None` when empty.
pub(super) fn mean_min_max(xs: impl Iterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let (mut n, mut sum, mut min, mut max) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
    for x in xs {
        n += 1;
        sum += x;
        min = min.min(x);
        max = max.max(x);
    }
    (n > 0).then(|| (sum / n as f64, min, max))
}
