//! The exit-readiness verdict (DESIGN §2): five criteria — quantity, level, metering, permits,
//! data sufficiency — each pass / at risk / fail / insufficient data with the figures behind it,
//! and one verdict per county. Without sufficient data the verdict is never "ready".
//!
//! - `quantity`: the last complete year and this year's projection against the quota.
//! - `level`: per aquifer type, trends and level targets.
//! - this file: the thresholds, the k bands, metering, permits, data sufficiency and the verdict.

mod level;
mod quantity;

use serde::Serialize;

pub use level::{AquiferLevel, AquiferWells, TargetCheck, aquifer_level, level};
pub use quantity::{QuantityFacts, YearFigures, quantity};

/// Thresholds of the readiness model; the caller fills them from the configuration
/// (`[assessment]`, where each has its documented default).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Significance level of the trend test.
    pub alpha: f64,
    /// Minimum years of level data for a well to count.
    pub min_level_years: f64,
    /// Minimum share of months with data in the window, for a well to count.
    pub min_monthly_completeness: f64,
    /// A well counts only with data within this many months before the as-of date.
    pub recent_months: usize,
    /// Minimum share of the county's wells that must have sufficient data.
    pub min_wells_sufficient_share: f64,
    /// Largest share of declining wells that still passes.
    pub max_declining_share: f64,
    /// k (withdrawal ÷ quota) above which quantity fails.
    pub k_limit: f64,
    /// k above this (but at most `k_limit`) is "at risk".
    pub k_at_risk: f64,
    /// Share of obliged intake-days that must have reported for a year to pass quantity.
    pub min_data_completeness: f64,
    /// Months of data this year before a projection under the limit can lift a failing last
    /// year to "at risk".
    pub min_months_this_year: u32,
    /// Minimum metering coverage that passes.
    pub min_metering_coverage: f64,
    /// Coverage this far below the minimum is "at risk"; further below, a failure.
    pub metering_at_risk_band: f64,
    /// Largest share of a year's figure that may be estimated or imputed for quantity to pass.
    pub max_estimated_share: f64,
    /// Largest share of a year's figure that may rest on long meter gaps for quantity to pass.
    pub max_long_gap_share: f64,
    /// An aquifer supplying more than this share of the county's groundwater needs a well with
    /// sufficient data.
    pub level_aquifer_min_share: f64,
}

impl Thresholds {
    pub fn k_bands(&self) -> KBands {
        KBands {
            at_risk: self.k_at_risk,
            limit: self.k_limit,
        }
    }
}

/// The bands of k: pass k ≤ `at_risk`; at risk `at_risk` < k ≤ `limit`; fail k > `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KBands {
    pub at_risk: f64,
    pub limit: f64,
}

impl KBands {
    /// The band of an unrounded k.
    pub fn status(&self, k: f64) -> Status {
        if k > self.limit {
            Status::Fail
        } else if k > self.at_risk {
            Status::AtRisk
        } else {
            Status::Pass
        }
    }

    /// k for print: two decimals, or as many more as it takes for the printed figure to fall in
    /// the same band as the unrounded one (0.951 is "0.951", not "0.95" beside "> 0.95 有风险");
    /// "—" when there is no k.
    pub fn format(&self, k: Option<f64>) -> String {
        let Some(k) = k.filter(|k| k.is_finite()) else {
            return "—".into();
        };
        let band = self.status(k);
        for decimals in 2..=6 {
            let s = format!("{k:.decimals$}");
            if s.parse::<f64>().is_ok_and(|x| self.status(x) == band) {
                return s;
            }
        }
        k.to_string()
    }

    /// "k ≤ 0.95 达标，0.95 < k ≤ 1.00 有风险，k > 1.00 不达标".
    pub fn describe(&self) -> String {
        format!(
            "k ≤ {a:.2} 达标，{a:.2} < k ≤ {l:.2} 有风险，k > {l:.2} 不达标",
            a = self.at_risk,
            l = self.limit
        )
    }
}

/// State of one criterion, ordered by gravity so that the worst of several is their `max`: a
/// failure is never hidden by too little data elsewhere (a missed target in an aquifer whose
/// wells are too few to judge still fails), and too little data is graver than a risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    AtRisk,
    InsufficientData,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "达标",
            Status::AtRisk => "有风险",
            Status::Fail => "不达标",
            Status::InsufficientData => "数据不足",
        }
    }
}

