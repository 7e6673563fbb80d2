//! The CSV beside each chart: the exact numbers it plots, in m³ with three decimals (an empty cell
//! where the chart has a gap). Two forms ([`CsvForm`]): for Excel (the default) — UTF-8 with a
//! byte-order mark, which is how Excel tells UTF-8 from the local code page, and Chinese headers
//! with their units — and plain, for scripts: no mark, the English snake_case headers and labels
//! they have always read. Each writer takes a [`Sheet`] over any [`csv::Writer`], so a test can
//! write into any buffer; [`to_bytes`] gives a file's bytes.

use std::io::Write;

use csv::Writer;
use jiff::civil::Date;

use super::ReportError;
use crate::domain::time::month_key;
use crate::output::charts::{
    BudgetBar, CountyK, CurrentYear, DayValue, QuotaStep, YearMonths, YearWithdrawal,
};

/// UTF-8's byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How the CSVs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvForm {
    /// For people opening the file in Excel or WPS: a byte-order mark (without it Excel reads
    /// UTF-8 as GBK and the Chinese turns to mojibake), Chinese headers with units and Chinese
    /// labels in the category columns.
    #[default]
    Excel,
    /// For machines (`--csv-plain`): no byte-order mark, English snake_case headers and labels.
    Plain,
}

impl CsvForm {
    /// The word of this form: `plain` for [`CsvForm::Plain`], `excel` for [`CsvForm::Excel`].
    fn pick(self, plain: &'static str, excel: &'static str) -> &'static str {
        match self {
            CsvForm::Plain => plain,
            CsvForm::Excel => excel,
        }
    }
}

/// A column or a label in both forms: (plain, Excel).
type Word = (&'static str, &'static str);

/// A CSV being written in one form.
pub struct Sheet<W: Write> {
    w: Writer<W>,
    form: CsvForm,
}

impl<W: Write> Sheet<W> {
    /// A sheet writing into `inner` (the byte-order mark is [`to_bytes`]'s job).
    pub fn new(inner: W, form: CsvForm) -> Self {
        Sheet {
            w: Writer::from_writer(inner),
            form,
        }
    }

    /// The header row.
    fn header<const N: usize>(&mut self, columns: [Word; N]) -> Result<(), csv::Error> {
        let form = self.form;
        self.w.write_record(
            columns
                .iter()
                .map(|&(plain, excel)| form.pick(plain, excel)),
        )
    }

    /// A label in this sheet's form.
    fn label(&self, (plain, excel): Word) -> String {
        self.form.pick(plain, excel).to_string()
    }

    fn row<const N: usize>(&mut self, cells: [String; N]) -> Result<(), csv::Error> {
        self.w.write_record(cells)
    }
}

/// A figure as the CSVs print it: three decimals, or an empty cell for "no value".
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        String::new()
    }
}

/// A volume in 万 m³ as the CSVs print it beside the m³: four decimals (1 m³), or empty.
fn wan_num(m3: f64) -> String {
    if m3.is_finite() {
        format!("{:.4}", m3 / 1e4)
    } else {
        String::new()
    }
}

/// [`num`] of an optional figure.
fn opt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), num)
}

/// The bytes of a CSV in `form` (with the byte-order mark for Excel) holding the rows `rows`
/// puts into it.
pub fn to_bytes(
    form: CsvForm,
    rows: impl FnOnce(&mut Sheet<Vec<u8>>) -> Result<(), csv::Error>,
) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    if form == CsvForm::Excel {
        out.extend_from_slice(BOM);
    }
    let mut sheet = Sheet::new(out, form);
    rows(&mut sheet)?;
    sheet
        .w
        .into_inner()
        .map_err(|e| ReportError::Csv(csv::Error::from(e.into_error())))
}

const YEAR: Word = ("year", "年份");
const MONTH: Word = ("month", "月份");
const MEAN_LEVEL: Word = ("mean_level_m", "月均水位（m）");
const YEAR_TO_DATE: Word = ("year_to_date", "本年累计");
const PROJECTED: Word = ("projected", "年末预测");
const WITHDRAWAL_WAN: Word = ("withdrawal_wan_m3", "取水量（万 m³）");

