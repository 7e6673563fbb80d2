//! The house look of every chart: canvas width and margin, text sizes, line widths, colours, text
//! styles in the embedded font, and the mesh (grid and axes) style.
//!
//! The charts are pasted unchanged into A4 reports at ≈ 16 cm width, so a 2400 px wide canvas is
//! ≈ 150 px/cm. The text sizes below are chosen for that scale: tick labels ≈ 7.5 pt, axis titles and
//! legends ≈ 8.5 pt, titles ≈ 12 pt once printed (plotters' size s gives an em of s / 1.24 px with
//! the embedded font). Everything is drawn in pixel units of that canvas, for PNG and SVG alike.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::fonts::FAMILY;

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

/// Colours. Series and verdicts use the Okabe–Ito palette, which readers with any common colour
/// vision deficiency can tell apart; wherever a colour carries meaning a marker, dash pattern,
/// hatching or symbol carries it too, so a greyscale print loses nothing.
pub(crate) mod colour {
    use plotters::style::RGBColor;
    pub const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
    pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
    pub const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
    pub const AXIS: RGBColor = RGBColor(0x44, 0x44, 0x44);
    pub const BAR: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
    pub const CURRENT: RGBColor = RGBColor(0x1F, 0x4E, 0x79);
    pub const LIMIT: RGBColor = RGBColor(0xC8, 0x1E, 0x1E);
    pub const OVER: RGBColor = RGBColor(0xD6, 0x3A, 0x3A);
    pub const UNDER: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
    pub const LEVEL: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
    pub const TREND: RGBColor = RGBColor(0xE0, 0x6C, 0x00);
    pub const DEADLINE: RGBColor = RGBColor(0x55, 0x55, 0x55);
    pub const EXAMPLE: RGBColor = RGBColor(0xC8, 0x1E, 0x1E);

    /// The Okabe–Ito colours (black is the text colour; yellow is too faint on white to use).
    pub const OI_ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    pub const OI_SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    pub const OI_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    pub const OI_BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    pub const OI_VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    pub const OI_PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);

    /// Verdict colours: ready, at risk, not ready, insufficient data (each also has a symbol).
    pub const READY: RGBColor = OI_GREEN;
    pub const AT_RISK: RGBColor = OI_ORANGE;
    pub const NOT_READY: RGBColor = OI_VERMILLION;
    pub const NO_DATA: RGBColor = RGBColor(0x77, 0x77, 0x77);

    /// Series colours for wells, groups and years, in order (Okabe–Ito; yellow last, it is faint
    /// on white).
    pub const SERIES: [RGBColor; 7] = [
        OI_BLUE,
        OI_VERMILLION,
        OI_GREEN,
        OI_PURPLE,
        OI_ORANGE,
        OI_SKY,
        RGBColor(0x00, 0x00, 0x00),
    ];

    /// The colour of a series of aquifer type `label` (浅层孔隙水, …): the same in every
    /// county's charts, whichever types a county has. A group that is no aquifer type takes
    /// the colours after them, by its position `n`.
    pub fn aquifer(label: &str, n: usize) -> RGBColor {
        let types = crate::domain::Aquifer::ALL;
        match types.iter().position(|a| a.label() == label) {
            Some(i) => SERIES[i % SERIES.len()],
            None => SERIES[(types.len() + n) % SERIES.len()],
        }
    }
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
