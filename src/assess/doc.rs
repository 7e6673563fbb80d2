//! The status document: what `status --json` prints and what every table, report and chart
//! draws from. Plain data; enums serialise in snake_case and county codes as their six digits.

use serde::Serialize;

use crate::analysis::accounting::{Method, Projection};
use crate::analysis::levels::{Bulletin, BulletinClass, WellTrend};
use crate::analysis::verdict::{
    AquiferLevel, Criterion, KBands, TargetCheck, Verdict, YearFigures,
};
use crate::domain::CountyCode;
use crate::store::Counts;

/// Figures of a group of intakes (a budget, an aquifer type, a source).
#[derive(Clone, Debug, Serialize)]
pub struct GroupFigures {
    pub key: String,
    pub label: String,
    pub ytd_m3: f64,
    pub ytd_estimated_m3: f64,
    pub last_year_m3: f64,
    pub last_year_estimated_m3: f64,
    pub rolling_12m_m3: f64,
    pub projected_m3: f64,
    pub projected_low_m3: f64,
    pub projected_high_m3: f64,
    pub projection_method: Method,
}

/// A budget against its figure.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetFigures {
    /// `supply_group`, `counties` or `city_total`.
    pub budget: String,
    pub label: String,
    pub quota_m3: f64,
    pub ytd_m3: f64,
    pub ytd_estimated_m3: f64,
    pub last_year_m3: f64,
    /// The sum of its parts' projections: the counties' for `counties`, the intakes' for
    /// `supply_group`, both for `city_total`.
    pub projected_m3: f64,
    pub projected_low_m3: f64,
    pub projected_high_m3: f64,
    pub projection_method: Method,
    pub k_projected: Option<f64>,
    pub k_last_year: Option<f64>,
}

/// City-wide figures.
#[derive(Clone, Debug, Serialize)]
pub struct City {
    pub cap_m3: f64,
    /// 太原供水集团, counties, and the total against the cap.
    pub budgets: Vec<BudgetFigures>,
    pub by_aquifer: Vec<GroupFigures>,
    pub by_source: Vec<GroupFigures>,
    /// 太原供水集团's intakes over or without their permits (they are judged under the supply
    /// group, never in the county they lie in).
    pub supply_group_permits: Permits,
}

/// Where a county stands against one deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Upcoming,
    /// Passed without a recorded date of meeting it (已逾期).
    Passed,
    /// Met on or before the deadline.
    Met,
    /// Met after the deadline.
    MetLate,
}

/// Where a county stands against one of its deadlines as of the as-of date.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeadlineStatus {
    /// The deadline (`None`: not in this batch of the plan).
    pub date: Option<String>,
    /// Days from the as-of date to it (negative once passed).
    pub days_to: Option<i64>,
    pub state: Option<DeadlineState>,
    /// The day it was met, when that day is on or before the as-of date.
    pub met: Option<String>,
    /// Days after the deadline it was met (only for `met_late`).
    pub days_late: Option<i64>,
}

/// The deadlines and where the county stands against them as of the as-of date. A date of
/// meeting a deadline that lies after the as-of date is not known yet on it, so it is left out.
///
/// In the status document the two are written flat, as they always have been:
/// `self_assessment`, `exit`, `days_to_self_assessment`, `days_to_exit`, `…_state`, `…_met`,
/// `…_days_late`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deadlines {
    pub self_assessment: DeadlineStatus,
    pub exit: DeadlineStatus,
}

impl Serialize for Deadlines {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (a, e) = (&self.self_assessment, &self.exit);
        let mut m = s.serialize_struct("Deadlines", 10)?;
        m.serialize_field("self_assessment", &a.date)?;
        m.serialize_field("exit", &e.date)?;
        m.serialize_field("days_to_self_assessment", &a.days_to)?;
        m.serialize_field("days_to_exit", &e.days_to)?;
        m.serialize_field("self_assessment_state", &a.state)?;
        m.serialize_field("exit_state", &e.state)?;
        m.serialize_field("self_assessment_met", &a.met)?;
        m.serialize_field("exit_met", &e.met)?;
        m.serialize_field("self_assessment_days_late", &a.days_late)?;
        m.serialize_field("exit_days_late", &e.days_late)?;
        m.end()
    }
}