/// `readiness.csv`: the annual bars, then this year to date and projected, each with its quota.
pub fn readiness<W: Write>(
    w: &mut Sheet<W>,
    years: &[YearWithdrawal],
    current: &CurrentYear,
) -> Result<(), csv::Error> {
    w.header([
        YEAR,
        ("kind", "类别"),
        ("withdrawal_m3", "取水量（m³）"),
        ("quota_m3", "管控指标（m³）"),
        WITHDRAWAL_WAN,
        ("quota_wan_m3", "管控指标（万 m³）"),
    ])?;
    for y in years {
        let kind = w.label(("actual", "实际"));
        w.row([
            y.year.to_string(),
            kind,
            num(y.withdrawal_m3),
            num(y.quota_m3),
            wan_num(y.withdrawal_m3),
            wan_num(y.quota_m3),
        ])?;
    }
    for (kind, m3) in [
        (YEAR_TO_DATE, current.to_date_m3),
        (PROJECTED, current.projected_m3),
    ] {
        let kind = w.label(kind);
        w.row([
            current.year.to_string(),
            kind,
            num(m3),
            num(current.quota_m3),
            wan_num(m3),
            wan_num(current.quota_m3),
        ])?;
    }
    Ok(())
}

/// `readiness_levels.csv`: the county's monthly mean level with its Sen line on every row.
pub fn readiness_levels<W: Write>(
    w: &mut Sheet<W>,
    levels: &[AquiferRows<'_>],
) -> Result<(), csv::Error> {
    w.header([
        ("aquifer", "含水层"),
        MONTH,
        MEAN_LEVEL,
        ("decisive_change_m_per_year", "决定性年变幅（m/a）"),
        ("sen_slope_m_per_year", "Sen 斜率（m/a，描述性）"),
        ("sen_intercept_m", "Sen 截距（m）"),
    ])?;
    for a in levels {
        for (month, level) in a.points {
            w.row([
                a.aquifer.to_string(),
                month_key(*month),
                num(*level),
                opt_num(a.decisive_m_per_year),
                opt_num(a.sen_slope_m_per_year),
                opt_num(a.sen_intercept_m),
            ])?;
        }
    }
    Ok(())
}

/// One aquifer's county level series for `readiness_levels.csv`.
pub struct AquiferRows<'a> {
    /// The aquifer's name.
    pub aquifer: &'a str,
    pub points: &'a [(Date, f64)],
    /// The aquifer's decisive rate (the verdict's, the chart's line); `None` without a judged
    /// well.
    pub decisive_m_per_year: Option<f64>,
    pub sen_slope_m_per_year: Option<f64>,
    pub sen_intercept_m: Option<f64>,
}

/// `cumulative.csv`: both cumulative curves, the quota's steps and the projected year end.
pub fn cumulative<W: Write>(
    w: &mut Sheet<W>,
    year: i16,
    this_year: &[DayValue],
    last_year: &[DayValue],
    steps: &[QuotaStep],
    projected_m3: f64,
) -> Result<(), csv::Error> {
    w.header([
        ("series", "系列"),
        ("date", "日期"),
        ("day_of_year", "年内第几天"),
        ("cumulative_m3", "累计取水量（m³）"),
        ("cumulative_wan_m3", "累计取水量（万 m³）"),
    ])?;
    // The day a row stands for, in the curve's own year.
    let date = |y: i16, day: u16| {
        jiff::civil::Date::new(y, 1, 1)
            .ok()
            .and_then(|d| {
                d.checked_add(jiff::Span::new().days(i64::from(day) - 1))
                    .ok()
            })
            .map_or(String::new(), |d| d.to_string())
    };
    for (name, y, curve) in [
        (("this_year", "本年"), year, this_year),
        (("last_year", "上年"), year - 1, last_year),
    ] {
        for dv in curve {
            let name = w.label(name);
            w.row([
                name,
                date(y, dv.day),
                dv.day.to_string(),
                num(dv.value_m3),
                wan_num(dv.value_m3),
            ])?;
        }
    }
    for s in steps {
        let name = w.label(("quota", "管控指标"));
        w.row([
            name,
            date(year, s.from_day),
            s.from_day.to_string(),
            num(s.quota_m3),
            wan_num(s.quota_m3),
        ])?;
    }
    let name = w.label(("projected_year_end", "年末预测"));
    let last_day = if jiff::civil::Date::new(year, 12, 31).is_ok_and(|d| d.day_of_year() == 366) {
        366
    } else {
        365
    };
    w.row([
        name,
        date(year, last_day),
        last_day.to_string(),
        num(projected_m3),
        wan_num(projected_m3),
    ])
}

