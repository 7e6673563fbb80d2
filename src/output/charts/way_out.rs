//! Chart 7, the way out: a horizontal waterfall from this year's year-end projection, held,
//! through what each closure and project takes off in the exit year, to what remains, against
//! the exit year's allowed withdrawal (quota × the pass k); then what closing the candidate
//! 自备井 inside the supply coverage would take off, and what would remain after them.
//!
//! Totals are full bars from zero; measures are floating bars, solid when seen in the meters and
//! outlined when only planned, so a greyscale print tells them apart. The allowed withdrawal is a
//! solid red line, the quota a dashed grey one. The plan's conclusion is the headline.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::Ticked;
use super::fonts;
use super::format::{trim_decimal, wan};
use super::furniture::{
    Fill, LegendItem, Swatch, hatched_rect, headline, legend, note_center, page, patterned_rect,
    watermark,
};
use super::layout::{Placer, PxRect, dims, halo_text, pixel, text_width};
use super::spec::{Sanitize, WayOut};
use super::style::{colour, size, stroke, style_mesh, text_at};

/// Canvas width in px; the height grows with the rows.
const ROW_H: u32 = 120;

/// Measures drawn one by one; more are summed into one bar.
const MAX_STEPS: usize = 8;

/// The widest a row label may be, px; longer names are cut with an ellipsis.
const MAX_LABEL_W: i32 = 880;

/// Canvas size of chart `m` in px.
pub(crate) fn size(m: &WayOut) -> (u32, u32) {
    let rows = rows(&m.sanitized()).len().max(2) as u32;
    (super::style::WIDTH, 980 + rows * ROW_H)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// This year's projection, from zero.
    Projection,
    /// What remains after the measures, from zero.
    AfterMeasures,
    /// What would remain after the candidates too, from zero.
    AfterCandidates,
    /// A measure seen in the meters.
    Measured,
    /// A measure planned.
    Planned,
    /// The candidate 自备井.
    Candidates,
}

impl Kind {
    /// A withdrawal drawn from zero, labelled as it is; the others are what a measure takes
    /// off, labelled with a minus.
    fn total(self) -> bool {
        matches!(
            self,
            Kind::Projection | Kind::AfterMeasures | Kind::AfterCandidates
        )
    }
}

struct Row {
    label: String,
    /// The bar's ends, 万 m³.
    lo: f64,
    hi: f64,
    kind: Kind,
}

/// The rows top-down; none without a projection.
fn rows(m: &WayOut) -> Vec<Row> {
    let p = m.projected_m3 / 1e4;
    if !p.is_finite() {
        return Vec::new();
    }
    let mut out = vec![Row {
        label: format!("{} 年年末预测（维持不变）", m.this_year),
        lo: 0.0,
        hi: p,
        kind: Kind::Projection,
    }];
    let mut run = p;
    let (shown, rest) = if m.steps.len() > MAX_STEPS {
        m.steps.split_at(MAX_STEPS - 1)
    } else {
        (m.steps.as_slice(), &[][..])
    };
    let step = |label: String, v: f64, kind: Kind, out: &mut Vec<Row>, run: &mut f64| {
        let lo = (*run - v / 1e4).max(0.0);
        out.push(Row {
            label,
            lo,
            hi: *run,
            kind,
        });
        *run = lo;
    };
    for s in shown {
        let kind = if s.measured {
            Kind::Measured
        } else {
            Kind::Planned
        };
        step(s.label.clone(), s.m3, kind, &mut out, &mut run);
    }
    if !rest.is_empty() {
        let v: f64 = rest.iter().map(|s| s.m3).sum();
        let kind = if rest.iter().all(|s| s.measured) {
            Kind::Measured
        } else {
            Kind::Planned
        };
        step(
            format!("其他 {} 项措施", rest.len()),
            v,
            kind,
            &mut out,
            &mut run,
        );
    }
    out.push(Row {
        label: format!("{} 年措施后", m.exit_year),
        lo: 0.0,
        hi: run,
        kind: Kind::AfterMeasures,
    });
    if let Some((n, v)) = m.candidates {
        step(
            format!("关停候选自备井 {n} 眼"),
            v,
            Kind::Candidates,
            &mut out,
            &mut run,
        );
        out.push(Row {
            label: "候选全部关停后".to_owned(),
            lo: 0.0,
            hi: run,
            kind: Kind::AfterCandidates,
        });
    }
    out
}

/// `label` cut to `max` px with an ellipsis.
fn fit(label: &str, max: i32) -> String {
    if text_width(label, size::TICK) <= max {
        return label.to_owned();
    }
    let mut s: String = label.to_owned();
    while !s.is_empty() && text_width(&format!("{s}…"), size::TICK) > max {
        s.pop();
    }
    format!("{s}…")
}

