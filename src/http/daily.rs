//! A county's daily series as the API serves it (`/api/v1/counties/{code}/daily`): the daily
//! withdrawal of the intakes that count towards its quota and each well's daily mean level, as
//! JSON or CSV.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;

use crate::assess::counts_for_county_quota;
use crate::store::StoreError;

/// One day of a county.
#[derive(Debug, Serialize)]
pub struct Day {
    date: String,
    /// Withdrawal of the intakes that count towards the county's quota, m³ (absent: none of them
    /// has a figure for the day).
    volume_m3: Option<f64>,
    /// Of which estimated (interpolated across gaps), m³.
    estimated_m3: Option<f64>,
    /// Intakes with a figure for the day.
    intakes: u32,
    /// Daily mean level of each well with readings that day, m above datum.
    level_m: BTreeMap<String, f64>,
}

/// A county's daily series as the API serves it.
#[derive(Debug, Serialize)]
pub struct Daily {
    pub county: String,
    pub name: String,
    pub from: String,
    pub to: String,
    /// The county's wells, in the order of the CSV's level columns.
    pub wells: Vec<String>,
    pub days: Vec<Day>,
}

pub(super) fn daily_series(
    cfg: &crate::config::Config,
    db: &std::path::Path,
    code: crate::domain::CountyCode,
    from: Date,
    to: Date,
) -> Result<Daily, StoreError> {
    let conn = crate::store::open_read(db)?;
    let intakes: Vec<&str> = cfg
        .registry
        .intakes
        .iter()
        .filter(|i| i.county == code && counts_for_county_quota(i))
        .map(|i| i.id.as_str())
        .collect();
    let wells: Vec<String> = cfg
        .registry
        .wells
        .iter()
        .filter(|w| w.county == code)
        .map(|w| w.id.clone())
        .collect();
    let volumes = crate::store::volumes::daily_county_volumes(&conn, &intakes, from, to)?;
    let levels = crate::store::levels::daily_well_levels(&conn, &wells, from, to)?;
    let mut days: BTreeMap<Date, Day> = BTreeMap::new();
    let blank = |d: Date| Day {
        date: d.to_string(),
        volume_m3: None,
        estimated_m3: None,
        intakes: 0,
        level_m: BTreeMap::new(),
    };
    for v in volumes {
        let day = days.entry(v.day).or_insert_with(|| blank(v.day));
        day.volume_m3 = Some(v.volume_m3);
        day.estimated_m3 = Some(v.estimated_m3);
        day.intakes = v.intakes;
    }
    for (well, d, level) in levels {
        days.entry(d)
            .or_insert_with(|| blank(d))
            .level_m
            .insert(well, level);
    }
    let name = cfg
        .counties
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    Ok(Daily {
        county: code.to_string(),
        name,
        from: from.to_string(),
        to: to.to_string(),
        wells,
        days: days.into_values().collect(),
    })
}

/// The daily series as CSV: one row a day, one level column a well.
pub(super) fn daily_csv(d: &Daily) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec![
        "date".to_owned(),
        "volume_m3".to_owned(),
        "estimated_m3".to_owned(),
        "intakes".to_owned(),
    ];
    head.extend(d.wells.iter().map(|id| format!("level_m:{id}")));
    w.write_record(&head).map_err(|e| e.to_string())?;
    let num = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.3}"));
    for day in &d.days {
        let mut row = vec![
            day.date.clone(),
            num(day.volume_m3),
            num(day.estimated_m3),
            day.intakes.to_string(),
        ];
        row.extend(d.wells.iter().map(|id| num(day.level_m.get(id).copied())));
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
