//! The exit-readiness verdict (DESIGN §2): five criteria — quantity, level, metering, permits,
//! data sufficiency — each pass / at risk / fail / insufficient data with the figures behind it,
//! and one verdict per county. Without sufficient data the verdict is never "ready".

use serde::Serialize;

use super::levels::{Direction, WellTrend};
use crate::domain::Volume;

/// Thresholds of the readiness model; the caller fills them from the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Significance level of the trend test.
    pub alpha: f64,
    /// Minimum years of level data for a well to count.
    pub min_level_years: f64,
    /// Minimum share of months with data in the window, for a well to count.
    pub min_monthly_completeness: f64,
    /// Minimum share of the county's wells that must have sufficient data.
    pub min_wells_sufficient_share: f64,
    /// Largest share of declining wells that still passes.
    pub max_declining_share: f64,
    /// k (withdrawal ÷ quota) above which quantity fails.
    pub k_limit: f64,
    /// k above this (but at most `k_limit`) is "at risk".
    pub k_at_risk: f64,
    /// Minimum metering coverage that passes.
    pub min_metering_coverage: f64,
}

/// State of one criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    AtRisk,
    Fail,
    InsufficientData,
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
            Verdict::NotReady => "尚不具备",
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

/// What the criteria are judged on.
#[derive(Clone, Debug)]
pub struct CountyFacts<'a> {
    /// k of the last complete year, when it has data and a quota.
    pub k_last_year: Option<f64>,
    pub last_year: i16,
    pub last_year_m3: f64,
    /// k of this year's projection.
    pub k_projected: Option<f64>,
    pub projected_m3: f64,
    pub quota_m3: Option<f64>,
    pub wells: &'a [WellTrend],
    pub obligated: usize,
    pub reporting: usize,
    pub over_permit: usize,
    pub projected_over_permit: usize,
    /// Any withdrawal data at all for this or last year.
    pub has_volume_data: bool,
}

