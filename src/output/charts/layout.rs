//! Page furniture shared by every chart: sizes, colours, title and footer, the `示例数据` marking,
//! legends, notes for missing data, hatching, number formatting and axis ranges.
//!
//! The charts are pasted unchanged into A4 reports at ≈ 16 cm width, so a 2400 px wide canvas is
//! ≈ 150 px/cm. The text sizes below are chosen for that scale: tick labels ≈ 7.5 pt, axis titles and
//! legends ≈ 8.5 pt, titles ≈ 12 pt once printed (plotters' size s gives an em of s / 1.24 px with
//! the embedded font). Everything is drawn in pixel units of that canvas, for PNG and SVG alike.
//!
//! Legends are drawn by hand in a strip above the plot rather than with plotters' series labels:
//! they never cover data, wrap to several rows for ten wells, and can show hatched swatches.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ChartError;
use super::fonts::FAMILY;
use super::spec::ChartMeta;

/// Canvas width of every chart in px (PNG and SVG alike).
pub(crate) const WIDTH: u32 = 2400;

/// Text sizes (plotters size units; em = size / 1.24 px).
pub(crate) mod size {
    pub const TITLE: f64 = 84.0;
    pub const SUBTITLE: f64 = 54.0;
    pub const AXIS: f64 = 56.0;
    pub const TICK: f64 = 50.0;
    pub const LEGEND: f64 = 52.0;
    pub const LABEL: f64 = 46.0;
    pub const NOTE: f64 = 56.0;
    pub const FOOTER: f64 = 46.0;
    pub const BADGE: f64 = 60.0;
}

/// Line widths in px.
pub(crate) mod stroke {
    pub const DATA: u32 = 6;
    pub const TREND: u32 = 5;
    pub const LIMIT: u32 = 6;
    pub const MARKER: u32 = 4;
    pub const GRID: u32 = 2;
    pub const AXIS: u32 = 3;
}

/// Outer margin of the page in px.
pub(crate) const MARGIN: i32 = 56;

/// Colours: a muted, print-safe set (Tableau 10 based) distinguishable in greyscale by lightness.
pub(crate) mod colour {
    use plotters::style::RGBColor;
    pub const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
    pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
    pub const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
    pub const AXIS: RGBColor = RGBColor(0x44, 0x44, 0x44);
    pub const BAR: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
    pub const BAR_LIGHT: RGBColor = RGBColor(0xA9, 0xC4, 0xE2);
    pub const CURRENT: RGBColor = RGBColor(0x1F, 0x4E, 0x79);
    pub const LIMIT: RGBColor = RGBColor(0xC8, 0x1E, 0x1E);
    pub const OVER: RGBColor = RGBColor(0xD6, 0x3A, 0x3A);
    pub const UNDER: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
    pub const LEVEL: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
    pub const TREND: RGBColor = RGBColor(0xE0, 0x6C, 0x00);
    pub const LAST_YEAR: RGBColor = RGBColor(0x99, 0x99, 0x99);
    pub const DEADLINE: RGBColor = RGBColor(0x55, 0x55, 0x55);
    pub const EXAMPLE: RGBColor = RGBColor(0xC8, 0x1E, 0x1E);
    /// Series colours for wells and years, in order.
    pub const SERIES: [RGBColor; 10] = [
        RGBColor(0x1F, 0x77, 0xB4),
        RGBColor(0xFF, 0x7F, 0x0E),
        RGBColor(0x2C, 0xA0, 0x2C),
        RGBColor(0xD6, 0x27, 0x28),
        RGBColor(0x94, 0x67, 0xBD),
        RGBColor(0x8C, 0x56, 0x4B),
        RGBColor(0xE3, 0x77, 0xC2),
        RGBColor(0x7F, 0x7F, 0x7F),
        RGBColor(0xBC, 0xBD, 0x22),
        RGBColor(0x17, 0xBE, 0xCF),
    ];
}

