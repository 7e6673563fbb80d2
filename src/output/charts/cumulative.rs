//! Chart 2, cumulative groundwater withdrawal of the current year, day by day.
//!
//! The question an official asks in November is "will we stay under the quota by 31 December?":
//! this year's cumulative curve to the as-of date, last year's curve for the seasonal shape, the
//! annual quota as a step function of the day (the plan says the split moves during a year), and
//! the projection to year end as a dashed line ending in its value and k.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::{Ticked, value_range};
use super::fonts;
use super::format::{fixed, trim_decimal, wan};
use super::furniture::{
    LegendItem, Swatch, legend, limit_line, note_box, note_center, page, watermark,
};
use super::layout::{Placer, boxed_text, dims, halo_text, ink_box, measure, pixel, y_label_area};
use super::spec::{CumulativeWithdrawal, DayValue, QuotaStep, Sanitize, Ymd};
use super::style::{colour, size, stroke, style_mesh, text_at};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 1500);

/// Month boundaries of `year` as days elapsed (0 = 1 January 00:00, 12 = year end).
pub(crate) fn month_bounds(year: i32) -> [f64; 13] {
    let mut out = [0.0; 13];
    for m in 1..=12u8 {
        out[usize::from(m)] = out[usize::from(m - 1)] + f64::from(Ymd::days_in_month(year, m));
    }
    out
}

/// `1月` … `12月` for a tick at a month's middle.
fn month_label(bounds: &[f64; 13], v: f64) -> String {
    let m = bounds[1..].iter().position(|end| v < *end).unwrap_or(11);
    format!("{}月", m + 1)
}

/// Finite points (day, 万 m³), sorted, clamped into the year.
fn curve(points: &[DayValue], days: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.value_m3.is_finite())
        .map(|p| (f64::from(p.day).clamp(0.0, days), p.value_m3 / 1e4))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Quota steps as (from, to, 万 m³) in days elapsed, in order; a step without quota is skipped.
fn quota_segments(steps: &[QuotaStep], days: f64) -> Vec<(f64, f64, f64)> {
    let mut sorted: Vec<QuotaStep> = steps.to_vec();
    sorted.sort_by_key(|s| s.from_day);
    let mut out = Vec::new();
    for (i, s) in sorted.iter().enumerate() {
        let from = (f64::from(s.from_day.max(1)) - 1.0).min(days);
        let to = sorted
            .get(i + 1)
            .map_or(days, |n| (f64::from(n.from_day.max(1)) - 1.0).min(days));
        if s.quota_m3.is_finite() && to > from {
            out.push((from, to, s.quota_m3 / 1e4));
        }
    }
    out
}

