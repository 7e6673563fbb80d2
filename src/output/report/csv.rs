//! The CSV beside each chart: the exact numbers it plots, in m³ with three decimals (an empty cell
//! where the chart has a gap). Each writer takes any [`csv::Writer`], so a test can write into
//! memory; [`write_file`] puts one on disk.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use csv::Writer;
use jiff::civil::Date;

use super::{ReportError, io};
use crate::domain::time::month_key;
use crate::output::charts::{
    BudgetBar, CountyK, CurrentYear, DayValue, QuotaStep, YearMonths, YearWithdrawal,
};

/// A figure as the CSVs print it: three decimals, or an empty cell for "no value".
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        String::new()
    }
}

/// [`num`] of an optional figure.
fn opt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), num)
}

/// Creates `path`, writes the rows `rows` puts into it and flushes: the path on success.
pub fn write_file(
    path: PathBuf,
    rows: impl FnOnce(&mut Writer<File>) -> Result<(), csv::Error>,
) -> Result<PathBuf, ReportError> {
    let mut w = Writer::from_writer(File::create(&path).map_err(io(&path))?);
    rows(&mut w)?;
    w.flush().map_err(io(&path))?;
    Ok(path)
}

/// `readiness.csv`: the annual bars, then this year to date and projected, each with its quota.
pub fn readiness<W: Write>(
    w: &mut Writer<W>,
    years: &[YearWithdrawal],
    current: &CurrentYear,
) -> Result<(), csv::Error> {
    w.write_record(["year", "kind", "withdrawal_m3", "quota_m3"])?;
    for y in years {
        w.write_record([
            y.year.to_string(),
            "actual".into(),
            num(y.withdrawal_m3),
            num(y.quota_m3),
        ])?;
    }
    for (kind, m3) in [
        ("year_to_date", current.to_date_m3),
        ("projected", current.projected_m3),
    ] {
        w.write_record([
            current.year.to_string(),
            kind.into(),
            num(m3),
            num(current.quota_m3),
        ])?;
    }
    Ok(())
}

/// `readiness_levels.csv`: the county's monthly mean level with its Sen line on every row.
pub fn readiness_levels<W: Write>(
    w: &mut Writer<W>,
    levels: &[(Date, f64)],
    sen_slope_m_per_year: Option<f64>,
    sen_intercept_m: Option<f64>,
) -> Result<(), csv::Error> {
    w.write_record([
        "month",
        "mean_level_m",
        "sen_slope_m_per_year",
        "sen_intercept_m",
    ])?;
    for (month, level) in levels {
        w.write_record([
            month_key(*month),
            num(*level),
            opt_num(sen_slope_m_per_year),
            opt_num(sen_intercept_m),
        ])?;
    }
    Ok(())
}

/// `cumulative.csv`: both cumulative curves, the quota's steps and the projected year end.
pub fn cumulative<W: Write>(
    w: &mut Writer<W>,
    this_year: &[DayValue],
    last_year: &[DayValue],
    steps: &[QuotaStep],
    projected_m3: f64,
) -> Result<(), csv::Error> {
    w.write_record(["series", "day_of_year", "cumulative_m3"])?;
    for (name, curve) in [("this_year", this_year), ("last_year", last_year)] {
        for dv in curve {
            w.write_record([name.to_string(), dv.day.to_string(), num(dv.value_m3)])?;
        }
    }
    for s in steps {
        w.write_record(["quota".to_string(), s.from_day.to_string(), num(s.quota_m3)])?;
    }
    w.write_record([
        "projected_year_end".to_string(),
        "365".into(),
        num(projected_m3),
    ])
}

/// `monthly.csv`: twelve rows per year.
pub fn monthly<W: Write>(w: &mut Writer<W>, years: &[YearMonths]) -> Result<(), csv::Error> {
    w.write_record(["year", "month", "withdrawal_m3"])?;
    for ym in years {
        for (month, v) in (1..).zip(ym.months_m3) {
            w.write_record([ym.year.to_string(), month.to_string(), num(v)])?;
        }
    }
    Ok(())
}

/// `hydrographs.csv`: each well's monthly mean levels.
pub fn hydrographs<'a, W: Write>(
    w: &mut Writer<W>,
    wells: impl IntoIterator<Item = (&'a str, &'a [(Date, f64)])>,
) -> Result<(), csv::Error> {
    w.write_record(["well_id", "month", "mean_level_m"])?;
    for (id, points) in wells {
        for (month, level) in points {
            w.write_record([id.to_string(), month_key(*month), num(*level)])?;
        }
    }
    Ok(())
}

