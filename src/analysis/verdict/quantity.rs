//! The quantity criterion (水量): the last complete year and this year's projection against the
//! county's quota, judged so that an incomplete year or an early projection never reads as a
//! pass.

use serde::Serialize;

use super::{Criterion, CriterionName, Status, Thresholds};
use crate::analysis::accounting::{Completeness, Method, Projection, k};
use crate::domain::Volume;

/// A year's withdrawal against its quota.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct YearFigures {
    pub year: i16,
    pub withdrawal_m3: f64,
    pub quota_m3: Option<f64>,
    /// Any data at all in the year (to the as-of date for the current year).
    pub has_data: bool,
    /// The part of `withdrawal_m3` that is estimated (meter gaps spread over their days,
    /// estimated daily volumes), not measured.
    pub estimated_m3: f64,
    /// The part of `withdrawal_m3` imputed for the silent days of obliged meters.
    pub imputed_m3: f64,
    /// The part of `withdrawal_m3` estimated for groundwater users below the metering duty that
    /// report nothing (their permits pro rata).
    pub unmetered_m3: f64,
    pub completeness: Completeness,
    /// The part of `estimated_m3` spread from long meter gaps (`long_gap` events): months of
    /// silence whose volume is known but not when it was drawn.
    pub long_gap_m3: f64,
    /// The part of `withdrawal_m3` flagged as implausible (a flow above the intake's maximum: a
    /// counter jump, a refurbished meter starting higher). Kept in the figure, never dropped,
    /// but a year holding any cannot pass until it is reviewed.
    pub flagged_m3: f64,
}

impl YearFigures {
    /// The measured part of the withdrawal.
    pub fn measured_m3(&self) -> f64 {
        (self.withdrawal_m3 - self.estimated_m3 - self.imputed_m3 - self.unmetered_m3).max(0.0)
    }

    /// The share of the figure that is estimated or imputed, not measured.
    pub fn estimated_share(&self) -> Option<f64> {
        (self.withdrawal_m3 > 0.0)
            .then(|| (self.estimated_m3 + self.imputed_m3) / self.withdrawal_m3)
    }

    /// k of the measured part alone, when it is already over `limit`: an underestimate over the
    /// limit is a certain excess, however incomplete the year.
    fn certain_excess(&self, limit: f64) -> Option<f64> {
        let k = k(self.measured_m3(), self.quota_m3)?;
        (self.has_data && k > limit).then_some(k)
    }

    /// k = withdrawal ÷ quota; `None` for a year without data (never 0) or without a quota.
    pub fn k(&self) -> Option<f64> {
        if self.has_data {
            k(self.withdrawal_m3, self.quota_m3)
        } else {
            None
        }
    }
}

/// What quantity is judged on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantityFacts {
    /// The last complete calendar year.
    pub last_year: YearFigures,
    /// This year from 1 January to the as-of date.
    pub this_year: YearFigures,
    pub projection: Projection,
    /// Calendar months of this year (to the as-of date) with data.
    pub months_with_data_this_year: u32,
    /// Of the 12 months ending with the as-of month, those with data.
    pub months_with_data_12m: u32,
}

impl QuantityFacts {
    /// k of this year's projection against this year's quota; `None` without data this year.
    pub fn k_projected(&self) -> Option<f64> {
        if self.this_year.has_data {
            k(self.projection.projected_m3, self.this_year.quota_m3)
        } else {
            None
        }
    }
}

/// A year's figure with its estimated and imputed parts named: "1,200万 m³（实测 1,050万，估算
/// 30万，缺报补估 120万）".
fn parts(y: &YearFigures) -> String {
    let total = Volume::from_m3(y.withdrawal_m3);
    if y.estimated_m3 <= 0.0 && y.imputed_m3 <= 0.0 && y.unmetered_m3 <= 0.0 {
        return total.to_string();
    }
    let share = |v: f64| {
        if y.withdrawal_m3 > 0.0 {
            format!("{:.0}%", v / y.withdrawal_m3 * 100.0)
        } else {
            "—".into()
        }
    };
    let mut parts = format!(
        "{total}（实测 {}，{}",
        Volume::from_m3(y.measured_m3()).wan_figure(),
        share(y.measured_m3())
    );
    for (label, v) in [
        ("缺口估算", y.estimated_m3),
        ("缺报补估", y.imputed_m3),
        ("未计量取水户估算", y.unmetered_m3),
    ] {
        if v > 0.0 {
            parts.push_str(&format!(
                "；{label} {}，{}",
                Volume::from_m3(v).wan_figure(),
                share(v)
            ));
        }
    }
    parts.push('）');
    parts
}