/// Draws chart 7 on `root`, any plotters backend of [`size`]; wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_way_out<DB: DrawingBackend>(
    m: &WayOut,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let k = trim_decimal(m.pass_k, 2);
    let subtitle = format!(
        "{} 年年末预测维持不变，各项措施在 {} 年的减量（万 m³）；达标要求 k ≤ {k}",
        m.this_year, m.exit_year
    );
    let body = page(root, &m.meta, "退出路径", Some(&subtitle))?;
    let rows = rows(m);
    let allowed = m.allowed_m3 / 1e4;
    let remains = |kind: Kind| rows.iter().find(|r| r.kind == kind).map(|r| r.hi);
    let after = remains(Kind::AfterMeasures);
    let after_all = remains(Kind::AfterCandidates);
    let c = match (after, allowed.is_finite()) {
        (Some(a), true) if a <= allowed => colour::READY,
        (Some(_), true) if after_all.is_some_and(|a| a <= allowed) => colour::AT_RISK,
        (Some(_), true) => colour::NOT_READY,
        _ => colour::MUTED,
    };
    let body = headline(&body, &format!("结论：{}", m.conclusion), c)?;

    let mut items = vec![LegendItem::new(
        Swatch::Hatched(colour::CURRENT),
        "预测取水量",
    )];
    if rows.iter().any(|r| r.kind == Kind::Measured) {
        items.push(LegendItem::new(
            Swatch::Bar(colour::READY),
            "已实施措施（计量实测）",
        ));
    }
    if rows.iter().any(|r| r.kind == Kind::Planned) {
        items.push(LegendItem::new(
            Fill::Outlined.swatch(colour::READY),
            "计划措施",
        ));
    }
    if rows.iter().any(|r| r.kind == Kind::Candidates) {
        items.push(LegendItem::new(
            Fill::Striped.swatch(colour::OI_PURPLE),
            "供水管网覆盖内候选自备井（上年取水量）",
        ));
    }
    if allowed.is_finite() {
        items.push(LegendItem::new(
            Swatch::Line(colour::LIMIT),
            format!("{} 年允许取水量（指标 × {k}）", m.exit_year),
        ));
    }
    if m.quota_m3.is_finite() {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::MUTED),
            format!("{} 年管控指标", m.exit_year),
        ));
    }
    let plot = legend(&body, &items)?;
    if rows.is_empty() {
        watermark(&plot, m.meta.example)?;
        note_center(&plot, "本年无取水计量数据，无法计算所需压减量")?;
        return Ok(());
    }

    let labels: Vec<String> = rows.iter().map(|r| fit(&r.label, MAX_LABEL_W)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, size::TICK))
        .max()
        .unwrap_or(0)
        + 40;
    let n = rows.len();
    let x_max = rows
        .iter()
        .map(|r| r.hi)
        .chain(
            [m.quota_m3 / 1e4, allowed]
                .into_iter()
                .filter(|v| v.is_finite()),
        )
        .fold(0.0f64, f64::max)
        .max(1e-6)
        * 1.18;
    let (x_axis, x_dec) = Ticked::nice(0f64..x_max, 6);
    let centres: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(60)
        .x_label_area_size(130)
        .y_label_area_size(label_w.max(200))
        .build_cartesian_2d(x_axis, Ticked::new(n as f64..0.0, centres))?;
    let fx = |v: &f64| trim_decimal(*v, x_dec);
    let fy = |v: &f64| {
        let i = (v - 0.5).round();
        if i >= 0.0 && (i as usize) < n {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    style_mesh(&mut chart.configure_mesh())
        .disable_y_mesh()
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("取水量（万 m³）")
        .draw()?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let (pw, ph) = dims(&pa);
    let mut placer = Placer::new(pw, ph);

    for (i, r) in rows.iter().enumerate() {
        let (y0, y1) = (i as f64 + 0.2, i as f64 + 0.8);
        let a = pixel(da, &(r.lo, y0));
        let b = pixel(da, &(r.hi, y1));
        match r.kind {
            Kind::Projection => hatched_rect(&pa, a, b, colour::CURRENT)?,
            Kind::AfterMeasures | Kind::AfterCandidates => {
                let over = allowed.is_finite() && r.hi > allowed;
                let c = if over { colour::OVER } else { colour::UNDER };
                patterned_rect(&pa, a, b, c, Fill::Solid)?;
            }
            Kind::Measured => patterned_rect(&pa, a, b, colour::READY, Fill::Solid)?,
            Kind::Planned => patterned_rect(&pa, a, b, colour::READY, Fill::Outlined)?,
            Kind::Candidates => patterned_rect(&pa, a, b, colour::OI_PURPLE, Fill::Striped)?,
        }
        placer.block(PxRect::new(a.0.min(b.0), b.1, a.0.max(b.0), a.1));
    }
    // The reference lines over the bars, from top to bottom of the plot.
    let line = |v: f64| vec![(v, n as f64), (v, 0.0)];
    if m.quota_m3.is_finite() {
        da.draw(&DashedPathElement::new(
            line(m.quota_m3 / 1e4),
            24,
            12,
            colour::MUTED.stroke_width(stroke::LIMIT),
        ))?;
    }
    if allowed.is_finite() {
        da.draw(&PathElement::new(
            line(allowed),
            colour::LIMIT.stroke_width(stroke::LIMIT),
        ))?;
        let (x, _) = pixel(da, &(allowed, 0.0));
        placer.block(PxRect::new(x - 4, 0, x + 4, ph));
    }
    // Each bar's figure to the right of its end: a total as it is, a measure as what it takes
    // off.
    for (i, r) in rows.iter().enumerate() {
        let text = if r.kind.total() {
            wan(r.hi * 1e4)
        } else {
            format!("−{}", wan((r.hi - r.lo) * 1e4))
        };
        let (x, y) = pixel(da, &(r.hi, i as f64 + 0.5));
        let right = text_at(size::LABEL, colour::TEXT, HPos::Left, VPos::Center);
        let inside = text_at(size::LABEL, colour::TEXT, HPos::Right, VPos::Center);
        let (xl, _) = pixel(da, &(r.lo, i as f64 + 0.5));
        let mut candidates = vec![((x + 14, y), right.clone())];
        if !r.kind.total() {
            candidates.push(((xl - 14, y), inside));
        }
        candidates.push(((x + 14, y - 30), right));
        if let Some((at, st)) = placer.place(&text, candidates) {
            halo_text(&pa, &text, at, &st)?;
        }
    }
    Ok(())
}
