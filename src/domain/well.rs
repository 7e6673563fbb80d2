//! What the registry says about a monitoring well's water table: its level target (水位控制指标)
//! and the depths to water it can plausibly report.
//!
//! The Groundwater Management Regulation controls both withdrawal and level (双控), so a bureau
//! may set, per well, the level the water table must be back at by a year. Bureaus write such a
//! target either as a water level (m above the well's datum) or as a depth to water (m below
//! ground); both are kept as written, and [`WellTarget::shortfall_m`] compares either with a
//! level.
//!
//! The plausible range is what catches the commonest field fault: a level sent where a depth is
//! expected, or the reverse. Either puts the water table hundreds of metres below or above
//! ground, which [`LevelLimits::check`] refuses with a sentence that names the figure and the
//! likely mix-up.

use serde::Serialize;

/// The two ways a water-table figure is written: the form of a [`WellTarget`], and of a reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Water level, m above the well's datum (水位): higher is better.
    Level,
    /// Depth to water, m below ground (埋深): shallower is better.
    Depth,
}

impl TargetKind {
    /// The wells.csv column a target of this kind is written in.
    pub fn column(self) -> &'static str {
        match self {
            TargetKind::Level => "target_level_m",
            TargetKind::Depth => "target_depth_m",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            TargetKind::Level => "水位",
            TargetKind::Depth => "埋深",
        }
    }
}

/// A well's level target: the water table must be at `value_m` (a level or a depth, as `kind`
/// says) by `year`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WellTarget {
    pub kind: TargetKind,
    pub value_m: f64,
    pub year: i16,
}

impl WellTarget {
    /// Metres by which a (mean) water level `level_m`, in m above the datum, at a well whose
    /// ground is at `ground_elevation_m`, misses the target: positive when the water table is
    /// lower than the target asks, zero or negative when it meets it. The same for both kinds,
    /// since a depth target is a level target measured from the ground down.
    pub fn shortfall_m(&self, level_m: f64, ground_elevation_m: f64) -> f64 {
        match self.kind {
            TargetKind::Level => self.value_m - level_m,
            TargetKind::Depth => (ground_elevation_m - level_m) - self.value_m,
        }
    }
}

/// The depths to water a well can plausibly report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelLimits {
    /// How far above ground the water table may stand (flowing artesian wells), m.
    pub max_above_ground_m: f64,
    /// How far below ground it may be, m.
    pub max_depth_m: f64,
}

impl LevelLimits {
    /// Checks a water-table figure `value` given in `field` as a `kind` (a level in m above the
    /// datum, or a depth in m below ground) at a well whose ground is at `ground_elevation_m`.
    /// Returns the depth to water it implies, or a sentence that names the figure, the limit it
    /// breaks and the likely cause.
    pub fn check(
        &self,
        field: &str,
        value: f64,
        kind: TargetKind,
        ground_elevation_m: f64,
    ) -> Result<f64, String> {
        let depth = match kind {
            TargetKind::Depth => value,
            TargetKind::Level => ground_elevation_m - value,
        };
        if self.allows(depth) {
            return Ok(depth);
        }
        let too_deep = depth > self.max_depth_m;
        let what = if too_deep {
            format!("deeper than the well's maximum {} m", self.max_depth_m)
        } else {
            format!(
                "more than the allowed {} m above ground",
                self.max_above_ground_m
            )
        };
        let figure = match kind {
            TargetKind::Depth => format!("{field} = {value} is"),
            TargetKind::Level => format!(
                "{field} = {value} puts the water table {:.2} m {} ground (ground at {ground_elevation_m:.2} m above the datum), which is",
                depth.abs(),
                if depth < 0.0 { "above" } else { "below" }
            ),
        };
        // A depth near the ground's elevation is most likely a level (its datum may differ a
        // little from the registry's), and a level that would fit as a depth most likely a depth.
        let mixed_up = match kind {
            TargetKind::Depth => too_deep && (value - ground_elevation_m).abs() <= self.max_depth_m,
            TargetKind::Level => self.allows(value),
        };
        let cause = match (kind, mixed_up, too_deep) {
            (TargetKind::Depth, true, _) => {
                format!("was a level (m above the datum) given as {field}?")
            }
            (TargetKind::Level, true, _) => {
                format!("was a depth to water (m below ground) given as {field}?")
            }
            (TargetKind::Depth, false, true) => "check the units (metres) and the sensor".into(),
            (TargetKind::Depth, false, false) => {
                "depth to water is positive below ground: was the sign reversed?".into()
            }
            (TargetKind::Level, false, _) => {
                "check the datum of the figure and the well's ground_elevation_m in wells.csv"
                    .into()
            }
        };
        Err(format!("{figure} {what}: {cause}"))
    }

