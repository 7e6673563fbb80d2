//! The level criterion (水位), judged per aquifer type present in the county (the Ministry lists
//! overload per type): trends of the wells with enough recent data, declines on short records,
//! and the level targets (水位控制指标) where the registry sets them.

use serde::Serialize;

use super::{Criterion, CriterionName, Status, Thresholds};
use crate::analysis::levels::{Direction, WellTrend};
use crate::domain::TargetKind;

/// A well's level target and its latest annual mean, in the target's own terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetCheck {
    pub well_id: String,
    pub kind: TargetKind,
    pub target_m: f64,
    pub target_year: i16,
    /// The latest complete year's mean level (or depth), when there is one.
    pub latest_m: Option<f64>,
    pub latest_year: Option<i16>,
}

impl TargetCheck {
    /// How far the latest annual mean misses the target, in m (positive = missed; ≤ 0 = met).
    pub fn miss_m(&self) -> Option<f64> {
        let latest = self.latest_m?;
        Some(match self.kind {
            TargetKind::Level => self.target_m - latest,
            TargetKind::Depth => latest - self.target_m,
        })
    }
}

/// The wells of one aquifer type in a county.
#[derive(Clone, Debug)]
pub struct AquiferWells<'a> {
    /// Registry value (`shallow`, …) and Chinese label.
    pub aquifer: &'static str,
    pub label: &'static str,
    /// Each well's id and trend.
    pub wells: Vec<(&'a str, &'a WellTrend)>,
    pub targets: Vec<TargetCheck>,
    /// The aquifer's share of the county's groundwater withdrawal (last year, else this year
    /// to date), when the county pumps any.
    pub pumped_share: Option<f64>,
}

/// The level judgement of one aquifer type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AquiferLevel {
    pub aquifer: &'static str,
    pub aquifer_label: &'static str,
    pub status: Status,
    pub wells: usize,
    /// Wells with enough recent data to count.
    pub judged: usize,
    pub declining: usize,
    /// Wells with a significant decline on a record shorter than required.
    pub short_record_declines: usize,
    /// Wells whose recent window could be tested, and of those the ones falling significantly.
    pub recent_judged: usize,
    pub recent_declining: usize,
    /// The aquifer's share of the county's groundwater withdrawal.
    pub pumped_share: Option<f64>,
    /// The aquifer's decisive rate: the mean of the judged wells' v (m/a, complete years), the
    /// one the verdict uses. Per-well rates are descriptive.
    pub mean_annual_change_m: Option<f64>,
    pub targets: Vec<TargetCheck>,
    pub detail: String,
}

/// Ids of the wells that pass `keep`, joined for a sentence.
fn named(a: &AquiferWells<'_>, keep: impl Fn(&WellTrend) -> bool) -> Vec<String> {
    a.wells
        .iter()
        .filter(|(_, w)| keep(w))
        .map(|(id, _)| (*id).to_string())
        .collect()
}