/// The county's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ready,
    AtRisk,
    NotReady,
    InsufficientData,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "具备退出条件",
            Verdict::AtRisk => "存在风险",
            Verdict::NotReady => "尚不具备退出条件",
            Verdict::InsufficientData => "数据不足",
        }
    }
}

/// The five criteria of DESIGN §2, in the order every output lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionName {
    Quantity,
    Level,
    Metering,
    Permits,
    DataSufficiency,
}

impl CriterionName {
    /// Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            CriterionName::Quantity => "水量",
            CriterionName::Level => "水位",
            CriterionName::Metering => "计量",
            CriterionName::Permits => "许可",
            CriterionName::DataSufficiency => "数据充分性",
        }
    }

    /// The name as the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionName::Quantity => "quantity",
            CriterionName::Level => "level",
            CriterionName::Metering => "metering",
            CriterionName::Permits => "permits",
            CriterionName::DataSufficiency => "data_sufficiency",
        }
    }
}

/// One criterion with its figures.
#[derive(Clone, Debug, Serialize)]
pub struct Criterion {
    pub name: CriterionName,
    pub status: Status,
    /// Chinese sentence with the figures and thresholds.
    pub detail: String,
}

impl Criterion {
    /// Chinese name.
    pub fn label(&self) -> &'static str {
        self.name.label()
    }
}

/// Permit figures of a county's intakes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PermitFacts {
    /// Intakes over their permit this year to date.
    pub over: usize,
    /// Intakes projected over their permit by the year end.
    pub projected_over: usize,
    /// Intakes withdrawing groundwater without a permit (无证取水).
    pub unpermitted: usize,
    /// Intakes that were over their permit last year.
    pub over_last_year: usize,
}

/// What the criteria are judged on.
#[derive(Clone, Debug)]
pub struct CountyFacts {
    pub quantity: QuantityFacts,
    /// One entry per aquifer type with registered wells.
    pub levels: Vec<AquiferLevel>,
    /// All the county's wells: registered and with enough recent data.
    pub wells: usize,
    pub wells_sufficient: usize,
    pub obligated: usize,
    pub reporting: usize,
    pub permits: PermitFacts,
}

/// Judges metering coverage.
pub fn metering(obligated: usize, reporting: usize, t: &Thresholds) -> Criterion {
    if obligated == 0 {
        return Criterion {
            name: CriterionName::Metering,
            status: Status::Pass,
            detail: "无负有在线计量义务的取水口".into(),
        };
    }
    let cov = reporting as f64 / obligated as f64;
    Criterion {
        name: CriterionName::Metering,
        status: if cov >= t.min_metering_coverage {
            Status::Pass
        } else if cov >= t.min_metering_coverage - t.metering_at_risk_band {
            Status::AtRisk
        } else {
            Status::Fail
        },
        detail: format!(
            "应在线计量 {obligated} 处，按时上报 {reporting} 处，覆盖率 {:.1}%（要求 ≥ {:.0}%，≥ {:.0}% 为有风险）",
            cov * 100.0,
            t.min_metering_coverage * 100.0,
            (t.min_metering_coverage - t.metering_at_risk_band) * 100.0
        ),
    }
}

/// Judges permits: withdrawal without a permit or over it this year fails; a projected excess
/// or last year's excess is a risk.
pub fn permits(p: &PermitFacts) -> Criterion {
    Criterion {
        name: CriterionName::Permits,
        status: if p.over > 0 || p.unpermitted > 0 {
            Status::Fail
        } else if p.projected_over > 0 || p.over_last_year > 0 {
            Status::AtRisk
        } else {
            Status::Pass
        },
        detail: format!(
            "无证取水 {} 处；本年已超许可 {} 处，预计年底超许可 {} 处；上年超许可 {} 处",
            p.unpermitted, p.over, p.projected_over, p.over_last_year
        ),
    }
}

