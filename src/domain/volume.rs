//! Volumes of water. Everything inside is m³; people read 万 m³ and 亿 m³ as the plan writes
//! them, and every output prints a volume through [`Volume`] so that the table, the summary and
//! the chart show one number the same way.

use std::fmt;

/// m³ in one 万 m³.
pub const M3_PER_WAN: f64 = 1e4;
/// m³ in one 亿 m³.
pub const M3_PER_YI: f64 = 1e8;

/// A volume of water in m³.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Volume(f64);

impl Volume {
    pub const fn from_m3(m3: f64) -> Self {
        Volume(m3)
    }

    pub const fn m3(self) -> f64 {
        self.0
    }

    /// In 万 m³.
    pub fn wan(self) -> f64 {
        self.0 / M3_PER_WAN
    }

    /// In 亿 m³.
    pub fn yi(self) -> f64 {
        self.0 / M3_PER_YI
    }

    /// The figure in 万 m³ with one decimal and no unit ("788.7"); "—" when it is not a number.
    pub fn wan_figure(self) -> String {
        if self.0.is_finite() {
            // `+ 0.0` turns a rounded -0.0 into 0.0, so "-0.0" is never printed.
            format!("{:.1}", (self.wan() * 10.0).round() / 10.0 + 0.0)
        } else {
            "—".into()
        }
    }

    /// The figure in 亿 m³ with two decimals and no unit ("1.50"); "—" when it is not a number.
    pub fn yi_figure(self) -> String {
        if self.0.is_finite() {
            format!("{:.2}", (self.yi() * 100.0).round() / 100.0 + 0.0)
        } else {
            "—".into()
        }
    }
}

/// "788.7万 m³", or "—".
impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() {
            write!(f, "{}万 m³", self.wan_figure())
        } else {
            f.write_str("—")
        }
    }
}

/// The figure of `m3` in 万 m³ ("788.7", or "—"): shorthand for [`Volume::wan_figure`].
pub fn wan(m3: f64) -> String {
    Volume::from_m3(m3).wan_figure()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_figure_everywhere() {
        assert_eq!(wan(7_887_000.0), "788.7");
        assert_eq!(wan(7_886_950.0), "788.7");
        assert_eq!(wan(-100.0), "0.0");
        assert_eq!(wan(f64::NAN), "—");
        assert_eq!(Volume::from_m3(73_900_000.0).to_string(), "7390.0万 m³");
        assert_eq!(Volume::from_m3(150_000_000.0).yi_figure(), "1.50");
        assert_eq!(Volume::from_m3(f64::INFINITY).to_string(), "—");
    }
}