/// A text style in the embedded font (any colour, with alpha).
pub(crate) fn text(size: f64, colour: impl Color) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: colour.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// A text style anchored at `h`/`v`.
pub(crate) fn text_at(size: f64, colour: impl Color, h: HPos, v: VPos) -> TextStyle<'static> {
    text(size, colour).pos(Pos::new(h, v))
}

/// Width and height in px that `s` takes in `style` (0 when it cannot be measured).
pub(crate) fn measure<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
) -> (i32, i32) {
    area.estimate_text_size(s, style)
        .map(|(w, h)| {
            (
                i32::try_from(w).unwrap_or(i32::MAX),
                i32::try_from(h).unwrap_or(0),
            )
        })
        .unwrap_or((0, 0))
}

/// Splits `s` into lines no wider than `max_w` px, breaking between characters (Chinese text has no
/// spaces); an explicit `\n` always breaks.
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
    max_w: i32,
) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let mut line = String::new();
        for c in paragraph.chars() {
            line.push(c);
            if measure(area, &line, style).0 > max_w && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
        lines.push(line);
    }
    lines
}

/// Draws background, title, optional subtitle, the example marking and the footer; returns the area
/// left for the plot(s).
pub(crate) fn page<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    meta: &ChartMeta,
    title: &str,
    subtitle: Option<&str>,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    root.fill(&WHITE)?;
    let (w, h) = dims(root);
    let title_style = text_at(size::TITLE, colour::TEXT, HPos::Left, VPos::Top);
    let full_title = format!("{} {}", meta.place, title);
    root.draw(&Text::new(full_title, (MARGIN, MARGIN - 8), title_style))?;
    let mut top = MARGIN - 8 + (size::TITLE * 1.02) as i32;
    if let Some(sub) = subtitle.filter(|s| !s.is_empty()) {
        let style = text_at(size::SUBTITLE, colour::MUTED, HPos::Left, VPos::Top);
        for line in wrap(root, sub, &style, w - 2 * MARGIN - 420) {
            root.draw(&Text::new(line, (MARGIN, top + 6), style.clone()))?;
            top += (size::SUBTITLE * 0.95) as i32;
        }
        top += 6;
    }
    if meta.example {
        example_badge(root, w - MARGIN, MARGIN - 8)?;
    }

    // Footer: a hairline, then source and as-of date on the left, units note on the right.
    let footer_y = h - MARGIN + 8;
    root.draw(&PathElement::new(
        vec![(MARGIN, footer_y - 58), (w - MARGIN, footer_y - 58)],
        colour::GRID.stroke_width(2),
    ))?;
    let mut footer = String::new();
    if !meta.source.is_empty() {
        footer.push_str("数据来源：");
        footer.push_str(&meta.source);
        footer.push_str(" · ");
    }
    footer.push_str(&format!("数据截至 {} · gwmon", meta.as_of));
    if meta.example {
        footer.push_str(" · 示例数据，非正式统计");
    }
    root.draw(&Text::new(
        footer,
        (MARGIN, footer_y),
        text_at(size::FOOTER, colour::MUTED, HPos::Left, VPos::Bottom),
    ))?;

    Ok(root.margin(
        (top + 24).max(0) as u32,
        (MARGIN + 64) as u32,
        MARGIN as u32,
        MARGIN as u32,
    ))
}

/// Width and height of an area in px.
pub(crate) fn dims<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> (i32, i32) {
    let (w, h) = area.dim_in_pixel();
    (
        i32::try_from(w).unwrap_or(i32::MAX),
        i32::try_from(h).unwrap_or(i32::MAX),
    )
}

