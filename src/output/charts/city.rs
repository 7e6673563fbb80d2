//! Chart 5, the city overview: the plan's groundwater budget split and the counties ranked by their
//! overdraft coefficient.
//!
//! Top: 太原供水集团 against its 7602万 m³, the counties together against their 7390万 m³, and the city
//! total against the 1.5亿 m³ cap, each bar with its own limit. The plan's parts add up to 14992万,
//! 8万 under the cap; the chart draws every figure as given and states the difference in the
//! subtitle instead of quietly reconciling it. Bottom: counties ranked by k = withdrawal ÷ quota,
//! with the k = 1 line; bars over 1 are red.

use std::cmp::Ordering;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::{Ticked, value_range};
use super::fonts;
use super::format::{fixed, limit_text, trim_decimal, wan};
use super::furniture::{
    Fill, LegendItem, Swatch, legend, limit_line, note_center, page, patterned_rect, watermark,
};
use super::layout::{boxed_text, dims, measure, pixel};
use super::spec::{BudgetBar, CityOverview, CountyK, Sanitize};
use super::style::{colour, size, stroke, style_mesh, text_at};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 2000);

/// The subtitle: what the values are, and the plan's split against the cap when they differ.
fn subtitle(m: &CityOverview) -> String {
    let mut s = if m.basis.is_empty() {
        String::new()
    } else {
        format!("取水量口径：{}。", m.basis)
    };
    let limits: Vec<f64> = m.budgets.iter().map(|b| b.limit_m3).collect();
    if !limits.is_empty() && limits.iter().all(|l| l.is_finite()) && m.total.limit_m3.is_finite() {
        let sum: f64 = limits.iter().sum();
        let diff = m.total.limit_m3 - sum;
        if diff.abs() >= 1.0 {
            let parts: Vec<String> = limits.iter().map(|l| format!("{}万", wan(*l))).collect();
            s.push_str(&format!(
                "注：分项指标 {} = {}万 m³，比全市上限 {} {} {}万 m³；图中各按原数绘制，未作调整。",
                parts.join(" + "),
                wan(sum),
                limit_text(m.total.limit_m3),
                if diff > 0.0 { "少" } else { "多" },
                wan(diff.abs())
            ));
        }
    }
    s
}

/// Counties ordered for the ranking: valid k descending (name breaks ties), then those without k.
fn ranked(counties: &[CountyK]) -> Vec<(&CountyK, Option<f64>)> {
    let mut rows: Vec<(&CountyK, Option<f64>)> = counties
        .iter()
        .map(|c| {
            let k = (c.quota_m3.is_finite() && c.quota_m3 > 0.0 && c.withdrawal_m3.is_finite())
                .then(|| c.withdrawal_m3.max(0.0) / c.quota_m3);
            (c, k)
        })
        .collect();
    rows.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.0.name.cmp(&b.0.name)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    rows
}

/// Draws chart 5 on `root`, any plotters backend of 2400 × 2000 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_city_overview<DB: DrawingBackend>(
    m: &CityOverview,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let sub = subtitle(m);
    let body = page(
        root,
        &m.meta,
        "地下水取水总量控制与各县（市、区）k 值",
        Some(&sub),
    )?;
    let (_, bh) = dims(&body);
    let (top, bottom) = body.split_vertically((f64::from(bh) * 0.40) as i32);
    budget_panel(&top, m)?;
    ranking_panel(&bottom.margin(30, 0, 0, 0), m)?;
    Ok(())
}

/// Width of the name column left of both panels, so their bars start at the same x.
const NAME_AREA: i32 = 380;

/// The named rows of a bar panel, drawn from the top: row i at y = n - 1 - i, on an axis 0..n.
struct Rows<'n> {
    names: &'n [String],
    n: f64,
    /// Where in its row (0 = bottom, 1 = top) a row's name is written.
    centre: f64,
}

