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

use super::map::Point;
use crate::config::stations::{DeviceKind, Quantity};
use crate::store::StoreError;
use crate::store::sql::{Db, Sql, SqlExt};
use crate::vals;

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
    conn: Option<Db>,
}

impl Lookup {
    /// The readings of `points` that conflict with stored readings.
    pub fn conflicts(&mut self, db: &Path, points: &[Point]) -> Result<Vec<Conflict>, StoreError> {
        if self.conn.is_none() {
            self.conn = Some(crate::store::open_read(db)?);
        }
        let Some(conn) = self.conn.as_ref() else {
            return Ok(Vec::new());
        };
        let result = conflicts(conn, points);
        if result.is_err() {
            // Open again next time: the file may have been replaced (a restore).
            self.conn = None;
        }
        result
    }
}

fn conflicts(conn: &dyn Sql, points: &[Point]) -> Result<Vec<Conflict>, StoreError> {
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
        let stored: Option<f64> = conn.opt(sql, vals![&p.device_id, p.ts], |r| r.get(0))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, open_rw};

    fn point(kind: DeviceKind, quantity: Quantity, device: &str, ts: i64, value: f64) -> Point {
        Point {
            kind,
            device_id: device.into(),
            quantity,
            ts,
            value,
            topic: String::new(),
        }
    }

    #[test]
    fn only_another_value_at_a_stored_key_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let rw = open_rw(&db, Durability::Normal).unwrap();
        rw.execute_batch(
            "INSERT INTO meter_readings VALUES ('QX-1', 100, 345678.0, 0, 'mqtt');
             INSERT INTO level_readings (well_id, ts, depth_m, level_m, received_at, source) VALUES ('W-1', 100, 15.2, 760.1, 0, 'mqtt');",
        )
        .unwrap();
        let (i, w) = (DeviceKind::Intake, DeviceKind::Well);
        let points = [
            // The same values (a resend): no conflict.
            point(i, Quantity::TotalM3, "QX-1", 100, 345_678.0),
            point(w, Quantity::DepthM, "W-1", 100, 15.2),
            // Another time: a new reading.
            point(i, Quantity::TotalM3, "QX-1", 200, 1.0),
            // Another value at a stored key, for each quantity.
            point(i, Quantity::TotalM3, "QX-1", 100, 345_679.0),
            point(w, Quantity::DepthM, "W-1", 100, 40.0),
            point(w, Quantity::LevelM, "W-1", 100, 700.0),
        ];
        let found = Lookup::default().conflicts(&db, &points).unwrap();
        let got: Vec<(f64, f64)> = found.iter().map(|c| (c.point.value, c.stored)).collect();
        assert_eq!(got, [(345_679.0, 345_678.0), (40.0, 15.2), (700.0, 760.1)]);
    }
}