    /// True when a depth to water (m below ground; negative above) is within the limits.
    pub fn allows(&self, depth_m: f64) -> bool {
        depth_m.is_finite() && -self.max_above_ground_m <= depth_m && depth_m <= self.max_depth_m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: LevelLimits = LevelLimits {
        max_above_ground_m: 1.0,
        max_depth_m: 300.0,
    };

    #[test]
    fn shortfall_is_measured_the_same_way_for_levels_and_depths() {
        // Ground at 780 m; the mean level 755.5 m is a depth of 24.5 m.
        let level = WellTarget {
            kind: TargetKind::Level,
            value_m: 757.0,
            year: 2030,
        };
        assert_eq!(level.shortfall_m(755.5, 780.0), 1.5);
        assert_eq!(level.shortfall_m(758.0, 780.0), -1.0);
        let depth = WellTarget {
            kind: TargetKind::Depth,
            value_m: 23.0,
            year: 2030,
        };
        assert_eq!(depth.shortfall_m(755.5, 780.0), 1.5);
        assert_eq!(depth.shortfall_m(758.0, 780.0), -1.0);
    }

    #[test]
    fn kinds_serialise_in_snake_case() {
        let t = WellTarget {
            kind: TargetKind::Depth,
            value_m: 23.5,
            year: 2030,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"kind":"depth","value_m":23.5,"year":2030}"#
        );
        assert_eq!(
            serde_json::to_string(&TargetKind::Level).unwrap(),
            r#""level""#
        );
        assert_eq!(TargetKind::Level.column(), "target_level_m");
        assert_eq!(TargetKind::Depth.label(), "埋深");
    }

    #[test]
    fn limits_bound_the_depth_on_both_sides() {
        assert!(LIMITS.allows(-1.0) && LIMITS.allows(300.0) && LIMITS.allows(0.0));
        assert!(!LIMITS.allows(-1.01) && !LIMITS.allows(300.01) && !LIMITS.allows(f64::NAN));
        assert_eq!(
            LIMITS.check("level_m", 760.0, TargetKind::Level, 780.0),
            Ok(20.0)
        );
    }

    /// Each way a figure can break the limits, with the cause the message suggests.
    #[test]
    fn each_breach_names_the_figure_and_its_likely_cause() {
        let cases = [
            (
                "depth_m",
                792.3,
                TargetKind::Depth,
                800.0,
                "depth_m = 792.3 is deeper than the well's maximum 300 m: was a level (m above the datum) given as depth_m?",
            ),
            (
                "depth_m",
                5000.0,
                TargetKind::Depth,
                800.0,
                "depth_m = 5000 is deeper than the well's maximum 300 m: check the units (metres) and the sensor",
            ),
            (
                "depth_m",
                -12.0,
                TargetKind::Depth,
                800.0,
                "depth_m = -12 is more than the allowed 1 m above ground: depth to water is positive below ground: was the sign reversed?",
            ),
            (
                "level_m",
                42.5,
                TargetKind::Level,
                800.0,
                "level_m = 42.5 puts the water table 757.50 m below ground (ground at 800.00 m above the datum), which is deeper than the well's maximum 300 m: was a depth to water (m below ground) given as level_m?",
            ),
            (
                "level_m",
                -900.0,
                TargetKind::Level,
                800.0,
                "level_m = -900 puts the water table 1700.00 m below ground (ground at 800.00 m above the datum), which is deeper than the well's maximum 300 m: check the datum of the figure and the well's ground_elevation_m in wells.csv",
            ),
            (
                "level_m",
                820.0,
                TargetKind::Level,
                800.0,
                "level_m = 820 puts the water table 20.00 m above ground (ground at 800.00 m above the datum), which is more than the allowed 1 m above ground: check the datum of the figure and the well's ground_elevation_m in wells.csv",
            ),
        ];
        for (field, value, kind, ground, want) in cases {
            assert_eq!(
                LIMITS.check(field, value, kind, ground),
                Err(want.to_string()),
                "{field} = {value}"
            );
        }
    }
}

/// A well's datum from a day on: its ground elevation and the height above ground of the
/// measuring point (测点, e.g. the top of the casing) from which a terminal measures depth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Datum {
    /// The first local day it applies to; `None` for the well's first datum (wells.csv).
    pub from: Option<jiff::civil::Date>,
    pub ground_elevation_m: f64,
    pub measuring_point_m: f64,
}

/// What a terminal sent for a water-table reading: the store keeps it, and derives the rest with
/// the datum in force at the reading's time (again, when the datum is corrected).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sent {
    /// A depth measured from the measuring point, m.
    Depth(f64),
    /// A level above the datum, m.
    Level(f64),
    /// Both a depth below ground and a level, each stored as measured: nothing is derived.
    Both,
}

impl Sent {
    /// The store's name of the kind and the value sent (`None` for both).
    pub fn parts(self) -> (&'static str, Option<f64>) {
        match self {
            Sent::Depth(d) => ("depth", Some(d)),
            Sent::Level(l) => ("level", Some(l)),
            Sent::Both => ("both", None),
        }
    }

    /// From the store's columns; `None` for rows stored before the store kept what was sent.
    pub fn from_parts(kind: Option<&str>, value: Option<f64>) -> Option<Sent> {
        match (kind?, value) {
            ("depth", Some(d)) => Some(Sent::Depth(d)),
            ("level", Some(l)) => Some(Sent::Level(l)),
            ("both", _) => Some(Sent::Both),
            _ => None,
        }
    }
}

impl Datum {
    /// Of a well's datum history (oldest first, the first undated), the one in force on local
    /// day `day`.
    pub fn in_force(history: &[Datum], day: jiff::civil::Date) -> Option<Datum> {
        history
            .iter()
            .rev()
            .find(|d| d.from.is_none_or(|f| f <= day))
            .or(history.first())
            .copied()
    }

    /// Depth below ground and level above the datum of what was sent; `None` for both sent
    /// (nothing to derive).
    pub fn derive(&self, sent: Sent) -> Option<(f64, f64)> {
        match sent {
            Sent::Depth(d) => Some((
                d - self.measuring_point_m,
                self.ground_elevation_m + self.measuring_point_m - d,
            )),
            Sent::Level(l) => Some((self.ground_elevation_m - l, l)),
            Sent::Both => None,
        }
    }
}
