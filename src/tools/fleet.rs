//! The synthetic fleet: deterministic meters and wells for `gwmon demo` (which publishes their
//! readings), for `gwmon simulate` (its devices and `--write-config`; the publishing is
//! [`crate::tools::loadgen`]'s), for the benchmarks and for the integration tests' stores.
//!
//! Realistic enough to exercise every figure: irrigation-season peaks for agriculture, a flat
//! industrial baseline with weekend dips, a summer peak for public supply; counties whose
//! withdrawals fall and water levels recover, and counties still over-pumping, so that the
//! verdicts differ. No randomness source: every value is a hash of (seed, device, day), so the
//! same inputs always give the same data.

use jiff::civil::Date;

use crate::config::registry::{Intake, Well};
use crate::domain::CountyCode;
use crate::domain::{Aquifer, Sector};

/// How a county behaves in the simulation.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// Use as a share of the permitted volume in the base year (2020).
    pub demand_2020: f64,
    /// Change of that share per year (negative: saving water).
    pub demand_change_per_year: f64,
    /// Water-level trend, m per year (positive: recovering).
    pub level_trend_m_per_year: f64,
    /// First year with level data (later than 2020: too little history to judge).
    pub level_data_from: i16,
}

/// Simulated behaviour per county (GB/T 2260 code).
pub fn profile(code: CountyCode) -> Profile {
    let p = |demand_2020, change, trend, from| Profile {
        demand_2020,
        demand_change_per_year: change,
        level_trend_m_per_year: trend,
        level_data_from: from,
    };
    match code.get() {
        140105 => p(1.05, -0.01, -0.30, 2020), // 小店区: still over-pumping, levels falling
        140106 => p(0.85, -0.02, 0.20, 2020),  // 迎泽区
        140107 => p(0.90, -0.02, 0.05, 2020),  // 杏花岭区
        140108 => p(0.95, -0.03, 0.40, 2020),  // 尖草坪区: 兰村 area recovering
        140109 => p(0.95, -0.03, 0.30, 2020),  // 万柏林区
        140110 => p(1.00, -0.04, 0.50, 2020),  // 晋源区: 晋祠泉 area recovering
        140121 => p(1.10, -0.005, -0.40, 2020), // 清徐县: behind its deadline
        140122 => p(0.95, -0.03, 0.25, 2020),  // 阳曲县: on track
        140123 => p(0.80, -0.01, 0.10, 2025),  // 娄烦县: monitoring wells only since 2025
        140181 => p(0.88, -0.01, 0.02, 2020),  // 古交市: borderline
        _ => p(0.9, -0.02, 0.0, 2020),
    }
}

/// splitmix64: a fast, well-mixed hash of a 64-bit value.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Stable hash of a device id.
pub fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3)
    })
}

/// Uniform in [0, 1) from a hash.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn day_number(d: Date) -> i64 {
    i64::from(d.year()) * 400 + i64::from(d.day_of_year())
}

/// Seasonal factor of a sector's use on a day (mean ≈ 1 over a year).
pub fn seasonal_factor(sector: Sector, d: Date) -> f64 {
    let m = f64::from(d.month());
    let weekday = d.weekday().to_monday_zero_offset();
    match sector {
        // Irrigation: April–September, peaking in May–June.
        Sector::Agriculture => match d.month() {
            4 => 1.6,
            5 | 6 => 2.6,
            7 | 8 => 1.8,
            9 => 1.0,
            3 | 10 => 0.5,
            _ => 0.15,
        },
        Sector::Industry => {
            if weekday >= 5 {
                0.75
            } else {
                1.1
            }
        }
        Sector::PublicSupply | Sector::Domestic => {
            1.0 + 0.18 * ((m - 7.0) / 12.0 * std::f64::consts::TAU).cos()
        }
        Sector::Service => 1.0 + 0.1 * ((m - 7.0) / 12.0 * std::f64::consts::TAU).cos(),
        Sector::Ecology => 1.0 + 0.3 * ((m - 6.0) / 12.0 * std::f64::consts::TAU).cos(),
    }
}

