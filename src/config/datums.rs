//! `datums.csv`: the dated history of a well's datum — its ground elevation and the height of
//! the measuring point (测点) above ground — as quotas have versions. A level is derived from
//! what the terminal sent with the version in force on the reading's day; correcting this file
//! re-derives the stored levels (the store keeps what was sent).
//!
//! ```text
//! well_id,effective_from,ground_elevation_m,measuring_point_m,note
//! W-QX-01,2024-03-01,768.52,0.60,新测点：井口加高 0.6 m
//! ```
//!
//! Before a well's first row, wells.csv's `ground_elevation_m` applies with the measuring
//! point at ground. An empty figure keeps the one in force before.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Deserialize;

use super::csv_file;
use super::registry::{Registry, RegistryError, elevation};
use crate::domain::Datum;

/// The columns of datums.csv, as error messages list them.
pub const DATUM_COLUMNS: &[&str] = &[
    "well_id",
    "effective_from",
    "ground_elevation_m",
    "measuring_point_m",
    "note",
];

#[derive(Deserialize)]
struct RawDatum {
    well_id: String,
    effective_from: String,
    ground_elevation_m: String,
    measuring_point_m: String,
    #[allow(dead_code)]
    note: String,
}

/// A measuring-point height in m above ground (negative: below ground, e.g. in a pit).
fn height(s: &str) -> Result<Option<f64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (-10.0..=10.0).contains(v))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "'{s}': expected the measuring point's height above ground in m, between -10 and 10, e.g. 0.60, or leave empty to keep the one before"
            )
        })
}

/// A row of one well and day: its line, and the new ground elevation and measuring-point height
/// (`None`: kept from the version before).
type Row = (u64, Option<f64>, Option<f64>);

/// Reads datums.csv into the registry's wells: each well's `datums` becomes its wells.csv
/// datum followed by the dated versions, oldest first, and its `ground_elevation_m` the latest.
pub fn apply(file: &str, text: &str, registry: &mut Registry) -> Result<(), RegistryError> {
    let mut versions: BTreeMap<String, BTreeMap<Date, Row>> = BTreeMap::new();
    let problems = csv_file::read_rows(file, text, DATUM_COLUMNS, |p, line, r: RawDatum| {
        let known = registry.well(&r.well_id).is_some();
        if !known {
            p.push(
                line,
                "well_id",
                format!(
                    "'{}' is not a well in wells.csv: list the well there first",
                    r.well_id
                ),
            );
        }
        let from = p.check(
            line,
            "effective_from",
            r.effective_from.parse::<Date>().map_err(|_| {
                format!(
                    "'{}': expected the first day the datum applies, YYYY-MM-DD, e.g. 2024-03-01",
                    r.effective_from
                )
            }),
        );
        let ground = p.check(
            line,
            "ground_elevation_m",
            if r.ground_elevation_m.is_empty() {
                Ok(None)
            } else {
                elevation(&r.ground_elevation_m).map(Some)
            },
        );
        let mp = p.check(line, "measuring_point_m", height(&r.measuring_point_m));
        let (Some(from), Some(ground), Some(mp)) = (from, ground, mp) else {
            return;
        };
        if !known {
            return;
        }
        if ground.is_none() && mp.is_none() {
            p.push(
                line,
                "ground_elevation_m",
                "both figures are empty: give the new ground elevation, the new measuring-point height, or both",
            );
            return;
        }
        let entry = versions.entry(r.well_id.clone()).or_default();
        if let Some((first, ..)) = entry.get(&from) {
            p.push(
                line,
                "effective_from",
                format!(
                    "{} already has a datum from {from} (line {first}): give one row per well and day",
                    r.well_id
                ),
            );
            return;
        }
        entry.insert(from, (line, ground, mp));
    });
    let problems = problems.into_vec();
    if !problems.is_empty() {
        return Err(RegistryError(problems));
    }
    add_datums(registry, versions);
    Ok(())
}

/// Adds each well's dated datums in date order: a figure a row leaves empty carries over from
/// the datum before it; the well's ground elevation becomes the latest.
fn add_datums(registry: &mut Registry, versions: BTreeMap<String, BTreeMap<Date, Row>>) {
    for (id, dated) in versions {
        let Some(well) = registry.well_mut(&id) else {
            continue;
        };
        let mut current = well.datums[0];
        for (from, (_, ground, mp)) in dated {
            current = Datum {
                from: Some(from),
                ground_elevation_m: ground.unwrap_or(current.ground_elevation_m),
                measuring_point_m: mp.unwrap_or(current.measuring_point_m),
            };
            well.datums.push(current);
        }
        well.ground_elevation_m = current.ground_elevation_m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::registry::tests::{HEAD, WELLS};
    use crate::domain::Sent;

    /// W-1 of county 140121, ground at 770.5 m.
    fn registry() -> Registry {
        crate::config::registry::tests::parse_both(HEAD, WELLS).unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn versions_apply_from_their_day() {
        let mut reg = registry();
        apply(
            "datums.csv",
            "well_id,effective_from,ground_elevation_m,measuring_point_m,note\n\
             W-1,2024-03-01,,0.6,新测点\n\
             W-1,2022-01-01,770.9,,复测\n",
            &mut reg,
        )
        .unwrap();
        let w = reg.well("W-1").unwrap();
        assert_eq!(w.datums.len(), 3);
        assert_eq!(w.ground_elevation_m, 770.9);
        let at = |day| w.datum_on(d(day));
        assert_eq!(at("2021-12-31").ground_elevation_m, 770.5);
        assert_eq!(at("2022-01-01").ground_elevation_m, 770.9);
        assert_eq!(at("2024-02-29").measuring_point_m, 0.0);
        assert_eq!(at("2024-03-01").measuring_point_m, 0.6);
        assert_eq!(at("2024-03-01").ground_elevation_m, 770.9);
        // A depth of 20.6 m from a measuring point 0.6 m above ground is 20.0 m below ground.
        let (depth, level) = at("2025-01-01").derive(Sent::Depth(20.6)).unwrap();
        assert!((depth - 20.0).abs() < 1e-9 && (level - 750.9).abs() < 1e-9);
    }

    #[test]
    fn problems_are_named_by_line_and_field() {
        let mut reg = registry();
        let e = apply(
            "datums.csv",
            "well_id,effective_from,ground_elevation_m,measuring_point_m,note\n\
             W-9,2024-03-01,770,,\n\
             W-1,2024/03/01,770,,\n\
             W-1,2024-03-01,,,\n\
             W-1,2024-04-01,770,25,\n",
            &mut reg,
        )
        .unwrap_err();
        let text: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "datums.csv line 2, field well_id: 'W-9' is not a well in wells.csv: list the well there first",
                "datums.csv line 3, field effective_from: '2024/03/01': expected the first day the datum applies, YYYY-MM-DD, e.g. 2024-03-01",
                "datums.csv line 4, field ground_elevation_m: both figures are empty: give the new ground elevation, the new measuring-point height, or both",
                "datums.csv line 5, field measuring_point_m: '25': expected the measuring point's height above ground in m, between -10 and 10, e.g. 0.60, or leave empty to keep the one before",
            ]
        );
    }
}
