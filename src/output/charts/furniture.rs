//! Page furniture shared by every chart: title and subtitle, footer, the `示例数据` badge and
//! watermark, notes for missing data, legends, hatching and limit lines.
//!
//! Legends are drawn by hand in a strip above the plot rather than with plotters' series labels:
//! they never cover data, wrap to several rows for ten wells, and can show hatched swatches.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::layout::{dims, measure, wrap};
use super::spec::ChartMeta;
use super::style::{MARGIN, colour, size, stroke, text, text_at};

/// A headline in the note size and colour `c`, wrapped across the top of `area`; returns the
/// area below it.
pub(crate) fn headline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    c: RGBColor,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (w, _) = dims(area);
    let style = text_at(size::NOTE, c, HPos::Left, VPos::Top);
    let line_h = (size::NOTE * 1.05) as i32;
    let lines = super::layout::wrap_with(s, w, |x| super::layout::text_width(x, size::NOTE));
    for (i, line) in lines.iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (0, i as i32 * line_h),
            style.clone(),
        ))?;
    }
    Ok(area.margin((lines.len() as i32 * line_h + 16) as u32, 0, 0, 0))
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
    let mut top = if meta.untitled {
        // The example label sits where the title would: what follows starts below it.
        MARGIN - 8
            + if meta.example {
                (size::BADGE * 1.5) as i32
            } else {
                0
            }
    } else {
        let title_style = text_at(size::TITLE, colour::TEXT, HPos::Left, VPos::Top);
        let full_title = format!("{} {}", meta.place, title);
        root.draw(&Text::new(full_title, (MARGIN, MARGIN - 8), title_style))?;
        MARGIN - 8 + (size::TITLE * 1.02) as i32
    };
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
    footer.push_str(&format!("数据截至 {}", meta.as_of));
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

/// The large, faint `示例数据` watermark across an area; draw it before the data, so it lies
/// behind the bars and lines.
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
    /// A solid line with a square in the middle (a series marked at intervals).
    LineSquare(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A dotted line (a trend extended past the data).
    Dotted(RGBColor),
    /// A filled box.
    Bar(RGBColor),
    /// A light box hatched in the colour (a projection).
    Hatched(RGBColor),
    /// A white box with horizontal stripes in the colour (an earlier year's bars).
    Striped(RGBColor),
    /// A white box outlined in the colour (the earliest year's bars).
    Outlined(RGBColor),
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
        Swatch::LineSquare(c) => {
            area.draw(&PathElement::new(
                vec![(x, cy), (x1, cy)],
                c.stroke_width(stroke::DATA - 2),
            ))?;
            let mx = x + SWATCH_W / 2;
            area.draw(&Rectangle::new(
                [(mx - 9, cy - 9), (mx + 9, cy + 9)],
                c.filled(),
            ))?;
        }
        Swatch::Dashed(c) => {
            area.draw(&DashedPathElement::new(
                vec![(x, cy), (x1, cy)],
                18,
                10,
                c.stroke_width(stroke::TREND),
            ))?;
        }
        Swatch::Dotted(c) => {
            area.draw(&DashedPathElement::new(
                vec![(x, cy), (x1, cy)],
                4,
                12,
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
        Swatch::Striped(c) => {
            patterned_rect(area, (x, cy - half), (x1, cy + half), c, Fill::Striped)?;
        }
        Swatch::Outlined(c) => {
            patterned_rect(area, (x, cy - half), (x1, cy + half), c, Fill::Outlined)?;
        }
    }
    Ok(())
}

/// How a bar is filled, so that bars of one colour family stay apart in a greyscale print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fill {
    Solid,
    /// White with horizontal stripes in the colour, outlined.
    Striped,
    /// White, outlined in the colour.
    Outlined,
}

impl Fill {
    /// The legend swatch of a bar in colour `c` filled so.
    pub(crate) fn swatch(self, c: RGBColor) -> Swatch {
        match self {
            Fill::Solid => Swatch::Bar(c),
            Fill::Striped => Swatch::Striped(c),
            Fill::Outlined => Swatch::Outlined(c),
        }
    }
}

/// The corners of a rectangle ordered (top left, bottom right) and clamped to a few pixels
/// around `area`, so pattern loops are bounded whatever the coordinates.
fn clamped<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
) -> ((i32, i32), (i32, i32)) {
    let (w, h) = dims(area);
    let cx = |x: i32| x.clamp(-4, w.saturating_add(4));
    let cy = |y: i32| y.clamp(-4, h.saturating_add(4));
    (
        (cx(x0.min(x1)), cy(y0.min(y1))),
        (cx(x0.max(x1)), cy(y0.max(y1))),
    )
}

/// A bar in `c` filled as `fill` (pixel coordinates of `area`).
pub(crate) fn patterned_rect<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    c: RGBColor,
    fill: Fill,
) -> Result<(), ChartError> {
    let ((x0, y0), (x1, y1)) = clamped(area, (x0, y0), (x1, y1));
    if fill == Fill::Solid {
        area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.filled()))?;
        return Ok(());
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.filled()))?;
    if fill == Fill::Striped {
        const SPACING: usize = 12;
        for y in (y0 + 6..y1).rev().step_by(SPACING) {
            area.draw(&PathElement::new(vec![(x0, y), (x1, y)], c.stroke_width(4)))?;
        }
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.stroke_width(4)))?;
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
    let ((x0, y0), (x1, y1)) = clamped(area, (x0, y0), (x1, y1));
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
