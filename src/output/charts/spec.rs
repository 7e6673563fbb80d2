//! Input data of the charts: plain numbers and strings, filled by the caller from its accounting.
//!
//! Nothing here depends on another gwmon module, so the charts can be drawn (and tested) from any
//! data source. Conventions, the same in every struct:
//! - volumes are m³ (the charts divide by 10 000 and label 万 m³ / 亿 m³ as the plan writes them);
//! - levels and depths are m; [`LevelKind`] says which one a series holds;
//! - a missing value is `f64::NAN` (or any non-finite value): it is skipped, never drawn as zero;
//! - dates are local calendar days ([`Ymd`]); the charts never read the clock.

use crate::output::wording::DeadlineKind;
use std::fmt;

/// A calendar day (proleptic Gregorian), as the caller's local-day accounting knows it.
///
/// Out-of-range months or days are clamped when positioned on a chart, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ymd {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month 1–12.
    pub month: u8,
    /// Day of month 1–31.
    pub day: u8,
}

impl Ymd {
    /// A date from its parts.
    pub const fn new(year: i32, month: u8, day: u8) -> Self {
        Self { year, month, day }
    }

    /// Whether `year` has 366 days.
    pub const fn is_leap_year(year: i32) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// Number of days of `year` (365 or 366).
    pub const fn days_in_year(year: i32) -> u16 {
        if Self::is_leap_year(year) { 366 } else { 365 }
    }

    /// Number of days of `month` (clamped to 1–12) in `year`.
    pub const fn days_in_month(year: i32, month: u8) -> u8 {
        match month {
            0 | 1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if Self::is_leap_year(year) => 29,
            2 => 28,
            _ => 31,
        }
    }

    /// Day of the year, 1-based (1 January = 1), with month and day clamped into range.
    pub fn day_of_year(&self) -> u16 {
        let month = self.month.clamp(1, 12);
        let day = self.day.clamp(1, Self::days_in_month(self.year, month));
        let before: u16 = (1..month)
            .map(|m| u16::from(Self::days_in_month(self.year, m)))
            .sum();
        before + u16::from(day)
    }

    /// The start of this day as a fractional year (2026-07-02 ≈ 2026.5): the time axis of the charts.
    pub fn fractional_year(&self) -> f64 {
        f64::from(self.year)
            + f64::from(self.day_of_year() - 1) / f64::from(Self::days_in_year(self.year))
    }
}

impl fmt::Display for Ymd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// What every chart prints around its plot: whose data, as of when, from where, and whether it is
/// an example.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartMeta {
    /// The county (or city) name, Chinese, e.g. `清徐县`; it starts the chart title.
    pub place: String,
    /// Last day the data covers; printed in the footer (`数据截至 2026-11-28`).
    pub as_of: Ymd,
    /// Data source for the footer, e.g. `取水在线计量、地下水监测井`; empty to omit.
    pub source: String,
    /// The data or quotas are examples (示例值), not official figures: every chart then shows
    /// `示例数据` as a boxed label and a watermark.
    pub example: bool,
    /// Drawn without the title line, for a document whose numbered caption carries it; the
    /// subtitle, the `示例数据` label and the footer stay.
    pub untitled: bool,
}

/// A value on a given day (a level, a depth, or a monthly mean dated at its 15th).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatedValue {
    /// The day.
    pub date: Ymd,
    /// The value; non-finite = missing, skipped.
    pub value: f64,
}

/// Whether a water series holds levels (elevation of the water surface, up = more water) or depths
/// to water (埋深, up = less water).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelKind {
    /// Water level in m on the 1985 national height datum (1985国家高程基准).
    Level,
    /// Depth to water below ground in m; the axis is drawn inverted (deeper = lower on the chart).
    Depth,
}

/// Direction of the water **level** (not of depth) as the trend test judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendDirection {
    /// Level rising (上升).
    Rising,
    /// No significant trend (稳定).
    Stable,
    /// Level falling (下降).
    Falling,
}

impl TrendDirection {
    /// The Chinese word printed on the charts.
    pub fn label(self) -> &'static str {
        match self {
            TrendDirection::Rising => "上升",
            TrendDirection::Stable => "稳定",
            TrendDirection::Falling => "下降",
        }
    }
}