/// The red boxed `示例数据` label, right-aligned at `right`, top at `top`.
fn example_badge<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    right: i32,
    top: i32,
) -> Result<(), ChartError> {
    let label = "示例数据";
    let style = text_at(size::BADGE, colour::EXAMPLE, HPos::Center, VPos::Center);
    let (tw, _) = measure(root, label, &style);
    let (bw, bh) = (tw + 56, (size::BADGE * 1.25) as i32);
    let (x0, y0) = (right - bw, top);
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + bw, y0 + bh)],
        RGBColor(0xFD, 0xEC, 0xEC).filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + bw, y0 + bh)],
        colour::EXAMPLE.stroke_width(5),
    ))?;
    root.draw(&Text::new(label, (x0 + bw / 2, y0 + bh / 2), style))?;
    Ok(())
}

/// The large, faint `示例数据` watermark across an area (drawn last, over the data).
pub(crate) fn watermark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    example: bool,
) -> Result<(), ChartError> {
    if !example {
        return Ok(());
    }
    let (w, h) = dims(area);
    let s = (f64::from(w) / 3.6).min(f64::from(h) * 0.75).max(40.0);
    let style = text_at(s, colour::EXAMPLE.mix(0.13), HPos::Center, VPos::Center);
    area.draw(&Text::new("示例数据", (w / 2, h / 2), style))?;
    Ok(())
}

/// A boxed grey note centred in `area`, e.g. `无水位监测数据`.
pub(crate) fn note_center<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    note: &str,
) -> Result<(), ChartError> {
    let (w, h) = dims(area);
    note_box(area, note, (w / 2, h / 2))
}

/// A boxed grey note centred at `at` (pixel coordinates of `area`).
pub(crate) fn note_box<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    note: &str,
    at: (i32, i32),
) -> Result<(), ChartError> {
    let style = text_at(size::NOTE, colour::MUTED, HPos::Center, VPos::Center);
    let (tw, _) = measure(area, note, &style);
    let (bw, bh) = (tw + 64, (size::NOTE * 1.35) as i32);
    let (x0, y0) = (at.0 - bw / 2, at.1 - bh / 2);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + bw, y0 + bh)],
        RGBColor(0xF6, 0xF6, 0xF6).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + bw, y0 + bh)],
        colour::MUTED.stroke_width(2),
    ))?;
    area.draw(&Text::new(note.to_owned(), at, style))?;
    Ok(())
}

/// Text on a translucent white box, for data labels that may cross lines or bars.
/// `style` carries the anchor; the box follows plotters' glyph placement (ink from ≈ 0.22 size
/// above the anchor box top to ≈ 0.62 size below it).
pub(crate) fn boxed_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), ChartError> {
    let (w, h) = measure(area, s, style);
    let size = style.font.get_size();
    let x0 = match style.pos.h_pos {
        HPos::Left => x,
        HPos::Right => x - w,
        HPos::Center => x - w / 2,
    };
    let y0 = match style.pos.v_pos {
        VPos::Top => y,
        VPos::Center => y - h / 2,
        VPos::Bottom => y - h,
    };
    area.draw(&Rectangle::new(
        [
            (x0 - 8, y0 - (size * 0.24) as i32),
            (x0 + w + 8, y0 + (size * 0.66) as i32),
        ],
        WHITE.mix(0.85).filled(),
    ))?;
    area.draw(&Text::new(s.to_owned(), (x, y), style.clone()))?;
    Ok(())
}

/// A y-axis title of one or more lines, rotated, centred on the plot's vertical extent, at the left
/// edge of `panel`; for titles too long for one line (the 1985 datum).
pub(crate) fn y_title<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    plot_y: std::ops::Range<i32>,
    lines: &[(&str, f64)],
) -> Result<(), ChartError> {
    let base = panel.get_base_pixel();
    let cy = (plot_y.start + plot_y.end) / 2 - base.1;
    let mut x = 0;
    for (line, size) in lines {
        let step = (size * 0.95) as i32;
        let style = text_at(*size, colour::TEXT, HPos::Center, VPos::Center)
            .transform(FontTransform::Rotate270);
        panel.draw(&Text::new((*line).to_owned(), (x + step / 2, cy), style))?;
        x += step;
    }
    Ok(())
}

