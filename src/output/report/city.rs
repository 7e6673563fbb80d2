//! The city folder: the overview of the city's budgets and every county's k, with its CSV.

use jiff::civil::Date;

use super::county::Files;
use super::{ReportError, csv, meta};
use crate::assess::StatusDoc;
use jiff::ToSpan;

use super::series;
use crate::output::charts::{
    self, BudgetBar, ChartKind, CityOverview, CountyK, Hydrographs, LevelKind, Subject, WellSeries,
};

/// The budget bars, in the order the chart draws them; the city total is drawn apart.
const BUDGETS: [&str; 2] = ["supply_group", "counties"];

/// The files of the city folder (file name, bytes).
pub fn files(doc: &StatusDoc, as_of: Date, form: csv::CsvForm) -> Result<Files, ReportError> {
    let overview = overview(doc, as_of);
    let mut files: Files = charts::render_all(ChartKind::CityOverview(&overview), "city")?.into();
    let csv = csv::to_bytes(form, |w| {
        csv::city(
            w,
            overview.budgets.iter().chain([&overview.total]),
            &overview.counties,
        )
    })?;
    files.push(("city.csv".into(), csv));
    if !doc.springs.is_empty() {
        files.extend(charts::render_all(
            ChartKind::Hydrographs(&springs(doc, as_of)),
            "springs",
        )?);
    }
    Ok(files)
}

/// The karst springs as hydrograph panels: each spring's mean level (its wells' monthly mean)
/// with its Sen trend against the outlet's elevation, where reflow begins.
fn springs(doc: &StatusDoc, as_of: Date) -> Hydrographs {
    Hydrographs {
        meta: meta("太原市", doc, as_of),
        kind: LevelKind::Level,
        subject: Subject::Springs,
        page: 0,
        wells: doc
            .springs
            .iter()
            .map(|s| WellSeries {
                id: if s.example {
                    format!("{}（示例值）", s.name)
                } else {
                    s.name.clone()
                },
                name: format!("代表井 {}", s.wells.join("、")),
                group: String::new(),
                points: series::dated(
                    &s.monthly_m
                        .iter()
                        .map(|(d, v)| (d.first_of_month().saturating_add(14.days()), *v))
                        .collect::<Vec<_>>(),
                ),
                trend: series::trend_line(&s.trend, s.series_start),
                target_m: Some(s.outlet_m),
                target_note: Some(format!(
                    "泉口 {:.2} m · 复流：{}",
                    s.outlet_m,
                    super::way_out::spring_outlook(s)
                )),
                outliers: Vec::new(),
                steps: Vec::new(),
            })
            .collect(),
    }
}

/// The chart's figures: each budget's and county's projected year-end withdrawal against its
/// limit.
fn overview(doc: &StatusDoc, as_of: Date) -> CityOverview {
    let bar = |key: &str| {
        doc.city
            .budgets
            .iter()
            .find(|b| b.budget == key)
            .map(|b| BudgetBar {
                name: b.label.clone(),
                withdrawal_m3: b.projected_m3,
                limit_m3: b.quota_m3,
            })
    };
    CityOverview {
        meta: meta("太原市", doc, as_of),
        basis: format!("{} 年取水量（年末预测）", doc.year),
        budgets: BUDGETS.iter().filter_map(|k| bar(k)).collect(),
        total: bar("city_total").unwrap_or(BudgetBar {
            name: "全市合计".into(),
            withdrawal_m3: f64::NAN,
            limit_m3: doc.city.cap_m3,
        }),
        counties: doc
            .counties
            .iter()
            .map(|c| CountyK {
                name: c.name.clone(),
                withdrawal_m3: c.projected_m3,
                quota_m3: c.quota_m3.unwrap_or(f64::NAN),
                k_text: c.k.map(|k| doc.fmt_k(Some(k))),
            })
            .collect(),
        k_at_risk: doc.k_bands.at_risk,
        k_limit: doc.k_bands.limit,
    }
}