/// The chart of a horizontal bar panel: the row names in the left column, `x_axis` (with the
/// decimals of its labels) along the bottom, `margin_top` px above for labels over the first row.
fn rows_chart<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    rows: Rows<'_>,
    (x_axis, x_dec): (Ticked, usize),
    margin_top: u32,
    x_desc: &str,
    y_desc: Option<&str>,
) -> Result<ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>, ChartError> {
    let Rows { names, n, centre } = rows;
    let centres: Vec<f64> = (0..names.len()).map(|i| i as f64 + centre).collect();
    let mut chart = ChartBuilder::on(plot)
        .margin_right(40)
        .margin_top(margin_top)
        .x_label_area_size(130)
        .y_label_area_size(NAME_AREA)
        .build_cartesian_2d(x_axis, Ticked::new(0f64..n, centres))?;
    let fx = |v: &f64| fixed(*v, x_dec);
    let fy = |v: &f64| {
        let i = (n - 1.0 - v.floor()).max(0.0) as usize;
        names.get(i).cloned().unwrap_or_default()
    };
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh)
        .disable_y_mesh()
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc(x_desc);
    if let Some(desc) = y_desc {
        mesh.y_desc(desc);
    }
    mesh.draw()?;
    Ok(chart)
}

fn budget_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &CityOverview,
) -> Result<(), ChartError> {
    let plot = legend(
        area,
        &[
            LegendItem::new(Swatch::Bar(colour::UNDER), "未超指标"),
            LegendItem::new(Swatch::Bar(colour::OVER), "超指标"),
            LegendItem::new(Swatch::Line(colour::LIMIT), "指标 / 上限"),
        ],
    )?;
    let bars: Vec<(&BudgetBar, &str)> = m
        .budgets
        .iter()
        .map(|b| (b, "指标"))
        .chain(std::iter::once((&m.total, "上限")))
        .collect();
    let n = bars.len() as f64;
    let values = bars
        .iter()
        .flat_map(|(b, _)| [b.withdrawal_m3 / 1e4, b.limit_m3 / 1e4]);
    let (_, data_max) = value_range(values, 0.0, true);
    let x_max = data_max * 1.12;
    let names: Vec<String> = bars.iter().map(|(b, _)| b.name.clone()).collect();
    // Names at the bars' centres (the upper part of each row holds the limit label).
    let chart = rows_chart(
        &plot,
        Rows {
            names: &names,
            n,
            centre: 0.35,
        },
        Ticked::nice(0f64..x_max, 8),
        0,
        "取水量（万 m³）",
        None,
    )?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let (pw, _) = dims(&pa);
    let px = |x: f64, y: f64| pixel(da, &(x, y));
    // The city total (bottom row) is set apart from its parts.
    if bars.len() > 1 {
        da.draw(&PathElement::new(
            vec![(0.0, 1.0), (x_max, 1.0)],
            colour::GRID.stroke_width(stroke::AXIS),
        ))?;
    }
    // Three passes so that limit lines lie over the bars and labels over both.
    let row_y = |i: usize| n - 1.0 - i as f64;
    for (i, (b, _)) in bars.iter().enumerate() {
        if b.withdrawal_m3.is_finite() {
            let y = row_y(i);
            let over = b.limit_m3.is_finite() && b.withdrawal_m3 > b.limit_m3;
            let c = if over { colour::OVER } else { colour::UNDER };
            da.draw(&Rectangle::new(
                [(0.0, y + 0.14), (b.withdrawal_m3.max(0.0) / 1e4, y + 0.56)],
                c.filled(),
            ))?;
        }
    }
    for (i, (b, _)) in bars.iter().enumerate() {
        if b.limit_m3.is_finite() {
            let (l, y) = (b.limit_m3 / 1e4, row_y(i));
            limit_line(da, vec![(l, y + 0.06), (l, y + 0.94)])?;
        }
    }
    let muted = text_at(size::LABEL, colour::MUTED, HPos::Left, VPos::Center);
    for (i, (b, word)) in bars.iter().enumerate() {
        let y = row_y(i);
        if b.limit_m3.is_finite() {
            let label = format!("{word} {}", limit_text(b.limit_m3));
            let (lx, ly) = px(b.limit_m3 / 1e4, y + 0.76);
            let right = text_at(size::LABEL, colour::LIMIT, HPos::Left, VPos::Center);
            if lx + 16 + measure(&pa, &label, &right).0 < pw {
                boxed_text(&pa, &label, (lx + 16, ly), &right)?;
            } else {
                let left = text_at(size::LABEL, colour::LIMIT, HPos::Right, VPos::Center);
                boxed_text(&pa, &label, (lx - 16, ly), &left)?;
            }
        } else {
            let (lx, ly) = px(0.0, y + 0.76);
            pa.draw(&Text::new(
                format!("无{word}"),
                (lx + 16, ly),
                muted.clone(),
            ))?;
        }
        let (x0, cy) = px(0.0, y + 0.35);
        if !b.withdrawal_m3.is_finite() {
            pa.draw(&Text::new("无数据", (x0 + 16, cy), muted.clone()))?;
            continue;
        }
        let share = if b.limit_m3.is_finite() && b.limit_m3 > 0.0 {
            format!(
                "（占{word} {}％）",
                trim_decimal(b.withdrawal_m3 / b.limit_m3 * 100.0, 1)
            )
        } else {
            String::new()
        };
        let label = format!("{} 万 m³{share}", wan(b.withdrawal_m3));
        let (x1, _) = px(b.withdrawal_m3.max(0.0) / 1e4, y + 0.35);
        let inside = text_at(size::LABEL, WHITE, HPos::Left, VPos::Center);
        if x1 - x0 > measure(&pa, &label, &inside).0 + 40 {
            pa.draw(&Text::new(label, (x0 + 20, cy), inside))?;
        } else {
            let outside = text_at(size::LABEL, colour::TEXT, HPos::Left, VPos::Center);
            boxed_text(&pa, &label, (x1 + 16, cy), &outside)?;
        }
    }
    Ok(())
}

