//! The read side on water levels, cut at the as-of date: monthly means per well (the as-of
//! month the mean of its daily means up to the as-of date), daily means, and each well's last
//! reading.

use std::collections::HashMap;

use jiff::civil::Date;

use super::StoreError;
use super::sql::{Row, Sql, SqlExt};
use super::volumes::ids_json;
use crate::domain::MonthlyPoints;
use crate::domain::time::{month_key, parse_month_key};
use crate::vals;

/// Daily mean levels `(well, day, level_m)` of the listed wells from `from` to `to`
/// (inclusive), by well and day.
pub fn daily_well_levels(
    conn: &dyn Sql,
    wells: &[String],
    from: Date,
    to: Date,
) -> Result<Vec<(String, Date, f64)>, StoreError> {
    let ids_json = serde_json::to_string(wells).unwrap_or_else(|_| "[]".into());
    let rows = conn.rows(
        "SELECT d.well_id, d.day, d.mean_level_m FROM json_each(?1) AS i
         JOIN daily_level AS d ON d.well_id = i.value AND d.day >= ?2 AND d.day <= ?3
         ORDER BY d.well_id, d.day",
        vals![&ids_json, &from.to_string(), &to.to_string()],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<f64>(2)?)),
    )?;
    let mut out = Vec::new();
    for (well, day, level) in rows {
        if let Ok(day) = day.parse::<Date>() {
            out.push((well, day, level));
        }
    }
    Ok(out)
}

/// Monthly mean levels `(year, month, level_m)` of each well from `from`'s month to `as_of`'s,
/// the as-of month the mean of its daily means up to `as_of` (as the monthly rollup is).
pub fn monthly_levels(
    conn: &dyn Sql,
    wells: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<f64>, StoreError> {
    let mut out: MonthlyPoints<f64> = HashMap::new();
    let level = |r: &Row<'_>| -> Result<(String, String, f64), StoreError> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    };
    let mut rows: Vec<(String, String, f64)> = conn.rows(
        "SELECT well_id, month, mean_level_m FROM monthly_level WHERE month >= ?1 AND month < ?2",
        vals![&month_key(from), &month_key(as_of)],
        level,
    )?;
    // The as-of month's mean of its daily means, averaged here in day order (as the monthly
    // rollup does) rather than by SQL's avg(), which the two backends round differently.
    let days: Vec<(String, f64)> = conn.rows(
        "SELECT d.well_id, d.mean_level_m FROM json_each(?1) AS i
         JOIN daily_level AS d ON d.well_id = i.value AND d.day >= ?2 AND d.day <= ?3
         ORDER BY d.well_id, d.day",
        vals![
            &ids_json(wells),
            &as_of.first_of_month().max(from).to_string(),
            &as_of.to_string()
        ],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let key = month_key(as_of);
    for group in days.chunk_by(|a, b| a.0 == b.0) {
        let mean = group.iter().map(|d| d.1).sum::<f64>() / group.len() as f64;
        rows.push((group[0].0.clone(), key.clone(), mean));
    }
    for (id, month, x) in rows {
        if let Some((y, m)) = parse_month_key(&month) {
            out.entry(id).or_default().push((y, m, x));
        }
    }
    Ok(out)
}

/// The latest reading time (epoch seconds) of each listed well before `until`.
pub fn last_level_readings(
    conn: &dyn Sql,
    wells: &[&str],
    until: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows = conn.rows(
        "SELECT i.value, (SELECT max(ts) FROM level_readings WHERE well_id = i.value AND ts < ?2)
         FROM json_each(?1) AS i",
        vals![&ids_json(wells), until],
        |r| Ok((r.get::<String>(0)?, r.get::<Option<i64>>(1)?)),
    )?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(ts)) = row {
            out.insert(id, ts);
        }
    }
    Ok(out)
}
