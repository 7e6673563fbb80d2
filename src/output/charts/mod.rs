//! Charts for the exit-readiness reports: PNG and SVG, Chinese labels, deterministic output.
//!
//! County officials paste these charts unchanged into the self-assessment report, so they are drawn
//! at 2400 px width for an A4 text width of ≈ 16 cm, with an embedded Simplified Chinese font and
//! units as the plan writes them (万 m³, 亿 m³, m).
//!
//! # Layout
//! - [`spec`]: the input structs, plain numbers and strings; the caller fills them.
//! - [`fonts`]: the embedded font and its registration with plotters (the only place).
//! - shared by all charts: `style` (canvas width, text sizes, line widths, colours, mesh style),
//!   `layout` (measuring and wrapping text, boxed labels, pixel geometry), `furniture` (title,
//!   footer, legend, `示例数据` badge and watermark, notes for missing data, hatching, limit lines),
//!   `format` (万/亿 m³, decimals, signed slopes, time labels) and `axes` (value ranges, nice and
//!   time ticks, gaps in series).
//! - one file per chart: `readiness` (1), `cumulative` (2), `monthly` (3), `hydrograph` (4,
//!   paged small multiples), `city` (5), `source` (6, withdrawal by source); each exposes a
//!   `draw_*` function that draws on any plotters backend.
//! - labels are placed with collision checks (`layout::Placer`) and lines wrap by the Chinese
//!   line-breaking rules (`layout::break_units`); [`layout_problems`] lists overlapping or clipped
//!   text of a rendered chart, from the same font metrics the layout uses.
//! - [`render`]: PNG/SVG output — [`render_all`] gives the bytes of `stem.png` and `stem.svg`.
//! - `samples` (tests only): made-up inputs for every chart in every data situation, shared with
//!   `examples/chart_samples.rs`, which writes them all and prints the time per chart.
//!
//! Data flows one way: caller's accounting → model structs → `draw_*` → backend → bytes. Nothing
//! here reads the clock, the environment, the file system or the system fonts, so the same data gives the same
//! bytes.
//!
//! # Use
//! ```ignore
//! let chart = ChartKind::ExitReadiness(&readiness); // filled from the accounting
//! let [(png_name, png), (svg_name, svg)] = render_all(chart, "readiness")?;
//! ```
//! [`render_svg`] and [`render_png`] give one format each. Drawing is synchronous CPU
//! work (≈ 15 ms per chart in release): call it from a blocking thread, not from the runtime. The
//! functions are thread-safe; charts of different counties can be rendered in parallel.
//!
//! Every chart marks `示例数据` when [`ChartMeta::example`] is set, prints a note where data is
//! missing (never a zero in its place), and treats non-finite values as missing. Free text from the
//! caller (verdict, criteria, well ids) is drawn as given: check it with
//! [`fonts::missing_glyphs`] if it may contain characters outside GB2312.

pub mod fonts;
pub mod render;
pub mod spec;

mod axes;
mod city;
mod cumulative;
mod format;
mod furniture;
mod hydrograph;
mod layout;
mod monthly;
mod readiness;
mod source;
mod style;
mod way_out;

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;

pub use city::draw_city_overview;
pub use cumulative::draw_cumulative;
pub use hydrograph::draw_hydrographs;
pub use layout::PxRect;
pub use monthly::draw_monthly;
pub use readiness::draw_exit_readiness;
pub use render::{
    ChartError, ChartKind, GlyphFix, TextBox, encode_png, layout_problems, render_all, render_png,
    render_rgb, render_svg, text_boxes,
};
pub use source::draw_by_source;
pub use spec::{
    AquiferLevels, BudgetBar, ChartMeta, CityOverview, CountyK, CriterionRow, CumulativeWithdrawal,
    CurrentYear, DatedValue, DayValue, Deadline, ExitReadiness, Hydrographs, LevelKind,
    MonthlyWithdrawal, QuotaStep, SourceSeries, Subject, Trend, TrendDirection, VerdictKind,
    WayOut, WayStep, WellSeries, WithdrawalBySource, YearMonths, YearQuota, YearWithdrawal, Ymd,
};