/// Draws chart 2 on `root`, any plotters backend of 2400 × 1500 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_cumulative<DB: DrawingBackend>(
    m: &CumulativeWithdrawal,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let body = page(
        root,
        &m.meta,
        &format!("{}年地下水累计取水量", m.year),
        None,
    )?;
    let days = f64::from(Ymd::days_in_year(m.year));
    let bounds = month_bounds(m.year);
    let this = curve(&m.this_year, days);
    let last = curve(&m.last_year, f64::from(Ymd::days_in_year(m.year - 1)));
    let quota = quota_segments(&m.quota_steps, days);
    let projection = m
        .projected_year_end_m3
        .filter(|p| p.is_finite())
        .map(|p| p / 1e4)
        .filter(|_| !this.is_empty());

    // The annual quota k is judged against: each step weighted by the days it is in force — the
    // accounting's figure. With one step it is that step's quota.
    let covered: f64 = quota.iter().map(|q| q.1 - q.0).sum();
    let q_year = (covered >= days - 1.0)
        .then(|| quota.iter().map(|q| (q.1 - q.0) * q.2).sum::<f64>() / covered)
        .filter(|q| q.is_finite());
    let prorated = q_year.filter(|_| quota.len() > 1);

    let mut items = Vec::new();
    let as_of = m.meta.as_of;
    items.push(LegendItem::new(
        Swatch::Line(colour::CURRENT),
        format!(
            "{}年累计（截至 {:02}-{:02}）",
            m.year, as_of.month, as_of.day
        ),
    ));
    if projection.is_some() {
        items.push(LegendItem::new(Swatch::Dashed(colour::CURRENT), "年末预测"));
    }
    let last_total = last.last().map(|p| p.1);
    items.push(LegendItem::new(
        Swatch::LineSquare(colour::OI_ORANGE),
        match last_total {
            Some(t) => format!("{}年累计（全年 {} 万 m³）", m.year - 1, trim_decimal(t, 1)),
            None => format!("{}年累计（无数据）", m.year - 1),
        },
    ));
    if !quota.is_empty() {
        items.push(LegendItem::new(Swatch::Line(colour::LIMIT), "年度管控指标"));
    }
    if let Some(q) = prorated {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::LIMIT),
            format!("按天数折算的全年指标 {}（k 所用）", trim_decimal(q, 1)),
        ));
    }
    let plot = legend(&body, &items)?;

    let values = this
        .iter()
        .chain(&last)
        .map(|p| p.1)
        .chain(quota.iter().map(|q| q.2))
        .chain(prorated)
        .chain(projection);
    let (_, data_max) = value_range(values, 0.0, true);
    let y_max = data_max * 1.12;
    let (y_axis, y_dec) = Ticked::nice(0f64..y_max, 8);
    let mids: Vec<f64> = bounds.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(40)
        .x_label_area_size(130)
        .y_label_area_size(y_label_area(&fixed(y_max, y_dec), 210))
        .build_cartesian_2d(Ticked::new(0f64..days, mids), y_axis)?;
    let fx = |v: &f64| month_label(&bounds, *v);
    let fy = |v: &f64| fixed(*v, y_dec);
    style_mesh(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("月份")
        .y_desc("累计取水量（万 m³）")
        .draw()?;
    let da = chart.plotting_area();
    for b in &bounds[1..12] {
        da.draw(&PathElement::new(
            vec![(*b, 0.0), (*b, y_max)],
            colour::GRID.stroke_width(stroke::GRID),
        ))?;
    }
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let px = |x: f64, y: f64| pixel(da, &(x, y));
    let (pw, ph) = dims(&pa);
    let mut placer = Placer::new(pw, ph);

    // Quota steps, joined by risers where one follows the other directly.
    let mut path: Vec<(f64, f64)> = Vec::new();
    for (i, (from, to, q)) in quota.iter().enumerate() {
        let joined = i > 0 && (quota[i - 1].1 - from).abs() < 1e-9;
        if !joined && !path.is_empty() {
            limit_line(da, std::mem::take(&mut path))?;
        }
        path.push((*from, *q));
        path.push((*to, *q));
    }
    if !path.is_empty() {
        limit_line(da, path)?;
    }
    // Quota values at the left end of each step, where the cumulative curves are still low.
    for (from, to, q) in &quota {
        let (x0, y) = px(*from, *q);
        let (x1, _) = px(*to, *q);
        let label = if quota.len() > 1 {
            format!(
                "指标 {}（自 {}）",
                trim_decimal(*q, 1),
                day_text(m.year, *from + 1.0)
            )
        } else {
            format!("指标 {}", trim_decimal(*q, 1))
        };
        let style = text_at(size::LABEL, colour::LIMIT, HPos::Left, VPos::Bottom);
        if x1 - x0 > measure(&pa, &label, &style).0 + 40 {
            placer.block(ink_box(&label, (x0 + 20, y - 12), &style).grow(8));
            boxed_text(&pa, &label, (x0 + 20, y - 12), &style)?;
        }
    }

    if let Some(q) = prorated {
        da.draw(&DashedPathElement::new(
            vec![(0.0, q), (days, q)],
            30,
            16,
            colour::LIMIT.stroke_width(stroke::TREND),
        ))?;
    }
    // Last year first, thinner and lighter with a marker at each month end, then this year as
    // a thick line over it: the current year is what the reader looks for. Both start from zero.
    if !last.is_empty() {
        let mut line = vec![(0.0, 0.0)];
        line.extend(last.iter().copied());
        da.draw(&PathElement::new(
            line,
            colour::OI_ORANGE.stroke_width(stroke::DATA - 2),
        ))?;
        for b in &bounds[1..] {
            if let Some(p) = last.iter().rev().find(|p| p.0 <= *b) {
                let (x, y) = px(p.0, p.1);
                pa.draw(&Rectangle::new(
                    [(x - 8, y - 8), (x + 8, y + 8)],
                    colour::OI_ORANGE.filled(),
                ))?;
                pa.draw(&Rectangle::new(
                    [(x - 8, y - 8), (x + 8, y + 8)],
                    WHITE.stroke_width(2),
                ))?;
            }
        }
    }
    if !this.is_empty() {
        let mut line = vec![(0.0, 0.0)];
        line.extend(this.iter().copied());
        da.draw(&PathElement::new(
            line,
            colour::CURRENT.stroke_width(stroke::DATA + 2),
        ))?;
    }
    if let Some(&(d, v)) = this.last() {
        if let Some(p) = projection {
            da.draw(&DashedPathElement::new(
                vec![(d, v), (days, p)],
                26,
                14,
                colour::CURRENT.stroke_width(stroke::TREND),
            ))?;
            da.draw(&Circle::new((days, p), 11, colour::CURRENT.filled()))?;
            // k against the annual quota prorated by the days each step is in force — the same
            // figure as the accounting's (a mid-year change weighs each quota by its days).
            let covered: f64 = quota.iter().map(|q| q.1 - q.0).sum();
            let q_year = (covered >= days - 1.0)
                .then(|| quota.iter().map(|q| (q.1 - q.0) * q.2).sum::<f64>() / covered);
            let k = match (&m.k_text, q_year.filter(|q| *q > 0.0)) {
                (Some(t), Some(_)) => format!("，k = {t}"),
                (None, Some(q)) => format!("，k = {}", trim_decimal(p / q, 2)),
                (_, None) => String::new(),
            };
            let over = q_year.is_some_and(|q| p > q);
            let (x, y) = px(days, p);
            let text = format!("年末预测 {}{k}", wan(p * 1e4));
            let col = if over { colour::LIMIT } else { colour::CURRENT };
            let candidates = [
                (
                    (x - 20, y - 18),
                    text_at(size::LABEL, col, HPos::Right, VPos::Bottom),
                ),
                (
                    (x - 20, y + 18),
                    text_at(size::LABEL, col, HPos::Right, VPos::Top),
                ),
            ];
            if let Some((at, style)) = placer.place(&text, candidates) {
                halo_text(&pa, &text, at, &style)?;
            }
        }
        da.draw(&Circle::new((d, v), 11, colour::CURRENT.filled()))?;
        // Below the last point first: a cumulative curve rises to the right, so the space under
        // it towards the side with more room is clear of both curves.
        let (x, y) = px(d, v);
        let label = format!("截至 {}：{}", day_text(m.year, d), trim_decimal(v, 1));
        let (anchor, other, dx) = if x > pw / 2 {
            (HPos::Right, HPos::Left, -18)
        } else {
            (HPos::Left, HPos::Right, 18)
        };
        let style = |h: HPos, v: VPos| text_at(size::LABEL, colour::CURRENT, h, v);
        let candidates = [
            ((x + dx, y + 28), style(anchor, VPos::Top)),
            ((x + dx, y + 90), style(anchor, VPos::Top)),
            ((x + dx, y - 28), style(anchor, VPos::Bottom)),
            ((x - dx, y + 28), style(other, VPos::Top)),
        ];
        if let Some((at, style)) = placer.place(&label, candidates) {
            halo_text(&pa, &label, at, &style)?;
        }
        if this.iter().all(|p| p.1 == 0.0) {
            note_center(&pa, "本年累计取水量为 0")?;
        }
    } else {
        note_center(&pa, "本年无取水量数据")?;
    }
    if quota.is_empty() {
        note_box(&pa, "未设定管控指标", (pw / 2, 60))?;
    }
    Ok(())
}