/// A limit or quota line: red on a white halo, so it stays visible across bars of any colour.
pub(crate) fn limit_line<DB, CT>(
    da: &DrawingArea<DB, CT>,
    points: Vec<(f64, f64)>,
) -> Result<(), ChartError>
where
    DB: DrawingBackend,
    CT: CoordTranslate<From = (f64, f64)>,
{
    da.draw(&PathElement::new(
        points.clone(),
        WHITE.stroke_width(stroke::LIMIT + 6),
    ))?;
    da.draw(&PathElement::new(
        points,
        colour::LIMIT.stroke_width(stroke::LIMIT),
    ))?;
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A solid line.
    Line(RGBColor),
    /// A solid line with a dot in the middle (a series with markers).
    LineDot(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A filled box.
    Bar(RGBColor),
    /// A light box hatched in the colour (a projection).
    Hatched(RGBColor),
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub swatch: Swatch,
    pub label: String,
}

impl LegendItem {
    pub(crate) fn new(swatch: Swatch, label: impl Into<String>) -> Self {
        Self {
            swatch,
            label: label.into(),
        }
    }
}

const SWATCH_W: i32 = 76;
const MAX_LEGEND_ROWS: usize = 5;
const SWATCH_GAP: i32 = 16;
const ITEM_GAP: i32 = 60;

fn legend_row_height() -> i32 {
    (size::LEGEND * 1.0) as i32 + 8
}

/// Lays the items out in rows across `area`'s width: returns each row's items with x offsets.
fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Vec<Vec<(i32, LegendItem)>> {
    let (w, _) = dims(area);
    let style = text(size::LEGEND, colour::TEXT);
    let mut rows: Vec<Vec<(i32, LegendItem)>> = Vec::new();
    let mut row = Vec::new();
    let mut x = 0;
    for item in items {
        let item_w = SWATCH_W + SWATCH_GAP + measure(area, &item.label, &style).0;
        if x > 0 && x + item_w > w {
            rows.push(std::mem::take(&mut row));
            x = 0;
        }
        row.push((x, item.clone()));
        x += item_w + ITEM_GAP;
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Draws a legend strip at the top of `area` and returns the area below it.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    if items.is_empty() {
        return Ok(area.margin(0, 0, 0, 0));
    }
    // At most MAX_LEGEND_ROWS rows; what does not fit is counted, not silently dropped.
    let mut shown: Vec<LegendItem> = items.to_vec();
    let mut rows = legend_rows(area, &shown);
    while rows.len() > MAX_LEGEND_ROWS && shown.len() > 1 {
        if shown.last().is_some_and(|l| l.label.starts_with("另有 ")) {
            shown.pop();
        }
        shown.pop();
        let hidden = items.len() - shown.len();
        shown.push(LegendItem::new(
            Swatch::Bar(WHITE),
            format!("另有 {hidden} 项未列出"),
        ));
        rows = legend_rows(area, &shown);
    }
    let rh = legend_row_height();
    let style = text_at(size::LEGEND, colour::TEXT, HPos::Left, VPos::Center);
    for (r, row) in rows.iter().enumerate() {
        let cy = rh / 2 + r as i32 * rh;
        for (x, item) in row {
            draw_swatch(area, item.swatch, *x, cy)?;
            area.draw(&Text::new(
                item.label.clone(),
                (x + SWATCH_W + SWATCH_GAP, cy),
                style.clone(),
            ))?;
        }
    }
    let used = rh * rows.len() as i32 + 20;
    Ok(area.margin(used.max(0) as u32, 0, 0, 0))
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    x: i32,
    cy: i32,
) -> Result<(), ChartError> {
    let (x1, half) = (x + SWATCH_W, 16);
    match swatch {
        Swatch::Line(c) => {
            area.draw(&PathElement::new(
                vec![(x, cy), (x1, cy)],
                c.stroke_width(stroke::DATA),
            ))?;
        }
        Swatch::LineDot(c) => {
            area.draw(&PathElement::new(
                vec![(x, cy), (x1, cy)],
                c.stroke_width(stroke::DATA),
            ))?;
            area.draw(&Circle::new((x + SWATCH_W / 2, cy), 10, c.filled()))?;
        }
        Swatch::Dashed(c) => {
            area.draw(&DashedPathElement::new(
                vec![(x, cy), (x1, cy)],
                18,
                10,
                c.stroke_width(stroke::TREND),
            ))?;
        }
        Swatch::Bar(c) => {
            area.draw(&Rectangle::new(
                [(x, cy - half), (x1, cy + half)],
                c.filled(),
            ))?;
        }
        Swatch::Hatched(c) => {
            hatched_rect(area, (x, cy - half), (x1, cy + half), c)?;
        }
    }
    Ok(())
}

/// A light rectangle hatched with 45° lines and outlined in `c` (pixel coordinates of `area`);
/// marks projected, not yet measured quantities.
pub(crate) fn hatched_rect<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    c: RGBColor,
) -> Result<(), ChartError> {
    // Clamped to the area, so the hatching loop is bounded whatever the coordinates.
    let (w, h) = dims(area);
    let cx = |x: i32| x.clamp(-4, w.saturating_add(4));
    let cy = |y: i32| y.clamp(-4, h.saturating_add(4));
    let (x0, x1) = (cx(x0.min(x1)), cx(x0.max(x1)));
    let (y0, y1) = (cy(y0.min(y1)), cy(y0.max(y1)));
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.mix(0.15).filled()))?;
    const SPACING: i32 = 18;
    // Lines x + y = k, bottom-left to top-right, clipped to the rectangle.
    let mut k = x0 + y0 + SPACING;
    while k < x1 + y1 {
        let xa = x0.max(k - y1);
        let xb = x1.min(k - y0);
        if xa < xb {
            area.draw(&PathElement::new(
                vec![(xa, k - xa), (xb, k - xb)],
                c.stroke_width(3),
            ))?;
        }
        k += SPACING;
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.stroke_width(3)))?;
    Ok(())
}

