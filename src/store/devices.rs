//! What each device last sent, and what was refused: the read side of `gwmon devices` and
//! `gwmon quarantine`. One statement per question for all devices (an index seek each inside
//! SQLite), cut at a time so that a past day can be looked at as it was.

use std::collections::HashMap;

use super::StoreError;
use super::sql::{Sql, SqlExt};
use crate::vals;

/// A device's latest reading at or before the cut, and its readings since a given time.
#[derive(Clone, Debug, PartialEq)]
pub struct LastSeen {
    /// Epoch seconds of the latest reading.
    pub ts: i64,
    /// Its value: the meter total in m³, or the well's depth to water in m.
    pub value: f64,
    /// Readings with a timestamp from `since` to the cut.
    pub readings_since: i64,
}

fn ids_json(ids: &[&str]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn last_seen(
    conn: &dyn Sql,
    sql: &str,
    ids: &[&str],
    since: i64,
    until: i64,
) -> Result<HashMap<String, LastSeen>, StoreError> {
    let rows = conn.rows(sql, vals![&ids_json(ids), since, until], |r| {
        Ok((
            r.get::<String>(0)?,
            r.get::<Option<i64>>(1)?,
            r.get::<Option<f64>>(2)?,
            r.get::<i64>(3)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(ts), Some(value), n) = row {
            out.insert(
                id,
                LastSeen {
                    ts,
                    value,
                    readings_since: n,
                },
            );
        }
    }
    Ok(out)
}

/// The latest meter reading of each listed intake before `until`, with its readings from
/// `since` on.
pub fn meters(
    conn: &dyn Sql,
    intakes: &[&str],
    since: i64,
    until: i64,
) -> Result<HashMap<String, LastSeen>, StoreError> {
    last_seen(
        conn,
        "SELECT i.value, m.ts, m.total_m3,
                (SELECT count(*) FROM meter_readings WHERE intake_id = i.value AND ts >= ?2 AND ts < ?3)
         FROM json_each(?1) AS i
         LEFT JOIN meter_readings AS m ON m.intake_id = i.value AND m.ts = (
             SELECT max(ts) FROM meter_readings WHERE intake_id = i.value AND ts < ?3)",
        intakes,
        since,
        until,
    )
}

/// The latest level reading of each listed well before `until` (its depth to water), with its
/// readings from `since` on.
pub fn wells(
    conn: &dyn Sql,
    wells: &[&str],
    since: i64,
    until: i64,
) -> Result<HashMap<String, LastSeen>, StoreError> {
    last_seen(
        conn,
        "SELECT i.value, l.ts, l.depth_m,
                (SELECT count(*) FROM level_readings WHERE well_id = i.value AND ts >= ?2 AND ts < ?3)
         FROM json_each(?1) AS i
         LEFT JOIN level_readings AS l ON l.well_id = i.value AND l.ts = (
             SELECT max(ts) FROM level_readings WHERE well_id = i.value AND ts < ?3)",
        wells,
        since,
        until,
    )
}

/// Quarantine rows received in `[since, until)` per origin (topic, or `import:<file> line <n>`).
pub fn quarantined_by_origin(
    conn: &dyn Sql,
    since: i64,
    until: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows = conn.rows(
        "SELECT origin, count(*) FROM quarantine
         WHERE received_at >= ?1 AND received_at < ?2 GROUP BY origin",
        vals![since, until],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.into_iter().collect())
}

/// One line of the quarantine summary: a reason code and an origin, how often, since when.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QuarantineGroup {
    pub reason_code: String,
    pub origin: String,
    /// Rows (refused messages or imported rows).
    pub rows: i64,
    /// Refused elements in them (a backlog array counts each bad element).
    pub elements: i64,
    pub first_received_at: i64,
    pub last_received_at: i64,
    /// The latest row's reason, as stored (escaped and cut).
    pub last_reason: String,
}

/// The quarantine grouped by reason and origin, for rows received in `[since, until)` and, when
/// given, of one reason code; most rows first.
pub fn quarantine_summary(
    conn: &dyn Sql,
    since: i64,
    until: i64,
    reason: Option<&str>,
) -> Result<Vec<QuarantineGroup>, StoreError> {
    conn.rows(
        "SELECT reason_code, origin, count(*), CAST(sum(elements) AS BIGINT), min(received_at), max(received_at),
                (SELECT reason FROM quarantine AS q2
                 WHERE q2.origin = q.origin AND q2.reason_code = q.reason_code
                 ORDER BY q2.received_at DESC, q2.id DESC LIMIT 1)
         FROM quarantine AS q
         WHERE received_at >= ?1 AND received_at < ?2 AND (CAST(?3 AS TEXT) IS NULL OR reason_code = ?3)
         GROUP BY reason_code, origin
         ORDER BY count(*) DESC, reason_code, origin",
        vals![since, until, reason],
        |r| {
        Ok(QuarantineGroup {
            reason_code: r.get(0)?,
            origin: r.get(1)?,
            rows: r.get(2)?,
            elements: r.get(3)?,
            first_received_at: r.get(4)?,
            last_received_at: r.get(5)?,
            last_reason: r.get(6)?,
        })
    })
}

/// The latest meter reading of each listed intake at or before `until` (epoch seconds).
pub fn last_readings<'a>(
    conn: &dyn Sql,
    intakes: impl IntoIterator<Item = &'a str>,
    until: i64,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let rows = conn.rows(
        "SELECT i.key, (SELECT max(ts) FROM meter_readings WHERE intake_id = i.value AND ts < ?2)
         FROM json_each(?1) AS i",
        vals![&ids_json, until],
        |r| Ok((r.get::<i64>(0)?, r.get::<Option<i64>>(1)?)),
    )?;
    let mut out = HashMap::new();
    for row in rows {
        if let (k, Some(ts)) = row
            && let Some(id) = usize::try_from(k).ok().and_then(|k| ids.get(k))
        {
            out.insert(*id, ts);
        }
    }
    Ok(out)
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
pub fn long_gaps(conn: &dyn Sql, from: i64, until: i64) -> Result<Vec<LongGap>, StoreError> {
    conn.rows(
        "SELECT intake_id, prev_ts, ts, volume_m3 FROM meter_events
         WHERE kind = 'long_gap' AND ts < ?2 AND ts > ?1 ORDER BY ts",
        vals![from, until],
        |r| {
            Ok(LongGap {
                intake_id: r.get(0)?,
                start: r.get(1)?,
                end: r.get(2)?,
                volume_m3: r.get(3)?,
            })
        },
    )
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
    conn: &dyn Sql,
    intakes: &[&str],
    wells: &[&str],
) -> Result<Vec<Unregistered>, StoreError> {
    let json = |ids: &[&str]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut out = conn.rows(
        "SELECT DISTINCT m.intake_id,
           (SELECT count(*) FROM meter_readings WHERE intake_id = m.intake_id),
           (SELECT count(*) FROM daily_volume WHERE intake_id = m.intake_id AND source = 'import')
         FROM monthly_volume AS m
         WHERE m.intake_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY m.intake_id",
        vals![&json(intakes)],
        |r| {
            Ok(Unregistered {
                kind: "intake",
                id: r.get(0)?,
                readings: r.get(1)?,
                daily_volumes: r.get(2)?,
            })
        },
    )?;
    out.extend(conn.rows(
        "SELECT DISTINCT m.well_id,
           (SELECT count(*) FROM level_readings WHERE well_id = m.well_id)
         FROM monthly_level AS m
         WHERE m.well_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY m.well_id",
        vals![&json(wells)],
        |r| {
            Ok(Unregistered {
                kind: "well",
                id: r.get(0)?,
                readings: r.get(1)?,
                daily_volumes: 0,
            })
        },
    )?);
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