fn share(c: &Completeness) -> String {
    c.share().map_or("无应计量取水口".into(), |s| {
        format!("{:.1}%", s * 100.0)
    })
}

/// Judges quantity (DESIGN §2.1).
pub fn quantity(f: &QuantityFacts, t: &Thresholds) -> Criterion {
    let bands = t.k_bands();
    let ly = &f.last_year;
    let ty = &f.this_year;
    let quota = ty
        .quota_m3
        .map_or("无指标".to_string(), |q| Volume::from_m3(q).to_string());
    let criterion = |status, detail| Criterion {
        name: CriterionName::Quantity,
        status,
        detail,
    };
    if ty.quota_m3.is_none() && ly.quota_m3.is_none() {
        return criterion(Status::InsufficientData, "无管控指标".into());
    }
    if !ly.has_data && !ty.has_data {
        return criterion(
            Status::InsufficientData,
            format!("无取水量数据（指标 {quota}）"),
        );
    }
    // Measured volume alone over the limit fails however incomplete the data, since more data
    // can only add: this year's to date against the whole year's quota fails outright; last
    // year's is judged as a complete year over the limit (it fails unless this year recovers).
    let certain = |y: &YearFigures, what: &str| {
        y.certain_excess(t.k_limit).map(|k| {
            format!(
                "{}{what} {} 已超全年指标（k ≥ {}），数据不完整也不改变超指标的结论",
                y.year,
                Volume::from_m3(y.measured_m3()),
                bands.format(Some(k))
            )
        })
    };
    let ly_certain = certain(ly, "年实测取水量");
    let ty_certain = certain(ty, "年截至评估日实测取水量");
    let ly_complete = ly.has_data && ly.completeness.is_complete(t.min_data_completeness);
    if !ly_complete && f.months_with_data_12m < 12 && ly_certain.is_none() {
        if let Some(note) = ty_certain {
            return criterion(Status::Fail, note);
        }
        return criterion(
            Status::InsufficientData,
            format!(
                "{}年数据不完整（报送率 {}，缺 {} 个月），且近12个月仅 {} 个月有数据：不足以判定水量",
                ly.year,
                share(&ly.completeness),
                ly.completeness.missing_months,
                f.months_with_data_12m
            ),
        );
    }
    let k_ly = ly.k();
    let k_pr = f.k_projected();
    let mut notes: Vec<String> = Vec::new();
    let mut status = Status::Pass;
    if let Some(note) = &ly_certain
        && !ly_complete
    {
        notes.push(note.clone());
    }
    match (ly_complete || ly_certain.is_some(), k_ly) {
        (true, Some(k)) if k > t.k_limit => {
            let recovers = f.months_with_data_this_year >= t.min_months_this_year
                && k_pr.is_some_and(|k| k <= t.k_limit);
            if recovers {
                status = Status::AtRisk;
                notes.push(format!(
                    "{}年超指标；本年 {} 个月数据预计回到指标以内",
                    ly.year, f.months_with_data_this_year
                ));
            } else {
                status = Status::Fail;
                notes.push(format!(
                    "{}年超指标，本年数据（{} 个月，需 ≥ {} 个月）尚不能表明回到指标以内",
                    ly.year, f.months_with_data_this_year, t.min_months_this_year
                ));
            }
        }
        (true, Some(k)) => status = status.max(bands.status(k)),
        (true, None) => {}
        (false, _) => {
            status = status.max(Status::AtRisk);
            notes.push(format!(
                "{}年数据不完整（报送率 {}，缺 {} 个月），该年取水量可能被低估，不能据以判定达标",
                ly.year,
                share(&ly.completeness),
                ly.completeness.missing_months
            ));
        }
    }
    match k_pr {
        Some(k) => status = status.max(bands.status(k)),
        None => {
            status = status.max(Status::AtRisk);
            notes.push("本年尚无取水量数据".into());
        }
    }
    if ty.has_data && !ty.completeness.is_complete(t.min_data_completeness) {
        status = status.max(Status::AtRisk);
        notes.push(format!(
            "本年报送率 {}（要求 ≥ {:.0}%{}），取水量可能被低估",
            share(&ty.completeness),
            t.min_data_completeness * 100.0,
            if ty.completeness.missing_months > 0 {
                format!("，缺 {} 个月", ty.completeness.missing_months)
            } else {
                String::new()
            }
        ));
    }
    // A figure made largely of estimates cannot show that the county is within its quota.
    for y in [ly, ty] {
        if let Some(share) = y.estimated_share()
            && y.has_data
            && share > t.max_estimated_share
        {
            status = status.max(Status::AtRisk);
            notes.push(format!(
                "{}年取水量中估算 {}、缺报补估 {}，占 {:.1}%（允许 ≤ {:.0}%）：估算量过多，不能据以判定达标",
                y.year,
                Volume::from_m3(y.estimated_m3),
                Volume::from_m3(y.imputed_m3),
                share * 100.0,
                t.max_estimated_share * 100.0
            ));
        }
    }
    // A long meter gap's volume is in the year, spread over its days, but when in those months
    // it was drawn is a guess: while it is a material share, the year cannot show a pass.
    for y in [ly, ty] {
        if y.has_data
            && y.withdrawal_m3 > 0.0
            && y.long_gap_m3 / y.withdrawal_m3 > t.max_long_gap_share
        {
            status = status.max(Status::AtRisk);
            notes.push(format!(
                "{}年取水量中 {} 来自水表长缺口（按天摊分的估算量），占 {:.1}%（允许 ≤ {:.0}%）：核查缺口并按日补录后再判定",
                y.year,
                Volume::from_m3(y.long_gap_m3),
                y.long_gap_m3 / y.withdrawal_m3 * 100.0,
                t.max_long_gap_share * 100.0
            ));
        }
    }
    // Implausible jumps are in the figure (dropping them could flatter), but whether they are
    // water or a meter's fault is open: the year cannot show a pass until they are reviewed.
    for y in [ly, ty] {
        if y.has_data && y.flagged_m3 > 0.0 {
            status = status.max(Status::AtRisk);
            notes.push(format!(
                "{}年取水量中 {} 为超出最大流量的可疑跳变（已计入取水量，待核查；如系换表或表具翻新，应登记旧表末读数和新表起始读数后重新计算）",
                y.year,
                Volume::from_m3(y.flagged_m3)
            ));
        }
    }
    let p = &f.projection;
    // The range's high end over the limit: the projection cannot rule out an excess.
    if let Some(k_high) = k(p.high_m3, ty.quota_m3)
        && ty.has_data
        && p.method != Method::Complete
        && k_high > t.k_limit
    {
        status = status.max(Status::AtRisk);
        notes.push(format!(
            "预计区间上限 {} 超过指标（k = {}），不能排除超指标",
            Volume::from_m3(p.high_m3),
            bands.format(Some(k_high))
        ));
    }
    if let Some(note) = ty_certain {
        status = Status::Fail;
        notes.push(note);
    }
    let method = match p.method {
        Method::Seasonal => format!(
            "季节比例法，r = {}",
            p.ratio.map_or("—".into(), |r| format!("{r:.2}"))
        ),
        Method::RunRate => "近90天日均外推".into(),
        Method::Complete => "全年实际".into(),
    };
    let mut detail = format!(
        "k = 取水量 ÷ 管控指标。{}年取水量 {}（报送率 {}），k = {}；{}年预计 {}（{}，区间 {}–{}），k = {}（指标 {quota}；{}）",
        ly.year,
        if ly.has_data {
            parts(ly)
        } else {
            "无数据".into()
        },
        share(&ly.completeness),
        bands.format(k_ly),
        ty.year,
        Volume::from_m3(p.projected_m3),
        method,
        Volume::from_m3(p.low_m3).wan_figure(),
        Volume::from_m3(p.high_m3),
        bands.format(k_pr),
        bands.describe(),
    );
    for n in notes {
        detail.push('；');
        detail.push_str(&n);
    }
    criterion(status, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::accounting::Projection;
    use crate::analysis::verdict::tests::thresholds;

    fn complete(days: i64) -> Completeness {
        Completeness {
            reported_intake_days: days * 10,
            expected_intake_days: days * 10,
            missing_months: 0,
            ..Default::default()
        }
    }

    /// Last year 2025 at `ly` m³, this year projected to `proj` m³, quota 1000 m³ both years,
    /// every intake-day reported, as of the end of June.
    fn facts(ly: f64, ytd: f64, proj: f64) -> QuantityFacts {
        QuantityFacts {
            last_year: YearFigures {
                year: 2025,
                withdrawal_m3: ly,
                quota_m3: Some(1000.0),
                has_data: true,
                estimated_m3: 0.0,
                imputed_m3: 0.0,
                unmetered_m3: 0.0,
                completeness: complete(365),
                long_gap_m3: 0.0,
                flagged_m3: 0.0,
            },
            this_year: YearFigures {
                year: 2026,
                withdrawal_m3: ytd,
                quota_m3: Some(1000.0),
                has_data: true,
                estimated_m3: 0.0,
                imputed_m3: 0.0,
                unmetered_m3: 0.0,
                completeness: complete(181),
                long_gap_m3: 0.0,
                flagged_m3: 0.0,
            },
            projection: Projection {
                projected_m3: proj,
                method: Method::Seasonal,
                ratio: Some(1.0),
                ratio_unclamped: Some(1.0),
                low_m3: proj,
                high_m3: proj,
            },
            months_with_data_this_year: 6,
            months_with_data_12m: 12,
        }
    }

    #[test]
    fn bands_do_not_overlap_and_decide_on_unrounded_k() {
        let t = thresholds();
        assert_eq!(
            quantity(&facts(900.0, 450.0, 950.0), &t).status,
            Status::Pass
        );
        let c = quantity(&facts(900.0, 450.0, 951.0), &t);
        assert_eq!(c.status, Status::AtRisk);
        // 0.951 is printed with the digits that keep it inside its band.
        assert!(c.detail.contains("k = 0.951"), "{}", c.detail);
        assert_eq!(
            quantity(&facts(900.0, 450.0, 1000.0), &t).status,
            Status::AtRisk
        );
        assert_eq!(
            quantity(&facts(900.0, 450.0, 1000.4), &t).status,
            Status::Fail
        );
    }

    #[test]
    fn last_year_over_the_limit_fails_unless_six_months_project_under_it() {
        let t = thresholds();
        // 2025 at k = 1.46; this year's projection 0.90 with 6 months of data: at risk.
        let f = facts(1460.0, 450.0, 900.0);
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::AtRisk, "{}", c.detail);
        assert!(c.detail.contains("k = 1.46"), "{}", c.detail);
        // Only 2 months of data this year (March): last year decides.
        let f = QuantityFacts {
            months_with_data_this_year: 2,
            ..facts(1460.0, 150.0, 900.0)
        };
        assert_eq!(quantity(&f, &t).status, Status::Fail);
    }

    #[test]
    fn a_material_share_of_long_gap_volume_keeps_the_year_from_passing() {
        let t = thresholds();
        let mut f = facts(800.0, 400.0, 800.0);
        assert_eq!(quantity(&f, &t).status, Status::Pass);
        // 16 of last year's 800 m³ spread from a long gap: 2.0 %, the limit, still passes.
        f.last_year.estimated_m3 = 16.0;
        f.last_year.long_gap_m3 = 16.0;
        assert_eq!(quantity(&f, &t).status, Status::Pass);
        // 17 m³: 2.1 %, material.
        f.last_year.estimated_m3 = 17.0;
        f.last_year.long_gap_m3 = 17.0;
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::AtRisk);
        assert!(
            c.detail.contains("来自水表长缺口") && c.detail.contains("占 2.1%"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn an_incomplete_year_cannot_pass() {
        let t = thresholds();
        // This year only 80 % of obliged intake-days reported: a low figure is an underestimate.
        let mut f = facts(900.0, 400.0, 800.0);
        f.this_year.completeness = Completeness {
            reported_intake_days: 1448,
            expected_intake_days: 1810,
            missing_months: 0,
            ..Default::default()
        };
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::AtRisk);
        assert!(
            c.detail.contains("80.0%") && c.detail.contains("低估"),
            "{}",
            c.detail
        );
        // Last year with a missing month, but 12 months of data up to now: at most at risk.
        let mut f = facts(900.0, 400.0, 800.0);
        f.last_year.completeness.missing_months = 1;
        assert_eq!(quantity(&f, &t).status, Status::AtRisk);
        // … and with fewer than 12 months of data: insufficient, never pass.
        f.months_with_data_12m = 8;
        assert_eq!(quantity(&f, &t).status, Status::InsufficientData);
    }

    #[test]
    fn a_year_without_data_has_no_k() {
        let t = thresholds();
        let mut f = facts(0.0, 450.0, 900.0);
        f.last_year.has_data = false;
        f.last_year.completeness = Completeness {
            reported_intake_days: 0,
            expected_intake_days: 3650,
            missing_months: 12,
            ..Default::default()
        };
        assert_eq!(f.last_year.k(), None);
        // Twelve months of data since last December: judged on this year, printed "—" for
        // last year, and at most at risk.
        let c = quantity(&f, &t);
        assert!(c.detail.contains("k = —"), "{}", c.detail);
        assert!(!c.detail.contains("k = 0.00"), "{}", c.detail);
        assert_eq!(c.status, Status::AtRisk);
        // Six months of data only: insufficient.
        f.months_with_data_12m = 6;
        assert_eq!(quantity(&f, &t).status, Status::InsufficientData);
    }

    /// Last year incomplete (two months missing) and fewer than twelve months of data: no
    /// verdict can be drawn from it — unless its measured volume alone, 1,050 m³ of which 40 m³
    /// estimated, is already over the 1,000 m³ quota: 1,010 m³ measured, k ≥ 1.01, a certain
    /// excess.
    #[test]
    fn measured_volume_alone_over_the_limit_fails_however_incomplete() {
        let t = thresholds();
        let mut f = facts(1050.0, 400.0, 800.0);
        f.last_year.completeness.missing_months = 2;
        f.last_year.completeness.reported_intake_days /= 2;
        f.months_with_data_12m = 8;
        f.months_with_data_this_year = 3;
        f.last_year.estimated_m3 = 40.0;
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::Fail, "{}", c.detail);
        assert!(c.detail.contains("k ≥ 1.01"), "{}", c.detail);
        // Judged as a complete year over the limit: six months this year projecting under it
        // lift it to at risk, as they would a complete year.
        f.months_with_data_this_year = 6;
        assert_eq!(quantity(&f, &t).status, Status::AtRisk);
        f.months_with_data_this_year = 3;
        // 60 m³ estimated: 990 m³ measured is under the limit; the data cannot decide.
        f.last_year.estimated_m3 = 60.0;
        assert_eq!(quantity(&f, &t).status, Status::InsufficientData);
        // This year's measured volume to date (1,020 of 1,000 m³) over the whole year's quota.
        let mut f = facts(900.0, 1020.0, 1500.0);
        f.this_year.completeness.reported_intake_days /= 2;
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::Fail, "{}", c.detail);
        assert!(
            c.detail.contains("2026年截至评估日实测取水量"),
            "{}",
            c.detail
        );
    }

    /// Projected 900 m³ of a 1,000 m³ quota (k 0.90) passes; with the range's high end at
    /// 1,080 m³ (k 1.08) the projection cannot rule out an excess: at risk.
    #[test]
    fn a_range_reaching_over_the_limit_is_at_risk() {
        let t = thresholds();
        let mut f = facts(900.0, 450.0, 900.0);
        assert_eq!(quantity(&f, &t).status, Status::Pass);
        f.projection.high_m3 = 1080.0;
        let c = quantity(&f, &t);
        assert_eq!(c.status, Status::AtRisk, "{}", c.detail);
        assert!(c.detail.contains("k = 1.08"), "{}", c.detail);
        // At the limit itself (k 1.00) the high end is not over it.
        f.projection.high_m3 = 1000.0;
        assert_eq!(quantity(&f, &t).status, Status::Pass);
    }
}
