//! Chart 4, hydrographs of a county's monitoring wells, each with its trend line.
//!
//! The sign trap of groundwater charts is depth versus level: a rising depth is a falling level.
//! The axis title therefore always says which is plotted — `水位 (m，1985国家高程基准)`, up = more
//! water, or `埋深 (m)` on an inverted axis so that down still means less water — and each legend
//! entry states the level's direction in words. Ten wells get ten distinct colours; beyond ten the
//! colours repeat with a different marker.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::ChartError;
use super::axes::{Ticked, runs, time_ticks, value_range};
use super::fonts;
use super::format::{fixed, signed, time_label};
use super::furniture::{LegendItem, Swatch, legend, note_box, note_center, page, watermark};
use super::spec::{Hydrographs, LevelKind, Sanitize, Trend, WellSeries};
use super::style::{colour, stroke, style_mesh};
use super::text::{dims, pixel};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 1500);

/// Longest gap (years) a line bridges: a quarter, so monthly data with one missing month stays
/// joined while a season-long outage shows as a break.
const MAX_GAP: f64 = 0.26;
/// Markers are drawn only for sparse series (monthly data); daily series are plain lines.
const MAX_MARKED_POINTS: usize = 80;

/// Whether well `i` with `n` points gets markers: sparse series, and every well past the tenth
/// (whose colour repeats and whose marker shape tells it apart).
fn marked(n: usize, i: usize) -> bool {
    n <= MAX_MARKED_POINTS || i >= colour::SERIES.len()
}

/// Finite points of a well as (fractional year, m).
fn points(w: &WellSeries) -> Vec<(f64, f64)> {
    w.points
        .iter()
        .filter(|p| p.value.is_finite())
        .map(|p| (p.date.fractional_year(), p.value))
        .collect()
}

/// A well's trend line over the span of its own data.
fn trend_line(t: &Trend, pts: &[(f64, f64)]) -> Option<[(f64, f64); 2]> {
    if !(t.slope_m_per_year.is_finite() && t.anchor.value.is_finite()) {
        return None;
    }
    let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return None;
    }
    Some(t.segment(lo, hi))
}

fn well_text(w: &WellSeries, kind: LevelKind, pts: &[(f64, f64)]) -> String {
    if pts.is_empty() {
        return format!("{}（无数据）", w.id);
    }
    // A trend is only quoted where its line can be drawn (two or more dates).
    match w.trend.filter(|t| trend_line(t, pts).is_some()) {
        Some(t) => {
            let slope = signed(t.slope_m_per_year, 2);
            let what = match kind {
                LevelKind::Level => "",
                LevelKind::Depth => "埋深 ",
            };
            format!("{}（{what}{slope} m/a，水位{}）", w.id, t.direction.label())
        }
        None => w.id.clone(),
    }
}

/// Draws a marker of style `i / 10` (circle, square, triangle) at `p`.
fn marker<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    da: &DrawingArea<DB, CT>,
    p: (f64, f64),
    i: usize,
    c: RGBColor,
) -> Result<(), ChartError> {
    let (x, y) = pixel(da, &p);
    let pa = da.strip_coord_spec();
    match (i / 10) % 3 {
        0 => pa.draw(&Circle::new((x, y), 8, c.filled()))?,
        1 => pa.draw(&Rectangle::new(
            [(x - 8, y - 8), (x + 8, y + 8)],
            c.filled(),
        ))?,
        _ => pa.draw(&Polygon::new(
            vec![(x, y - 10), (x - 10, y + 8), (x + 10, y + 8)],
            c.filled(),
        ))?,
    }
    Ok(())
}