/// The colour and fill of a county's bar: the verdict's bands (达标, 有风险, 超指标), told apart
/// in greyscale by the fill (outlined, striped, solid).
fn band(m: &CityOverview, k: f64) -> (RGBColor, Fill) {
    if k > m.k_limit {
        (colour::NOT_READY, Fill::Solid)
    } else if k > m.k_at_risk {
        (colour::AT_RISK, Fill::Striped)
    } else {
        (colour::READY, Fill::Outlined)
    }
}

fn ranking_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &CityOverview,
) -> Result<(), ChartError> {
    let (at_risk, limit) = (trim_decimal(m.k_at_risk, 2), trim_decimal(m.k_limit, 2));
    let [ready, risk, over] =
        [0.0, (m.k_at_risk + m.k_limit) / 2.0, m.k_limit + 1.0].map(|k| band(m, k));
    let plot = legend(
        area,
        &[
            LegendItem::new(ready.1.swatch(ready.0), format!("k ≤ {at_risk} 达标")),
            LegendItem::new(
                risk.1.swatch(risk.0),
                format!("{at_risk} < k ≤ {limit} 有风险"),
            ),
            LegendItem::new(over.1.swatch(over.0), format!("k > {limit} 超指标")),
            LegendItem::new(Swatch::Dashed(colour::LIMIT), format!("k = {limit}")),
        ],
    )?;
    let rows = ranked(&m.counties);
    let n = rows.len().max(1) as f64;
    let k_max = rows.iter().filter_map(|r| r.1).fold(1.0f64, f64::max);
    let x_max = (k_max * 1.18).max(1.25);
    let names: Vec<String> = rows.iter().map(|r| r.0.name.clone()).collect();
    // Row i (0 = highest k) is drawn at the top.
    let chart = rows_chart(
        &plot,
        Rows {
            names: &names,
            n,
            centre: 0.5,
        },
        Ticked::nice(0f64..x_max, 8),
        56,
        "k = 取水量 ÷ 管控指标",
        Some("县（市、区）"),
    )?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let px = |x: f64, y: f64| pixel(da, &(x, y));
    // Bars, then the k = 1 line over them, then the labels (boxed) over the line.
    for (i, (_, k)) in rows.iter().enumerate() {
        if let Some(k) = k {
            let y = n - 1.0 - i as f64;
            let (c, fill) = band(m, *k);
            patterned_rect(&pa, px(0.0, y + 0.2), px(*k, y + 0.8), c, fill)?;
        }
    }
    da.draw(&DashedPathElement::new(
        vec![(m.k_limit, 0.0), (m.k_limit, n)],
        22,
        12,
        colour::LIMIT.stroke_width(stroke::LIMIT - 1),
    ))?;
    for (i, (c, k)) in rows.iter().enumerate() {
        let y = n - 1.0 - i as f64;
        match k {
            Some(k) => {
                let (x, cy) = px(*k, y + 0.5);
                let text = c.k_text.clone().unwrap_or_else(|| fixed(*k, 2));
                let c = if *k > m.k_limit {
                    colour::LIMIT
                } else {
                    colour::TEXT
                };
                let style = text_at(size::LABEL, c, HPos::Left, VPos::Center);
                boxed_text(&pa, &text, (x + 14, cy), &style)?;
            }
            None => {
                let why = if c.withdrawal_m3.is_finite() {
                    "无管控指标"
                } else {
                    "无取水量数据"
                };
                let (x, cy) = px(0.0, y + 0.5);
                pa.draw(&Text::new(
                    why,
                    (x + 14, cy),
                    text_at(size::LABEL, colour::MUTED, HPos::Left, VPos::Center),
                ))?;
            }
        }
    }
    let (x1, top) = px(m.k_limit, n);
    pa.draw(&Text::new(
        format!("k = {limit}"),
        (x1, top - 10),
        text_at(size::LABEL, colour::LIMIT, HPos::Center, VPos::Bottom),
    ))?;
    if rows.is_empty() {
        note_center(&pa, "无县（市、区）数据")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::spec::{ChartMeta, Ymd};
    use super::*;

    fn city(limits: [f64; 3]) -> CityOverview {
        CityOverview {
            meta: ChartMeta {
                place: "太原市".into(),
                as_of: Ymd::new(2026, 11, 28),
                source: String::new(),
                example: false,
                untitled: false,
            },
            basis: "2026 年末预测".into(),
            budgets: vec![
                BudgetBar {
                    name: "太原供水集团".into(),
                    withdrawal_m3: 7e7,
                    limit_m3: limits[0],
                },
                BudgetBar {
                    name: "县（市、区）合计".into(),
                    withdrawal_m3: 7e7,
                    limit_m3: limits[1],
                },
            ],
            total: BudgetBar {
                name: "全市合计".into(),
                withdrawal_m3: 1.4e8,
                limit_m3: limits[2],
            },
            counties: Vec::new(),
            k_at_risk: 0.95,
            k_limit: 1.0,
        }
    }

    #[test]
    fn subtitle_states_the_plans_gap_without_fudging() {
        let s = subtitle(&city([76_020_000.0, 73_900_000.0, 150_000_000.0]));
        assert!(
            s.contains(
                "分项指标 7602.0万 + 7390.0万 = 14992.0万 m³，比全市上限 1.5亿 m³ 少 8.0万 m³"
            ),
            "{s}"
        );
        let s = subtitle(&city([75e6, 75e6, 150e6]));
        assert!(!s.contains("注："), "{s}");
    }

    #[test]
    fn ranking_orders_by_k_and_puts_missing_last() {
        let c = |name: &str, w: f64, q: f64| CountyK {
            name: name.into(),
            withdrawal_m3: w,
            quota_m3: q,
            k_text: None,
        };
        let counties = [
            c("甲", 1.0, 0.0),
            c("乙", 1.0, 2.0),
            c("丙", 3.0, 2.0),
            c("丁", f64::NAN, 2.0),
        ];
        let r = ranked(&counties);
        let names: Vec<&str> = r.iter().map(|x| x.0.name.as_str()).collect();
        assert_eq!(names, ["丙", "乙", "甲", "丁"]);
        assert_eq!(r[0].1, Some(1.5));
        assert_eq!(r[2].1, None);
    }
}