/// `MM-DD` of the day that ends `elapsed` days into `year` (elapsed 0 → 01-01).
fn day_text(year: i32, elapsed: f64) -> String {
    let mut rest = elapsed.round().max(1.0) as u32;
    for month in 1..=12u8 {
        let n = u32::from(Ymd::days_in_month(year, month));
        if rest <= n {
            return format!("{month:02}-{rest:02}");
        }
        rest -= n;
    }
    "12-31".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_days() {
        let b = month_bounds(2026);
        assert_eq!(b[1], 31.0);
        assert_eq!(b[12], 365.0);
        assert_eq!(month_label(&b, 15.5), "1月");
        assert_eq!(month_label(&b, 349.5), "12月");
        assert_eq!(day_text(2026, 0.0), "01-01");
        assert_eq!(day_text(2026, 59.0), "02-28");
        assert_eq!(day_text(2026, 181.0), "06-30");
        assert_eq!(day_text(2026, 365.0), "12-31");
    }

    #[test]
    fn quota_steps_become_segments() {
        let steps = [
            QuotaStep {
                from_day: 182,
                quota_m3: 9_000_000.0,
            },
            QuotaStep {
                from_day: 1,
                quota_m3: 10_000_000.0,
            },
        ];
        assert_eq!(
            quota_segments(&steps, 365.0),
            vec![(0.0, 181.0, 1000.0), (181.0, 365.0, 900.0)]
        );
        let gap = [
            QuotaStep {
                from_day: 1,
                quota_m3: f64::NAN,
            },
            QuotaStep {
                from_day: 100,
                quota_m3: 1e4,
            },
        ];
        assert_eq!(quota_segments(&gap, 365.0), vec![(99.0, 365.0, 1.0)]);
    }
}
