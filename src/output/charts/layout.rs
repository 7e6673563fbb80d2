//! Text placed in pixels — measuring, wrapping, labels on a box, rotated axis titles — and the pixel
//! geometry it is placed by: an area's size and where a data point falls in it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::style::{colour, text_at};

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

/// Characters a line may not start with (Chinese line-breaking rules, 禁则): closing
/// punctuation stays with what it closes.
const NO_LINE_START: &str = "，。；：、）》」』】〕！？,.;:!?)]}%％…—～·”’";
/// Characters a line may not end with: opening punctuation stays with what it opens.
const NO_LINE_END: &str = "（《「『【〔([{“‘";

/// Whether `c` belongs to a Latin word or number that must not be broken (`Mann–Kendall`,
/// `92.0%`, `QX-01`, `m³`).
fn latin(c: char) -> bool {
    c.is_ascii_alphanumeric() || "–-_./%³²·'".contains(c) || ('À'..='ɏ').contains(&c)
}

/// Splits one paragraph into the smallest pieces a line may break between: a single CJK
/// character, a Latin word with its trailing space, closing punctuation glued to the piece before
/// it and opening punctuation to the piece after it. Pure, so the rules are tested without a font.
pub(crate) fn break_units(paragraph: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    let mut glue_next = false;
    let mut chars = paragraph.chars().peekable();
    while let Some(c) = chars.next() {
        let mut unit = String::from(c);
        if latin(c) {
            while let Some(&n) = chars.peek() {
                if latin(n) {
                    unit.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
        }
        // A space ends the unit before it (so it may hang at a line end).
        while chars.peek() == Some(&' ') {
            unit.push(' ');
            chars.next();
        }
        let closing = NO_LINE_START.contains(c);
        match units.last_mut() {
            Some(last) if glue_next || closing => last.push_str(&unit),
            _ => units.push(unit),
        }
        glue_next = unit_ends_opening(units.last().map(String::as_str).unwrap_or(""));
    }
    units
}

fn unit_ends_opening(u: &str) -> bool {
    u.chars().last().is_some_and(|c| NO_LINE_END.contains(c))
}

/// Greedy line filling over [`break_units`]: lines no wider than `max_w` px as measured by
/// `width`; a unit wider than a whole line gets a line of its own. An explicit `\n` always breaks.
pub(crate) fn wrap_with(s: &str, max_w: i32, width: impl Fn(&str) -> i32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let mut line = String::new();
        let mut line_w = 0;
        for unit in break_units(paragraph) {
            let w = width(&unit);
            if !line.is_empty() && line_w + w - width_of_trailing_space(&unit, &width) > max_w {
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                line_w = 0;
            }
            line.push_str(&unit);
            line_w += w;
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

fn width_of_trailing_space(unit: &str, width: &impl Fn(&str) -> i32) -> i32 {
    let trimmed = unit.trim_end();
    if trimmed.len() == unit.len() {
        0
    } else {
        width(&unit[trimmed.len()..])
    }
}

/// Splits `s` into lines no wider than `max_w` px in `style`, following [`break_units`]: never
/// before `，。；：、）`, never after `（`, never inside a Latin word; an explicit `\n` always breaks.
pub(crate) fn wrap<DB: DrawingBackend>(
    _area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
    max_w: i32,
) -> Vec<String> {
    let size = style.font.get_size();
    wrap_with(s, max_w, |u| text_width(u, size))
}

/// Advance width in px of `s` at plotters text size `size`, computed as plotters lays text out
/// in the embedded font (glyph advances plus kerning), without a backend: the same figure
/// `measure` gets, cheap enough to size a canvas before drawing.
pub(crate) fn text_width(s: &str, size: f64) -> i32 {
    use ab_glyph::{Font, ScaleFont};
    let Some(font) = super::fonts::font() else {
        return (s.chars().count() as f64 * size * 0.8) as i32;
    };
    let scaled = font.as_scaled(size as f32);
    let mut w = 0f32;
    let mut prev = None;
    for c in s.chars() {
        let id = scaled.glyph_id(c);
        w += scaled.h_advance(id);
        if let Some(p) = prev {
            w += scaled.kern(p, id);
        }
        prev = Some(id);
    }
    w as i32
}

/// Width of a y label area that holds tick labels as wide as `widest` and a rotated axis title:
/// at least `min`, wider when the numbers are long (a quota in the millions of 万 m³).
pub(crate) fn y_label_area(widest: &str, min: i32) -> i32 {
    let title = (super::style::size::AXIS / 1.24) as i32;
    (text_width(widest, super::style::size::TICK) + 12 + 24 + title + 16).max(min)
}

/// A pixel rectangle, `x0 <= x1`, `y0 <= y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PxRect {
    /// Left edge.
    pub x0: i32,
    /// Top edge.
    pub y0: i32,
    /// Right edge.
    pub x1: i32,
    /// Bottom edge.
    pub y1: i32,
}

impl PxRect {
    pub(crate) fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Self {
        Self {
            x0: x0.min(x1),
            y0: y0.min(y1),
            x1: x0.max(x1),
            y1: y0.max(y1),
        }
    }

    /// Whether the two rectangles share more than a pixel's width of area.
    pub fn overlaps(&self, o: &PxRect) -> bool {
        self.x0 < o.x1 - 1 && o.x0 < self.x1 - 1 && self.y0 < o.y1 - 1 && o.y0 < self.y1 - 1
    }

    /// Whether `self` lies inside `o`.
    pub fn inside(&self, o: &PxRect) -> bool {
        self.x0 >= o.x0 && self.y0 >= o.y0 && self.x1 <= o.x1 && self.y1 <= o.y1
    }

    pub(crate) fn grow(&self, d: i32) -> PxRect {
        PxRect::new(self.x0 - d, self.y0 - d, self.x1 + d, self.y1 + d)
    }
}

/// The box the ink of `s` covers when drawn at `(x, y)` in `style` (its anchor included): the
/// advance width, and from ≈ 0.22 size above the layout box top to ≈ 0.62 size below it, which is
/// where plotters (and [`GlyphFix`](super::GlyphFix)) put the glyphs.
pub(crate) fn ink_box(s: &str, (x, y): (i32, i32), style: &TextStyle<'_>) -> PxRect {
    let size = style.font.get_size();
    ink_box_raw(
        text_width(s, size),
        size,
        (x, y),
        style.pos.h_pos,
        style.pos.v_pos,
    )
}

/// [`ink_box`] from a measured width, for callers that only know the style's parts.
pub(crate) fn ink_box_raw(w: i32, size: f64, (x, y): (i32, i32), h: HPos, v: VPos) -> PxRect {
    let em = (size / 1.24) as i32;
    let x0 = match h {
        HPos::Left => x,
        HPos::Right => x - w,
        HPos::Center => x - w / 2,
    };
    let top = match v {
        VPos::Top => y,
        VPos::Center => y - em / 2,
        VPos::Bottom => y - em,
    };
    PxRect::new(
        x0,
        top - (size * 0.22) as i32,
        x0 + w,
        top + (size * 0.62) as i32,
    )
}

/// Labels placed on one area without overlapping each other or the obstacles (bars, lines) they
/// were told about: each label tries its candidate positions in order and takes the first free
/// one that lies inside the area.
pub(crate) struct Placer {
    bounds: PxRect,
    taken: Vec<PxRect>,
}

impl Placer {
    /// A placer for an area of `w` × `h` px.
    pub(crate) fn new(w: i32, h: i32) -> Self {
        Self {
            bounds: PxRect::new(0, 0, w, h),
            taken: Vec::new(),
        }
    }

    /// Marks `r` as taken (a bar top, a line, a label drawn elsewhere).
    pub(crate) fn block(&mut self, r: PxRect) {
        self.taken.push(r);
    }

    /// Whether `r` is inside the area and clear of everything taken (with `pad` px around it).
    pub(crate) fn free(&self, r: &PxRect, pad: i32) -> bool {
        let g = r.grow(pad);
        r.inside(&self.bounds) && !self.taken.iter().any(|t| t.overlaps(&g))
    }

    /// The first candidate `(position, style)` whose ink box for `s` is free; marks it taken.
    pub(crate) fn place<'s>(
        &mut self,
        s: &str,
        candidates: impl IntoIterator<Item = ((i32, i32), TextStyle<'s>)>,
    ) -> Option<((i32, i32), TextStyle<'s>)> {
        for (at, style) in candidates {
            let r = ink_box(s, at, &style);
            if self.free(&r, 6) {
                self.taken.push(r.grow(6));
                return Some((at, style));
            }
        }
        None
    }
}

/// Text on a white halo box (for labels over lines or bars), at a position a [`Placer`] chose.
pub(crate) fn halo_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), ChartError> {
    let r = ink_box(s, at, style).grow(6);
    area.draw(&Rectangle::new(
        [(r.x0, r.y0), (r.x1, r.y1)],
        WHITE.mix(0.9).filled(),
    ))?;
    area.draw(&Text::new(s.to_owned(), at, style.clone()))?;
    Ok(())
}

/// Width and height of an area in px.
pub(crate) fn dims<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> (i32, i32) {
    let (w, h) = area.dim_in_pixel();
    (
        i32::try_from(w).unwrap_or(i32::MAX),
        i32::try_from(h).unwrap_or(i32::MAX),
    )
}

/// Where the data point `p` falls in `da`, in pixels relative to `da`'s top left corner: the
/// coordinates to draw text and boxes at on `da.strip_coord_spec()`.
pub(crate) fn pixel<DB: DrawingBackend, CT: CoordTranslate>(
    da: &DrawingArea<DB, CT>,
    p: &CT::From,
) -> (i32, i32) {
    let (x, y) = da.map_coordinate(p);
    let (bx, by) = da.get_base_pixel();
    (x - bx, y - by)
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