/// Simulated volume abstracted by an intake on a day, m³.
pub fn daily_volume(seed: u64, intake: &Intake, d: Date) -> f64 {
    // A sealed well draws nothing after its date. (A row in force only from a later date is
    // the same well under a new budget or permit: it drew before too.)
    if intake.active_to.is_some_and(|t| d > t) {
        return 0.0;
    }
    let p = profile(intake.county);
    let h = id_hash(&intake.id) ^ seed;
    let years = f64::from(d.year() - 2020) + f64::from(d.day_of_year()) / 366.0;
    let share = (p.demand_2020 + p.demand_change_per_year * years).max(0.05);
    // Each intake uses its permit a little differently.
    let own = 0.85 + 0.3 * unit(mix(h));
    let noise = 0.85 + 0.3 * unit(mix(h ^ day_number(d) as u64));
    (intake.permit_m3_per_year / 365.0 * share * own * seasonal_factor(intake.sector, d) * noise)
        .max(0.0)
}

/// Simulated depth to water of a well on a day (m below ground; larger = lower water).
pub fn depth_m(seed: u64, well: &Well, d: Date) -> f64 {
    let p = profile(well.county);
    let h = id_hash(&well.id) ^ seed;
    let base = match well.aquifer {
        Aquifer::Shallow => 18.0,
        Aquifer::Confined => 65.0,
        Aquifer::Karst => 120.0,
        Aquifer::Hilly => 45.0,
    } * (0.8 + 0.4 * unit(mix(h)));
    let years = f64::from(d.year() - 2020) + f64::from(d.day_of_year()) / 366.0;
    let trend = p.level_trend_m_per_year * (0.7 + 0.6 * unit(mix(h ^ 7)));
    // Summer drawdown from irrigation pumping, recovering in winter.
    let season = 1.2 * ((f64::from(d.day_of_year()) - 200.0) / 366.0 * std::f64::consts::TAU).cos();
    let noise = 0.4 * (unit(mix(h ^ day_number(d) as u64)) - 0.5);
    base - trend * years + season + noise
}

/// True when a well has data on this day in the simulation.
pub fn well_reports(well: &Well, d: Date) -> bool {
    d.year() >= profile(well.county).level_data_from
}

/// A synthetic registry of `n_intakes` intakes and `n_wells` wells spread over the configured
/// counties, modelled on the shipped example (for benchmarks and load tests): returns the text
/// of `intakes.csv` and `wells.csv`.
pub fn synthetic_registry(
    template: &crate::config::registry::Registry,
    n_intakes: usize,
    n_wells: usize,
) -> (String, String) {
    let mut intakes = String::from(
        "# 示例数据 (example data): synthetic registry generated for benchmarks\nintake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit\n",
    );
    for k in 0..n_intakes {
        let t = &template.intakes[k % template.intakes.len()];
        intakes.push_str(&format!(
            "S{k:06},{}-{k},{},{},{},{},{},{},{},{}\n",
            t.name,
            t.county,
            t.budget.as_str(),
            t.aquifer.as_str(),
            t.source.as_str(),
            t.sector.as_str(),
            t.permit_m3_per_year,
            t.max_flow_m3_per_h,
            if t.key_unit { "yes" } else { "no" }
        ));
    }
    let mut wells = String::from(
        "# 示例数据 (example data): synthetic registry generated for benchmarks\nwell_id,name,county_code,aquifer,ground_elevation_m,datum\n",
    );
    for k in 0..n_wells {
        let t = &template.wells[k % template.wells.len()];
        wells.push_str(&format!(
            "SW{k:05},{}-{k},{},{},{},{}\n",
            t.name,
            t.county,
            t.aquifer.as_str(),
            t.ground_elevation_m,
            t.datum
        ));
    }
    (intakes, wells)
}