/// `city.csv`: the budgets (the total last), then each county, with k = projected ÷ limit.
pub fn city<'a, W: Write>(
    w: &mut Writer<W>,
    budgets: impl IntoIterator<Item = &'a BudgetBar>,
    counties: &[CountyK],
) -> Result<(), csv::Error> {
    w.write_record(["item", "name", "projected_m3", "limit_m3", "k"])?;
    for b in budgets {
        w.write_record([
            "budget".to_string(),
            b.name.clone(),
            num(b.withdrawal_m3),
            num(b.limit_m3),
            num(b.withdrawal_m3 / b.limit_m3),
        ])?;
    }
    for c in counties {
        w.write_record([
            "county".to_string(),
            c.name.clone(),
            num(c.withdrawal_m3),
            num(c.quota_m3),
            num(c.withdrawal_m3 / c.quota_m3),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a writer produces, as text.
    fn text(rows: impl FnOnce(&mut Writer<Vec<u8>>) -> Result<(), csv::Error>) -> String {
        let mut w = Writer::from_writer(Vec::new());
        rows(&mut w).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    fn d(y: i16, m: i8) -> Date {
        Date::new(y, m, 15).unwrap()
    }

    #[test]
    fn readiness_rows_end_with_this_year_to_date_and_projected() {
        let years = [
            YearWithdrawal {
                year: 2024,
                withdrawal_m3: 1234.5,
                quota_m3: 2000.0,
            },
            YearWithdrawal {
                year: 2025,
                withdrawal_m3: f64::NAN,
                quota_m3: f64::NAN,
            },
        ];
        let current = CurrentYear {
            year: 2026,
            to_date_m3: 100.0,
            projected_m3: 1500.0004,
            quota_m3: 1800.0,
        };
        assert_eq!(
            text(|w| readiness(w, &years, &current)),
            "year,kind,withdrawal_m3,quota_m3\n\
             2024,actual,1234.500,2000.000\n\
             2025,actual,,\n\
             2026,year_to_date,100.000,1800.000\n\
             2026,projected,1500.000,1800.000\n"
        );
    }

    #[test]
    fn level_rows_carry_the_month_and_the_sen_line() {
        let levels = [(d(2025, 12), 801.2344), (d(2026, 1), 800.5)];
        assert_eq!(
            text(|w| readiness_levels(w, &levels, Some(-0.25), None)),
            "month,mean_level_m,sen_slope_m_per_year,sen_intercept_m\n\
             2025-12,801.234,-0.250,\n\
             2026-01,800.500,-0.250,\n"
        );
    }

    #[test]
    fn cumulative_rows_list_curves_then_quota_then_projection() {
        let ty = [DayValue {
            day: 1,
            value_m3: 10.0,
        }];
        let ly = [
            DayValue {
                day: 1,
                value_m3: 5.0,
            },
            DayValue {
                day: 2,
                value_m3: 12.5,
            },
        ];
        let steps = [QuotaStep {
            from_day: 1,
            quota_m3: 3650.0,
        }];
        assert_eq!(
            text(|w| cumulative(w, &ty, &ly, &steps, 3000.0)),
            "series,day_of_year,cumulative_m3\n\
             this_year,1,10.000\n\
             last_year,1,5.000\n\
             last_year,2,12.500\n\
             quota,1,3650.000\n\
             projected_year_end,365,3000.000\n"
        );
    }

    #[test]
    fn monthly_rows_number_months_from_one() {
        let mut months_m3 = [f64::NAN; 12];
        months_m3[0] = 7.0;
        months_m3[11] = 8.25;
        let out = text(|w| {
            monthly(
                w,
                &[YearMonths {
                    year: 2026,
                    months_m3,
                }],
            )
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 13);
        assert_eq!(
            lines[..3],
            ["year,month,withdrawal_m3", "2026,1,7.000", "2026,2,"]
        );
        assert_eq!(lines[12], "2026,12,8.250");
    }

    #[test]
    fn hydrograph_rows_by_well_and_month() {
        let a = [(d(2026, 3), 790.0)];
        let b = [(d(2026, 3), 760.125), (d(2026, 4), 760.0)];
        assert_eq!(
            text(|w| hydrographs(w, [("W-1", &a[..]), ("W-2", &b[..])])),
            "well_id,month,mean_level_m\n\
             W-1,2026-03,790.000\n\
             W-2,2026-03,760.125\n\
             W-2,2026-04,760.000\n"
        );
    }

    #[test]
    fn city_rows_with_k_and_empty_cells_for_missing_limits() {
        let budgets = [
            BudgetBar {
                name: "县区".into(),
                withdrawal_m3: 90.0,
                limit_m3: 100.0,
            },
            BudgetBar {
                name: "全市合计".into(),
                withdrawal_m3: f64::NAN,
                limit_m3: 200.0,
            },
        ];
        let counties = [CountyK {
            name: "清徐县".into(),
            withdrawal_m3: 30.0,
            quota_m3: f64::NAN,
        }];
        assert_eq!(
            text(|w| city(w, &budgets, &counties)),
            "item,name,projected_m3,limit_m3,k\n\
             budget,县区,90.000,100.000,0.900\n\
             budget,全市合计,,200.000,\n\
             county,清徐县,30.000,,\n"
        );
    }

    #[test]
    fn write_file_names_the_file_it_cannot_create() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-folder").join("x.csv");
        let err = write_file(path.clone(), |w| w.write_record(["a"])).unwrap_err();
        assert!(
            matches!(&err, ReportError::Io { path: p, .. } if *p == path),
            "{err}"
        );
    }
}
