//! The 公报 comparison: the latest month against the same month a year before and against the
//! base year, classed as rising, stable or falling within a band.

use super::*;

/// 公报 class of a year-on-year change of depth to water.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BulletinClass {
    /// Depth decreased by more than the band: the water table rose.
    Rising,
    Stable,
    /// Depth increased by more than the band.
    Falling,
}

impl BulletinClass {
    /// From a change of depth (m, + = deeper) and the ± band (m).
    pub fn of(depth_change_m: f64, band_m: f64) -> Self {
        if depth_change_m < -band_m {
            BulletinClass::Rising
        } else if depth_change_m > band_m {
            BulletinClass::Falling
        } else {
            BulletinClass::Stable
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BulletinClass::Rising => "上升",
            BulletinClass::Stable => "稳定",
            BulletinClass::Falling => "下降",
        }
    }
}

/// A well's year-end figure as a 公报 gives it: the depth to water in the last month with data
/// of the last complete year, and its change against the same month a year before.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bulletin {
    pub year: i16,
    pub month: i8,
    pub depth_m: f64,
    /// Change of depth against the same month of the year before, m (+ = deeper = falling).
    pub depth_change_m: Option<f64>,
    pub class: Option<BulletinClass>,
    pub class_label: Option<&'static str>,
}

/// The 公报 figure of a monthly level series (screened), with the ground elevation in force in
/// a month (`ground_m(year, month)`) that turns its level into a depth, and the ± band of 稳定.
pub fn bulletin(
    series: &[f64],
    start: Date,
    as_of: Date,
    ground_m: impl Fn(i16, i8) -> f64,
    band_m: f64,
) -> Option<Bulletin> {
    let year = last_complete_year(as_of);
    let (month, level) = year_months(series, start, year).last().copied()?;
    let before = year_months(series, start, year - 1)
        .into_iter()
        .find(|(m, _)| *m == month)
        .map(|(_, x)| x);
    let depth_m = ground_m(year, month) - level;
    let depth_change_m = before.map(|b| depth_m - (ground_m(year - 1, month) - b));
    let class = depth_change_m.map(|c| BulletinClass::of(c, band_m));
    Some(Bulletin {
        year,
        month,
        depth_m,
        depth_change_m,
        class,
        class_label: class.map(BulletinClass::label),
    })
}
