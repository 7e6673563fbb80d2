//! Read-side queries cut at the as-of date, for the honest figures of the status document: which
//! days each intake reported, when its data begins, and monthly volumes and levels of which the
//! as-of month counts only the days up to the as-of date. Complete months come from the monthly
//! rollups; only the as-of month is summed from daily rows (at most 31 per device).

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::{Connection, params};

use super::StoreError;
use super::query::MonthlyPoints;
use crate::analysis::accounting::Vol;
use crate::domain::time::{month_key, parse_month_key};

/// Days on which each intake reported (a day not wholly estimated), per month `(year, month,
/// days)`, for the months from `from`'s to `as_of`'s; the as-of month counts days up to `as_of`.
pub fn reported_days(
    conn: &Connection,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<u32>, StoreError> {
    let mut out: MonthlyPoints<u32> = HashMap::new();
    let mut push = |id: String, month: String, n: u32| {
        if let Some((y, m)) = parse_month_key(&month)
            && n > 0
        {
            out.entry(id).or_default().push((y, m, n));
        }
    };
    let mut st = conn.prepare_cached(
        "SELECT intake_id, month, reported_days FROM monthly_volume
         WHERE month >= ?1 AND month < ?2",
    )?;
    let rows = st.query_map(params![month_key(from), month_key(as_of)], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    for row in rows {
        let (id, month, n) = row?;
        push(id, month, n);
    }
    let mut st = conn.prepare_cached(
        "SELECT i.value, count(*) FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
         WHERE d.measured_s > 0 GROUP BY i.value",
    )?;
    let rows = st.query_map(
        params![
            ids_json(intakes),
            as_of.first_of_month().max(from).to_string(),
            as_of.to_string()
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)),
    )?;
    for row in rows {
        let (id, n) = row?;
        push(id, month_key(as_of), n);
    }
    Ok(out)
}

/// The listed ids as a JSON array, for `json_each`: one statement for all devices, an index
/// seek each inside SQLite.
fn ids_json(ids: &[&str]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The first day with a daily volume of each listed intake, on or before `as_of`.
pub fn first_days(
    conn: &Connection,
    intakes: &[&str],
    as_of: Date,
) -> Result<HashMap<String, Date>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT i.value, (SELECT min(day) FROM daily_volume WHERE intake_id = i.value AND day <= ?2)
         FROM json_each(?1) AS i",
    )?;
    let rows = st.query_map(params![ids_json(intakes), as_of.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(day)) = row?
            && let Ok(d) = day.parse()
        {
            out.insert(id, d);
        }
    }
    Ok(out)
}

/// Monthly volumes `(year, month, volume)` of each intake from `from`'s month to `as_of`'s, the
/// as-of month summed only up to `as_of`.
pub fn monthly_volumes(
    conn: &Connection,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<Vol>, StoreError> {
    let mut out: MonthlyPoints<Vol> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT intake_id, month, volume_m3, estimated_m3 FROM monthly_volume
         WHERE month >= ?1 AND month < ?2",
    )?;
    let vol = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, Vol)> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            Vol {
                m3: r.get(2)?,
                estimated_m3: r.get(3)?,
            },
        ))
    };
    let mut rows: Vec<(String, String, Vol)> = st
        .query_map(params![month_key(from), month_key(as_of)], vol)?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare_cached(
        "SELECT i.value, ?4, sum(d.volume_m3), sum(d.estimated_m3) FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
         GROUP BY i.value",
    )?;
    let partial = st.query_map(
        params![
            ids_json(intakes),
            as_of.first_of_month().max(from).to_string(),
            as_of.to_string(),
            month_key(as_of)
        ],
        vol,
    )?;
    for row in partial {
        rows.push(row?);
    }
    for (id, month, v) in rows {
        if let Some((y, m)) = parse_month_key(&month) {
            out.entry(id).or_default().push((y, m, v));
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
