//! What an obliged intake should have reported, and what is imputed where it did not: the
//! completeness of a year counted in expected volume (a silent big meter weighs as much as it
//! draws, not as one intake among many), and the volume of its silent days added to the county
//! figure as an estimate, never as measured.
//!
//! An intake's expected volume in a month is its volume in the same month the year before when
//! that month reported on every day, scaled to the days of the period; otherwise its permit
//! pro rata (permit × days ÷ days of the year). Its silent days are the days of the period on
//! which it has no volume at all (a meter gap already spread over its days is estimated volume
//! of its own and is not imputed again); each is imputed at the month's expected daily rate.

use jiff::civil::Date;

use super::accounting::{days_between, days_in_year};

/// One intake's monthly record: `(year, month, volume m³, reported days, days with volume)`.
pub type MonthRecord = (i16, i8, f64, u32, u32);

/// What an intake (or a group of intakes, summed) owed over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Expected {
    /// Volume the intakes were expected to draw over the period.
    pub expected_m3: f64,
    /// The part of it on days that reported: the expected volume weighted by the share of each
    /// month's days reported.
    pub reported_m3: f64,
    /// Volume imputed for the days without any volume.
    pub imputed_m3: f64,
}

impl std::ops::AddAssign for Expected {
    fn add_assign(&mut self, o: Expected) {
        self.expected_m3 += o.expected_m3;
        self.reported_m3 += o.reported_m3;
        self.imputed_m3 += o.imputed_m3;
    }
}

impl Expected {
    /// The share of expected volume that reported; `None` when nothing was expected.
    pub fn share(&self) -> Option<f64> {
        (self.expected_m3 > 0.0).then(|| self.reported_m3 / self.expected_m3)
    }
}

fn days_in_month(y: i16, m: i8) -> u32 {
    Date::new(y, m, 1).map_or(30, |d| u32::from(d.days_in_month().unsigned_abs()))
}