/// Judges one county.
pub fn assess(f: &CountyFacts<'_>, t: &Thresholds) -> (Vec<Criterion>, Verdict) {
    let mut out = Vec::with_capacity(5);

    // Quantity.
    let quota = f
        .quota_m3
        .map_or("无指标".to_string(), |q| Volume::from_m3(q).to_string());
    let qty = match (f.k_last_year, f.k_projected) {
        (None, None) => Criterion {
            name: CriterionName::Quantity,
            status: Status::InsufficientData,
            detail: format!("无取水量数据或无管控指标（指标 {quota}）"),
        },
        (ly, pr) => {
            let worst = ly.unwrap_or(0.0).max(pr.unwrap_or(0.0));
            let status = if pr.is_some_and(|k| k > t.k_limit) {
                Status::Fail
            } else if ly.is_some_and(|k| k > t.k_limit) || worst > t.k_at_risk {
                Status::AtRisk
            } else {
                Status::Pass
            };
            let fmt_k = |k: Option<f64>| k.map_or("—".into(), |k| format!("{k:.2}"));
            Criterion {
                name: CriterionName::Quantity,
                status,
                detail: format!(
                    "{}年取水量 {}，k = {}；本年预计 {}，k = {}（指标 {quota}；k ≤ {:.2} 达标，> {:.2} 有风险）",
                    f.last_year,
                    Volume::from_m3(f.last_year_m3),
                    fmt_k(ly),
                    Volume::from_m3(f.projected_m3),
                    fmt_k(pr),
                    t.k_limit,
                    t.k_at_risk
                ),
            }
        }
    };
    out.push(qty);

    // Level.
    let judged: Vec<&WellTrend> = f.wells.iter().filter(|w| w.sufficient).collect();
    let declining = judged
        .iter()
        .filter(|w| w.direction == Direction::Declining)
        .count();
    let rates: Vec<f64> = judged
        .iter()
        .filter_map(|w| w.mean_annual_change_m)
        .collect();
    let mean_rate = (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64);
    let level = if judged.is_empty() {
        Criterion {
            name: CriterionName::Level,
            status: Status::InsufficientData,
            detail: format!(
                "{} 眼监测井中无一具备足够数据（需 ≥ {:.0} 年且月完整率 ≥ {:.0}%）",
                f.wells.len(),
                t.min_level_years,
                t.min_monthly_completeness * 100.0
            ),
        }
    } else {
        let share = declining as f64 / judged.len() as f64;
        let status = if share > t.max_declining_share {
            Status::Fail
        } else if declining > 0 || mean_rate.is_some_and(|r| r < 0.0) {
            Status::AtRisk
        } else {
            Status::Pass
        };
        Criterion {
            name: CriterionName::Level,
            status,
            detail: format!(
                "{} 眼有效监测井中 {} 眼水位显著下降（{:.0}%，允许 ≤ {:.0}%，季节性 Mann–Kendall α = {}）；平均年变幅 {}",
                judged.len(),
                declining,
                share * 100.0,
                t.max_declining_share * 100.0,
                t.alpha,
                mean_rate.map_or("—".into(), |r| format!("{r:+.2} m/a"))
            ),
        }
    };
    out.push(level);

    // Metering.
    let metering = if f.obligated == 0 {
        Criterion {
            name: CriterionName::Metering,
            status: Status::Pass,
            detail: "无负有在线计量义务的取水口".into(),
        }
    } else {
        let cov = f.reporting as f64 / f.obligated as f64;
        Criterion {
            name: CriterionName::Metering,
            status: if cov >= t.min_metering_coverage {
                Status::Pass
            } else if cov >= t.min_metering_coverage - 0.1 {
                Status::AtRisk
            } else {
                Status::Fail
            },
            detail: format!(
                "应在线计量 {} 处，正常上报 {} 处，覆盖率 {:.1}%（要求 ≥ {:.0}%）",
                f.obligated,
                f.reporting,
                cov * 100.0,
                t.min_metering_coverage * 100.0
            ),
        }
    };
    out.push(metering);

    // Permits.
    out.push(Criterion {
        name: CriterionName::Permits,
        status: if f.over_permit > 0 {
            Status::Fail
        } else if f.projected_over_permit > 0 {
            Status::AtRisk
        } else {
            Status::Pass
        },
        detail: format!(
            "本年已超许可 {} 处，预计年底超许可 {} 处",
            f.over_permit, f.projected_over_permit
        ),
    });

    // Data sufficiency.
    let share = if f.wells.is_empty() {
        0.0
    } else {
        judged.len() as f64 / f.wells.len() as f64
    };
    let sufficient =
        share >= t.min_wells_sufficient_share && !judged.is_empty() && f.has_volume_data;
    out.push(Criterion {
        name: CriterionName::DataSufficiency,
        status: if sufficient {
            Status::Pass
        } else {
            Status::InsufficientData
        },
        detail: format!(
            "{}/{} 眼监测井数据充分（要求 ≥ {:.0}%）；取水量数据{}",
            judged.len(),
            f.wells.len(),
            t.min_wells_sufficient_share * 100.0,
            if f.has_volume_data {
                "齐备"
            } else {
                "缺失"
            }
        ),
    });

    let verdict = if !sufficient {
        Verdict::InsufficientData
    } else if out.iter().any(|c| c.status == Status::Fail) {
        Verdict::NotReady
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
mod tests {
    use super::*;
    use crate::analysis::levels::{TrendParams, well_trend};

    fn well(slope: f64) -> WellTrend {
        let s: Vec<f64> = (0..72)
            .map(|i| 800.0 + slope * (i as f64 / 12.0) + ((i % 12) as f64).sin() * 0.3)
            .collect();
        well_trend(
            &s,
            "2020-01-01".parse().unwrap(),
            &TrendParams {
                alpha: 0.05,
                min_years: 3.0,
                min_completeness: 0.7,
            },
        )
    }

    /// The shipped defaults of `[assessment]`.
    fn thresholds() -> Thresholds {
        Thresholds {
            alpha: 0.05,
            min_level_years: 3.0,
            min_monthly_completeness: 0.7,
            min_wells_sufficient_share: 0.5,
            max_declining_share: 0.2,
            k_limit: 1.0,
            k_at_risk: 0.95,
            min_metering_coverage: 0.95,
        }
    }

    fn facts(wells: &[WellTrend]) -> CountyFacts<'_> {
        CountyFacts {
            k_last_year: Some(0.8),
            last_year: 2025,
            last_year_m3: 8e6,
            k_projected: Some(0.85),
            projected_m3: 8.5e6,
            quota_m3: Some(1e7),
            wells,
            obligated: 20,
            reporting: 20,
            over_permit: 0,
            projected_over_permit: 0,
            has_volume_data: true,
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
        f.k_projected = Some(1.1);
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
        f.has_volume_data = false;
        assert_eq!(assess(&f, &thresholds()).1, Verdict::InsufficientData);
    }

    #[test]
    fn at_risk_between_thresholds() {
        let wells = [well(0.3), well(0.3)];
        let mut f = facts(&wells);
        f.k_projected = Some(0.97);
        f.reporting = 18; // 90 %
        let (c, v) = assess(&f, &thresholds());
        assert_eq!(v, Verdict::AtRisk);
        assert_eq!(c[0].status, Status::AtRisk);
        assert_eq!(c[2].status, Status::AtRisk);
    }
}