/// Draws chart 4 on `root`, any plotters backend of 2400 × 1500 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_hydrographs<DB: DrawingBackend>(
    m: &Hydrographs,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let (title, y_desc) = match m.kind {
        LevelKind::Level => ("监测井地下水水位过程线", "水位 (m，1985国家高程基准)"),
        LevelKind::Depth => ("监测井地下水埋深过程线", "埋深 (m，坐标向下增大)"),
    };
    let body = page(root, &m.meta, title, None)?;

    let series: Vec<(&WellSeries, Vec<(f64, f64)>)> =
        m.wells.iter().map(|w| (w, points(w))).collect();
    let mut items: Vec<LegendItem> = series
        .iter()
        .enumerate()
        .map(|(i, (w, pts))| {
            let c = colour::SERIES[i % colour::SERIES.len()];
            let swatch = if marked(pts.len(), i) {
                Swatch::LineDot(c)
            } else {
                Swatch::Line(c)
            };
            LegendItem::new(swatch, well_text(w, m.kind, pts))
        })
        .collect();
    let any_trend = series
        .iter()
        .any(|(w, pts)| w.trend.is_some_and(|t| trend_line(&t, pts).is_some()));
    if any_trend {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::MUTED),
            "虚线：Sen 趋势线",
        ));
    }
    let plot = legend(&body, &items)?;

    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let (x_lo, x_hi) = match (
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
    ) {
        // At least two months wide, so one month of data sits in a readable window.
        (lo, hi) if hi - lo >= 1.0 / 6.0 => (lo - (hi - lo) * 0.02, hi + (hi - lo) * 0.02),
        (lo, hi) if lo.is_finite() && hi.is_finite() => {
            let mid = (lo + hi) / 2.0;
            (mid - 1.0 / 12.0, mid + 1.0 / 12.0)
        }
        _ => {
            let y = f64::from(m.meta.as_of.year);
            (y, y + 1.0)
        }
    };
    let mut ys: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .collect();
    for (w, pts) in &series {
        if let Some(seg) = w.trend.and_then(|t| trend_line(&t, pts)) {
            ys.extend([seg[0].1, seg[1].1]);
        }
    }
    let has_data = !ys.is_empty();
    let (lo, hi) = value_range(ys, 0.08, false);
    let y_range = match m.kind {
        LevelKind::Level => lo..hi,
        LevelKind::Depth => hi..lo,
    };
    // Without data the frame stays, with no invented scale on either axis.
    let (ticks, monthly) = if has_data {
        time_ticks(x_lo, x_hi)
    } else {
        (Vec::new(), false)
    };
    let (y_axis, y_dec) = if has_data {
        Ticked::nice(y_range, 8)
    } else {
        (Ticked::new(y_range, Vec::new()), 0)
    };
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(40)
        .x_label_area_size(130)
        .y_label_area_size(210)
        .build_cartesian_2d(Ticked::new(x_lo..x_hi, ticks), y_axis)?;
    let fx = |v: &f64| time_label(*v, monthly);
    let fy = |v: &f64| fixed(*v, y_dec);
    style_mesh(&mut chart.configure_mesh())
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc(if monthly { "年-月" } else { "年份" })
        .y_desc(y_desc)
        .draw()?;
    let da = chart.plotting_area();

    for (i, (w, pts)) in series.iter().enumerate() {
        let c = colour::SERIES[i % colour::SERIES.len()];
        for run in runs(pts.clone(), MAX_GAP) {
            if run.len() > 1 {
                da.draw(&PathElement::new(run, c.stroke_width(stroke::DATA - 1)))?;
            }
        }
        if marked(pts.len(), i) {
            let step = (pts.len() / MAX_MARKED_POINTS).max(1);
            for p in pts.iter().step_by(step) {
                marker(da, *p, i, c)?;
            }
        }
        if let Some(seg) = w.trend.and_then(|t| trend_line(&t, pts)) {
            da.draw(&DashedPathElement::new(
                seg.to_vec(),
                22,
                14,
                c.stroke_width(stroke::TREND - 1),
            ))?;
        }
    }
    let pa = da.strip_coord_spec();
    if !has_data {
        note_center(&pa, "无水位监测数据")?;
    } else if series.iter().all(|(_, p)| p.len() <= 1) {
        let (w, _) = dims(&pa);
        note_box(&pa, "每井仅 1 个数据点，不足以判断趋势", (w / 2, 60))?;
    }
    watermark(&pa, m.meta.example)?;
    Ok(())
}