pub(crate) use crate::domain::volume::wan;

/// Formats a number with at most `decimals` decimals, dropping trailing zeros and `-0`.
pub(crate) fn trim_decimal(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// A limit as the plan writes it: 亿 m³ from 1亿 up when that is exact to 0.01亿, else 万 m³.
pub(crate) fn limit_text(m3: f64) -> String {
    let yi = m3 / 1e8;
    if yi >= 1.0 && (yi * 100.0 - (yi * 100.0).round()).abs() < 1e-6 {
        format!("{}亿 m³", trim_decimal(yi, 2))
    } else {
        format!("{}万 m³", wan(m3))
    }
}

/// An axis range covering `values` (non-finite ignored) padded by `pad` of the span on each side;
/// never empty, never NaN. `include_zero` anchors bar charts at 0.
pub(crate) fn value_range(
    values: impl IntoIterator<Item = f64>,
    pad: f64,
    include_zero: bool,
) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        // One distinct value: a fixed window around it (1 m for a level, 1 unit in general).
        let d = (hi.abs() * 1e-3).max(1.0);
        return (
            if include_zero && lo >= 0.0 {
                0.0
            } else {
                lo - d
            },
            hi + d,
        );
    }
    let lo = if include_zero && lo >= 0.0 {
        lo
    } else {
        lo - span * pad
    };
    (lo, hi + span * pad)
}

/// Applies the house mesh style: light grid at the labelled ticks, no minor grid, dark axes.
pub(crate) fn style_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    DB: DrawingBackend,
{
    mesh.label_style(text(size::TICK, colour::TEXT))
        .axis_desc_style(text(size::AXIS, colour::TEXT))
        .bold_line_style(colour::GRID.stroke_width(stroke::GRID))
        .light_line_style(TRANSPARENT)
        .max_light_lines(0)
        .axis_style(colour::AXIS.stroke_width(stroke::AXIS))
        .set_all_tick_mark_size(12)
}