/// A fitted trend of a level or depth series (Sen's slope with the Mann–Kendall verdict).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Sen's slope of the plotted series in m per year (of depth when the series is depth).
    pub slope_m_per_year: f64,
    /// A point the trend line passes through, e.g. (median date, median value) — Sen's intercept.
    pub anchor: DatedValue,
    /// What the test says about the water level; for a depth series a rising depth is `Falling`.
    pub direction: TrendDirection,
}

impl Trend {
    /// The trend line from fractional year `from` to `to`, as two (year, value) points.
    pub(crate) fn segment(&self, from: f64, to: f64) -> [(f64, f64); 2] {
        let x0 = self.anchor.date.fractional_year();
        let at = |x: f64| self.anchor.value + self.slope_m_per_year * (x - x0);
        [(from, at(from)), (to, at(to))]
    }
}

/// Groundwater withdrawal of one complete year against the quota in force that year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearWithdrawal {
    /// Calendar year.
    pub year: i32,
    /// Withdrawal in m³; non-finite = no data for that year.
    pub withdrawal_m3: f64,
    /// The county's control target (k = 1) that year in m³; non-finite = no quota.
    pub quota_m3: f64,
}

/// The current, incomplete year: withdrawal so far and the projection to year end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentYear {
    /// Calendar year.
    pub year: i32,
    /// Withdrawal from 1 January to [`ChartMeta::as_of`] in m³.
    pub to_date_m3: f64,
    /// Projected withdrawal for the whole year in m³; non-finite = no projection.
    pub projected_m3: f64,
    /// Quota in force for the year in m³; non-finite = no quota.
    pub quota_m3: f64,
}

/// A deadline drawn as a vertical marker, e.g. `自评估 2026-06-30`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// The day.
    pub date: Ymd,
}

impl Deadline {
    /// The self-assessment report deadline (`自评估`).
    pub fn self_assessment(date: Ymd) -> Self {
        Self {
            kind: DeadlineKind::SelfAssessment,
            date,
        }
    }

    /// The approved-exit deadline (`退出`).
    pub fn exit(date: Ymd) -> Self {
        Self {
            kind: DeadlineKind::Exit,
            date,
        }
    }

    /// The short word the chart marks it with; the date is appended on the chart.
    pub fn label(&self) -> &'static str {
        self.kind.short()
    }
}

/// The verdict's class, which picks its colour and symbol on the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    /// 具备退出条件.
    Ready,
    /// 存在风险.
    AtRisk,
    /// 尚不具备退出条件.
    NotReady,
    /// 数据不足.
    InsufficientData,
}

impl From<crate::analysis::verdict::Verdict> for VerdictKind {
    fn from(v: crate::analysis::verdict::Verdict) -> Self {
        use crate::analysis::verdict::Verdict;
        match v {
            Verdict::Ready => VerdictKind::Ready,
            Verdict::AtRisk => VerdictKind::AtRisk,
            Verdict::NotReady => VerdictKind::NotReady,
            Verdict::InsufficientData => VerdictKind::InsufficientData,
        }
    }
}

/// A criterion's state as the charts colour and mark it: a pass as a ready county, a failure as
/// one not ready.
impl From<crate::analysis::verdict::Status> for VerdictKind {
    fn from(s: crate::analysis::verdict::Status) -> Self {
        use crate::analysis::verdict::Status;
        match s {
            Status::Pass => VerdictKind::Ready,
            Status::AtRisk => VerdictKind::AtRisk,
            Status::Fail => VerdictKind::NotReady,
            Status::InsufficientData => VerdictKind::InsufficientData,
        }
    }
}

/// A quota in force in a year still to come (the plan fixes them up to the exit year).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearQuota {
    /// Calendar year.
    pub year: i32,
    /// The county's control target (k = 1) that year in m³; non-finite = none set.
    pub quota_m3: f64,
}

/// One criterion that is not met, as a row of the chart's criteria table.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionRow {
    /// What is judged, e.g. `地下水取水总量`.
    pub item: String,
    /// The result in words, e.g. `不达标`, `有风险`.
    pub status: String,
    /// The result as the table colours and marks it.
    pub kind: VerdictKind,
    /// Why, in full: the table wraps it, never cuts it.
    pub detail: String,
}

