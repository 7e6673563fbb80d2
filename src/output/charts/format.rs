//! Numbers and dates as the charts print them: the formatters of [`crate::output::wording`]
//! (volumes, decimals, signs), and the time tick labels that only charts have.

pub(crate) use crate::output::wording::{fixed, limit_text, signed, trim_decimal, wan};

/// Label of a time tick made by [`time_ticks`](super::axes::time_ticks): `2026` or `2026-07`.
pub(crate) fn time_label(v: f64, monthly: bool) -> String {
    let year = v.floor();
    if !monthly {
        return format!("{year:.0}");
    }
    let month = ((v - year) * 12.0 + 0.5).floor().clamp(0.0, 11.0) as u32 + 1;
    format!("{year:.0}-{month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(wan(12_345_000.0), "1234.5");
        assert_eq!(wan(76_020_000.0), "7602.0");
        assert_eq!(wan(f64::NAN), "—");
        assert_eq!(wan(-1.0), "0.0");
        assert_eq!(limit_text(150_000_000.0), "1.5亿 m³");
        assert_eq!(limit_text(76_020_000.0), "7602.0万 m³");
        assert_eq!(limit_text(149_920_000.0), "14992.0万 m³");
    }

    #[test]
    fn signs_and_time_labels() {
        assert_eq!(signed(0.45, 2), "+0.45");
        assert_eq!(signed(-0.291, 2), "-0.29");
        assert_eq!(signed(0.0001, 2), "0");
        assert_eq!(signed(-0.0001, 2), "0");
        assert_eq!(signed(f64::NAN, 2), "—");
        assert_eq!(time_label(2026.0, false), "2026");
        assert_eq!(time_label(2026.5, true), "2026-07");
    }
}