/// The embedded configuration with a synthetic registry of the given size.
pub fn synthetic_config(
    n_intakes: usize,
    n_wells: usize,
) -> Result<crate::config::Config, crate::config::ConfigError> {
    let base = crate::config::Config::embedded()?;
    let (i, w) = synthetic_registry(&base.registry, n_intakes, n_wells);
    crate::config::Config::from_parts("<synthetic>/taiyuan.toml", synthetic_toml(), |p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let text = match name {
            "wells.csv" => w.clone(),
            "intakes.csv" => i.clone(),
            // No projects: the synthetic intakes are not the ones projects.csv names.
            "projects.csv" => crate::config::projects::PROJECT_COLUMNS.join(",") + "\n",
            // No field terminals: the stations file is absent, as on a site without them.
            _ => {
                return Err(crate::config::ConfigError::Read {
                    path: format!("<synthetic>/{name}").into(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
        };
        Ok((format!("<synthetic>/{name}"), text))
    })
}

/// True when an intake's meter is silent in the simulation (about one in thirteen).
pub fn meter_silent(intake: &Intake) -> bool {
    id_hash(&intake.id).is_multiple_of(13)
}

/// Whether the intake has a meter at all: farm wells without a metering duty do not (their
/// withdrawal is estimated from their permits), every other intake does.
pub fn metered(intake: &Intake) -> bool {
    intake.metering_duty || intake.sector != Sector::Agriculture
}

/// `(county code, intake id)` of the first `n` devices: the registry's intakes, then synthetic
/// ids (`S000000`…, as in [`synthetic_registry`]) beyond it.
pub fn devices(
    cfg: &crate::config::Config,
    n: usize,
) -> Result<Vec<(String, String)>, crate::config::ConfigError> {
    if n <= cfg.registry.intakes.len() {
        return Ok(cfg.registry.intakes[..n]
            .iter()
            .map(|i| (i.county.to_string(), i.id.clone()))
            .collect());
    }
    let synth = synthetic_config(n, 1)?;
    Ok(synth
        .registry
        .intakes
        .iter()
        .map(|i| (i.county.to_string(), i.id.clone()))
        .collect())
}

/// The shipped configuration without its springs: they name wells of the shipped registry,
/// which a synthetic one does not have.
fn synthetic_toml() -> &'static str {
    crate::config::EMBEDDED_CONFIG
        .split("\n[[springs]]")
        .next()
        .unwrap_or(crate::config::EMBEDDED_CONFIG)
}

/// Writes `taiyuan.toml`, `intakes.csv`, `wells.csv` and an empty `projects.csv` for a synthetic
/// registry into `dir`;
/// returns the config path.
pub fn write_synthetic_config(
    dir: &std::path::Path,
    n_intakes: usize,
    n_wells: usize,
) -> std::io::Result<std::path::PathBuf> {
    let base =
        crate::config::Config::embedded().map_err(|e| std::io::Error::other(e.to_string()))?;
    let (i, w) = synthetic_registry(&base.registry, n_intakes, n_wells);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("intakes.csv"), i)?;
    std::fs::write(dir.join("wells.csv"), w)?;
    // As in [`synthetic_config`]: no projects, and no springs (they name the shipped wells).
    std::fs::write(
        dir.join("projects.csv"),
        crate::config::projects::PROJECT_COLUMNS.join(",") + "\n",
    )?;
    let path = dir.join("taiyuan.toml");
    std::fs::write(&path, synthetic_toml())?;
    Ok(path)
}

/// Writes simulated history straight into the store (the benchmark's and tests' store): daily
/// volumes for every intake and daily levels for every well from `from` to `to` inclusive; for the
/// last `live_days` days, cumulative meter totals at each local midnight instead of daily
/// volumes (except for silent meters), so that metering coverage has readings to find.
pub fn populate(
    store: &mut crate::store::Store,
    cfg: &crate::config::Config,
    seed: u64,
    from: Date,
    to: Date,
    live_days: i64,
) -> Result<u64, crate::store::StoreError> {
    use crate::domain::{Decoded, Reading};
    let live_from = to
        .checked_sub(jiff::ToSpan::days(live_days - 1))
        .unwrap_or(to);
    let mut totals: Vec<f64> = cfg
        .registry
        .intakes
        .iter()
        .map(|i| (unit(mix(id_hash(&i.id))) * 1e5).round())
        .collect();
    let mut n = 0u64;
    let mut day = from;
    let mut batch: Vec<Decoded> = Vec::new();
    let mut pending = 0usize;
    while day <= to {
        let mut d = Decoded::default();
        for (k, i) in cfg.registry.intakes.iter().enumerate() {
            if !metered(i) {
                continue;
            }
            let volume = (daily_volume(seed, i, day) * 1000.0).round() / 1000.0;
            if live_days > 0 && day >= live_from {
                if meter_silent(i) {
                    continue;
                }
                let start = cfg.clock.day_start(day);
                if day == live_from {
                    d.readings.push(Reading::Meter {
                        intake_id: i.id.clone(),
                        ts: start,
                        total_m3: totals[k],
                    });
                }
                totals[k] += volume;
                d.readings.push(Reading::Meter {
                    intake_id: i.id.clone(),
                    ts: cfg.clock.day_end(day),
                    total_m3: (totals[k] * 1000.0).round() / 1000.0,
                });
            } else {
                d.readings.push(Reading::DailyVolume {
                    intake_id: i.id.clone(),
                    day,
                    volume_m3: volume,
                    estimated: false,
                });
            }
        }
        let noon = cfg.clock.day_start(day) + 12 * 3600;
        for w in &cfg.registry.wells {
            if well_reports(w, day) {
                let depth = (depth_m(seed, w, day) * 1000.0).round() / 1000.0;
                let sent = crate::domain::Sent::Depth(depth);
                let (depth_m, level_m) = w
                    .datum_on(day)
                    .derive(sent)
                    .unwrap_or((depth, w.ground_elevation_m - depth));
                d.readings.push(Reading::Level {
                    well_id: w.id.clone(),
                    ts: noon,
                    depth_m,
                    level_m,
                    sent,
                });
            }
        }
        pending += d.readings.len();
        n += d.readings.len() as u64;
        batch.push(d);
        if pending >= 50_000 {
            let refs: Vec<&Decoded> = batch.iter().collect();
            store.apply(&refs, noon, "import")?;
            batch.clear();
            pending = 0;
        }
        day = crate::domain::time::next_day(day);
    }
    let refs: Vec<&Decoded> = batch.iter().collect();
    store.apply(&refs, 0, "import")?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The benchmarks' config: the synthetic registry, no stations file.
    #[test]
    fn the_synthetic_config_loads() {
        let cfg = synthetic_config(50, 5).unwrap();
        assert_eq!(cfg.registry.wells.len(), 5);
        assert!(cfg.registry.intakes.len() >= 50);
    }

    /// The files the benchmark's daemons read load as they are written.
    #[test]
    fn the_written_synthetic_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_synthetic_config(dir.path(), 50, 5).unwrap();
        let cfg = Config::load(&path).unwrap();
        assert_eq!(cfg.registry.wells.len(), 5);
        assert!(cfg.springs.is_empty());
    }

    #[test]
    fn deterministic_and_seasonal() {
        let cfg = Config::embedded().unwrap();
        let ag = cfg
            .registry
            .intakes
            .iter()
            .find(|i| i.sector == Sector::Agriculture)
            .unwrap();
        let june = daily_volume(1, ag, "2024-06-10".parse().unwrap());
        let jan = daily_volume(1, ag, "2024-01-10".parse().unwrap());
        assert_eq!(june, daily_volume(1, ag, "2024-06-10".parse().unwrap()));
        assert!(june > 5.0 * jan, "irrigation peak {june} vs winter {jan}");
        let w = &cfg.registry.wells[0];
        assert!(depth_m(1, w, "2024-06-10".parse().unwrap()).is_finite());
    }
}