/// One aquifer type's monthly county level series and its trend.
#[derive(Debug, Clone, PartialEq)]
pub struct AquiferLevels {
    /// The aquifer's name, e.g. `浅层孔隙水`.
    pub label: String,
    /// Monthly means of the aquifer's wells (level or depth, as `level_kind` says).
    pub levels: Vec<DatedValue>,
    /// The aquifer's decisive trend: its rate (the mean annual change of its judged wells, the
    /// figure the verdict uses) through the middle of `levels`. Drawn dashed over the data and
    /// dotted from the last month to the exit deadline, when there is one. `None` when no well
    /// of the aquifer has enough data to be judged: no line is drawn.
    pub trend: Option<Trend>,
    /// The aquifer's level criterion as the status document words it (不达标, 有风险, …).
    pub status: String,
}

/// Chart 1, exit readiness of one county: withdrawal against quota by year (top panel) and the
/// water-level trend towards the deadlines (bottom panel), with the verdict, the gap to the quota
/// and what next year asks as a headline, and the criteria not met as a table below.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitReadiness {
    /// Title, footer, example flag.
    pub meta: ChartMeta,
    /// Complete years from the base year on, any order; missing years are shown as such.
    pub years: Vec<YearWithdrawal>,
    /// The current year to date and its projection, if any.
    pub current: Option<CurrentYear>,
    /// Quotas of the years after the current one, up to the exit year: drawn per year, and the
    /// next one is what the headline says must be reached.
    pub quotas_ahead: Vec<YearQuota>,
    /// Self-assessment and exit deadlines; the time axis runs to the last one's year.
    pub deadlines: Vec<Deadline>,
    /// Whether `levels` are levels or depths.
    pub level_kind: LevelKind,
    /// The county's level series, one per aquifer type (never averaged across aquifers); empty =
    /// no level monitoring. One series is drawn in metres; several as each one's change from its
    /// first year's mean, so that aquifers metres apart share one axis.
    pub levels: Vec<AquiferLevels>,
    /// The verdict as the caller words it, e.g. `尚不具备退出条件`.
    pub verdict: String,
    /// The verdict's class (colour and symbol).
    pub verdict_kind: VerdictKind,
    /// The criteria not met, one row each.
    pub failing: Vec<CriterionRow>,
}

/// A cumulative value at the end of a day of the year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayValue {
    /// Day of the year, 1-based.
    pub day: u16,
    /// Cumulative withdrawal since 1 January in m³; non-finite = missing, skipped.
    pub value_m3: f64,
}

/// One step of an annual quota that may change during the year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaStep {
    /// First day of the year (1-based) on which this annual quota is in force.
    pub from_day: u16,
    /// The annual quota in m³; non-finite = no quota from that day.
    pub quota_m3: f64,
}

/// Chart 2, cumulative withdrawal of the current year against last year and the quota.
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeWithdrawal {
    /// Title, footer, example flag; `as_of` is where the projection starts.
    pub meta: ChartMeta,
    /// The current year.
    pub year: i32,
    /// This year's cumulative withdrawal up to the as-of date.
    pub this_year: Vec<DayValue>,
    /// Last year's cumulative withdrawal, whole year.
    pub last_year: Vec<DayValue>,
    /// The annual quota as a step function of the day; empty = no quota.
    pub quota_steps: Vec<QuotaStep>,
    /// Projected cumulative withdrawal on 31 December in m³, drawn dashed from the last actual point.
    pub projected_year_end_m3: Option<f64>,
    /// k of the projection as the status document prints it (digits enough to agree with its band);
    /// `None` prints k from the figures above to two decimals.
    pub k_text: Option<String>,
}

/// Monthly withdrawals of one year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearMonths {
    /// Calendar year.
    pub year: i32,
    /// Withdrawal in m³ for January … December; non-finite = no data (e.g. months still to come).
    pub months_m3: [f64; 12],
}

/// Chart 3, monthly withdrawal of recent years side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyWithdrawal {
    /// Title, footer, example flag.
    pub meta: ChartMeta,
    /// The years to compare, any order; the most recent [`MonthlyWithdrawal::MAX_YEARS`] are drawn.
    pub years: Vec<YearMonths>,
}

impl MonthlyWithdrawal {
    /// At most this many years are drawn side by side (the most recent ones).
    pub const MAX_YEARS: usize = 3;
}

