//! Every registered meter and well with what it last sent: the inventory operators chase silent
//! devices with (`gwmon devices`).

use crate::store::sql::Sql;
use serde::Serialize;

use crate::config::Config;
use crate::domain::CountyCode;
use crate::store::{StoreError, devices};

pub use crate::store::devices::QuarantineGroup;

/// Whether a device is reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Its latest reading is within the silence threshold.
    Ok,
    /// It has reported, but not within the threshold.
    Silent,
    /// No reading at all up to the cut.
    NeverReported,
}

impl DeviceState {
    pub fn label(self) -> &'static str {
        match self {
            DeviceState::Ok => "正常",
            DeviceState::Silent => "静默",
            DeviceState::NeverReported => "从未上报",
        }
    }
}

/// What kind of device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Meter,
    Well,
}

/// One device's line of the inventory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceStatus {
    pub kind: DeviceKind,
    pub id: String,
    pub name: String,
    pub county: CountyCode,
    pub county_name: String,
    /// A meter under the online-metering duty; every well is monitored.
    pub obliged: bool,
    /// Local time of the latest reading (`YYYY-MM-DD HH:MM:SS`).
    pub last_reading: Option<String>,
    pub last_reading_ts: Option<i64>,
    /// The meter's total in m³, or the well's depth to water in m.
    pub last_value: Option<f64>,
    /// Readings timestamped on the day of the cut.
    pub readings_today: i64,
    /// Messages from its topic quarantined on the day of the cut.
    pub quarantined_today: i64,
    pub state: DeviceState,
    /// Whole days since the latest reading, when silent.
    pub silent_days: Option<i64>,
    /// The silence threshold applied, in days.
    pub silent_after_days: i64,
}

/// The inventory at `until` (epoch seconds): every registered meter, then every well, in
/// registry order. "Today" is the local day that `until` falls in.
pub fn inventory(
    cfg: &Config,
    conn: &dyn Sql,
    until: i64,
) -> Result<Vec<DeviceStatus>, StoreError> {
    let day_start = cfg.clock.day_start(cfg.clock.day_of(until - 1));
    let reg = &cfg.registry;
    let intake_ids: Vec<&str> = reg.intakes.iter().map(|i| i.id.as_str()).collect();
    let well_ids: Vec<&str> = reg.wells.iter().map(|w| w.id.as_str()).collect();
    let meters = devices::meters(conn, &intake_ids, day_start, until)?;
    let wells = devices::wells(conn, &well_ids, day_start, until)?;
    let refused = devices::quarantined_by_origin(conn, day_start, until)?;
    let prefix = &cfg.mqtt.topic_prefix;
    let county_name = |c: CountyCode| {
        cfg.county(c)
            .map_or_else(|| c.to_string(), |c| c.name.clone())
    };
    let line = |kind: DeviceKind,
                id: &str,
                name: &str,
                county: CountyCode,
                obliged: bool,
                seen: Option<&devices::LastSeen>,
                silent_after_days: i64| {
        let topic = format!(
            "{prefix}/{county}/{}/{id}",
            if kind == DeviceKind::Meter {
                "meter"
            } else {
                "level"
            }
        );
        let age_days = seen.map(|s| (until - s.ts).max(0) / 86_400);
        let state = match age_days {
            None => DeviceState::NeverReported,
            Some(d) if d >= silent_after_days => DeviceState::Silent,
            Some(_) => DeviceState::Ok,
        };
        DeviceStatus {
            kind,
            id: id.to_string(),
            name: name.to_string(),
            county,
            county_name: county_name(county),
            obliged,
            last_reading: seen.map(|s| cfg.clock.format(s.ts)),
            last_reading_ts: seen.map(|s| s.ts),
            last_value: seen.map(|s| s.value),
            readings_today: seen.map_or(0, |s| s.readings_since),
            quarantined_today: refused.get(&topic).copied().unwrap_or(0),
            state,
            silent_days: age_days.filter(|_| state == DeviceState::Silent),
            silent_after_days,
        }
    };
    let mut out = Vec::with_capacity(intake_ids.len() + well_ids.len());
    let today = cfg.clock.day_of(until - 1);
    for i in &reg.intakes {
        out.push(line(
            DeviceKind::Meter,
            &i.id,
            &i.name,
            i.county,
            // A sealed well owes no metering after its `active_to`.
            i.metering_duty && i.active_on(today),
            meters.get(&i.id),
            cfg.metering.silent_after_days,
        ));
    }
    for w in &reg.wells {
        out.push(line(
            DeviceKind::Well,
            &w.id,
            &w.name,
            w.county,
            true,
            wells.get(&w.id),
            cfg.metering.well_silent_after_days,
        ));
    }
    Ok(out)
}