/// `monthly.csv`: twelve rows per year.
pub fn monthly<W: Write>(w: &mut Sheet<W>, years: &[YearMonths]) -> Result<(), csv::Error> {
    w.header([
        YEAR,
        MONTH,
        ("withdrawal_m3", "取水量（m³）"),
        WITHDRAWAL_WAN,
    ])?;
    for ym in years {
        for (month, v) in (1..).zip(ym.months_m3) {
            w.row([ym.year.to_string(), month.to_string(), num(v), wan_num(v)])?;
        }
    }
    Ok(())
}

/// `sources.csv`: withdrawal by source and year, one row each; the projected year marked.
pub fn sources<W: Write>(
    w: &mut Sheet<W>,
    chart: &crate::output::charts::WithdrawalBySource,
) -> Result<(), csv::Error> {
    w.header([
        YEAR,
        ("source", "水源"),
        ("withdrawal_m3", "取水量（m³）"),
        ("basis", "口径"),
        WITHDRAWAL_WAN,
    ])?;
    for s in &chart.sources {
        // The plain form names the source as the registry does.
        let plain = match s.label.as_str() {
            "地下水" => "groundwater",
            "地表水" => "surface",
            "再生水" => "reclaimed",
            "矿井水" => "mine",
            other => other,
        };
        let source = match w.form {
            CsvForm::Plain => plain.to_string(),
            CsvForm::Excel => s.label.clone(),
        };
        for (year, v) in chart.years.iter().zip(&s.m3) {
            let basis = if chart.projected_year == Some(*year) {
                w.label(("projected", "年末预测"))
            } else {
                w.label(("actual", "实际"))
            };
            w.row([
                year.to_string(),
                source.clone(),
                num(*v),
                basis,
                wan_num(*v),
            ])?;
        }
    }
    Ok(())
}

/// `hydrographs.csv`: each well's monthly mean levels.
pub fn hydrographs<'a, W: Write>(
    w: &mut Sheet<W>,
    wells: impl IntoIterator<Item = (&'a str, &'a [(Date, f64)])>,
) -> Result<(), csv::Error> {
    w.header([("well_id", "监测井"), MONTH, MEAN_LEVEL])?;
    for (id, points) in wells {
        for (month, level) in points {
            w.row([id.to_string(), month_key(*month), num(*level)])?;
        }
    }
    Ok(())
}

/// `bulletin.csv` (公报): each well's year-end depth and its change against the same month a
/// year before, then each aquifer's mean.
pub fn bulletin<W: Write>(
    w: &mut Sheet<W>,
    c: &crate::assess::CountyStatus,
) -> Result<(), csv::Error> {
    w.header([
        ("scope", "范围"),
        ("id", "监测井或含水层"),
        ("aquifer", "含水层"),
        YEAR,
        MONTH,
        ("depth_m", "埋深（m）"),
        ("depth_change_m", "较上年同月变幅（m，+ 为埋深增大）"),
        ("class", "变化"),
    ])?;
    for well in &c.wells {
        let Some(b) = &well.bulletin else { continue };
        let scope = w.label(("well", "监测井"));
        let class = match (w.form, b.class) {
            (_, None) => String::new(),
            (CsvForm::Plain, Some(k)) => format!("{k:?}").to_lowercase(),
            (CsvForm::Excel, Some(k)) => k.label().to_string(),
        };
        w.row([
            scope,
            well.id.clone(),
            well.aquifer_label.to_string(),
            b.year.to_string(),
            b.month.to_string(),
            num(b.depth_m),
            opt_num(b.depth_change_m),
            class,
        ])?;
    }
    for a in &c.bulletin_by_aquifer {
        let scope = w.label(("aquifer_mean", "含水层平均"));
        let class = match w.form {
            CsvForm::Plain => format!("{:?}", a.class).to_lowercase(),
            CsvForm::Excel => a.class_label.to_string(),
        };
        w.row([
            scope,
            a.aquifer.to_string(),
            a.aquifer_label.to_string(),
            a.year.to_string(),
            String::new(),
            num(a.mean_depth_m),
            num(a.mean_depth_change_m),
            class,
        ])?;
    }
    Ok(())
}

