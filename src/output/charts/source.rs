//! Chart 6, withdrawal by water source and year: what the county draws from groundwater, surface
//! water, reclaimed water and mine water, stacked per year, with the groundwater reduction
//! achieved against the base year (压采量) stated as a figure.
//!
//! Groundwater sits at the bottom of every stack, so its shrinking share is read against a common
//! baseline, and a dashed line at its base-year value shows how far it has come down. The current
//! year is its year-end projection, hatched. Sources differ by colour (Okabe–Ito) and by
//! lightness, so a greyscale print still separates them.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::{Ticked, value_range};
use super::fonts;
use super::format::{fixed, wan};
use super::furniture::{
    LegendItem, Swatch, hatched_rect, headline, legend, note_center, page, watermark,
};
use super::layout::{Placer, PxRect, dims, halo_text, pixel, y_label_area};
use super::spec::{Sanitize, WithdrawalBySource};
use super::style::{colour, size, stroke, style_mesh, text_at};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 1500);

/// Source colours bottom-up: dark to light blue for the groundwater and surface water, then green
/// and orange, so lightness alone orders them.
const SOURCE_COLOURS: [RGBColor; 4] = [
    colour::OI_BLUE,
    colour::OI_SKY,
    colour::OI_GREEN,
    colour::OI_ORANGE,
];

/// The groundwater reduction against the base year.
pub(crate) struct Reduction {
    /// In words: `地下水压采量：2025 年比基准年 2020 年减少 123.4 万 m³（-8.1%）`, with the
    /// projected year's figure appended.
    pub text: String,
    /// Groundwater went up in a year the text names.
    pub increased: bool,
}

