//! The daily and monthly level statistics of the wells a batch touched, recomputed from their raw
//! readings inside the batch's transaction (levels are not counters: a day's statistics are
//! simply those of its readings).

use std::collections::BTreeSet;

use jiff::civil::Date;
use rusqlite::{Transaction, params};

use super::StoreError;
use crate::domain::LocalClock;
use crate::domain::time::month_key;

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