/// Judges one aquifer type.
pub fn aquifer_level(a: &AquiferWells<'_>, as_of_year: i16, t: &Thresholds) -> AquiferLevel {
    let judged: Vec<&WellTrend> = a
        .wells
        .iter()
        .map(|w| w.1)
        .filter(|w| w.sufficient)
        .collect();
    let declining = judged
        .iter()
        .filter(|w| w.direction == Direction::Declining)
        .count();
    let short = a.wells.iter().filter(|w| w.1.short_record_decline).count();
    let rates: Vec<f64> = judged
        .iter()
        .filter_map(|w| w.mean_annual_change_m)
        .collect();
    let mean_rate = (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64);
    let mut parts = Vec::new();
    let share_text = a
        .pumped_share
        .map(|s| format!("（占本县地下水取水量 {:.0}%）", s * 100.0))
        .unwrap_or_default();
    let mut status = if a.wells.is_empty() {
        parts.push(format!(
            "本县开采该含水层{share_text}，但没有登记的监测井：无法判断其水位"
        ));
        Status::InsufficientData
    } else if judged.is_empty() {
        parts.push(format!(
            "{} 眼井中无一具备足够的近期数据（需 ≥ {:.0} 年、自首次观测起月完整率 ≥ {:.0}%、至少两个完整年份、近 {} 个月内有数据）{}",
            a.wells.len(),
            t.min_level_years,
            t.min_monthly_completeness * 100.0,
            t.recent_months,
            if a.pumped_share.is_some_and(|s| s > t.level_aquifer_min_share) {
                format!("；该含水层{share_text}需至少一眼数据充分的监测井")
            } else {
                String::new()
            }
        ));
        Status::InsufficientData
    } else {
        let share = declining as f64 / judged.len() as f64;
        parts.push(format!(
            "{} 眼有效井中 {} 眼水位显著下降（{:.0}%，允许 ≤ {:.0}%）；决定性年变幅 v = {}",
            judged.len(),
            declining,
            share * 100.0,
            t.max_declining_share * 100.0,
            mean_rate.map_or("—".into(), |r| format!("{r:+.2} m/a"))
        ));
        if share > t.max_declining_share {
            Status::Fail
        } else if declining > 0 || mean_rate.is_some_and(|r| r < 0.0) {
            Status::AtRisk
        } else {
            Status::Pass
        }
    };
    // The recent window decides too, whatever the full window says.
    let recent: Vec<&WellTrend> = a
        .wells
        .iter()
        .map(|w| w.1)
        .filter(|w| w.recent_window.as_ref().is_some_and(|r| r.assessable))
        .collect();
    let recent_declining = named(a, |w| w.recent_window.as_ref().is_some_and(|r| r.declining));
    if !recent.is_empty() {
        let share = recent_declining.len() as f64 / recent.len() as f64;
        let from = recent[0]
            .recent_window
            .as_ref()
            .map_or(String::new(), |r| r.from.clone());
        if recent_declining.is_empty() {
            parts.push(format!(
                "近期窗口（{from} 起）{} 眼井无显著下降",
                recent.len()
            ));
        } else {
            parts.push(format!(
                "近期窗口（{from} 起）{} 眼井中 {} 眼水位显著下降（{:.0}%）：{}",
                recent.len(),
                recent_declining.len(),
                share * 100.0,
                recent_declining.join("、")
            ));
            let s = if share > t.max_declining_share {
                Status::Fail
            } else {
                Status::AtRisk
            };
            status = status.max(s);
        }
    }
    if short > 0 {
        status = status.max(Status::AtRisk);
        parts.push(format!(
            "记录不足 {:.0} 年但水位已显著下降：{}",
            t.min_level_years,
            named(a, |w| w.short_record_decline).join("、")
        ));
    }
    let sparse = named(a, |w| w.sparse_decline);
    if !sparse.is_empty() {
        status = status.max(Status::AtRisk);
        parts.push(format!(
            "记录稀疏（季度观测或缺测）但水位显著下降：{}",
            sparse.join("、")
        ));
    }
    let ended = named(a, |w| w.ended_decline && !w.dry);
    if !ended.is_empty() {
        status = status.max(Status::AtRisk);
        parts.push(format!("下降后停测：{}", ended.join("、")));
    }
    let dry = named(a, |w| w.dry);
    if !dry.is_empty() {
        status = status.max(Status::AtRisk);
        parts.push(format!(
            "已干涸（最近读数停在记录最低水位）：{}",
            dry.join("、")
        ));
    }
    for (id, w) in &a.wells {
        for st in &w.steps {
            parts.push(format!(
                "{id} {} 水位突变 {:+.2} m，请核对基准或测点（前段 {}，后段 {}）",
                st.month,
                st.jump_m,
                st.slope_before_m_per_year
                    .map_or("—".into(), |r| format!("{r:+.2} m/a")),
                st.slope_after_m_per_year
                    .map_or("—".into(), |r| format!("{r:+.2} m/a"))
            ));
        }
        if !w.outliers.is_empty() {
            parts.push(format!(
                "{id} {} 个月的读数为异常值，不计入均值、趋势和指标：{}",
                w.outliers.len(),
                w.outliers
                    .iter()
                    .map(|o| format!(
                        "{}（{:.2} m，应约 {:.2} m）",
                        o.month, o.level_m, o.expected_m
                    ))
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
    }
    for c in &a.targets {
        let what = c.kind.label();
        // A target is judged on its own year's mean (or a later complete year's). Before that
        // year is complete, the latest mean says whether the well is on its way; once it has
        // passed without data for it, an older mean cannot verify it.
        let judged = c.latest_year.is_some_and(|y| y >= c.target_year);
        let passed = as_of_year > c.target_year;
        match (c.miss_m(), c.latest_year) {
            (Some(_), Some(y)) if passed && !judged => {
                status = status.max(Status::AtRisk);
                parts.push(format!(
                    "{} {} 年控制指标 {:.2} m 无法核对：该年及其后没有完整年份数据（最近为 {}年）",
                    c.well_id, c.target_year, c.target_m, y
                ));
            }
            (Some(miss), Some(y)) if miss > 0.0 => {
                let s = if judged { Status::Fail } else { Status::AtRisk };
                status = status.max(s);
                parts.push(format!(
                    "{} {}年平均{} {:.2} m，未达 {} 年控制指标 {:.2} m（差 {:.2} m）",
                    c.well_id,
                    y,
                    what,
                    c.latest_m.unwrap_or(f64::NAN),
                    c.target_year,
                    c.target_m,
                    miss
                ));
            }
            (Some(_), Some(y)) => parts.push(format!(
                "{} {}年平均{}已达 {} 年控制指标 {:.2} m",
                c.well_id, y, what, c.target_year, c.target_m
            )),
            _ => {
                status = status.max(Status::AtRisk);
                parts.push(format!(
                    "{} 无完整年份数据，无法核对{}控制指标 {:.2} m",
                    c.well_id, what, c.target_m
                ));
            }
        }
    }
    AquiferLevel {
        aquifer: a.aquifer,
        aquifer_label: a.label,
        status,
        wells: a.wells.len(),
        judged: judged.len(),
        declining,
        short_record_declines: short,
        recent_judged: recent.len(),
        recent_declining: recent_declining.len(),
        pumped_share: a.pumped_share,
        mean_annual_change_m: mean_rate,
        targets: a.targets.clone(),
        detail: format!("{}：{}", a.label, parts.join("；")),
    }
}

/// The level criterion: every aquifer type present, the worst decides.
pub fn level(by_aquifer: &[AquiferLevel], t: &Thresholds) -> Criterion {
    let status = by_aquifer
        .iter()
        .map(|a| a.status)
        .max()
        .unwrap_or(Status::InsufficientData);
    let detail = if by_aquifer.is_empty() {
        "无登记的监测井".to_string()
    } else {
        format!(
            "{}（决定性检验：考虑序列相关的季节性 Mann–Kendall 检验（Hirsch–Slack），α = {}；近期窗口用 Hamed–Rao 修正检验；v 按完整年份计算）",
            by_aquifer
                .iter()
                .map(|a| a.detail.as_str())
                .collect::<Vec<_>>()
                .join("。"),
            t.alpha
        )
    };
    Criterion {
        name: CriterionName::Level,
        status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::verdict::tests::{thresholds, well};

    fn group<'a>(aquifer: &'static str, wells: Vec<&'a WellTrend>) -> AquiferWells<'a> {
        AquiferWells {
            aquifer,
            label: aquifer,
            wells: wells.into_iter().map(|w| ("W", w)).collect(),
            targets: Vec::new(),
            pumped_share: None,
        }
    }

    #[test]
    fn each_aquifer_is_judged_and_the_worst_decides() {
        let t = thresholds();
        let (up, down) = (well(0.3), well(-0.5));
        let shallow = aquifer_level(&group("shallow", vec![&up, &up]), 2026, &t);
        let karst = aquifer_level(&group("karst", vec![&down, &down, &up]), 2026, &t);
        assert_eq!(shallow.status, Status::Pass);
        assert_eq!(karst.status, Status::Fail, "{}", karst.detail);
        assert_eq!(karst.declining, 2);
        let c = level(&[shallow, karst], &t);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("shallow：") && c.detail.contains("karst："));
    }

    #[test]
    fn a_short_record_decline_makes_it_at_least_at_risk() {
        let t = thresholds();
        let up = well(0.3);
        let mut short = well(-2.0);
        short.sufficient = false;
        short.short_record_decline = true;
        short.direction = Direction::InsufficientData;
        // Only the short-record rule here (the recent window has its own test).
        short.recent_window = None;
        let a = aquifer_level(&group("shallow", vec![&up, &up, &short]), 2026, &t);
        assert_eq!(a.status, Status::AtRisk, "{}", a.detail);
        assert_eq!(a.short_record_declines, 1);
    }

    #[test]
    fn level_targets_say_by_how_much_they_miss() {
        let t = thresholds();
        let up = well(0.3);
        let mut g = group("shallow", vec![&up]);
        g.targets.push(TargetCheck {
            well_id: "QX-W01".into(),
            kind: TargetKind::Level,
            target_m: 760.0,
            target_year: 2027,
            latest_m: Some(759.25),
            latest_year: Some(2025),
        });
        // Before the target year's mean exists a miss is a risk (the well is not yet on its way);
        // the 2027 mean missing it is a failure.
        let a = aquifer_level(&g, 2026, &t);
        assert_eq!(a.status, Status::AtRisk);
        assert!(a.detail.contains("差 0.75 m"), "{}", a.detail);
        assert_eq!(aquifer_level(&g, 2027, &t).status, Status::AtRisk);
        g.targets[0].latest_year = Some(2027);
        assert_eq!(aquifer_level(&g, 2028, &t).status, Status::Fail);
        // A depth target is met when the depth is at most the target.
        g.targets[0] = TargetCheck {
            kind: TargetKind::Depth,
            target_m: 45.0,
            latest_m: Some(44.5),
            ..g.targets[0].clone()
        };
        assert_eq!(g.targets[0].miss_m(), Some(-0.5));
        assert_eq!(aquifer_level(&g, 2028, &t).status, Status::Pass);
    }

    /// A target for 2025 is judged on 2025's mean, never on 2022's: with the well's data ending
    /// in 2022 (its mean meeting the target), the target cannot be verified in 2026.
    #[test]
    fn a_passed_target_year_without_its_data_cannot_be_verified() {
        let t = thresholds();
        let up = well(0.3);
        let mut g = group("shallow", vec![&up]);
        g.targets.push(TargetCheck {
            well_id: "QX-W01".into(),
            kind: TargetKind::Level,
            target_m: 760.0,
            target_year: 2025,
            latest_m: Some(761.0),
            latest_year: Some(2022),
        });
        let a = aquifer_level(&g, 2026, &t);
        assert_eq!(a.status, Status::AtRisk, "{}", a.detail);
        assert!(
            a.detail.contains("2025 年控制指标 760.00 m 无法核对"),
            "{}",
            a.detail
        );
        // With 2025's mean meeting it, it passes.
        g.targets[0].latest_year = Some(2025);
        assert_eq!(aquifer_level(&g, 2026, &t).status, Status::Pass);
    }

    /// A missed target or a failing aquifer is never hidden by an aquifer (or the same
    /// aquifer) with too few wells to judge.
    #[test]
    fn a_failure_is_not_hidden_by_missing_data() {
        let t = thresholds();
        let (up, down) = (well(0.3), well(-0.5));
        let mut short = well(0.3);
        short.sufficient = false;
        let thin = aquifer_level(&group("karst", vec![&short]), 2026, &t);
        assert_eq!(thin.status, Status::InsufficientData);
        let failing = aquifer_level(&group("shallow", vec![&down, &down, &up]), 2026, &t);
        assert_eq!(failing.status, Status::Fail);
        assert_eq!(level(&[thin.clone(), failing], &t).status, Status::Fail);
        // A target missed after its year, in an aquifer whose only well is too short to judge.
        let mut g = group("confined", vec![&short]);
        g.targets.push(TargetCheck {
            well_id: "W-9".into(),
            kind: TargetKind::Level,
            target_m: 800.0,
            target_year: 2025,
            latest_m: Some(798.5),
            latest_year: Some(2025),
        });
        let missed = aquifer_level(&g, 2026, &t);
        assert_eq!(missed.status, Status::Fail, "{}", missed.detail);
        assert_eq!(level(&[thin, missed], &t).status, Status::Fail);
    }

    fn named_group<'a>(wells: Vec<(&'a str, &'a WellTrend)>) -> AquiferWells<'a> {
        AquiferWells {
            aquifer: "shallow",
            label: "浅层孔隙水",
            wells,
            targets: Vec::new(),
            pumped_share: None,
        }
    }

    /// A well rising over the full window whose recent window falls significantly.
    fn recently_falling() -> WellTrend {
        let mut w = well(0.3);
        let r = w.recent_window.as_mut().unwrap();
        r.declining = true;
        r.rising = false;
        w
    }

    /// A significant recent decline makes the aquifer at least at risk, and fails it when the
    /// share of recently declining wells is over the limit — whatever the full window says.
    #[test]
    fn the_recent_window_decides_too() {
        let t = thresholds();
        let (up, down) = (well(0.3), recently_falling());
        assert_eq!(down.direction, Direction::Rising, "the full window rises");
        let one_in_five = named_group(vec![
            ("A", &up),
            ("B", &up),
            ("C", &up),
            ("D", &up),
            ("W-9", &down),
        ]);
        let a = aquifer_level(&one_in_five, 2026, &t);
        assert_eq!(a.status, Status::AtRisk, "{}", a.detail);
        assert_eq!((a.recent_judged, a.recent_declining), (5, 1));
        assert!(
            a.detail
                .contains("近期窗口（2023-01 起）5 眼井中 1 眼水位显著下降（20%）：W-9"),
            "{}",
            a.detail
        );
        let one_in_two = named_group(vec![("A", &up), ("W-9", &down)]);
        assert_eq!(aquifer_level(&one_in_two, 2026, &t).status, Status::Fail);
    }

    /// Sparse, ended and dry records that fell make the aquifer at least at risk, each well
    /// named; a dry well is called dry, not silent.
    #[test]
    fn sparse_ended_and_dry_wells_are_named() {
        let t = thresholds();
        let up = well(0.3);
        let mut sparse = well(-1.5);
        sparse.sufficient = false;
        sparse.sparse_decline = true;
        sparse.recent_window = None;
        let mut ended = sparse.clone();
        ended.sparse_decline = false;
        ended.ended_decline = true;
        let mut dry = ended.clone();
        dry.dry = true;
        for (w, says) in [
            (&sparse, "记录稀疏（季度观测或缺测）但水位显著下降：W-S"),
            (&ended, "下降后停测：W-S"),
            (&dry, "已干涸（最近读数停在记录最低水位）：W-S"),
        ] {
            let g = named_group(vec![("A", &up), ("B", &up), ("W-S", w)]);
            let a = aquifer_level(&g, 2026, &t);
            assert_eq!(a.status, Status::AtRisk, "{}", a.detail);
            assert!(a.detail.contains(says), "{}", a.detail);
        }
        let g = named_group(vec![("A", &up), ("W-S", &dry)]);
        assert!(!aquifer_level(&g, 2026, &t).detail.contains("停测"));
    }

    /// A county pumping karst water is not judged on its shallow wells alone: an aquifer over
    /// the share with no sufficient well is insufficient data, named with its share.
    #[test]
    fn every_pumped_aquifer_needs_a_sufficient_well() {
        let t = thresholds();
        let up = well(0.3);
        let shallow = aquifer_level(&named_group(vec![("A", &up)]), 2026, &t);
        assert_eq!(shallow.status, Status::Pass);
        let karst = aquifer_level(
            &AquiferWells {
                aquifer: "karst",
                label: "岩溶水",
                wells: Vec::new(),
                targets: Vec::new(),
                pumped_share: Some(0.85),
            },
            2026,
            &t,
        );
        assert_eq!(karst.status, Status::InsufficientData);
        assert!(
            karst
                .detail
                .contains("本县开采该含水层（占本县地下水取水量 85%），但没有登记的监测井"),
            "{}",
            karst.detail
        );
        let c = level(&[shallow, karst], &t);
        assert_eq!(c.status, Status::InsufficientData, "{}", c.detail);
    }
}
