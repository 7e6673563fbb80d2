//! Whether a report's readings contradict readings already in the store.
//!
//! The gateway confirms a frame only once its readings are safe; a reading that conflicts with
//! a stored one (same device and time, another value) is not safe: the daemon would quarantine
//! it and keep the stored value, and a terminal whose report was confirmed never sends it
//! again — so if the stored value is the forgery, the real one would be lost. The daemon
//! learns of a conflict only after the gateway has published and confirmed, and tells the
//! gateway nothing, so the gateway asks the store itself, read-only, before it publishes: the
//! store is where it archives frames anyway, and the lookup is one primary-key read per
//! reading. A report whose reading was stored by the daemon between this check and the
//! publish is still quarantined by the daemon; what the check guarantees is that a conflict
//! with any reading already stored is never confirmed.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::map::Point;
use crate::config::stations::{DeviceKind, Quantity};
use crate::store::StoreError;

/// A reading of a report that the store holds another value for.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    pub point: Point,
    /// The stored value of the same quantity.
    pub stored: f64,
}

/// A read-only connection to the store, opened on first use.
#[derive(Default)]
pub struct Lookup {
    conn: Option<Connection>,
}

impl Lookup {
    /// The readings of `points` that conflict with stored readings.
    pub fn conflicts(&mut self, db: &Path, points: &[Point]) -> Result<Vec<Conflict>, StoreError> {
        if self.conn.is_none() {
            self.conn = Some(crate::store::open_ro(db)?);
        }
        let Some(conn) = self.conn.as_ref() else {
            return Ok(Vec::new());
        };
        let result = conflicts(conn, points);
        if result.is_err() {
            // Open again next time: the file may have been replaced (a restore).
            self.conn = None;
        }
        Ok(result?)
    }
}

fn conflicts(conn: &Connection, points: &[Point]) -> rusqlite::Result<Vec<Conflict>> {
    let mut out = Vec::new();
    for p in points {
        // Only the quantity the terminal sent is compared: the daemon derives the other one
        // (level from depth and the well's ground elevation) and it may differ by rounding.
        let sql = match (p.kind, p.quantity) {
            (DeviceKind::Intake, _) => {
                "SELECT total_m3 FROM meter_readings WHERE intake_id = ?1 AND ts = ?2"
            }
            (DeviceKind::Well, Quantity::LevelM) => {
                "SELECT level_m FROM level_readings WHERE well_id = ?1 AND ts = ?2"
            }
            (DeviceKind::Well, _) => {
                "SELECT depth_m FROM level_readings WHERE well_id = ?1 AND ts = ?2"
            }
        };
        let stored: Option<f64> = conn
            .prepare_cached(sql)?
            .query_row(params![p.device_id, p.ts], |r| r.get(0))
            .optional()?;
        if let Some(stored) = stored
            && !crate::store::apply::same(stored, p.value)
        {
            out.push(Conflict {
                point: p.clone(),
                stored,
            });
        }
    }
    Ok(out)
}