/// An f64 axis with explicit tick positions.
///
/// plotters' own `with_key_points` wrapper has no value formatter for f64, so no mesh can be drawn
/// over it; this one takes the default formatting slot and every chart sets its own formatter.
#[derive(Clone)]
pub(crate) struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    /// An axis over `range` (which may run high to low) with labels at `ticks` inside it.
    pub(crate) fn new(range: Range<f64>, mut ticks: Vec<f64>) -> Self {
        let (lo, hi) = (range.start.min(range.end), range.start.max(range.end));
        ticks.retain(|t| (lo..=hi).contains(t));
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ticked {
    /// An axis over `range` with "nice" ticks (1, 2, 2.5 or 5 × 10^k apart), at most `max` of
    /// them, and the number of decimals their labels need (use with [`fixed`]).
    pub(crate) fn nice(range: Range<f64>, max: usize) -> (Self, usize) {
        let (ticks, decimals) = nice_ticks(range.start, range.end, max);
        (Self::new(range, ticks), decimals)
    }
}

/// Tick positions 1, 2, 2.5 or 5 × 10^k apart covering `a..b` (either order), at most `max`, and
/// the decimals their labels need so that all labels of an axis have the same form.
pub(crate) fn nice_ticks(a: f64, b: f64, max: usize) -> (Vec<f64>, usize) {
    let (lo, hi) = (a.min(b), a.max(b));
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || max == 0 {
        return (Vec::new(), 0);
    }
    let mag = 10f64.powf((span / max as f64).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= max as f64)
        .unwrap_or(10.0 * mag);
    let decimals = (0..=6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, decimals)
}

/// A number with exactly `decimals` decimals (axis labels), `-0` shown as `0`.
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// Finite (x, y) points sorted by x, split where consecutive points are more than `max_gap` apart:
/// each run is drawn as its own line, so a long gap in monitoring is not bridged by a straight line.
pub(crate) fn runs(mut points: Vec<(f64, f64)>, max_gap: f64) -> Vec<Vec<(f64, f64)>> {
    points.retain(|(x, y)| x.is_finite() && y.is_finite());
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.0 - q.0 <= max_gap) => run.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}

/// Tick positions for a time axis in fractional years: year starts for spans of two years or more
/// (every second year beyond twelve), month starts otherwise. Returns the ticks and whether they
/// are months.
pub(crate) fn time_ticks(lo: f64, hi: f64) -> (Vec<f64>, bool) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (Vec::new(), false);
    }
    if span >= 2.0 {
        let step = if span > 12.0 { 2 } else { 1 };
        let (first, last) = (lo.ceil() as i64, hi.floor() as i64);
        let ticks = (first..=last)
            .filter(|y| y.rem_euclid(step) == 0)
            .map(|y| y as f64)
            .collect();
        return (ticks, false);
    }
    let months = (span * 12.0).ceil() as i64;
    let step = (months / 10 + 1).clamp(1, 6);
    let mut ticks = Vec::new();
    let start = (lo * 12.0).ceil() as i64;
    let end = (hi * 12.0).floor() as i64;
    for m in start..=end {
        if m.rem_euclid(step) == 0 {
            ticks.push(month_start(m));
        }
    }
    (ticks, true)
}

/// The fractional year at which month index `m` (= year × 12 + month − 1) starts.
fn month_start(m: i64) -> f64 {
    let year = m.div_euclid(12) as i32;
    let month = (m.rem_euclid(12) + 1) as u8;
    super::spec::Ymd::new(year, month, 1).fractional_year()
}