/// Judges one county.
pub fn assess(f: &CountyFacts, t: &Thresholds) -> (Vec<Criterion>, Verdict) {
    let q = &f.quantity;
    let has_volume_data = q.last_year.has_data || q.this_year.has_data;
    let share = if f.wells == 0 {
        0.0
    } else {
        f.wells_sufficient as f64 / f.wells as f64
    };
    let sufficient =
        share >= t.min_wells_sufficient_share && f.wells_sufficient > 0 && has_volume_data;
    let out = vec![
        quantity(q, t),
        level(&f.levels, t),
        metering(f.obligated, f.reporting, t),
        permits(&f.permits),
        Criterion {
            name: CriterionName::DataSufficiency,
            status: if sufficient {
                Status::Pass
            } else {
                Status::InsufficientData
            },
            detail: format!(
                "{}/{} 眼监测井数据充分（要求 ≥ {:.0}%）；取水量数据{}",
                f.wells_sufficient,
                f.wells,
                t.min_wells_sufficient_share * 100.0,
                if has_volume_data { "齐备" } else { "缺失" }
            ),
        },
    ];
    // A failure is certain whatever else is missing: it decides first. Too little data to
    // judge quantity (or the county's data as a whole) with nothing failing says so rather
    // than "at risk"; a risk or a gap elsewhere is at risk; only then ready.
    let verdict = if out.iter().any(|c| c.status == Status::Fail) {
        Verdict::NotReady
    } else if !sufficient || out[0].status == Status::InsufficientData {
        Verdict::InsufficientData
    } else if out
        .iter()
        .any(|c| matches!(c.status, Status::AtRisk | Status::InsufficientData))
    {
        Verdict::AtRisk
    } else {
        Verdict::Ready
    };
    (out, verdict)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::accounting::{Completeness, Method, Projection};
    use crate::analysis::levels::{WellTrend, well_trend};

    /// A six-year well (2020–2025) whose level moves `slope` m/a, judged as of the end of 2025.
    pub(crate) fn well(slope: f64) -> WellTrend {
        let s: Vec<f64> = (0..72)
            .map(|i| 800.0 + slope * (i as f64 / 12.0) + ((i % 12) as f64).sin() * 0.3)
            .collect();
        well_trend(
            &s,
            "2020-01-01".parse().unwrap(),
            "2025-12-31".parse().unwrap(),
            &crate::analysis::levels::tests::params(),
        )
    }

    /// The shipped defaults of `[assessment]`.
    pub(crate) fn thresholds() -> Thresholds {
        Thresholds {
            alpha: 0.05,
            min_level_years: 3.0,
            min_monthly_completeness: 0.7,
            recent_months: 12,
            min_wells_sufficient_share: 0.5,
            max_declining_share: 0.2,
            k_limit: 1.0,
            k_at_risk: 0.95,
            min_data_completeness: 0.9,
            min_months_this_year: 6,
            min_metering_coverage: 0.95,
            metering_at_risk_band: 0.1,
            max_estimated_share: 0.05,
            max_long_gap_share: 0.02,
            level_aquifer_min_share: 0.1,
        }
    }

    fn year(year: i16, m3: f64) -> YearFigures {
        YearFigures {
            year,
            withdrawal_m3: m3,
            quota_m3: Some(1e7),
            has_data: true,
            estimated_m3: 0.0,
            imputed_m3: 0.0,
            unmetered_m3: 0.0,
            completeness: Completeness {
                reported_intake_days: 100,
                expected_intake_days: 100,
                missing_months: 0,
                ..Default::default()
            },
            long_gap_m3: 0.0,
            flagged_m3: 0.0,
        }
    }

    fn facts(wells: &[WellTrend]) -> CountyFacts {
        let t = thresholds();
        let group = AquiferWells {
            aquifer: "shallow",
            label: "浅层孔隙水",
            wells: wells.iter().map(|w| ("W", w)).collect(),
            targets: Vec::new(),
            pumped_share: None,
        };
        CountyFacts {
            quantity: QuantityFacts {
                last_year: year(2025, 8e6),
                this_year: year(2026, 4e6),
                projection: Projection {
                    projected_m3: 8.5e6,
                    method: Method::Seasonal,
                    ratio: Some(1.0),
                    ratio_unclamped: Some(1.0),
                    low_m3: 8e6,
                    high_m3: 9e6,
                },
                months_with_data_this_year: 6,
                months_with_data_12m: 12,
            },
            levels: if wells.is_empty() {
                Vec::new()
            } else {
                vec![aquifer_level(&group, 2026, &t)]
            },
            wells: wells.len(),
            wells_sufficient: wells.iter().filter(|w| w.sufficient).count(),
            obligated: 20,
            reporting: 20,
            permits: PermitFacts::default(),
        }
    }

    #[test]
    fn ready_when_everything_passes() {
        let wells = [well(0.3), well(0.2), well(0.0)];
        let (c, v) = assess(&facts(&wells), &thresholds());
        assert_eq!(v, Verdict::Ready, "{c:?}");
        assert!(c.iter().all(|c| c.status == Status::Pass));
    }

    #[test]
    fn failing_criteria_make_not_ready_and_are_named() {
        let wells = [well(-0.5), well(-0.4), well(0.1)];
        let mut f = facts(&wells);
        f.quantity.projection.projected_m3 = 1.1e7;
        let (c, v) = assess(&f, &thresholds());
        assert_eq!(v, Verdict::NotReady);
        let failing: Vec<CriterionName> = c
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name)
            .collect();
        assert_eq!(failing, [CriterionName::Quantity, CriterionName::Level]);
    }

    #[test]
    fn never_ready_without_data() {
        let (c, v) = assess(&facts(&[]), &thresholds());
        assert_eq!(v, Verdict::InsufficientData);
        assert_eq!(c[1].status, Status::InsufficientData);
        let wells = [well(0.3)];
        let mut f = facts(&wells);
        f.quantity.last_year.has_data = false;
        f.quantity.this_year.has_data = false;
        assert_eq!(assess(&f, &thresholds()).1, Verdict::InsufficientData);
    }

    #[test]
    fn at_risk_between_thresholds() {
        let wells = [well(0.3), well(0.3)];
        let mut f = facts(&wells);
        f.quantity.projection.projected_m3 = 9.7e6;
        f.reporting = 18; // 90 %
        let (c, v) = assess(&f, &thresholds());
        assert_eq!(v, Verdict::AtRisk);
        assert_eq!(c[0].status, Status::AtRisk);
        assert_eq!(c[2].status, Status::AtRisk);
    }

    #[test]
    fn unpermitted_groundwater_fails_permits() {
        let p = PermitFacts {
            unpermitted: 2,
            ..Default::default()
        };
        let c = permits(&p);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("无证取水 2 处"));
        let p = PermitFacts {
            over_last_year: 1,
            ..Default::default()
        };
        assert_eq!(permits(&p).status, Status::AtRisk);
    }

    #[test]
    fn k_prints_with_the_digits_of_its_band() {
        let b = thresholds().k_bands();
        assert_eq!(b.format(Some(0.949)), "0.95");
        assert_eq!(b.format(Some(0.951)), "0.951");
        assert_eq!(b.format(Some(0.9501)), "0.9501");
        assert_eq!(b.format(Some(1.0)), "1.00");
        assert_eq!(b.format(Some(1.004)), "1.004");
        assert_eq!(b.format(Some(1.46)), "1.46");
        assert_eq!(b.format(None), "—");
        assert_eq!(b.status(0.95), Status::Pass);
        assert_eq!(b.status(1.0), Status::AtRisk);
    }

    /// A failing criterion makes the county not ready even when another has too little data
    /// (the data-sufficiency criterion here); quantity without enough data and nothing failing
    /// is insufficient data, not at risk.
    #[test]
    fn a_failure_decides_before_missing_data_and_missing_quantity_data_is_not_a_risk() {
        let t = thresholds();
        let wells = [well(-0.5), well(-0.4), well(0.1)];
        let mut f = facts(&wells);
        f.wells_sufficient = 0;
        let (c, v) = assess(&f, &t);
        assert_eq!(c[4].status, Status::InsufficientData);
        assert_eq!(c[1].status, Status::Fail);
        assert_eq!(v, Verdict::NotReady);
        // Levels fine, quantity without a complete year or twelve months of data.
        let wells = [well(0.3), well(0.2)];
        let mut f = facts(&wells);
        f.quantity.last_year.completeness.missing_months = 2;
        f.quantity.months_with_data_12m = 8;
        let (c, v) = assess(&f, &t);
        assert_eq!(c[0].status, Status::InsufficientData, "{}", c[0].detail);
        assert_eq!(v, Verdict::InsufficientData);
    }
}
