//! The read side on water levels, cut at the as-of date: monthly means per well (the as-of
//! month the mean of its daily means up to the as-of date), daily means, and each well's last
//! reading.

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::{Connection, params};

use super::StoreError;
use super::volumes::ids_json;
use crate::domain::MonthlyPoints;
use crate::domain::time::{month_key, parse_month_key};

/// Daily mean levels `(well, day, level_m)` of the listed wells from `from` to `to`
/// (inclusive), by well and day.
pub fn daily_well_levels(
    conn: &Connection,
    wells: &[String],
    from: Date,
    to: Date,
) -> Result<Vec<(String, Date, f64)>, StoreError> {
    let ids_json = serde_json::to_string(wells).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(
        "SELECT d.well_id, d.day, d.mean_level_m FROM json_each(?1) AS i
         JOIN daily_level AS d ON d.well_id = i.value AND d.day >= ?2 AND d.day <= ?3
         ORDER BY d.well_id, d.day",
    )?;
    let rows = st.query_map(params![ids_json, from.to_string(), to.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (well, day, level) = row?;
        if let Ok(day) = day.parse::<Date>() {
            out.push((well, day, level));
        }
    }
    Ok(out)
}

/// Monthly mean levels `(year, month, level_m)` of each well from `from`'s month to `as_of`'s,
/// the as-of month the mean of its daily means up to `as_of` (as the monthly rollup is).
pub fn monthly_levels(
    conn: &Connection,
    wells: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<f64>, StoreError> {
    let mut out: MonthlyPoints<f64> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT well_id, month, mean_level_m FROM monthly_level WHERE month >= ?1 AND month < ?2",
    )?;
    let level = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, f64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    };
    let mut rows: Vec<(String, String, f64)> = st
        .query_map(params![month_key(from), month_key(as_of)], level)?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare_cached(
        "SELECT i.value, ?4, avg(d.mean_level_m) FROM json_each(?1) AS i
         JOIN daily_level AS d ON d.well_id = i.value AND d.day >= ?2 AND d.day <= ?3
         GROUP BY i.value",
    )?;
    let partial = st.query_map(
        params![
            ids_json(wells),
            as_of.first_of_month().max(from).to_string(),
            as_of.to_string(),
            month_key(as_of)
        ],
        level,
    )?;
    for row in partial {
        rows.push(row?);
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
    conn: &Connection,
    wells: &[&str],
    until: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT i.value, (SELECT max(ts) FROM level_readings WHERE well_id = i.value AND ts < ?2)
         FROM json_each(?1) AS i",
    )?;
    let rows = st.query_map(params![ids_json(wells), until], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(ts)) = row? {
            out.insert(id, ts);
        }
    }
    Ok(out)
}