/// Label of a time tick made by [`time_ticks`]: `2026` or `2026-07`.
pub(crate) fn time_label(v: f64, monthly: bool) -> String {
    let year = v.floor();
    if !monthly {
        return format!("{year:.0}");
    }
    let month = ((v - year) * 12.0 + 0.5).floor().clamp(0.0, 11.0) as u32 + 1;
    format!("{year:.0}-{month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(wan(12_345_000.0), "1234.5");
        assert_eq!(wan(76_020_000.0), "7602.0");
        assert_eq!(wan(f64::NAN), "—");
        assert_eq!(wan(-1.0), "0.0");
        assert_eq!(limit_text(150_000_000.0), "1.5亿 m³");
        assert_eq!(limit_text(76_020_000.0), "7602.0万 m³");
        assert_eq!(limit_text(149_920_000.0), "14992.0万 m³");
    }

    #[test]
    fn nice_ticks_have_uniform_labels() {
        let (t, d) = nice_ticks(758.6, 762.9, 6);
        let labels: Vec<String> = t.iter().map(|v| fixed(*v, d)).collect();
        assert_eq!(labels, ["759", "760", "761", "762"]);
        let (t, d) = nice_ticks(758.6, 761.9, 8);
        let labels: Vec<String> = t.iter().map(|v| fixed(*v, d)).collect();
        assert_eq!(
            labels,
            ["759.0", "759.5", "760.0", "760.5", "761.0", "761.5"]
        );
        let (t, d) = nice_ticks(0.0, 2290.0, 6);
        assert_eq!((t.len(), d), (5, 0));
        assert_eq!(fixed(t[4], d), "2000");
        let (t, d) = nice_ticks(62.0, 41.0, 8);
        assert_eq!(d, 0);
        assert_eq!(fixed(t[0], d), "45");
        let (t, d) = nice_ticks(0.0, 1.3, 6);
        assert_eq!((fixed(t[1], d), d), ("0.25".to_owned(), 2));
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert!(nice_ticks(1.0, 1.0, 5).0.is_empty());
        assert!(nice_ticks(f64::NAN, 1.0, 5).0.is_empty());
    }

    #[test]
    fn runs_split_at_gaps_and_skip_nan() {
        let r = runs(
            vec![(3.0, 1.0), (1.0, f64::NAN), (0.0, 1.0), (0.5, 2.0)],
            1.0,
        );
        assert_eq!(r, vec![vec![(0.0, 1.0), (0.5, 2.0)], vec![(3.0, 1.0)]]);
        assert!(runs(Vec::new(), 1.0).is_empty());
    }

    #[test]
    fn time_ticks_years_and_months() {
        let (t, monthly) = time_ticks(2019.9, 2027.6);
        assert!(!monthly);
        assert_eq!(
            t,
            vec![
                2020.0, 2021.0, 2022.0, 2023.0, 2024.0, 2025.0, 2026.0, 2027.0
            ]
        );
        let (t, monthly) = time_ticks(2026.0, 2026.99);
        assert!(monthly);
        assert_eq!(time_label(t[0], true), "2026-01");
        assert_eq!(
            time_label(t[t.len() - 1], true),
            "2026-11",
            "every second month"
        );
        assert!(time_ticks(1.0, 1.0).0.is_empty());
        assert!(time_ticks(f64::NAN, 1.0).0.is_empty());
    }

    #[test]
    fn ranges_are_never_degenerate() {
        assert_eq!(value_range([], 0.1, true), (0.0, 1.0));
        assert_eq!(
            value_range([f64::NAN, f64::INFINITY], 0.1, false),
            (0.0, 1.0)
        );
        let (lo, hi) = value_range([0.0, 0.0], 0.1, true);
        assert!(lo < hi);
        let (lo, hi) = value_range([812.3], 0.1, false);
        assert!(lo < 812.3 && hi > 812.3);
        let (lo, hi) = value_range([10.0, 20.0], 0.1, true);
        assert_eq!((lo, hi), (0.0, 22.0));
    }
}