/// The expected, reported and imputed volume of one intake over `[start, end]` (whole days,
/// inclusive, within one calendar year), from its monthly records (which must reach back to the
/// year before `start` for last year's same months) and its permit. `end_cut` says that the
/// record of `end`'s month already stops at `end` (the as-of month); otherwise a month the
/// period cuts counts its record's days in proportion. Silent days are imputed only from
/// `impute_from` on (the intake's first data: before it nothing says the intake drew), none
/// when it is `None`; what was expected counts from `start` all the same.
pub fn expected(
    records: &[MonthRecord],
    permit_m3: Option<f64>,
    start: Date,
    end: Date,
    end_cut: bool,
    impute_from: Option<Date>,
) -> Expected {
    let mut out = Expected::default();
    if end < start {
        return out;
    }
    let year = start.year();
    let find = |y: i16, m: i8| records.iter().find(|r| r.0 == y && r.1 == m);
    for m in start.month()..=end.month() {
        let Ok(first) = Date::new(year, m, 1) else {
            continue;
        };
        let (from, to) = (first.max(start), first.last_of_month().min(end));
        let days = days_between(from, to) as f64 + 1.0;
        let full = f64::from(days_in_month(year, m));
        // The period's share of the month: reported and covered days of a month cut by the
        // period are taken in proportion.
        let cut = if end_cut && m == end.month() {
            1.0
        } else {
            days / full
        };
        let prior = find(year - 1, m)
            .filter(|r| r.3 >= days_in_month(year - 1, m))
            .map(|r| r.2 * days / f64::from(days_in_month(year - 1, m)));
        let permit = permit_m3
            .filter(|p| *p > 0.0)
            .map(|p| p * days / days_in_year(year) as f64);
        let Some(e) = prior.or(permit) else {
            continue;
        };
        let (reported, covered) =
            find(year, m).map_or((0.0, 0.0), |r| (f64::from(r.3) * cut, f64::from(r.4) * cut));
        // Days of the month open to imputation: those from `impute_from` on (the covered days
        // all lie there, since nothing is stored before the first data).
        let open = impute_from.map_or(0.0, |f| {
            if f > to {
                0.0
            } else {
                days_between(f.max(from), to) as f64 + 1.0
            }
        });
        out.expected_m3 += e;
        out.reported_m3 += e * (reported / days).min(1.0);
        out.imputed_m3 += e * ((open - covered) / days).clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// A meter that drew 310 m³ in January 2025 (every day reported), 280 in February 2025 and
    /// fell silent on 1 February 2026 after a complete January (300 m³): 2026 to 31 March
    /// expects 310 + 280 + March's permit share (no March 2025 record: 36,500 m³/yr × 31/365 =
    /// 3,100 m³), reported only January's 310 (11 % of 3,690), and imputes February and March:
    /// 280 + 3,100.
    #[test]
    fn a_silent_meter_weighs_by_its_expected_volume() {
        let records = [
            (2025, 1, 310.0, 31, 31),
            (2025, 2, 280.0, 28, 28),
            (2026, 1, 300.0, 31, 31),
        ];
        let e = expected(
            &records,
            Some(36_500.0),
            d("2026-01-01"),
            d("2026-03-31"),
            true,
            Some(d("2025-01-01")),
        );
        assert!((e.expected_m3 - 3690.0).abs() < 1e-9, "{e:?}");
        assert!((e.reported_m3 - 310.0).abs() < 1e-9, "{e:?}");
        assert!((e.imputed_m3 - 3380.0).abs() < 1e-9, "{e:?}");
        assert!((e.share().unwrap() - 310.0 / 3690.0).abs() < 1e-12);
    }

    /// Days already covered by a spread gap are not imputed again; a month cut by the period
    /// (to 15 March) counts its days in proportion: March 2025 drew 620 m³ on all 31 days, so
    /// 1–15 March 2026 expects 300 m³; 10 of its days reported and 12 have volume (a gap over
    /// two), as the whole month's 20 and 24 scaled by 15/31 would say.
    #[test]
    fn covered_days_are_not_imputed_and_cut_months_count_in_proportion() {
        let records = [(2025, 3, 620.0, 31, 31), (2026, 3, 500.0, 20, 24)];
        let e = expected(
            &records,
            None,
            d("2026-03-01"),
            d("2026-03-15"),
            false,
            Some(d("2025-01-01")),
        );
        assert!((e.expected_m3 - 300.0).abs() < 1e-9, "{e:?}");
        assert!((e.reported_m3 - 300.0 * 20.0 / 31.0).abs() < 1e-9, "{e:?}");
        assert!((e.imputed_m3 - 300.0 * (15.0 - 24.0 * 15.0 / 31.0) / 15.0).abs() < 1e-9);
    }

    /// Without last year's month and without a permit nothing is expected, so nothing is
    /// imputed (and the intake does not weigh in the share).
    #[test]
    fn nothing_expected_without_a_basis() {
        let e = expected(
            &[],
            None,
            d("2026-01-01"),
            d("2026-12-31"),
            false,
            Some(d("2025-01-01")),
        );
        assert_eq!(e, Expected::default());
        assert_eq!(e.share(), None);
    }

    /// The as-of month's record already stops at the as-of date: 1–15 March 2026 with 15
    /// reported days of 15 is complete, nothing imputed.
    #[test]
    fn the_as_of_months_record_is_not_cut_again() {
        let records = [(2025, 3, 620.0, 31, 31), (2026, 3, 250.0, 15, 15)];
        let e = expected(
            &records,
            None,
            d("2026-03-01"),
            d("2026-03-15"),
            true,
            Some(d("2025-01-01")),
        );
        assert!((e.expected_m3 - 300.0).abs() < 1e-9, "{e:?}");
        assert!((e.reported_m3 - 300.0).abs() < 1e-9, "{e:?}");
        assert_eq!(e.imputed_m3, 0.0);
    }

    /// A meter whose first data is on 16 March 2026 (permit 36,500 m³/yr, nothing last year):
    /// January to March are expected at the permit's 100 m³ a day (9,000 m³), but only its
    /// silent days from 16 March on are imputed: 16 of them less the 10 with volume = 600 m³.
    #[test]
    fn nothing_is_imputed_before_the_first_data() {
        let records = [(2026, 3, 900.0, 10, 10)];
        let e = expected(
            &records,
            Some(36_500.0),
            d("2026-01-01"),
            d("2026-03-31"),
            true,
            Some(d("2026-03-16")),
        );
        assert!((e.expected_m3 - 9000.0).abs() < 1e-9, "{e:?}");
        assert!((e.imputed_m3 - 600.0).abs() < 1e-9, "{e:?}");
        let e = expected(
            &records,
            Some(36_500.0),
            d("2026-01-01"),
            d("2026-03-31"),
            true,
            None,
        );
        assert_eq!(e.imputed_m3, 0.0);
    }
}