/// `city.csv`: the budgets (the total last), then each county, with k = projected ÷ limit.
pub fn city<'a, W: Write>(
    w: &mut Sheet<W>,
    budgets: impl IntoIterator<Item = &'a BudgetBar>,
    counties: &[CountyK],
) -> Result<(), csv::Error> {
    w.header([
        ("item", "类别"),
        ("name", "名称"),
        ("projected_m3", "年末预测取水量（m³）"),
        ("limit_m3", "管控指标（m³）"),
        ("k", "k（预测 ÷ 指标）"),
        ("projected_wan_m3", "年末预测取水量（万 m³）"),
        ("limit_wan_m3", "管控指标（万 m³）"),
    ])?;
    for b in budgets {
        let item = w.label(("budget", "预算"));
        w.row([
            item,
            b.name.clone(),
            num(b.withdrawal_m3),
            num(b.limit_m3),
            num(b.withdrawal_m3 / b.limit_m3),
            wan_num(b.withdrawal_m3),
            wan_num(b.limit_m3),
        ])?;
    }
    for c in counties {
        let item = w.label(("county", "区县"));
        w.row([
            item,
            c.name.clone(),
            num(c.withdrawal_m3),
            num(c.quota_m3),
            num(c.withdrawal_m3 / c.quota_m3),
            wan_num(c.withdrawal_m3),
            wan_num(c.quota_m3),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a writer produces in `form`, as text.
    fn text_in(
        form: CsvForm,
        rows: impl FnOnce(&mut Sheet<Vec<u8>>) -> Result<(), csv::Error>,
    ) -> String {
        let mut w = Sheet::new(Vec::new(), form);
        rows(&mut w).unwrap();
        String::from_utf8(w.w.into_inner().unwrap()).unwrap()
    }

    /// What a writer produces in the plain form, as text.
    fn text(rows: impl FnOnce(&mut Sheet<Vec<u8>>) -> Result<(), csv::Error>) -> String {
        text_in(CsvForm::Plain, rows)
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
            "year,kind,withdrawal_m3,quota_m3,withdrawal_wan_m3,quota_wan_m3\n\
             2024,actual,1234.500,2000.000,0.1235,0.2000\n\
             2025,actual,,,,\n\
             2026,year_to_date,100.000,1800.000,0.0100,0.1800\n\
             2026,projected,1500.000,1800.000,0.1500,0.1800\n"
        );
    }

    #[test]
    fn level_rows_carry_the_month_and_the_sen_line() {
        let shallow = [(d(2025, 12), 801.2344), (d(2026, 1), 800.5)];
        let karst = [(d(2026, 1), 912.0)];
        let rows = [
            AquiferRows {
                aquifer: "浅层孔隙水",
                points: &shallow,
                decisive_m_per_year: Some(-0.31),
                sen_slope_m_per_year: Some(-0.25),
                sen_intercept_m: None,
            },
            AquiferRows {
                aquifer: "岩溶水",
                points: &karst,
                decisive_m_per_year: None,
                sen_slope_m_per_year: None,
                sen_intercept_m: Some(913.0),
            },
        ];
        assert_eq!(
            text(|w| readiness_levels(w, &rows)),
            "aquifer,month,mean_level_m,decisive_change_m_per_year,sen_slope_m_per_year,sen_intercept_m\n\
             浅层孔隙水,2025-12,801.234,-0.310,-0.250,\n\
             浅层孔隙水,2026-01,800.500,-0.310,-0.250,\n\
             岩溶水,2026-01,912.000,,,913.000\n"
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
            text(|w| cumulative(w, 2026, &ty, &ly, &steps, 3000.0)),
            "series,date,day_of_year,cumulative_m3,cumulative_wan_m3\n\
             this_year,2026-01-01,1,10.000,0.0010\n\
             last_year,2025-01-01,1,5.000,0.0005\n\
             last_year,2025-01-02,2,12.500,0.0013\n\
             quota,2026-01-01,1,3650.000,0.3650\n\
             projected_year_end,2026-12-31,365,3000.000,0.3000\n"
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
            [
                "year,month,withdrawal_m3,withdrawal_wan_m3",
                "2026,1,7.000,0.0007",
                "2026,2,,"
            ]
        );
        assert_eq!(lines[12], "2026,12,8.250,0.0008");
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
            k_text: None,
        }];
        assert_eq!(
            text(|w| city(w, &budgets, &counties)),
            "item,name,projected_m3,limit_m3,k,projected_wan_m3,limit_wan_m3\n\
             budget,县区,90.000,100.000,0.900,0.0090,0.0100\n\
             budget,全市合计,,200.000,,,0.0200\n\
             county,清徐县,30.000,,,0.0030,\n"
        );
    }

    #[test]
    fn sources_rows_in_both_forms() {
        use crate::output::charts::{SourceSeries, WithdrawalBySource};
        let chart = WithdrawalBySource {
            meta: crate::output::charts::ChartMeta {
                place: "清徐县".into(),
                as_of: crate::output::charts::Ymd {
                    year: 2026,
                    month: 11,
                    day: 28,
                },
                source: String::new(),
                example: false,
                untitled: false,
            },
            years: vec![2025, 2026],
            sources: vec![SourceSeries {
                label: "地下水".into(),
                groundwater: true,
                m3: vec![10.0, 12.5],
            }],
            projected_year: Some(2026),
            base_year: 2020,
            reduction_parts: None,
        };
        assert_eq!(
            text_in(CsvForm::Plain, |w| sources(w, &chart)),
            "year,source,withdrawal_m3,basis,withdrawal_wan_m3\n2025,groundwater,10.000,actual,0.0010\n2026,groundwater,12.500,projected,0.0013\n"
        );
        assert_eq!(
            text_in(CsvForm::Excel, |w| sources(w, &chart)),
            "年份,水源,取水量（m³）,口径,取水量（万 m³）\n2025,地下水,10.000,实际,0.0010\n2026,地下水,12.500,年末预测,0.0013\n"
        );
    }

    #[test]
    fn excel_form_has_chinese_headers_with_units_and_chinese_labels() {
        let years = [YearWithdrawal {
            year: 2025,
            withdrawal_m3: 1234.5,
            quota_m3: 2000.0,
        }];
        let current = CurrentYear {
            year: 2026,
            to_date_m3: 100.0,
            projected_m3: 1500.0,
            quota_m3: 1800.0,
        };
        assert_eq!(
            text_in(CsvForm::Excel, |w| readiness(w, &years, &current)),
            "年份,类别,取水量（m³）,管控指标（m³）,取水量（万 m³）,管控指标（万 m³）\n\
             2025,实际,1234.500,2000.000,0.1235,0.2000\n\
             2026,本年累计,100.000,1800.000,0.0100,0.1800\n\
             2026,年末预测,1500.000,1800.000,0.1500,0.1800\n"
        );
        let months = YearMonths {
            year: 2026,
            months_m3: [1.0; 12],
        };
        let out = text_in(CsvForm::Excel, |w| monthly(w, &[months]));
        assert!(
            out.starts_with("年份,月份,取水量（m³）,取水量（万 m³）\n2026,1,1.000,0.0001\n"),
            "{out}"
        );
        let a = [(d(2026, 3), 790.0)];
        assert_eq!(
            text_in(CsvForm::Excel, |w| hydrographs(w, [("W-1", &a[..])])),
            "监测井,月份,月均水位（m）\nW-1,2026-03,790.000\n"
        );
    }

    #[test]
    fn excel_files_start_with_the_byte_order_mark_and_plain_files_do_not() {
        let months = [YearMonths {
            year: 2026,
            months_m3: [2.5; 12],
        }];
        let excel = to_bytes(CsvForm::Excel, |w| monthly(w, &months)).unwrap();
        let plain = to_bytes(CsvForm::Plain, |w| monthly(w, &months)).unwrap();
        assert!(excel.starts_with(BOM), "{:?}", &excel[..8]);
        assert!(
            String::from_utf8(excel[BOM.len()..].to_vec())
                .unwrap()
                .starts_with("年份,月份,取水量（m³）,取水量（万 m³）\n")
        );
        assert!(plain.starts_with(b"year,month,withdrawal_m3,withdrawal_wan_m3\n"));
        // Excel's rows are the plain form's numbers.
        let rows = |b: &[u8]| -> Vec<String> {
            String::from_utf8(b.to_vec())
                .unwrap()
                .lines()
                .skip(1)
                .map(str::to_string)
                .collect()
        };
        assert_eq!(rows(&excel[BOM.len()..]), rows(&plain));
    }
}
