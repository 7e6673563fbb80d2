//! Writes every chart for each sample data situation to a folder, and prints how long each took.
//!
//! ```text
//! cargo run --release --example chart_samples -- OUT
//! ```
//!
//! For each situation the report meets (full data, no level monitoring, one month, a quota change
//! mid-year, zeros and NaN, nothing at all; plus full data marked `示例数据`) it writes
//! `OUT/<situation>-<chart>.png` and `.svg` — the same bytes as `render_all` — and prints the time
//! of the SVG, of drawing the bitmap and of encoding the PNG. Last, it times the report's load:
//! ten counties' six county charts, PNG and SVG, rendered on two threads. Time it in release mode; a
//! debug build draws several times slower.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use gwmon::output::charts::*;

#[path = "../src/output/charts/samples.rs"]
mod samples;

use samples::{CASES, COUNTIES, Case, Models};

/// File name prefix of a data situation.
fn situation(case: Case) -> &'static str {
    match case {
        Case::Full => "full",
        Case::NoLevels => "no-levels",
        Case::OneMonth => "one-month",
        Case::QuotaChange => "quota-change",
        Case::ZerosAndNan => "zeros-nan",
        Case::Empty => "empty",
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Renders one chart to `dir/stem.{png,svg}`, timing each step; returns the line to print.
fn write_timed(chart: ChartKind<'_>, dir: &Path, stem: &str) -> anyhow::Result<String> {
    let t0 = Instant::now();
    let svg = render_svg(chart)?;
    let t1 = Instant::now();
    let rgb = render_rgb(chart)?;
    let t2 = Instant::now();
    let (w, h) = chart.size();
    let png = encode_png(&rgb, w, h)?;
    let t3 = Instant::now();
    for (ext, bytes) in [("png", png.as_slice()), ("svg", svg.as_bytes())] {
        let path = dir.join(format!("{stem}.{ext}"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(format!(
        "{stem:<32} svg {:>5.0} ms ({:>4} kB)   draw {:>5.0} ms   png encode {:>4.0} ms ({:>4} kB)",
        ms(t1 - t0),
        svg.len() / 1024,
        ms(t2 - t1),
        ms(t3 - t2),
        png.len() / 1024
    ))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next().map(PathBuf::from), args.next()) else {
        eprintln!("usage: chart_samples OUT  (writes the sample charts into the folder OUT)");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    // The font is registered on the first chart drawn; keep that out of the first timing.
    let full = Models::new(Case::Full, false);
    render_svg(ChartKind::Monthly(&full.monthly))?;

    let mut sets: Vec<(&str, Models)> = CASES
        .iter()
        .map(|&case| (situation(case), Models::new(case, false)))
        .collect();
    sets.push(("example", Models::new(Case::Full, true)));
    let started = Instant::now();
    let mut files = 0;
    for (prefix, models) in &sets {
        for (name, chart) in models.charts() {
            println!("{}", write_timed(chart, &out, &format!("{prefix}-{name}"))?);
            files += 2;
        }
    }
    println!(
        "{files} files in {} in {:.0} ms",
        out.display(),
        ms(started.elapsed())
    );

    // What `gwmon report --all` draws per county (readiness, cumulative, monthly, two hydrograph
    // pages, by source), on two threads, one per core of the target machine.
    let counties: Vec<Models> = COUNTIES
        .iter()
        .map(|name| {
            let mut m = Models::new(Case::Full, false);
            for meta in [
                &mut m.readiness.meta,
                &mut m.cumulative.meta,
                &mut m.monthly.meta,
                &mut m.hydro_level.meta,
                &mut m.hydro_pages.meta,
                &mut m.by_source.meta,
            ] {
                meta.place = (*name).to_owned();
            }
            m
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        let threads: Vec<_> = counties
            .chunks(counties.len().div_ceil(2))
            .map(|half| {
                s.spawn(move || -> Result<(), ChartError> {
                    for m in half {
                        for (_, chart) in m
                            .charts()
                            .into_iter()
                            .filter(|(n, _)| *n != "hydrograph-depth" && *n != "city")
                        {
                            render_svg(chart)?;
                            render_png(chart)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().expect("render thread panicked"))
    })?;
    println!(
        "ten counties × 6 county charts (PNG + SVG, in memory), 2 threads: {:.0} ms",
        ms(started.elapsed())
    );
    Ok(())
}