/// One monitoring well's series.
#[derive(Debug, Clone, PartialEq)]
pub struct WellSeries {
    /// Well id as printed on its panel, e.g. `QX-01`.
    pub id: String,
    /// Well name, e.g. `清源镇观测井`; empty to omit.
    pub name: String,
    /// The group the well is shown in, e.g. the aquifer type `浅层孔隙水`; wells of a group
    /// share a colour and marker and are drawn next to each other.
    pub group: String,
    /// Monthly or daily values, any order.
    pub points: Vec<DatedValue>,
    /// The well's trend, drawn over the span of its data.
    pub trend: Option<Trend>,
    /// The well's level target in the series' kind (a level for a level series), if it has one.
    pub target_m: Option<f64>,
    /// The target as the registry sets it, when that is the other kind: a 埋深 target on a level
    /// series is printed "埋深目标 59.00 m（水位 760.12 m）", never as an elevation alone.
    pub target_note: Option<String>,
    /// Months screened out as outliers (in the series' kind): marked, not joined to the line.
    pub outliers: Vec<DatedValue>,
    /// Where the record jumps (a datum or measuring-point change): a marked vertical line.
    pub steps: Vec<Ymd>,
}

/// Chart 4, hydrographs of a county's monitoring wells: one small panel per well, each on its own
/// scale, [`Hydrographs::PER_PAGE`] panels per page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hydrographs {
    /// Title, footer, example flag.
    pub meta: ChartMeta,
    /// Levels or depths, for all wells alike.
    pub kind: LevelKind,
    /// All wells of the county; they are drawn grouped by [`WellSeries::group`] (groups in order
    /// of first appearance), in this order within a group.
    pub wells: Vec<WellSeries>,
    /// Which page to draw, 0-based; see [`Hydrographs::pages`].
    pub page: usize,
    /// What the panels are: monitoring wells, or karst springs (the mean level of each
    /// spring's wells against its outlet, given as the target).
    pub subject: Subject,
}

/// What a hydrograph chart's panels show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subject {
    #[default]
    Wells,
    Springs,
}

impl Hydrographs {
    /// Panels on one page.
    pub const PER_PAGE: usize = 12;

    /// Number of pages the wells need (at least one, which notes when there are no wells).
    pub fn pages(&self) -> usize {
        self.wells.len().div_ceil(Self::PER_PAGE).max(1)
    }

    /// The wells in drawing order: grouped, groups in order of first appearance.
    pub fn ordered(&self) -> Vec<&WellSeries> {
        let mut groups: Vec<&str> = Vec::new();
        for w in &self.wells {
            if !groups.contains(&w.group.as_str()) {
                groups.push(&w.group);
            }
        }
        groups
            .iter()
            .flat_map(|g| self.wells.iter().filter(move |w| w.group == *g))
            .collect()
    }

    /// The wells of page `page` in drawing order.
    pub fn page_wells(&self, page: usize) -> Vec<&WellSeries> {
        self.ordered()
            .into_iter()
            .skip(page * Self::PER_PAGE)
            .take(Self::PER_PAGE)
            .collect()
    }
}

/// One water source's withdrawal by year.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSeries {
    /// Source name, e.g. `地下水`, `地表水`, `再生水`, `矿井水`.
    pub label: String,
    /// Whether this is groundwater: the reduction (压采量) is reckoned on it.
    pub groundwater: bool,
    /// m³ per year of [`WithdrawalBySource::years`]; non-finite = no data.
    pub m3: Vec<f64>,
}

/// Chart 6, withdrawal by water source and year (stacked), with the groundwater reduction
/// achieved against the base year (压采量).
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawalBySource {
    /// Title, footer, example flag.
    pub meta: ChartMeta,
    /// The years, ascending.
    pub years: Vec<i32>,
    /// The sources, stacked bottom-up in this order.
    pub sources: Vec<SourceSeries>,
    /// The year whose values are a year-end projection (the current year), drawn hatched.
    pub projected_year: Option<i32>,
    /// The base year the reduction is measured from.
    pub base_year: i32,
    /// What made the last complete year's reduction, when known: `(year, sealed wells,
    /// transfers to public supply, the rest)` in m³.
    pub reduction_parts: Option<(i32, f64, f64, f64)>,
}

