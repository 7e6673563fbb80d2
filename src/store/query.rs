//! Read-side queries for status and reports. Each figure is a handful of index lookups per
//! device (running yearly sums, monthly rollups), never a scan of the daily history.

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::{Connection, params};

use super::StoreError;
use crate::analysis::accounting::{Vol, WindowSums, Windows, window_sums};

pub use crate::domain::MonthlyPoints;

/// The running yearly sums of many intakes at `day`: for each, the latest daily row on or
/// before `day` in `day`'s year (intakes with none are absent). One statement for all intakes:
/// two index seeks each inside SQLite, instead of a round trip per intake.
fn cum_at_all(
    conn: &Connection,
    ids_json: &str,
    day: Date,
) -> Result<HashMap<String, Vol>, rusqlite::Error> {
    let mut st = conn.prepare_cached(
        "SELECT d.intake_id, d.cum_year_m3, d.cum_year_est_m3
         FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day = (
             SELECT max(day) FROM daily_volume
             WHERE intake_id = i.value AND day <= ?2 AND day >= ?3)",
    )?;
    let rows = st.query_map(
        params![
            ids_json,
            day.to_string(),
            format!("{:04}-01-01", day.year())
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Vol {
                    m3: r.get(1)?,
                    estimated_m3: r.get(2)?,
                },
            ))
        },
    )?;
    rows.collect()
}

/// Each listed intake's withdrawal in calendar year `year` (from its running yearly sums).
pub fn year_totals(
    conn: &Connection,
    intakes: &[&str],
    year: i16,
) -> Result<HashMap<String, Vol>, StoreError> {
    let ids_json = serde_json::to_string(intakes).unwrap_or_else(|_| "[]".into());
    let Ok(end) = Date::new(year, 12, 31) else {
        return Ok(HashMap::new());
    };
    Ok(cum_at_all(conn, &ids_json, end)?)
}

/// Window sums of every listed intake as of `w.as_of`.
pub fn intake_window_sums<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    w: &Windows,
) -> Result<HashMap<&'a str, WindowSums>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    // The handful of dates the windows need, each looked up once for all intakes.
    let mut at: HashMap<Date, HashMap<String, Vol>> = HashMap::new();
    let mut err = None;
    window_sums(w, |d| {
        if let std::collections::hash_map::Entry::Vacant(slot) = at.entry(d) {
            match cum_at_all(conn, &ids_json, d) {
                Ok(m) => {
                    slot.insert(m);
                }
                Err(e) => err = Some(e),
            }
        }
        Vol::default()
    });
    if let Some(e) = err {
        return Err(e.into());
    }
    let empty = HashMap::new();
    Ok(ids
        .into_iter()
        .map(|id| {
            let sums = window_sums(w, |d| {
                at.get(&d)
                    .unwrap_or(&empty)
                    .get(id)
                    .copied()
                    .unwrap_or_default()
            });
            (id, sums)
        })
        .collect())
}

/// The latest meter reading of each listed intake at or before `until` (epoch seconds).
pub fn last_readings<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    until: i64,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(
        "SELECT i.key, (SELECT max(ts) FROM meter_readings WHERE intake_id = i.value AND ts < ?2)
         FROM json_each(?1) AS i",
    )?;
    let rows = st.query_map(params![ids_json, until], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (k, Some(ts)) = row?
            && let Some(id) = usize::try_from(k).ok().and_then(|k| ids.get(k))
        {
            out.insert(*id, ts);
        }
    }
    Ok(out)
}

/// The last day on or before `until` each of `intakes` has an imported, metered daily volume
/// (an intake whose meter is read as daily figures reports that way).
pub fn last_metered_days<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    until: Date,
) -> Result<HashMap<&'a str, Date>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(
        "SELECT i.key, (SELECT max(day) FROM daily_volume INDEXED BY daily_volume_imported
                          WHERE intake_id = i.value AND day <= ?2
                          AND source = 'import' AND measured_s > 0)
         FROM json_each(?1) AS i",
    )?;
    let rows = st.query_map(params![ids_json, until.to_string()], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (k, Some(day)) = row?
            && let Some(id) = usize::try_from(k).ok().and_then(|k| ids.get(k))
            && let Ok(d) = day.parse::<Date>()
        {
            out.insert(*id, d);
        }
    }
    Ok(out)
}

/// Volume flagged as implausible (a flow above the intake's maximum: a counter jump, a meter
/// refurbished or replaced starting higher) per intake and year, on days from `from` to `to`.
pub fn flagged_by_year(
    conn: &Connection,
    from: Date,
    to: Date,
) -> Result<HashMap<(String, i16), f64>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT intake_id, CAST(substr(day, 1, 4) AS INTEGER), sum(flagged_m3)
         FROM daily_volume INDEXED BY daily_volume_flagged
         WHERE day >= ?1 AND day <= ?2 AND flagged_m3 > 0 GROUP BY 1, 2",
    )?;
    let rows = st.query_map(params![from.to_string(), to.to_string()], |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, i16>(1)?),
            r.get::<_, f64>(2)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Periods of imported electricity per intake: (first day, last day, kWh).
pub type Electricity = HashMap<String, Vec<(Date, Date, f64)>>;

/// Imported electricity per intake, periods ending on or after `from`.
pub fn electricity(conn: &Connection, from: Date) -> Result<Electricity, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT intake_id, period_start, period_end, kwh FROM electricity WHERE period_end >= ?1
         ORDER BY intake_id, period_start",
    )?;
    let rows = st.query_map(params![from.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    let mut out = Electricity::new();
    for row in rows {
        let (id, s, e, kwh) = row?;
        if let (Ok(s), Ok(e)) = (s.parse::<Date>(), e.parse::<Date>()) {
            out.entry(id).or_default().push((s, e, kwh));
        }
    }
    Ok(out)
}

/// Records one period of an intake's electricity (a period imported again replaces it).
pub fn put_electricity(
    conn: &Connection,
    intake: &str,
    start: Date,
    end: Date,
    kwh: f64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO electricity (intake_id, period_start, period_end, kwh) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (intake_id, period_start) DO UPDATE SET period_end = excluded.period_end,
           kwh = excluded.kwh",
    )?
    .execute(params![intake, start.to_string(), end.to_string(), kwh])?;
    Ok(())
}