/// The groundwater reduction against the base year; `None` without groundwater data in the base
/// year and a later year.
pub(crate) fn reduction_text(m: &WithdrawalBySource) -> Option<Reduction> {
    let gw = m.sources.iter().find(|s| s.groundwater)?;
    let at = |year: i32| {
        m.years
            .iter()
            .position(|y| *y == year)
            .and_then(|i| gw.m3.get(i).copied())
            .filter(|v| v.is_finite())
    };
    let base = at(m.base_year).filter(|b| *b > 0.0)?;
    let increased = std::cell::Cell::new(false);
    let change = |year: i32| {
        at(year).map(|v| {
            let d = base - v;
            let pct = d / base * 100.0;
            if d >= 0.0 {
                format!("减少 {} 万 m³（-{}%）", wan(d), fixed(pct, 1))
            } else {
                increased.set(true);
                format!("增加 {} 万 m³（+{}%）", wan(-d), fixed(-pct, 1))
            }
        })
    };
    let latest = m
        .years
        .iter()
        .copied()
        .filter(|y| *y > m.base_year && Some(*y) != m.projected_year && at(*y).is_some())
        .max();
    let mut parts = Vec::new();
    if let Some(y) = latest {
        // What made it, where the status document knows: sealed wells, transfers, the rest.
        let made = m
            .reduction_parts
            .filter(|p| p.0 == y && (p.1 != 0.0 || p.2 != 0.0))
            .map(|(_, sealed, transferred, rest)| {
                format!(
                    "（其中封停自备井 {} 万 m³，水源置换 {} 万 m³，其他 {} 万 m³）",
                    wan(sealed),
                    wan(transferred),
                    wan(rest)
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "{y} 年比基准年 {} 年{}{made}",
            m.base_year,
            change(y).unwrap_or_default()
        ));
    }
    if let Some(p) = m.projected_year.filter(|p| *p > m.base_year)
        && let Some(c) = change(p)
    {
        parts.push(format!("{p} 年（年末预测）{c}"));
    }
    if parts.is_empty() {
        return None;
    }
    Some(Reduction {
        text: format!("地下水压采量：{}", parts.join("；")),
        increased: increased.get(),
    })
}

/// Draws chart 6 on `root`, any plotters backend of 2400 × 1500 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_by_source<DB: DrawingBackend>(
    m: &WithdrawalBySource,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let reduction = reduction_text(m);
    let body = page(root, &m.meta, "分水源取水量", None)?;
    // The reduction is the figure the reader came for: a headline in the text size, green when
    // groundwater came down, vermillion when it went up.
    let (headline_text, c) = match &reduction {
        Some(r) if r.increased => (r.text.clone(), colour::NOT_READY),
        Some(r) => (r.text.clone(), colour::READY),
        None => (
            format!(
                "基准年 {} 年无地下水取水量数据，压采量无法计算",
                m.base_year
            ),
            colour::MUTED,
        ),
    };
    let body = headline(&body, &headline_text, c)?;

    let mut items: Vec<LegendItem> = m
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(Swatch::Bar(SOURCE_COLOURS[i % 4]), s.label.clone()))
        .collect();
    if let Some(p) = m.projected_year {
        items.push(LegendItem::new(
            Swatch::Hatched(colour::MUTED),
            format!("{p} 年为年末预测"),
        ));
    }
    let gw = m.sources.iter().position(|s| s.groundwater);
    if gw.is_some() {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::LIMIT),
            format!("基准年（{}）地下水取水量", m.base_year),
        ));
    }
    let plot = legend(&body, &items)?;

    let n = m.years.len();
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            m.sources
                .iter()
                .filter_map(|s| s.m3.get(i).copied().filter(|v| v.is_finite()))
                .map(|v| v.max(0.0) / 1e4)
                .sum()
        })
        .collect();
    let (_, data_max) = value_range(totals.iter().copied(), 0.0, true);
    let y_max = data_max * 1.2;
    let (y_axis, y_dec) = Ticked::nice(0f64..y_max, 6);
    let first = m.years.first().copied().unwrap_or(m.meta.as_of.year);
    let last = m.years.last().copied().unwrap_or(first).max(first);
    let mids: Vec<f64> = (first..=last).map(|y| f64::from(y) + 0.5).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(40)
        .x_label_area_size(130)
        .y_label_area_size(y_label_area(&fixed(y_max, y_dec), 210))
        .build_cartesian_2d(
            Ticked::new(f64::from(first)..f64::from(last + 1), mids),
            y_axis,
        )?;
    let fx = |v: &f64| format!("{:.0}", v.floor());
    let fy = |v: &f64| fixed(*v, y_dec);
    style_mesh(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("年份")
        .y_desc("取水量（万 m³）")
        .draw()?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let (pw, ph) = dims(&pa);
    let mut placer = Placer::new(pw, ph);

    for (i, year) in m.years.iter().enumerate() {
        let x = f64::from(*year);
        let projected = Some(*year) == m.projected_year;
        let mut base = 0.0;
        for (k, s) in m.sources.iter().enumerate() {
            let Some(v) = s.m3.get(i).copied().filter(|v| v.is_finite()) else {
                continue;
            };
            let top = base + v.max(0.0) / 1e4;
            let c = SOURCE_COLOURS[k % 4];
            if projected {
                hatched_rect(
                    &pa,
                    pixel(da, &(x + 0.2, base)),
                    pixel(da, &(x + 0.8, top)),
                    c,
                )?;
            } else {
                da.draw(&Rectangle::new(
                    [(x + 0.2, base), (x + 0.8, top)],
                    c.filled(),
                ))?;
            }
            base = top;
        }
    }

    // The base year's groundwater as a reference line across all years.
    let mut base_line_y = None;
    if let Some(g) = gw
        && let Some(i) = m.years.iter().position(|y| *y == m.base_year)
        && let Some(v) = m.sources[g].m3.get(i).copied().filter(|v| v.is_finite())
    {
        let v = v / 1e4;
        let line = vec![(f64::from(first), v), (f64::from(last + 1), v)];
        da.draw(&DashedPathElement::new(
            line,
            24,
            12,
            colour::LIMIT.stroke_width(stroke::TREND),
        ))?;
        let (x0, y) = pixel(da, &(f64::from(first), v));
        let (x1, _) = pixel(da, &(f64::from(last + 1), v));
        placer.block(PxRect::new(x0, y - 6, x1, y + 6));
        base_line_y = Some(y);
    }
    // The totals last, above their bars or, where the reference line runs, above the line.
    for (i, year) in m.years.iter().enumerate() {
        if totals[i] <= 0.0 {
            continue;
        }
        let x = f64::from(*year);
        let (lx, ty) = pixel(da, &(x + 0.5, totals[i]));
        let style = text_at(size::LABEL, colour::TEXT, HPos::Center, VPos::Bottom);
        let label = if Some(*year) == m.projected_year {
            format!("预测 {}", wan(totals[i] * 1e4))
        } else {
            wan(totals[i] * 1e4)
        };
        let mut candidates = vec![((lx, ty - 10), style.clone())];
        if let Some(by) = base_line_y {
            candidates.push(((lx, ty.min(by) - 16), style));
        }
        if let Some((at, st)) = placer.place(&label, candidates) {
            halo_text(&pa, &label, at, &st)?;
        }
    }
    if totals.iter().all(|t| *t == 0.0) {
        note_center(&pa, "无分水源取水量数据")?;
    }
    Ok(())
}
