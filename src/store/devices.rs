//! What each device last sent, and what was refused: the read side of `gwmon devices` and
//! `gwmon quarantine`. One statement per question for all devices (an index seek each inside
//! SQLite), cut at a time so that a past day can be looked at as it was.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::StoreError;

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
    conn: &Connection,
    sql: &str,
    ids: &[&str],
    since: i64,
    until: i64,
) -> Result<HashMap<String, LastSeen>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params![ids_json(ids), since, until], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<f64>>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(ts), Some(value), n) = row? {
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
    conn: &Connection,
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
    conn: &Connection,
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
    conn: &Connection,
    since: i64,
    until: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT origin, count(*) FROM quarantine
         WHERE received_at >= ?1 AND received_at < ?2 GROUP BY origin",
    )?;
    let rows = st.query_map(params![since, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
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
    conn: &Connection,
    since: i64,
    until: i64,
    reason: Option<&str>,
) -> Result<Vec<QuarantineGroup>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT reason_code, origin, count(*), sum(elements), min(received_at), max(received_at),
                (SELECT reason FROM quarantine AS q2
                 WHERE q2.origin = q.origin AND q2.reason_code = q.reason_code
                 ORDER BY q2.received_at DESC, q2.id DESC LIMIT 1)
         FROM quarantine AS q
         WHERE received_at >= ?1 AND received_at < ?2 AND (?3 IS NULL OR reason_code = ?3)
         GROUP BY reason_code, origin
         ORDER BY count(*) DESC, reason_code, origin",
    )?;
    let rows = st.query_map(params![since, until, reason], |r| {
        Ok(QuarantineGroup {
            reason_code: r.get(0)?,
            origin: r.get(1)?,
            rows: r.get(2)?,
            elements: r.get(3)?,
            first_received_at: r.get(4)?,
            last_received_at: r.get(5)?,
            last_reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
