//! The way out and the springs as rows: what the Word document, the web pages and the terminal
//! print of a county's plan and of the springs, worded once.

use crate::analysis::plan::{Evidence, MeasureKind, Plan};
use crate::analysis::springs::SpringStatus;
use crate::domain::volume::wan;
use crate::output::wording;

fn opt_wan(v: Option<f64>) -> String {
    v.map_or_else(|| wording::DASH.to_owned(), wan)
}

/// The plan's years: 年份, 管控指标, 允许取水, 本年预测, 需压减, 措施可减, 缺口 (万 m³).
pub fn year_rows(p: &Plan) -> Vec<[String; 7]> {
    p.years
        .iter()
        .map(|y| {
            [
                y.year.to_string(),
                opt_wan(y.quota_m3),
                opt_wan(y.allowed_m3),
                opt_wan(y.baseline_m3),
                opt_wan(y.cut_needed_m3),
                wan(y.delivered_m3),
                opt_wan(y.gap_m3),
            ]
        })
        .collect()
}

/// The measures: 起始日, 类别, 名称, 万 m³/年, 依据.
pub fn measure_rows(p: &Plan) -> Vec<[String; 5]> {
    p.measures
        .iter()
        .map(|m| {
            [
                m.from.to_string(),
                kind_label(m.kind).to_owned(),
                m.name.clone(),
                wan(m.annual_m3),
                basis(&m.evidence),
            ]
        })
        .collect()
}

/// A measure's kind in words.
pub fn kind_label(k: MeasureKind) -> &'static str {
    match k {
        MeasureKind::Closure => "关停",
        MeasureKind::Substitution => "水源置换",
        MeasureKind::Saving => "节水压采",
    }
}

/// How a measure's volume is known, in words: planned, sealed with the meter at zero, measured
/// over so many months, or done but not seen in the meters (why).
pub fn basis(e: &Evidence) -> String {
    match e {
        Evidence::Planned { declared: true } => "计划（申报量）".to_owned(),
        Evidence::Planned { declared: false } => "计划（按上年实测量）".to_owned(),
        Evidence::Sealed { .. } => "已封停，表计停报或为零（上年实测量）".to_owned(),
        Evidence::Measured {
            months,
            before_m3,
            after_m3,
        } => format!(
            "实测：{months} 个整月 {} 万 m³，开工前同期 {} 万 m³",
            wan(*after_m3),
            wan(*before_m3)
        ),
        Evidence::Unconfirmed { reason } => format!("未核实：{reason}"),
    }
}

/// The candidates: 取水口, 名称, 上年取水量, 累计压减 (万 m³).
pub fn candidate_rows(p: &Plan) -> Vec<[String; 4]> {
    p.candidates
        .iter()
        .map(|k| {
            [
                k.id.clone(),
                k.name.clone(),
                wan(k.last_year_m3),
                wan(k.cumulative_m3),
            ]
        })
        .collect()
}

/// What the plan comes to, in a sentence.
pub fn conclusion(p: &Plan) -> String {
    let exit = p.years.last();
    if exit.is_none_or(|y| y.cut_needed_m3.is_none()) {
        let why = if exit.is_some_and(|y| y.quota_m3.is_none()) {
            "未设定退出年份的管控指标"
        } else {
            "本年无取水量数据"
        };
        format!("无法计算需压减量：{why}")
    } else if p.exit_gap_m3 <= 0.0 {
        if p.years.iter().all(|y| y.cut_needed_m3 == Some(0.0)) {
            "无需压减：按本年预测各年 k 均达标".to_owned()
        } else {
            format!("已计划的措施足以在 {} 年达标", p.exit_year)
        }
    } else if p.gap_after_candidates_m3 <= 0.0 {
        format!(
            "{} 年缺口 {} 万 m³：关停上列候选自备井可以补足",
            p.exit_year,
            wan(p.exit_gap_m3)
        )
    } else {
        format!(
            "{} 年缺口 {} 万 m³：关停全部候选自备井后仍差 {} 万 m³，需另行安排水源置换或压采",
            p.exit_year,
            wan(p.exit_gap_m3),
            wan(p.gap_after_candidates_m3)
        )
    }
}

/// The springs: 泉名, 出流高程, 最近月份, 高于泉口, 近 12 月高于泉口, 趋势 (m/a), 预计达到泉口.
pub fn spring_rows(springs: &[SpringStatus]) -> Vec<[String; 7]> {
    springs
        .iter()
        .map(|s| {
            let name = if s.example {
                format!("{}（示例值）", s.name)
            } else {
                s.name.clone()
            };
            [
                name,
                wording::fixed(s.outlet_m, 2),
                s.latest_month
                    .clone()
                    .unwrap_or_else(|| wording::DASH.to_owned()),
                wording::or_dash(s.margin_m, |m| wording::signed_fixed(m, 2)),
                format!(
                    "{}/{}{}",
                    s.months_above_12,
                    s.months_with_data_12,
                    if s.stable_reflow {
                        "（稳定出流）"
                    } else {
                        ""
                    }
                ),
                wording::or_dash(s.trend.sen_slope_m_per_year, |v| {
                    wording::signed_fixed(v, 2)
                }),
                spring_outlook(s),
            ]
        })
        .collect()
}

/// When the spring flows again, in words: already, the year its trend reaches the outlet
/// (against its target), or why that cannot be said.
pub fn spring_outlook(s: &SpringStatus) -> String {
    match (s.margin_m, s.reaches_outlet_year) {
        (_, _) if !s.trend.recent => "近期无资料，无法判断".to_owned(),
        (Some(m), _) if m > 0.0 => "已出流".to_owned(),
        (_, Some(y)) => match s.reflow_by {
            Some(by) if y > by => format!("{y} 年（晚于目标 {by} 年）"),
            Some(by) => format!("{y} 年（目标 {by} 年）"),
            None => format!("{y} 年"),
        },
        _ => "水位未回升，无法预计".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::plan::{PlanInput, plan};

    fn plan_of(projected_m3: Option<f64>, quota: Option<f64>) -> Plan {
        let input = PlanInput {
            as_of: "2026-11-30".parse().unwrap(),
            exit_year: 2027,
            projected_m3,
            pass_k: 0.95,
            measures: Vec::new(),
            candidates: Vec::new(),
        };
        plan(&input, |_| quota)
    }

    #[test]
    fn a_plan_without_data_or_quota_says_it_cannot_be_computed() {
        assert_eq!(
            conclusion(&plan_of(None, Some(1000_0000.0))),
            "无法计算需压减量：本年无取水量数据"
        );
        assert_eq!(
            conclusion(&plan_of(Some(900_0000.0), None)),
            "无法计算需压减量：未设定退出年份的管控指标"
        );
        assert_eq!(
            conclusion(&plan_of(Some(900_0000.0), Some(1000_0000.0))),
            "无需压减：按本年预测各年 k 均达标"
        );
        assert_eq!(
            year_rows(&plan_of(None, Some(1000_0000.0)))[0][3],
            wording::DASH
        );
    }
}
