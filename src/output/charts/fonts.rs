//! The one place where chart fonts are registered.
//!
//! plotters (built with `ab_glyph`, without `ttf`) renders bitmap text only with fonts registered
//! through `register_font`; it never asks the system. The charts therefore embed a subset of
//! Noto Sans CJK SC Regular (SIL OFL 1.1, see `assets/fonts/README.md`) and register it under
//! [`FAMILY`]. That string does two jobs: it is the key the bitmap backend looks glyphs up by, and it
//! is the literal `font-family` attribute the SVG backend writes into every `<text>`, so an SVG viewer
//! resolves it as an ordinary CSS family list and picks whichever CJK face the reader has.
//!
//! The subset's `hhea` ascender/descender were rescaled to 1.24 em (see the README): plotters
//! scales bitmap glyphs so that ascent − descent equals the requested size, while its SVG backend
//! writes `font-size = size / 1.24`. With the rescaled metrics both backends draw text at the same
//! size and the layout estimates used for label areas hold for both.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::ChartError;

/// The font-family list registered with plotters and written into SVG `<text>` elements.
pub const FAMILY: &str = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, \
                          PingFang SC, WenQuanYi Micro Hei, SimHei, sans-serif";

/// The embedded font: Noto Sans CJK SC Regular subset to ASCII, Latin-1, GB18030 level 1 (every
/// GBK character and the CJK Unified Ideographs with Extension A) and chart symbols.
pub static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-gwmon-subset.otf");

static REGISTERED: OnceLock<bool> = OnceLock::new();
static PARSED: OnceLock<Option<ab_glyph::FontRef<'static>>> = OnceLock::new();
/// Where the fallback font comes from: called once, the first time a chart needs a character
/// the embedded font lacks. Returns the file's bytes and the face index.
pub type FallbackSource = Box<dyn Fn() -> Option<(Vec<u8>, u32)> + Send + Sync>;

static FALLBACK_SOURCE: OnceLock<FallbackSource> = OnceLock::new();
static FALLBACK: OnceLock<Option<ab_glyph::FontVec>> = OnceLock::new();

/// Names where the font that draws, in PNG charts, the characters the embedded font has no glyph
/// for comes from. Once per process (a second call is ignored and returns false). The font is
/// read only when a chart first needs it, so a process that never meets such a character pays
/// nothing; this module itself touches no files.
pub fn set_fallback_source(source: FallbackSource) -> bool {
    FALLBACK_SOURCE.set(source).is_ok()
}

/// The fallback font, loaded on first use; `None` without a source or when the source gives
/// nothing ab_glyph can read.
pub(crate) fn fallback() -> Option<&'static ab_glyph::FontVec> {
    // Without a source yet, nothing is cached: a source set later still counts.
    let source = FALLBACK_SOURCE.get()?;
    FALLBACK
        .get_or_init(|| {
            let (bytes, index) = source()?;
            match ab_glyph::FontVec::try_from_vec_and_index(bytes, index) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!("the fallback chart font could not be read ({e}): characters outside GB18030 level 1 are drawn as boxes; set [report] fallback_font to a TTF, OTF or TTC file");
                    None
                }
            }
        })
        .as_ref()
}

/// The embedded font parsed once, for drawing glyphs directly (see `render::GlyphFix`).
pub(crate) fn font() -> Option<&'static ab_glyph::FontRef<'static>> {
    PARSED
        .get_or_init(|| ab_glyph::FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// Registers the embedded font with plotters under [`FAMILY`].
///
/// Idempotent and thread-safe: the first call registers, later calls return the first outcome.
/// Every drawing function in this module calls it, so a caller only needs it when drawing text of
/// its own with [`FAMILY`] before any chart was drawn.
pub fn register() -> Result<(), ChartError> {
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// Characters of `text` that neither the embedded font nor the fallback font has a glyph for
/// (rendered as empty boxes).
///
/// Control characters are ignored. A caller that passes free text into a chart (a verdict, a
/// criterion, a well id) can check it with this before rendering an official report.
pub fn missing_glyphs(text: &str) -> Vec<char> {
    use ab_glyph::Font;
    let mut missing = missing_glyphs_in_embedded(text);
    missing.retain(|c| fallback().is_none_or(|f| f.glyph_id(*c).0 == 0));
    missing
}

/// Characters of `text` the embedded font alone has no glyph for, sorted, once each.
pub fn missing_glyphs_in_embedded(text: &str) -> Vec<char> {
    use ab_glyph::Font;
    let Some(font) = font() else {
        return text.chars().filter(|c| !c.is_control()).collect();
    };
    let mut missing: Vec<char> = text
        .chars()
        .filter(|c| !c.is_control() && font.glyph_id(*c).0 == 0)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font, FontRef};

    #[test]
    fn register_is_idempotent() {
        register().expect("first registration");
        register().expect("second registration");
    }

    #[test]
    fn font_is_the_simplified_chinese_face_with_rescaled_metrics() {
        let font = FontRef::try_from_slice(FONT_BYTES).expect("embedded font parses");
        let upm = font.units_per_em().expect("units per em");
        let height = font.height_unscaled() / upm;
        assert!(
            (height - 1.24).abs() < 0.002,
            "ascent - descent = {height} em, expected 1.24"
        );
        // 骨 and 直 have different shapes in the SC and JP faces; the test only checks coverage,
        // the face choice is checked by the README's build command (font number 2 = SC).
        assert!(missing_glyphs("骨直").is_empty());
    }

    #[test]
    fn covers_every_county_name_and_fixed_words() {
        let names = "小店区 迎泽区 杏花岭区 尖草坪区 万柏林区 晋源区 清徐县 阳曲县 娄烦县 古交市 \
                     太原市 太原供水集团 示例数据 无水位监测数据 万 m³ 亿 m³ ≤ ≥ × ÷ ％ （ ） ： ， 。 ℃ ² · — –";
        assert_eq!(missing_glyphs(names), Vec::<char>::new());
    }

    #[test]
    fn reports_missing_glyphs() {
        // U+1F600 (emoji) is in neither the subset nor any CJK fallback.
        assert_eq!(missing_glyphs("水\u{1F600}"), vec!['\u{1F600}']);
    }

    #[test]
    fn covers_names_outside_gb2312() {
        // Given names outside GB2312 that appear on well and intake names (GBK / GB18030 level 1),
        // and a CJK Extension A character.
        assert_eq!(missing_glyphs("昇 喆 镕 玥 珺 堃 㙟"), Vec::<char>::new());
    }
}
