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

/// Monthly figures of each listed intake from `from`'s month to `as_of`'s, the as-of month
/// summed only up to `as_of`: the volume, and the days on which the intake reported (a day not
/// wholly estimated). Months without a row, and months without a reported day, are absent from
/// their map.
pub struct MonthlyFigures {
    pub volumes: MonthlyPoints<Vol>,
    pub reported_days: MonthlyPoints<u32>,
    /// Days with any volume, measured or estimated (a gap's days included), per month with a
    /// row: the days an imputation must not count again.
    pub covered_days: MonthlyPoints<u32>,
}

/// [`MonthlyFigures`] of the listed intakes: one pass over their monthly rollups (an index range
/// per intake) and one over the as-of month's daily rows. Rows are gathered by the intake's
/// position in `intakes`, so no id is copied per row.
pub fn monthly_figures(
    conn: &Connection,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyFigures, StoreError> {
    type Row = (i16, i8, Vol, u32, u32);
    let mut by_intake: Vec<Vec<Row>> = vec![Vec::new(); intakes.len()];
    let ids = ids_json(intakes);
    fn gather(
        st: &mut rusqlite::CachedStatement<'_>,
        args: &[&dyn rusqlite::ToSql],
        by_intake: &mut [Vec<Row>],
    ) -> Result<(), StoreError> {
        let mut rows = st.query(args)?;
        while let Some(r) = rows.next()? {
            let k = usize::try_from(r.get::<_, i64>(0)?).unwrap_or(usize::MAX);
            let Some((y, m)) = parse_month_key(r.get_ref(1)?.as_str().unwrap_or_default()) else {
                continue;
            };
            if let Some(v) = by_intake.get_mut(k) {
                v.push((
                    y,
                    m,
                    Vol {
                        m3: r.get(2)?,
                        estimated_m3: r.get(3)?,
                    },
                    r.get(4)?,
                    r.get(5)?,
                ));
            }
        }
        Ok(())
    }
    // Complete months, and the as-of month whole where nothing is stored after `as_of` (the live
    // case: the rollup row is then the partial month).
    let month_end = as_of.last_of_month();
    let mut after = conn.prepare_cached(
        "SELECT i.value FROM json_each(?1) AS i
         WHERE EXISTS (SELECT 1 FROM daily_volume
                       WHERE intake_id = i.value AND day > ?2 AND day <= ?3)",
    )?;
    let later: Vec<String> = after
        .query_map(
            rusqlite::params![ids, as_of.to_string(), month_end.to_string()],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut whole = conn.prepare_cached(
        "SELECT i.key, m.month, m.volume_m3, m.estimated_m3, m.reported_days, m.days
         FROM json_each(?1) AS i
         JOIN monthly_volume AS m ON m.intake_id = i.value AND m.month >= ?2 AND m.month <= ?3",
    )?;
    gather(
        &mut whole,
        rusqlite::params![ids, month_key(from), month_key(as_of)],
        &mut by_intake,
    )?;
    if !later.is_empty() {
        // Intakes with days after `as_of` in its month: that month summed from the daily rows.
        let (y, m) = (as_of.year(), as_of.month());
        let is_later: std::collections::HashSet<&str> = later.iter().map(String::as_str).collect();
        for (id, rows) in intakes.iter().zip(by_intake.iter_mut()) {
            if is_later.contains(id) {
                rows.retain(|r| (r.0, r.1) != (y, m));
            }
        }
        let mut partial = conn.prepare_cached(
            "SELECT i.key, ?4, sum(d.volume_m3), sum(d.estimated_m3), sum(d.measured_s > 0), count(*)
             FROM json_each(?1) AS i
             JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
             WHERE i.value IN (SELECT value FROM json_each(?5))
             GROUP BY i.key",
        )?;
        gather(
            &mut partial,
            rusqlite::params![
                ids,
                as_of.first_of_month().max(from).to_string(),
                as_of.to_string(),
                month_key(as_of),
                serde_json::to_string(&later).unwrap_or_else(|_| "[]".into())
            ],
            &mut by_intake,
        )?;
    }
    let mut out = MonthlyFigures {
        volumes: HashMap::new(),
        reported_days: HashMap::new(),
        covered_days: HashMap::new(),
    };
    for (id, rows) in intakes.iter().zip(by_intake) {
        if rows.is_empty() {
            continue;
        }
        let reported: Vec<(i16, i8, u32)> = rows
            .iter()
            .filter(|r| r.3 > 0)
            .map(|&(y, m, _, n, _)| (y, m, n))
            .collect();
        if !reported.is_empty() {
            out.reported_days.insert((*id).to_string(), reported);
        }
        out.covered_days.insert(
            (*id).to_string(),
            rows.iter().map(|&(y, m, _, _, c)| (y, m, c)).collect(),
        );
        out.volumes.insert(
            (*id).to_string(),
            rows.into_iter().map(|(y, m, v, _, _)| (y, m, v)).collect(),
        );
    }
    Ok(out)
}

/// Monthly volumes of the listed intakes (see [`monthly_figures`]).
pub fn monthly_volumes(
    conn: &Connection,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<Vol>, StoreError> {
    Ok(monthly_figures(conn, intakes, from, as_of)?.volumes)
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