/// Metering coverage.
#[derive(Clone, Debug, Serialize)]
pub struct Metering {
    pub obligated: usize,
    pub reporting: usize,
    pub coverage: Option<f64>,
    /// Obliged intakes that have not reported within the configured days.
    pub silent: Vec<SilentIntake>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SilentIntake {
    pub id: String,
    pub name: String,
    /// Last reading (local time), if any.
    pub last_reading: Option<String>,
}

/// An intake over (or projected over) its permit, or withdrawing groundwater without one.
#[derive(Clone, Debug, Serialize)]
pub struct PermitExcess {
    pub id: String,
    pub name: String,
    /// The water source in Chinese (地下水, 地表水, …).
    pub source: &'static str,
    /// 0 when the intake has no permit.
    pub permit_m3: f64,
    pub ytd_m3: f64,
    pub projected_m3: f64,
    pub last_year_m3: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Permits {
    pub over: Vec<PermitExcess>,
    pub projected_over: Vec<PermitExcess>,
    /// Groundwater withdrawn without a permit (无证取水), this year or last.
    pub unpermitted: Vec<PermitExcess>,
    /// Over the permit last year.
    pub over_last_year: Vec<PermitExcess>,
}

/// One monitoring well and its trend.
#[derive(Clone, Debug, Serialize)]
pub struct WellStatus {
    pub id: String,
    pub name: String,
    pub aquifer: &'static str,
    /// Chinese name of the aquifer type.
    pub aquifer_label: &'static str,
    pub trend: WellTrend,
    /// The well's level target (双控) checked against its latest annual mean, when set.
    pub target: Option<TargetCheck>,
    /// 公报: year-end depth and its change against the same month a year before.
    pub bulletin: Option<Bulletin>,
    /// Monthly mean levels from the window start (NaN → null), for charts.
    #[serde(skip)]
    pub monthly_level_m: Vec<f64>,
}

/// 压采量: how much less groundwater the county's own budget drew in the last complete year than
/// in the base year, and what made it: wells sealed since, wells transferred to public supply
/// (水源置换, now under 太原供水集团), and the rest (savings, substitution, less pumping). Each year
/// on the registry in force in it; the supply group's well fields are never part of it.
#[derive(Clone, Debug, Serialize)]
pub struct Reduction {
    pub base_year: i16,
    pub base_m3: f64,
    pub year: i16,
    pub year_m3: f64,
    /// `base_m3 - year_m3`: positive when withdrawal came down.
    pub reduction_m3: f64,
    /// Wells of the base year sealed by the end of `year`, with their base-year withdrawal.
    pub sealed: Vec<ReductionPart>,
    pub sealed_m3: f64,
    /// Wells of the base year transferred to the supply group by `year`.
    pub transferred: Vec<ReductionPart>,
    pub transferred_m3: f64,
    /// The reduction neither explains.
    pub rest_m3: f64,
}

/// One intake's part of a reduction.
#[derive(Clone, Debug, Serialize)]
pub struct ReductionPart {
    pub id: String,
    pub name: String,
    /// Its withdrawal in the base year.
    pub base_m3: f64,
    /// The day it was sealed (its `active_to`) or the day of the transfer.
    pub since: Option<String>,
}

/// One county's assessment.
#[derive(Clone, Debug, Serialize)]
pub struct CountyStatus {
    pub code: CountyCode,
    pub name: String,
    /// This year's quota, prorated by days when the split changes during the year.
    pub quota_m3: Option<f64>,
    pub quota_example: bool,
    pub last_year_quota_m3: Option<f64>,
    /// This year to date: everything counted, the estimated parts below included.
    pub ytd_m3: f64,
    /// Of it, meter gaps spread over their days and estimated daily volumes.
    pub ytd_estimated_m3: f64,
    /// Of it, the silent days of obliged meters, imputed (never measured).
    pub ytd_imputed_m3: f64,
    /// Of it, groundwater users below the metering duty that report nothing, estimated from
    /// their permits.
    pub ytd_unmetered_m3: f64,
    pub last_year_m3: f64,
    pub last_year_estimated_m3: f64,
    pub last_year_imputed_m3: f64,
    pub last_year_unmetered_m3: f64,
    pub rolling_12m_m3: f64,
    pub projected_m3: f64,
    pub projection: Projection,
    /// k = withdrawal ÷ quota of this year's projection; null without data this year.
    pub k: Option<f64>,
    /// k of the last complete year; null when that year has no data (never 0).
    pub k_last_year: Option<f64>,
    /// The last complete year and this year to date, with the share of obliged intake-days
    /// that reported.
    pub last_year: YearFigures,
    pub this_year: YearFigures,
    pub months_with_data_this_year: u32,
    pub months_with_data_12m: u32,
    pub verdict: Verdict,
    pub verdict_label: &'static str,
    pub criteria: Vec<Criterion>,
    /// The level criterion per aquifer type present in the county.
    pub level_by_aquifer: Vec<AquiferLevel>,
    pub deadlines: Deadlines,
    pub metering: Metering,
    pub permits: Permits,
    pub by_aquifer: Vec<GroupFigures>,
    pub by_source: Vec<GroupFigures>,
    /// 压采量 against the base year; `None` without base-year data.
    pub reduction: Option<Reduction>,
    /// The way out: the cut each year to the exit year needs, what planned closures and
    /// projects deliver, the gap, and the candidate 自备井; `None` without an exit deadline.
    pub plan: Option<crate::analysis::plan::Plan>,
    /// The county's level series, one per aquifer type with wells: never one line across
    /// aquifers.
    pub level_series: Vec<AquiferSeries>,
    /// 公报 per aquifer type: the mean year-end depth and its change over the wells that have
    /// both years.
    pub bulletin_by_aquifer: Vec<AquiferBulletin>,
    pub wells: Vec<WellStatus>,
}

/// 公报 figures of one aquifer type.
#[derive(Clone, Debug, Serialize)]
pub struct AquiferBulletin {
    pub aquifer: &'static str,
    pub aquifer_label: &'static str,
    pub year: i16,
    /// Wells with a year-end depth and a change.
    pub wells: usize,
    pub mean_depth_m: f64,
    /// Mean change of depth against the same month a year before, m (+ = deeper).
    pub mean_depth_change_m: f64,
    pub class: BulletinClass,
    pub class_label: &'static str,
    /// Wells per class.
    pub rising: usize,
    pub stable: usize,
    pub falling: usize,
}

/// One aquifer type's county level series: each month the mean of its wells' deviations from
/// their own means plus the mean of those means (a well dropping out does not make it jump).
#[derive(Clone, Debug, Serialize)]
pub struct AquiferSeries {
    pub aquifer: &'static str,
    pub aquifer_label: &'static str,
    /// The series' trend: descriptive. The decisive rate is the aquifer's
    /// `level_by_aquifer[].mean_annual_change_m`.
    pub trend: WellTrend,
    /// Monthly levels from the window start, for charts.
    #[serde(skip)]
    pub monthly_level_m: Vec<f64>,
}

/// Raw-table counts.
pub type Ingest = Counts;

/// The whole status document.
#[derive(Clone, Debug, Serialize)]
pub struct StatusDoc {
    pub as_of: String,
    pub year: i16,
    /// True when quotas or the registry are example figures (示例值).
    pub example_data: bool,
    /// What a reader must know before trusting the figures: data ending before the as-of date,
    /// a partial as-of month.
    pub warnings: Vec<String>,
    /// The k bands every k is judged and printed in.
    pub k_bands: KBands,
    /// How a quota that changes mid-year is taken for the year.
    pub quota_rule: crate::domain::QuotaRule,
    /// What the level figures are computed on.
    pub level_basis: &'static str,
    pub trend_window_start: String,
    pub city: City,
    /// The karst springs of `[[springs]]`: margin above the outlet, trend, reflow.
    pub springs: Vec<crate::analysis::springs::SpringStatus>,
    pub counties: Vec<CountyStatus>,
    pub ingest: Ingest,
}

impl StatusDoc {
    /// k for print, with the digits of its band ("—" without a k).
    pub fn fmt_k(&self, k: Option<f64>) -> String {
        self.k_bands.format(k)
    }
}