/// Chart 7, the way out: this year's projection, held, through what each closure and project
/// takes off in the exit year, to the exit year's allowed withdrawal (quota × the pass k), and
/// what closing the remaining candidate 自备井 would add.
#[derive(Debug, Clone, PartialEq)]
pub struct WayOut {
    /// Title, footer, example flag.
    pub meta: ChartMeta,
    pub this_year: i32,
    pub exit_year: i32,
    /// This year's year-end projection, m³; non-finite: no data this year, nothing to plan from.
    pub projected_m3: f64,
    /// The measures that take something off the exit year, in their order.
    pub steps: Vec<WayStep>,
    /// The candidate 自备井 (count, their last-year total m³), when any.
    pub candidates: Option<(usize, f64)>,
    /// The exit year's quota and what k at the pass threshold allows, m³; non-finite: none set.
    pub quota_m3: f64,
    pub allowed_m3: f64,
    pub pass_k: f64,
    /// The plan's conclusion in a sentence: the chart's headline.
    pub conclusion: String,
}

/// One measure's bar on the way out.
#[derive(Debug, Clone, PartialEq)]
pub struct WayStep {
    /// Its name as printed beside the bar.
    pub label: String,
    /// What it takes off the exit year, m³.
    pub m3: f64,
    /// Seen in the meters (solid), or planned (outlined).
    pub measured: bool,
}

/// A withdrawal against its limit, e.g. 太原供水集团 against 7602万 m³.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetBar {
    /// Name printed under the bar.
    pub name: String,
    /// Withdrawal in m³ (what it is — actual, projected — is [`CityOverview::basis`]).
    pub withdrawal_m3: f64,
    /// The limit in m³; non-finite = none.
    pub limit_m3: f64,
}

/// One county's withdrawal and quota, for the overdraft-coefficient ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct CountyK {
    /// County name, e.g. `清徐县`.
    pub name: String,
    /// Withdrawal in m³.
    pub withdrawal_m3: f64,
    /// Quota in m³; k = withdrawal ÷ quota is drawn only when the quota is finite and positive.
    pub quota_m3: f64,
    /// k as the status document prints it (digits enough to agree with its band); `None` prints
    /// k from the figures above to two decimals.
    pub k_text: Option<String>,
}

/// Chart 5, the city overview: the plan's budget split (top) and the counties ranked by k (bottom).
///
/// The plan's split does not add up to the cap (7602 + 7390 = 14992万, 8万 under 1.5亿); the chart
/// draws each figure as given and prints the difference, never adjusting either.
#[derive(Debug, Clone, PartialEq)]
pub struct CityOverview {
    /// Title (place = `太原市`), footer, example flag.
    pub meta: ChartMeta,
    /// What the withdrawals are, e.g. `2026 年取水量（年末预测）`; printed in legend and subtitle.
    pub basis: String,
    /// The parts of the split, e.g. 太原供水集团 vs 7602万 and 县（市、区）合计 vs 7390万.
    pub budgets: Vec<BudgetBar>,
    /// The whole city against the cap (1.5亿 m³), as the caller totals it.
    pub total: BudgetBar,
    /// Counties to rank by k.
    pub counties: Vec<CountyK>,
    /// The verdict's k bands the bars are coloured by: k ≤ `k_at_risk` meets the quota, up to
    /// `k_limit` is at risk, above it over.
    pub k_at_risk: f64,
    pub k_limit: f64,
}

/// Largest magnitude accepted as data; anything larger (or non-finite) is treated as missing.
/// 1e13 m³ is ten million times Taiyuan's annual cap, so only garbage is dropped, and pixel
/// arithmetic stays far from overflow.
const MAX_ABS: f64 = 1e13;
/// Years outside this range are treated as missing (the charts' time axes are built from them).
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

fn clean(v: f64) -> f64 {
    if v.is_finite() && v.abs() <= MAX_ABS {
        v
    } else {
        f64::NAN
    }
}

fn clean_point(p: &DatedValue) -> DatedValue {
    DatedValue {
        date: p.date,
        value: if YEARS.contains(&p.date.year) {
            clean(p.value)
        } else {
            f64::NAN
        },
    }
}

fn clean_trend(t: &Trend) -> Trend {
    let anchor = clean_point(&t.anchor);
    Trend {
        slope_m_per_year: clean(t.slope_m_per_year),
        anchor,
        direction: t.direction,
    }
}

/// Input hygiene applied by every `draw_*` function before drawing: absurd numbers become missing
/// values and out-of-range years are dropped, so no input can make a chart panic, overflow pixel
/// arithmetic or loop over an astronomically long line.
pub(crate) trait Sanitize {
    fn sanitized(&self) -> Self;
}