/// A meter gap longer than the spread limit, whose volume lands on no day.
#[derive(Clone, Debug, PartialEq)]
pub struct LongGap {
    pub intake_id: String,
    pub start: i64,
    pub end: i64,
    pub volume_m3: f64,
}

/// The `long_gap` events revealed by a reading at or before `until` whose gap reaches past `from`
/// (epoch seconds), oldest first.
pub fn long_gaps(conn: &Connection, from: i64, until: i64) -> Result<Vec<LongGap>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT intake_id, prev_ts, ts, volume_m3 FROM meter_events
         WHERE kind = 'long_gap' AND ts < ?2 AND ts > ?1 ORDER BY ts",
    )?;
    let rows = st.query_map(params![from, until], |r| {
        Ok(LongGap {
            intake_id: r.get(0)?,
            start: r.get(1)?,
            end: r.get(2)?,
            volume_m3: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One day's withdrawal of a group of intakes.
#[derive(Clone, Debug, PartialEq)]
pub struct DayVolume {
    pub day: Date,
    pub volume_m3: f64,
    pub estimated_m3: f64,
    /// Intakes with a figure for the day.
    pub intakes: u32,
}

/// The daily volumes of the listed intakes summed by day, from `from` to `to` (inclusive), in
/// date order, with the estimated part and the number of intakes of each day. Days on which
/// none of them has a row are absent.
pub fn daily_county_volumes(
    conn: &Connection,
    intakes: &[&str],
    from: Date,
    to: Date,
) -> Result<Vec<DayVolume>, StoreError> {
    let ids_json = serde_json::to_string(intakes).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(
        "SELECT d.day, sum(d.volume_m3), sum(d.estimated_m3), count(*) FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
         GROUP BY d.day ORDER BY d.day",
    )?;
    let rows = st.query_map(params![ids_json, from.to_string(), to.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, f64>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, u32>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (day, volume_m3, estimated_m3, intakes) = row?;
        // The store writes days as YYYY-MM-DD; a row that is not one cannot be placed on a day.
        if let Ok(day) = day.parse::<Date>() {
            out.push(DayVolume {
                day,
                volume_m3,
                estimated_m3,
                intakes,
            });
        }
    }
    Ok(out)
}

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

/// The daily volumes of the listed intakes summed by day, from `from` to `to` (inclusive), in
/// date order. Days on which none of them has a row are absent.
pub fn daily_volume_sums<'a>(
    conn: &Connection,
    intakes: impl IntoIterator<Item = &'a str>,
    from: Date,
    to: Date,
) -> Result<Vec<(Date, f64)>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    Ok(daily_county_volumes(conn, &ids, from, to)?
        .into_iter()
        .map(|d| (d.day, d.volume_m3))
        .collect())
}

/// A device with stored data that the registry no longer lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unregistered {
    /// `intake` or `well`.
    pub kind: &'static str,
    pub id: String,
    /// Raw readings held (meter totals or levels), and imported daily volumes for an intake.
    pub readings: i64,
    pub daily_volumes: i64,
}

/// The devices with data in the store that are not among `intakes` and `wells`: found from the
/// monthly rollups (a few rows per device), then counted by their own index ranges.
pub fn unregistered(
    conn: &Connection,
    intakes: &[&str],
    wells: &[&str],
) -> Result<Vec<Unregistered>, StoreError> {
    let json = |ids: &[&str]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut out = Vec::new();
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT m.intake_id,
           (SELECT count(*) FROM meter_readings WHERE intake_id = m.intake_id),
           (SELECT count(*) FROM daily_volume WHERE intake_id = m.intake_id AND source = 'import')
         FROM monthly_volume AS m
         WHERE m.intake_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY m.intake_id",
    )?;
    for row in st.query_map([json(intakes)], |r| {
        Ok(Unregistered {
            kind: "intake",
            id: r.get(0)?,
            readings: r.get(1)?,
            daily_volumes: r.get(2)?,
        })
    })? {
        out.push(row?);
    }
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT m.well_id,
           (SELECT count(*) FROM level_readings WHERE well_id = m.well_id)
         FROM monthly_level AS m
         WHERE m.well_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY m.well_id",
    )?;
    for row in st.query_map([json(wells)], |r| {
        Ok(Unregistered {
            kind: "well",
            id: r.get(0)?,
            readings: r.get(1)?,
            daily_volumes: 0,
        })
    })? {
        out.push(row?);
    }
    Ok(out)
}

impl Unregistered {
    /// What an operator reads: the device, what the store holds of it, and what to do.
    pub fn describe(&self) -> String {
        let held = if self.kind == "intake" {
            format!(
                "{} meter readings and {} imported daily volumes",
                self.readings, self.daily_volumes
            )
        } else {
            format!("{} level readings", self.readings)
        };
        let fix = if self.kind == "intake" {
            "keep its row in intakes.csv with active_to set to the day it was sealed or left (past years then keep its withdrawal); deleting the row drops its data from every figure"
        } else {
            "keep its row in wells.csv (a well that is no longer read simply goes silent); deleting the row drops its record from every trend"
        };
        format!(
            "{} {} is not in the registry but the store holds {held}: {fix}",
            self.kind, self.id
        )
    }
}
