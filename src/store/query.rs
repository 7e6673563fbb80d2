//! Read-side queries for status and reports. Each figure is a handful of index lookups per
//! device (running yearly sums, monthly rollups), never a scan of the daily history.

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::analysis::accounting::{Vol, WindowSums, Windows, window_sums};

/// Monthly points per device: `(year, month, value)`.
pub type MonthlyPoints<T> = HashMap<String, Vec<(i16, i8, T)>>;

/// The running yearly sum of an intake at `day`: the latest daily row on or before `day` in
/// `day`'s year (zero when there is none).
fn cum_at(conn: &Connection, intake: &str, day: Date) -> Result<Vol, rusqlite::Error> {
    let mut st = conn.prepare_cached(
        "SELECT cum_year_m3, cum_year_est_m3 FROM daily_volume
         WHERE intake_id = ?1 AND day <= ?2 AND day >= ?3 ORDER BY day DESC LIMIT 1",
    )?;
    Ok(st
        .query_row(
            params![intake, day.to_string(), format!("{:04}-01-01", day.year())],
            |r| {
                Ok(Vol {
                    m3: r.get(0)?,
                    estimated_m3: r.get(1)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Window sums of every listed intake as of `w.as_of`.
pub fn intake_window_sums<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    w: &Windows,
) -> Result<HashMap<&'a str, WindowSums>, StoreError> {
    let mut out = HashMap::new();
    for id in intakes {
        let mut err = None;
        let sums = window_sums(w, |d| match cum_at(conn, id, d) {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                Vol::default()
            }
        });
        if let Some(e) = err {
            return Err(e.into());
        }
        out.insert(id, sums);
    }
    Ok(out)
}

/// The latest meter reading of each listed intake at or before `until` (epoch seconds).
pub fn last_readings<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    until: i64,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT max(ts) FROM meter_readings WHERE intake_id = ?1 AND ts < ?2")?;
    let mut out = HashMap::new();
    for id in intakes {
        let ts: Option<i64> = st.query_row(params![id, until], |r| r.get(0))?;
        if let Some(ts) = ts {
            out.insert(id, ts);
        }
    }
    Ok(out)
}

/// Monthly mean levels `(year, month, level_m)` of each well between two months (inclusive).
pub fn monthly_levels(
    conn: &Connection,
    from: Date,
    to: Date,
) -> Result<MonthlyPoints<f64>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT well_id, month, mean_level_m FROM monthly_level WHERE month >= ?1 AND month <= ?2",
    )?;
    let mut out: MonthlyPoints<f64> = HashMap::new();
    let key = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let rows = st.query_map(params![key(from), key(to)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
        ))
    })?;
    for row in rows {
        let (well, month, level) = row?;
        if let Some((y, m)) = parse_month(&month) {
            out.entry(well).or_default().push((y, m, level));
        }
    }
    Ok(out)
}

/// Monthly volumes `(year, month, volume, estimated)` of each intake between two months.
pub fn monthly_volumes(
    conn: &Connection,
    from: Date,
    to: Date,
) -> Result<MonthlyPoints<Vol>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT intake_id, month, volume_m3, estimated_m3 FROM monthly_volume WHERE month >= ?1 AND month <= ?2",
    )?;
    let key = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let mut out: MonthlyPoints<Vol> = HashMap::new();
    let rows = st.query_map(params![key(from), key(to)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            Vol {
                m3: r.get(2)?,
                estimated_m3: r.get(3)?,
            },
        ))
    })?;
    for row in rows {
        let (intake, month, v) = row?;
        if let Some((y, m)) = parse_month(&month) {
            out.entry(intake).or_default().push((y, m, v));
        }
    }
    Ok(out)
}

fn parse_month(s: &str) -> Option<(i16, i8)> {
    let (y, m) = s.split_once('-')?;
    Some((y.parse().ok()?, m.parse().ok()?))
}