impl Sanitize for ExitReadiness {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        m.years.retain(|y| YEARS.contains(&y.year));
        for y in &mut m.years {
            y.withdrawal_m3 = clean(y.withdrawal_m3);
            y.quota_m3 = clean(y.quota_m3);
        }
        m.current = m
            .current
            .filter(|c| YEARS.contains(&c.year))
            .map(|c| CurrentYear {
                year: c.year,
                to_date_m3: clean(c.to_date_m3),
                projected_m3: clean(c.projected_m3),
                quota_m3: clean(c.quota_m3),
            });
        m.quotas_ahead.retain(|q| YEARS.contains(&q.year));
        for q in &mut m.quotas_ahead {
            q.quota_m3 = clean(q.quota_m3);
        }
        m.deadlines.retain(|d| YEARS.contains(&d.date.year));
        for a in &mut m.levels {
            a.levels = a.levels.iter().map(clean_point).collect();
            a.trend = a.trend.as_ref().map(clean_trend);
        }
        m.meta.as_of.year = m.meta.as_of.year.clamp(*YEARS.start(), *YEARS.end());
        m
    }
}

impl Sanitize for WithdrawalBySource {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        m.years = m
            .years
            .iter()
            .map(|y| (*y).clamp(*YEARS.start(), *YEARS.end()))
            .collect();
        let n = m.years.len();
        for s in &mut m.sources {
            s.m3.resize(n, f64::NAN);
            for v in &mut s.m3 {
                *v = clean(*v);
            }
        }
        m
    }
}

impl Sanitize for CumulativeWithdrawal {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        m.year = m.year.clamp(*YEARS.start() + 1, *YEARS.end());
        for p in m.this_year.iter_mut().chain(m.last_year.iter_mut()) {
            p.value_m3 = clean(p.value_m3);
        }
        for q in &mut m.quota_steps {
            q.quota_m3 = clean(q.quota_m3);
        }
        m.projected_year_end_m3 = m.projected_year_end_m3.map(clean);
        m
    }
}

impl Sanitize for MonthlyWithdrawal {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        m.years.retain(|y| YEARS.contains(&y.year));
        for y in &mut m.years {
            for v in &mut y.months_m3 {
                *v = clean(*v);
            }
        }
        m
    }
}

impl Sanitize for WayOut {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        m.projected_m3 = clean(m.projected_m3);
        m.quota_m3 = clean(m.quota_m3);
        m.allowed_m3 = clean(m.allowed_m3);
        m.steps.retain(|s| s.m3.is_finite() && s.m3 > 0.0);
        m.candidates = m
            .candidates
            .filter(|c| c.0 > 0 && c.1.is_finite() && c.1 > 0.0);
        m
    }
}

impl Sanitize for Hydrographs {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        for w in &mut m.wells {
            w.points = w.points.iter().map(clean_point).collect();
            w.trend = w.trend.as_ref().map(clean_trend);
            w.target_m = w.target_m.map(clean).filter(|t| t.is_finite());
            w.outliers = w.outliers.iter().map(clean_point).collect();
            w.steps.retain(|d| YEARS.contains(&d.year));
        }
        m.meta.as_of.year = m.meta.as_of.year.clamp(*YEARS.start(), *YEARS.end());
        m
    }
}

impl Sanitize for CityOverview {
    fn sanitized(&self) -> Self {
        let mut m = self.clone();
        for b in m.budgets.iter_mut().chain(std::iter::once(&mut m.total)) {
            b.withdrawal_m3 = clean(b.withdrawal_m3);
            b.limit_m3 = clean(b.limit_m3);
        }
        for c in &mut m.counties {
            c.withdrawal_m3 = clean(c.withdrawal_m3);
            c.quota_m3 = clean(c.quota_m3);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_year_and_fraction() {
        assert_eq!(Ymd::new(2026, 1, 1).day_of_year(), 1);
        assert_eq!(Ymd::new(2026, 12, 31).day_of_year(), 365);
        assert_eq!(Ymd::new(2028, 12, 31).day_of_year(), 366);
        assert_eq!(Ymd::new(2026, 3, 1).day_of_year(), 60);
        assert_eq!(
            Ymd::new(2026, 13, 40).day_of_year(),
            365,
            "clamped, no panic"
        );
        assert_eq!(Ymd::new(2026, 0, 0).day_of_year(), 1, "clamped, no panic");
        assert!((Ymd::new(2026, 1, 1).fractional_year() - 2026.0).abs() < 1e-12);
        assert_eq!(Ymd::new(2026, 6, 30).to_string(), "2026-06-30");
    }
}
