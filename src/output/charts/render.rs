//! Output plumbing shared by all charts: one drawing function per chart, run against plotters'
//! SVG backend (text kept as `<text>`) and bitmap backend (PNG), into bytes in memory.
//!
//! Every chart is drawn by the same code for both formats, on a canvas of the same pixel size, so
//! the PNG and the SVG of a chart show the same layout. Bitmap text goes through [`GlyphFix`]
//! (plotters misplaces glyphs otherwise).
//!
//! PNG encoding uses the `png` crate on the RGB buffer plotters drew into, rather than plotters'
//! file backend: the bytes are available in memory (reports embed them) and the file carries a
//! pHYs of 150 px/cm, so word processors insert a 2400 px chart at 16 cm, the A4 text width.
//! Measured on the 2-core machine (release, one county's five charts): drawing 5–14 ms per chart;
//! encoding with the fast deflate setting and the Paeth filter 3–4 ms and 120–620 kB per chart —
//! the same speed and size as plotters' own encoder. The default deflate level would halve the
//! files but cost 25–45 ms per chart (≈ 280 ms instead of ≈ 70 ms per county), so speed wins.

use ab_glyph::{Font, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::layout::{PxRect, ink_box_raw};
use super::spec::{
    CityOverview, CumulativeWithdrawal, ExitReadiness, Hydrographs, MonthlyWithdrawal, WayOut,
    WithdrawalBySource,
};
use super::{city, cumulative, fonts, hydrograph, monthly, readiness, source, way_out};

/// Why a chart could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font did not parse (a broken build, not bad data).
    #[error("the embedded chart font could not be registered with plotters")]
    Font,
    /// plotters reported an error while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
    /// The output stem would leave the output directory or is empty.
    #[error("invalid chart file stem '{0}': expected a plain file name without '/', '\\' or '..'")]
    Stem(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

/// One chart with its data, borrowed: what [`render_all`], [`render_svg`] and [`render_png`] draw.
#[derive(Debug, Clone, Copy)]
pub enum ChartKind<'a> {
    /// Chart 1: withdrawal against quota by year and the level trend, with the verdict.
    ExitReadiness(&'a ExitReadiness),
    /// Chart 2: cumulative withdrawal of the current year.
    Cumulative(&'a CumulativeWithdrawal),
    /// Chart 3: monthly withdrawal of recent years.
    Monthly(&'a MonthlyWithdrawal),
    /// Chart 4: hydrographs of the monitoring wells.
    Hydrographs(&'a Hydrographs),
    /// Chart 5: the city's budget split and the counties ranked by k.
    CityOverview(&'a CityOverview),
    /// Chart 6: withdrawal by water source and year, with the reduction against the base year.
    BySource(&'a WithdrawalBySource),
    /// Chart 7: the way out, from this year's projection through the measures to the exit
    /// year's allowed withdrawal.
    WayOut(&'a WayOut),
}

impl ChartKind<'_> {
    /// Canvas size in px (PNG pixels; the SVG has the same width and height).
    pub fn size(&self) -> (u32, u32) {
        match self {
            ChartKind::ExitReadiness(m) => readiness::size(m),
            ChartKind::Cumulative(_) => cumulative::SIZE,
            ChartKind::Monthly(_) => monthly::SIZE,
            ChartKind::Hydrographs(m) => hydrograph::size(m),
            ChartKind::CityOverview(_) => city::SIZE,
            ChartKind::BySource(_) => source::SIZE,
            ChartKind::WayOut(m) => way_out::size(m),
        }
    }

    /// Draws the chart on any plotters backend; `root` should have [`ChartKind::size`].
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ChartError> {
        match self {
            ChartKind::ExitReadiness(m) => readiness::draw_exit_readiness(m, root),
            ChartKind::Cumulative(m) => cumulative::draw_cumulative(m, root),
            ChartKind::Monthly(m) => monthly::draw_monthly(m, root),
            ChartKind::Hydrographs(m) => hydrograph::draw_hydrographs(m, root),
            ChartKind::CityOverview(m) => city::draw_city_overview(m, root),
            ChartKind::BySource(m) => source::draw_by_source(m, root),
            ChartKind::WayOut(m) => way_out::draw_way_out(m, root),
        }
    }
}

/// Renders the chart as an SVG document (text as `<text>` in [`super::fonts::FAMILY`]).
///
/// Deterministic: the same data gives the same bytes.
pub fn render_svg(chart: ChartKind<'_>) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// One piece of text as drawn on a chart, with the box its ink covers in canvas pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// The text.
    pub text: String,
    /// Where its glyphs go (layout width from the font's advances; ink height around the
    /// baseline), rotation applied.
    pub rect: PxRect,
    /// Faint text meant to lie under everything else (the `示例数据` watermark).
    pub faint: bool,
    /// The size plotters was given, px: the embedded font's ascent − descent (1.24 em).
    pub size_px: f64,
}

impl TextBox {
    /// The text's point size when the chart is printed `width_cm` wide on a canvas `canvas_px`
    /// wide (the em, not plotters' size: 1 em = size ÷ 1.24).
    pub fn points_at(&self, width_cm: f64, canvas_px: u32) -> f64 {
        let em_cm = self.size_px / 1.24 * width_cm / f64::from(canvas_px);
        em_cm / 2.54 * 72.0
    }
}

/// Every piece of text the chart draws, with its box: what layout checks run on. Drawn on the SVG
/// backend, whose text positions are the PNG's.
pub fn text_boxes(chart: ChartKind<'_>) -> Result<Vec<TextBox>, ChartError> {
    let boxes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut svg = String::new();
    {
        let rec = Recorder {
            inner: SVGBackend::with_string(&mut svg, chart.size()),
            boxes: boxes.clone(),
        };
        let root = rec.into_drawing_area();
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(boxes.take())
}

/// What is wrong with a chart's text layout: pairs of (non-faint) text boxes that overlap, and
/// text that runs off the canvas. Empty for a chart fit to paste.
pub fn layout_problems(chart: ChartKind<'_>) -> Result<Vec<String>, ChartError> {
    let (w, h) = chart.size();
    let canvas = PxRect::new(0, 0, w as i32, h as i32);
    let boxes: Vec<TextBox> = text_boxes(chart)?
        .into_iter()
        .filter(|b| !b.faint && !b.text.trim().is_empty())
        .collect();
    let mut problems = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        if !a.rect.inside(&canvas) {
            problems.push(format!("'{}' {:?} leaves the canvas", a.text, a.rect));
        }
        for b in &boxes[i + 1..] {
            if a.rect.overlaps(&b.rect) {
                problems.push(format!(
                    "'{}' {:?} overlaps '{}' {:?}",
                    a.text, a.rect, b.text, b.rect
                ));
            }
        }
    }
    Ok(problems)
}

/// A backend wrapper that records the box of every text drawn through it.
struct Recorder<B> {
    inner: B,
    boxes: std::rc::Rc<std::cell::RefCell<Vec<TextBox>>>,
}

impl<B: DrawingBackend> DrawingBackend for Recorder<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.inner.estimate_text_size(text, style)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if let Ok(((x0, _), (x1, _))) = style.layout_box(text) {
            let r = ink_box_raw(
                x1 - x0,
                style.size(),
                (0, 0),
                style.anchor().h_pos,
                style.anchor().v_pos,
            );
            // Rotate the corners as the text is rotated, about the anchor point.
            let t = style.transform();
            let corners = [(r.x0, r.y0), (r.x1, r.y0), (r.x0, r.y1), (r.x1, r.y1)]
                .map(|(x, y)| t.transform(x, y));
            let xs = corners.map(|c| c.0);
            let ys = corners.map(|c| c.1);
            let rect = PxRect::new(
                pos.0 + xs.iter().min().copied().unwrap_or(0),
                pos.1 + ys.iter().min().copied().unwrap_or(0),
                pos.0 + xs.iter().max().copied().unwrap_or(0),
                pos.1 + ys.iter().max().copied().unwrap_or(0),
            );
            self.boxes.borrow_mut().push(TextBox {
                text: text.to_owned(),
                rect,
                faint: style.color().alpha < 0.5,
                size_px: style.size(),
            });
        }
        self.inner.draw_text(text, style, pos)
    }
}

/// Renders the chart into a packed 8-bit RGB buffer of [`ChartKind::size`].
pub fn render_rgb(chart: ChartKind<'_>) -> Result<Vec<u8>, ChartError> {
    let (w, h) = chart.size();
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = GlyphFix(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
        chart.draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// Renders the chart as PNG bytes (RGB, 8 bit, [`ChartKind::size`] pixels).
pub fn render_png(chart: ChartKind<'_>) -> Result<Vec<u8>, ChartError> {
    let (w, h) = chart.size();
    let rgb = render_rgb(chart)?;
    encode_png(&rgb, w, h)
}

/// Encodes a packed RGB buffer as PNG (fast deflate, Paeth filter; see the module notes), with a
/// pHYs of 150 px/cm (≈ 381 dpi).
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(rgb.len() / 16);
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::FilterType::Paeth);
        // 150 px/cm ≈ 381 dpi: the chart fills ≈ 16 cm, the A4 text width.
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 15_000,
            yppu: 15_000,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc
            .write_header()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| ChartError::Encode(e.to_string()))?;
    }
    Ok(out)
}

/// Renders `chart` as `stem.png` and `stem.svg`: (file name, bytes), PNG first. `stem` must be a
/// plain file name.
pub fn render_all(chart: ChartKind<'_>, stem: &str) -> Result<[(String, Vec<u8>); 2], ChartError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem.contains("..") {
        return Err(ChartError::Stem(stem.to_owned()));
    }
    let svg = render_svg(chart)?;
    let png = render_png(chart)?;
    Ok([
        (format!("{stem}.png"), png),
        (format!("{stem}.svg"), svg.into_bytes()),
    ])
}

/// A bitmap backend wrapper that draws text in the embedded font with each glyph where it belongs.
///
/// plotters 0.3.7 (`ab_glyph` feature) places every glyph's outline at the pen position and drops
/// its left side bearing, so narrow glyphs (自, 1, （) sit too far left and text looks unevenly
/// spaced. This wrapper takes over `draw_text` for [`fonts::FAMILY`] and rasterises with ab_glyph
/// honouring the bearing; it keeps plotters' anchor, rotation and baseline conventions (baseline
/// at half the size below the layout box top) so layouts are unchanged. Everything else, and text
/// in other families, is passed through. [`render_png`] and [`render_rgb`] use it; wrap your own
/// bitmap backend in it when drawing a chart with [`ChartKind::draw`].
pub struct GlyphFix<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for GlyphFix<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.0.estimate_text_size(text, style)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let font = match fonts::font() {
            Some(f) if style.family().as_str() == fonts::FAMILY => f,
            _ => return self.0.draw_text(text, style, pos),
        };
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // The same layout box, anchor offsets and rotation as plotters' default `draw_text`.
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        let (w, h) = (
            i32::try_from(w).unwrap_or(i32::MAX),
            i32::try_from(h).unwrap_or(i32::MAX),
        );
        let size = style.size() as f32;
        let scaled = font.as_scaled(size);
        // plotters' size is the embedded font's ascent − descent; a fallback glyph is drawn at
        // the same em size.
        let em = size * font.units_per_em().unwrap_or(1000.0) / font.height_unscaled();
        let fallback = fonts::fallback();
        let mut pen = 0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            let from_fallback = fallback.filter(|f| id.0 == 0 && f.glyph_id(c).0 != 0);
            let outline = if let Some(f) = from_fallback {
                let f_size = em * f.height_unscaled() / f.units_per_em().unwrap_or(1000.0);
                let f_id = f.glyph_id(c);
                prev = None;
                let glyph = f_id.with_scale_and_position(f_size, ab_glyph::point(pen, 0.0));
                pen += f.as_scaled(f_size).h_advance(f_id);
                f.outline_glyph(glyph)
            } else {
                if let Some(p) = prev {
                    pen += scaled.kern(p, id);
                }
                prev = Some(id);
                let glyph = id.with_scale_and_position(size, ab_glyph::point(pen, 0.0));
                pen += scaled.h_advance(id);
                font.outline_glyph(glyph)
            };
            let Some(outline) = outline else {
                continue;
            };
            let bounds = outline.px_bounds();
            let gx = bounds.min.x as i32;
            let gy = (size / 2.0 + bounds.min.y) as i32;
            let mut result = Ok(());
            outline.draw(|x, y, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let (lx, ly) =
                    trans.transform(gx + x as i32 + dx - min_x, gy + y as i32 + dy - min_y);
                let (px, py) = (pos.0 + lx, pos.1 + ly);
                if (0..w).contains(&px) && (0..h).contains(&py) {
                    result = self.0.draw_pixel((px, py), color.mix(f64::from(coverage)));
                }
            });
            result?;
        }
        Ok(())
    }
}
