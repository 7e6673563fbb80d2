//! The registry of metered intakes and monitoring wells, as water bureaus keep it: two CSV files.
//!
//! Lines starting with `#` are comments (the shipped example files say there that they are
//! examples). The metering duty of the plan (任务 4) is derived here from source, sector and
//! permit, never typed in, so that it cannot drift from the rule. A well's row may set a level
//! target (双控), as a level or as a depth, and its own deepest plausible depth to water; a
//! target no reading could meet is refused, since it is most likely one written as the other.
//! What the registry is checked against (the counties, the duty's thresholds, the default flow
//! and depth limits) comes in [`RegistryParams`], so that this module does not depend on the
//! configuration that holds it.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::Deserialize;

use super::csv_file::{self, Problem, Problems};
use crate::domain::kinds;
use crate::domain::{
    Aquifer, Budget, CountyCode, LevelLimits, Sector, Source, TargetKind, WellTarget,
};

/// Registry problems: each names file, line, field and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct RegistryError(pub Vec<Problem>);

/// A metered abstraction point.
#[derive(Debug, Clone)]
pub struct Intake {
    pub id: String,
    pub name: String,
    pub county: CountyCode,
    pub budget: Budget,
    pub aquifer: Aquifer,
    pub source: Source,
    pub sector: Sector,
    pub permit_m3_per_year: f64,
    /// Plausible maximum flow; interval volumes implying more are flagged.
    pub max_flow_m3_per_h: f64,
    pub key_unit: bool,
    /// Derived: the plan obliges this intake to meter online.
    pub metering_duty: bool,
    /// The first and last day this version of the intake is in force (inclusive; `None`: open).
    /// A sealed 自备井 has `active_to`: it owes no metering after it, and past years keep its
    /// withdrawal; a change of budget, county or permit is a new row of the same id, in force
    /// from the day after the previous one's `active_to`.
    pub active_from: Option<Date>,
    pub active_to: Option<Date>,
    /// 以电折水: m³ pumped per kWh, for a user below the metering duty whose electricity is
    /// imported (`gwmon import --kind electricity`); its withdrawal is then estimated from it.
    pub m3_per_kwh: Option<f64>,
    /// The intake lies inside the public supply network's coverage: a 自备井 there is to be
    /// closed (任务66).
    pub supply_covered: bool,
    /// The day its closure is planned for, if it is.
    pub closure_planned: Option<Date>,
}

impl Intake {
    /// Whether this version is in force on some day of `[start, end]`.
    pub fn active_within(&self, start: Date, end: Date) -> bool {
        self.active_from.is_none_or(|f| f <= end) && self.active_to.is_none_or(|t| t >= start)
    }

    /// Whether this version is in force on `day`.
    pub fn active_on(&self, day: Date) -> bool {
        self.active_within(day, day)
    }
}

/// A monitoring well.
#[derive(Debug, Clone)]
pub struct Well {
    pub id: String,
    pub name: String,
    pub county: CountyCode,
    pub aquifer: Aquifer,
    /// The ground elevation in force now (the latest datum's).
    pub ground_elevation_m: f64,
    pub datum: String,
    /// The datum's history, oldest first: wells.csv's ground elevation (measuring point at
    /// ground), then the dated versions of datums.csv. Levels are derived with the one in force
    /// on the reading's day.
    pub datums: Vec<crate::domain::Datum>,
    /// The level target (水位控制指标) the registry sets, if any.
    pub target: Option<WellTarget>,
    /// The depths to water this well can plausibly report: the row's `max_depth_m` or the
    /// `[ingest]` default, and `[ingest] max_above_ground_m`.
    pub limits: LevelLimits,
}

impl Well {
    /// The datum in force on local day `day`.
    pub fn datum_on(&self, day: Date) -> crate::domain::Datum {
        crate::domain::Datum::in_force(&self.datums, day).unwrap_or(crate::domain::Datum {
            from: None,
            ground_elevation_m: self.ground_elevation_m,
            measuring_point_m: 0.0,
        })
    }
}

/// All devices, with lookups by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// One row per intake: its latest version (a sealed one with its `active_to`).
    pub intakes: Vec<Intake>,
    /// Earlier versions of intakes that changed (budget, county, permit), for the years they
    /// were in force.
    pub history: Vec<Intake>,
    pub wells: Vec<Well>,
    intake_ix: HashMap<String, usize>,
    well_ix: HashMap<String, usize>,
}

/// The permit sizes from which the plan obliges an intake to meter online (任务 4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DutyThresholds {
    pub groundwater_permit_min_m3: f64,
    pub surface_permit_min_m3: f64,
}

/// What the registry files are checked against.
#[derive(Debug, Clone, Copy)]
pub struct RegistryParams<'a> {
    /// The configured counties, in the order error messages list them; a device elsewhere is
    /// refused.
    pub counties: &'a [CountyCode],
    pub duty: DutyThresholds,
    /// The flow limit of an intake whose `max_flow_m3_per_h` is left empty.
    pub default_max_flow_m3_per_h: f64,
    /// The plausible depths to water of a well whose `max_depth_m` is left empty.
    pub level_limits: LevelLimits,
}

/// The columns of intakes.csv, as error messages list them.
const INTAKE_COLUMNS: &[&str] = &[
    "intake_id",
    "name",
    "county_code",
    "budget",
    "aquifer",
    "source",
    "sector",
    "permit_m3_per_year",
    "max_flow_m3_per_h",
    "key_unit",
    "active_from",
    "active_to",
    "m3_per_kwh",
    "supply_covered",
    "closure_planned",
];

/// The columns of wells.csv, as error messages list them.
const WELL_COLUMNS: &[&str] = &[
    "well_id",
    "name",
    "county_code",
    "aquifer",
    "ground_elevation_m",
    "datum",
    "target_level_m",
    "target_depth_m",
    "target_year",
    "max_depth_m",
];

#[derive(Debug, Deserialize)]
struct RawIntake {
    intake_id: String,
    name: String,
    county_code: String,
    budget: String,
    aquifer: String,
    source: String,
    sector: String,
    permit_m3_per_year: String,
    #[serde(default)]
    max_flow_m3_per_h: String,
    #[serde(default)]
    key_unit: String,
    #[serde(default)]
    active_from: String,
    #[serde(default)]
    active_to: String,
    #[serde(default)]
    m3_per_kwh: String,
    #[serde(default)]
    supply_covered: String,
    #[serde(default)]
    closure_planned: String,
}

#[derive(Debug, Deserialize)]
struct RawWell {
    well_id: String,
    name: String,
    county_code: String,
    aquifer: String,
    ground_elevation_m: String,
    datum: String,
    #[serde(default)]
    target_level_m: String,
    #[serde(default)]
    target_depth_m: String,
    #[serde(default)]
    target_year: String,
    #[serde(default)]
    max_depth_m: String,
}

/// The optional 以电折水 coefficient: empty, or m³ per kWh above 0.
fn m3_per_kwh(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1000.0 => Ok(Some(v)),
        _ => Err(format!(
            "'{s}': expected m³ pumped per kWh, above 0 (a pump test gives it; typically 1 to 10), or empty"
        )),
    }
}

/// True when `id` is usable as a device id (and as an MQTT topic level).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl Registry {
    /// Parses both registry files; every problem found is reported, not just the first.
    pub fn parse(
        intakes_file: &str,
        intakes_text: &str,
        wells_file: &str,
        wells_text: &str,
        params: &RegistryParams<'_>,
    ) -> Result<Registry, RegistryError> {
        let mut reg = Registry::default();
        // Rows of one id are versions; they are ordered and checked once all are read.
        let mut versions: Vec<(u64, Intake)> = Vec::new();
        // Ids seen so far, and whether every row of them is dated.
        let mut seen: HashMap<String, bool> = HashMap::new();
        let mut intakes = csv_file::read_rows(
            intakes_file,
            intakes_text,
            INTAKE_COLUMNS,
            |p, line, raw: RawIntake| {
                let dated = !raw.active_from.is_empty() || !raw.active_to.is_empty();
                let mut duplicate = false;
                if let Some(all_dated) = seen.get_mut(&raw.intake_id) {
                    if !(dated && *all_dated) {
                        duplicate = true;
                        p.push(
                            line,
                            "intake_id",
                            format!(
                                "duplicate id '{}': list each intake once, or, when it changed (sealed, transferred, a new permit), date each of its rows with active_from/active_to",
                                raw.intake_id
                            ),
                        );
                        *all_dated = false;
                    }
                } else {
                    seen.insert(raw.intake_id.clone(), dated);
                }
                // The row's other fields are checked all the same, so every problem is named.
                if let Some(intake) = params.intake(p, line, raw)
                    && !duplicate
                {
                    versions.push((line, intake));
                }
            },
        );
        reg.place_versions(versions, &mut intakes);
        let wells = csv_file::read_rows(
            wells_file,
            wells_text,
            WELL_COLUMNS,
            |p, line, raw: RawWell| {
                let taken = reg.well_ix.contains_key(&raw.well_id)
                    || reg.intake_ix.contains_key(&raw.well_id);
                if let Some(well) = params.well(p, line, raw, taken) {
                    reg.well_ix.insert(well.id.clone(), reg.wells.len());
                    reg.wells.push(well);
                }
            },
        );
        let mut all = intakes.into_vec();
        all.extend(wells.into_vec());
        if all.is_empty() {
            Ok(reg)
        } else {
            Err(RegistryError(all))
        }
    }

    /// Sorts the versions of each id by time, refuses versions whose periods overlap, and keeps
    /// the latest of each id in `intakes`, the earlier ones in `history`.
    fn place_versions(&mut self, mut versions: Vec<(u64, Intake)>, p: &mut Problems) {
        versions.sort_by(|a, b| {
            a.1.id
                .cmp(&b.1.id)
                .then(a.1.active_from.cmp(&b.1.active_from))
                .then(a.0.cmp(&b.0))
        });
        let mut latest: Vec<(u64, Intake)> = Vec::new();
        for (line, v) in versions {
            if let Some((prev_line, prev)) = latest.last()
                && prev.id == v.id
            {
                // The earlier version must end before this one begins.
                let ok = matches!((prev.active_to, v.active_from), (Some(t), Some(f)) if t < f);
                if !ok {
                    p.push(
                        line,
                        "active_from",
                        format!(
                            "intake {} is listed again (line {prev_line}) for a period that overlaps this one: give each row of an intake its own period — active_to on the earlier row before active_from on the later (a sealed well, a transfer to public supply, a new permit are each a new row from the day they take effect)",
                            v.id
                        ),
                    );
                    continue;
                }
                if let Some((_, old)) = latest.pop() {
                    self.history.push(old);
                }
            }
            latest.push((line, v));
        }
        // The current versions in file order.
        latest.sort_by_key(|(line, _)| *line);
        for (_, v) in latest {
            self.intake_ix.insert(v.id.clone(), self.intakes.len());
            self.intakes.push(v);
        }
    }

    /// The intake with this id (its latest version).
    pub fn intake(&self, id: &str) -> Option<&Intake> {
        self.intake_ix.get(id).map(|&i| &self.intakes[i])
    }

    /// The registry in force over `[start, end]`: one version per intake, the one in force on
    /// `end`, else the latest in force on some day of the period; intakes in force on no day of
    /// it are left out. Every figure for a year is computed on this.
    pub fn intakes_in_force(&self, start: Date, end: Date) -> Vec<&Intake> {
        self.intakes
            .iter()
            .filter_map(|current| {
                if current.active_within(start, end) {
                    return Some(current);
                }
                self.history
                    .iter()
                    .filter(|v| v.id == current.id && v.active_within(start, end))
                    .max_by_key(|v| v.active_from)
            })
            .collect()
    }

    /// The well with this id.
    pub fn well(&self, id: &str) -> Option<&Well> {
        self.well_ix.get(id).map(|&i| &self.wells[i])
    }

    /// The well with this id, to change.
    pub(super) fn well_mut(&mut self, id: &str) -> Option<&mut Well> {
        self.well_ix.get(id).map(|&i| &mut self.wells[i])
    }
}

impl RegistryParams<'_> {
    /// The intake of one row, or `None` after recording each of its problems; `taken` says its
    /// id is already used.
    fn intake(&self, p: &mut Problems, line: u64, r: RawIntake) -> Option<Intake> {
        let id = p.check(line, "intake_id", new_id(&r.intake_id, false, ""));
        let active_from = p.check(line, "active_from", optional_date(&r.active_from));
        let active_to = p.check(line, "active_to", optional_date(&r.active_to));
        if let (Some(Some(f)), Some(Some(t))) = (active_from, active_to)
            && t < f
        {
            p.push(
                line,
                "active_to",
                format!(
                    "{t} is before active_from {f}: the last day in force comes after the first"
                ),
            );
            return None;
        }
        let county = p.check(line, "county_code", self.county(&r.county_code));
        let budget = p.check(line, "budget", kinds::parse(&r.budget));
        let aquifer = p.check(line, "aquifer", kinds::parse(&r.aquifer));
        let source = p.check(line, "source", kinds::parse(&r.source));
        let sector = p.check(line, "sector", kinds::parse(&r.sector));
        let permit = p.check(line, "permit_m3_per_year", permit(&r.permit_m3_per_year));
        let max_flow = p.check(
            line,
            "max_flow_m3_per_h",
            self.max_flow(&r.max_flow_m3_per_h),
        );
        let supply_covered = p.check(line, "supply_covered", key_unit(&r.supply_covered));
        let key_unit = p.check(line, "key_unit", key_unit(&r.key_unit));
        let m3_per_kwh = p.check(line, "m3_per_kwh", m3_per_kwh(&r.m3_per_kwh));
        let closure_planned = p.check(line, "closure_planned", optional_date(&r.closure_planned));
        // Every field is checked (and each problem recorded) before the first missing one ends
        // the row.
        let (source, sector, permit, key_unit) = (source?, sector?, permit?, key_unit?);
        Some(Intake {
            id: id?.to_string(),
            name: r.name,
            county: county?,
            budget: budget?,
            aquifer: aquifer?,
            source,
            sector,
            permit_m3_per_year: permit,
            max_flow_m3_per_h: max_flow?,
            key_unit,
            metering_duty: metering_duty(source, sector, permit, key_unit, &self.duty),
            active_from: active_from?,
            active_to: active_to?,
            m3_per_kwh: m3_per_kwh?,
            supply_covered: supply_covered?,
            closure_planned: closure_planned?,
        })
    }

    /// The well of one row, or `None` after recording each of its problems; `taken` says its id
    /// is already used by a well or an intake.
    fn well(&self, p: &mut Problems, line: u64, r: RawWell, taken: bool) -> Option<Well> {
        let unique = "ids must be unique across intakes and wells";
        let id = p.check(line, "well_id", new_id(&r.well_id, taken, unique));
        let county = p.check(line, "county_code", self.county(&r.county_code));
        let aquifer = p.check(line, "aquifer", kinds::parse(&r.aquifer));
        let elevation = p.check(line, "ground_elevation_m", elevation(&r.ground_elevation_m));
        let limits = p.check(line, "max_depth_m", self.limits(&r.max_depth_m));
        let target = self.target(p, line, &r, elevation.zip(limits));
        Some(Well {
            id: id?.to_string(),
            name: r.name,
            county: county?,
            aquifer: aquifer?,
            ground_elevation_m: elevation?,
            datums: vec![crate::domain::Datum {
                from: None,
                ground_elevation_m: elevation?,
                measuring_point_m: 0.0,
            }],
            datum: r.datum,
            target: target?,
            limits: limits?,
        })
    }

    /// The well's level target, `Some(None)` when the row sets none, or `None` after recording
    /// each of its problems. `site` (ground elevation and limits, when they parsed) lets a target
    /// that no reading could meet be refused: it is most likely a level written as a depth or
    /// the reverse.
    fn target(
        &self,
        p: &mut Problems,
        line: u64,
        r: &RawWell,
        site: Option<(f64, LevelLimits)>,
    ) -> Option<Option<WellTarget>> {
        let level = p.check(
            line,
            "target_level_m",
            figure(&r.target_level_m, TargetKind::Level),
        );
        let depth = p.check(
            line,
            "target_depth_m",
            figure(&r.target_depth_m, TargetKind::Depth),
        );
        let year = p.check(line, "target_year", target_year(&r.target_year));
        let (level, depth, year) = (level?, depth?, year?);
        let (kind, value) = match (level, depth) {
            (Some(l), Some(d)) => {
                p.push(
                    line,
                    "target_depth_m",
                    format!(
                        "target_level_m = {l} and target_depth_m = {d} are both set: give one target per well, as a level (m above the datum) or as a depth to water (m below ground), and leave the other empty"
                    ),
                );
                return None;
            }
            (Some(l), None) => (TargetKind::Level, l),
            (None, Some(d)) => (TargetKind::Depth, d),
            (None, None) => {
                if let Some(y) = year {
                    p.push(
                        line,
                        "target_year",
                        format!(
                            "{y} is set but target_level_m and target_depth_m are empty: give the target in one of them, or leave target_year empty"
                        ),
                    );
                    return None;
                }
                return Some(None);
            }
        };
        let Some(year) = year else {
            p.push(
                line,
                "target_year",
                format!(
                    "empty while {} = {value} is set: give the year by which the target is to be met, e.g. 2030",
                    kind.column()
                ),
            );
            return None;
        };
        let (ground, limits) = site?;
        p.check(
            line,
            kind.column(),
            limits.check(kind.column(), value, kind, ground),
        )?;
        Some(Some(WellTarget {
            kind,
            value_m: value,
            year,
        }))
    }

    /// One of the configured counties.
    fn county(&self, s: &str) -> Result<CountyCode, String> {
        CountyCode::parse(s)
            .filter(|c| self.counties.contains(c))
            .ok_or_else(|| {
                let codes: Vec<String> = self.counties.iter().map(|c| c.to_string()).collect();
                format!(
                    "unknown county code '{s}'; valid codes: {}",
                    codes.join(", ")
                )
            })
    }

    /// The row's own maximum depth to water, or the default when the column is empty.
    fn limits(&self, s: &str) -> Result<LevelLimits, String> {
        if s.is_empty() {
            return Ok(self.level_limits);
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|max_depth_m| LevelLimits {
                max_depth_m,
                ..self.level_limits
            })
            .ok_or_else(|| {
                format!(
                    "'{s}': expected the deepest plausible depth to water in m below ground, or leave empty for the default {} ([ingest] max_depth_m)",
                    self.level_limits.max_depth_m
                )
            })
    }

    /// A positive flow, or the default when the column is empty.
    fn max_flow(&self, s: &str) -> Result<f64, String> {
        if s.is_empty() {
            return Ok(self.default_max_flow_m3_per_h);
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| {
                format!(
                    "'{s}': expected a positive flow in m³/h, or leave empty for the default {}",
                    self.default_max_flow_m3_per_h
                )
            })
    }
}

/// A device id that is well formed and not `taken`; `rule` says where ids must be unique.
fn new_id<'a>(id: &'a str, taken: bool, rule: &str) -> Result<&'a str, String> {
    if !valid_id(id) {
        Err(format!(
            "'{id}' is not a valid id: use 1–64 characters from A–Z a–z 0–9 - _ ."
        ))
    } else if taken {
        Err(format!("duplicate id '{id}': {rule}"))
    } else {
        Ok(id)
    }
}

/// An optional date, `YYYY-MM-DD`; empty for none.
fn optional_date(s: &str) -> Result<Option<Date>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Date>().map(Some).map_err(|_| {
        format!("'{s}' is not a date: write it as YYYY-MM-DD (2026-03-15), or leave it empty")
    })
}

/// A permitted volume per year, in plain digits.
fn permit(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            format!("'{s}': expected a volume ≥ 0 in m³ per year, digits only (50000, not 5万)")
        })
}

/// `yes`/`是` or `no`/`否`/empty.
fn key_unit(s: &str) -> Result<bool, String> {
    match s {
        "" | "no" | "否" => Ok(false),
        "yes" | "是" => Ok(true),
        _ => Err(format!("'{s}': expected yes|no")),
    }
}

/// A ground elevation within what any Chinese datum can give.
pub(super) fn elevation(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (-500.0..9000.0).contains(v))
        .ok_or_else(|| {
            format!("'{s}': expected the ground elevation in m above the datum, e.g. 778.40")
        })
}

/// A target figure of `kind`, finite; `None` when the column is empty.
fn figure(s: &str, kind: TargetKind) -> Result<Option<f64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| match kind {
            TargetKind::Level => format!(
                "'{s}': expected the target water level in m above the datum, e.g. 762.50, or leave empty"
            ),
            TargetKind::Depth => format!(
                "'{s}': expected the target depth to water in m below ground, e.g. 18.5, or leave empty"
            ),
        })
}

/// The year a target is to be met by; `None` when the column is empty.
fn target_year(s: &str) -> Result<Option<i16>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i16>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "'{s}': expected the year by which the target is to be met, 2000–2100, e.g. 2030"
            )
        })
}

/// The plan's online-metering duty (任务 4): non-agricultural intakes with a groundwater permit
/// ≥ 5万 m³/yr or a surface-water permit ≥ 50万 m³/yr, and key monitored units.
pub fn metering_duty(
    source: Source,
    sector: Sector,
    permit_m3: f64,
    key_unit: bool,
    m: &DutyThresholds,
) -> bool {
    if key_unit {
        return true;
    }
    if sector == Sector::Agriculture {
        return false;
    }
    match source {
        Source::Groundwater => permit_m3 >= m.groundwater_permit_min_m3,
        Source::Surface => permit_m3 >= m.surface_permit_min_m3,
        Source::Reclaimed | Source::Mine => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const HEAD: &str = "intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit\n";
    pub(crate) const WELLS: &str = "well_id,name,county_code,aquifer,ground_elevation_m,datum\nW-1,井,140121,shallow,770.5,1985国家高程基准\n";

    fn parse(intakes: &str) -> Result<Registry, RegistryError> {
        parse_both(intakes, WELLS)
    }

    /// Both registry files parsed with the shipped duty and limits, for county 140121.
    pub(crate) fn parse_both(intakes: &str, wells: &str) -> Result<Registry, RegistryError> {
        let counties = [CountyCode::parse("140121").unwrap()];
        Registry::parse(
            "intakes.csv",
            intakes,
            "wells.csv",
            wells,
            &RegistryParams {
                counties: &counties,
                duty: DutyThresholds {
                    groundwater_permit_min_m3: 50_000.0,
                    surface_permit_min_m3: 500_000.0,
                },
                default_max_flow_m3_per_h: 500.0,
                level_limits: LevelLimits {
                    max_above_ground_m: 1.0,
                    max_depth_m: 300.0,
                },
            },
        )
    }

    #[test]
    fn duty_is_derived_from_the_rule() {
        let text = format!(
            "# example\n{HEAD}A,a,140121,county,shallow,groundwater,industry,50000,,no\nB,b,140121,county,shallow,groundwater,industry,49999,,no\nC,c,140121,county,shallow,groundwater,agriculture,900000,,no\nD,d,140121,county,shallow,surface,industry,400000,,no\nE,e,140121,county,shallow,surface,industry,500000,,no\nF,f,140121,county,shallow,groundwater,service,100,,yes\n"
        );
        let r = parse(&text).unwrap();
        let duty: Vec<bool> = r.intakes.iter().map(|i| i.metering_duty).collect();
        assert_eq!(duty, [true, false, false, false, true, true]);
        assert_eq!(r.intake("B").unwrap().max_flow_m3_per_h, 500.0);
    }

    #[test]
    fn errors_name_file_line_field_and_choices() {
        let text = format!(
            "{HEAD}A,a,140121,county,shallow,groundwater,industry,50000,,no\nA,a,140199,town,deep,groundwater,industry,5万,,maybe\n"
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("intakes.csv line 3, field intake_id: duplicate id 'A'"),
            "{e}"
        );
        assert!(
            e.contains("field county_code: unknown county code '140199'; valid codes: 140121"),
            "{e}"
        );
        assert!(
            e.contains("field budget: 'town': expected supply_group|county"),
            "{e}"
        );
        assert!(
            e.contains("field aquifer: 'deep': expected shallow|confined|karst|hilly"),
            "{e}"
        );
        assert!(e.contains("field permit_m3_per_year: '5万'"), "{e}");
        assert!(e.contains("field key_unit: 'maybe'"), "{e}");
    }

    #[test]
    fn well_ids_are_unique_across_intakes_and_wells() {
        let intakes = format!("{HEAD}A,a,140121,county,shallow,groundwater,industry,50000,,no\n");
        let wells = format!("{WELLS}W-2,井,140121,shallow,770.5,d\nA,井,140121,karst,12000,d\n");
        let e = parse_both(&intakes, &wells).unwrap_err().to_string();
        assert_eq!(
            e,
            "wells.csv line 4, field well_id: duplicate id 'A': ids must be unique across intakes and wells\n\
             wells.csv line 4, field ground_elevation_m: '12000': expected the ground elevation in m above the datum, e.g. 778.40"
        );
        let r = parse_both(&intakes, &format!("{WELLS}W-2,井,140121,karst,780,d\n")).unwrap();
        assert_eq!(r.well("W-2").unwrap().aquifer, Aquifer::Karst);
        assert!(r.well("A").is_none() && r.intake("A").is_some());
    }

    const TARGET_HEAD: &str = "well_id,name,county_code,aquifer,ground_elevation_m,datum,target_level_m,target_depth_m,target_year,max_depth_m\n";

    /// The wells of `rows` (after [`TARGET_HEAD`]), or the problems as text.
    fn wells(rows: &str) -> Result<Registry, String> {
        let intakes = format!("{HEAD}A,a,140121,county,shallow,groundwater,industry,50000,,no\n");
        parse_both(&intakes, &format!("{TARGET_HEAD}{rows}")).map_err(|e| e.to_string())
    }

    #[test]
    fn closure_candidates_are_read_and_bad_values_named() {
        let head = "intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit,active_from,active_to,m3_per_kwh,supply_covered,closure_planned\n";
        let r = parse(&format!(
            "{head}A,a,140121,county,shallow,groundwater,industry,50000,,no,,,,yes,2027-03-31\nB,b,140121,county,shallow,groundwater,industry,50000,,no,,,,,\n"
        ))
        .unwrap();
        let a = r.intake("A").unwrap();
        assert!(a.supply_covered);
        assert_eq!(a.closure_planned, Some("2027-03-31".parse().unwrap()));
        let b = r.intake("B").unwrap();
        assert!(!b.supply_covered && b.closure_planned.is_none());
        let e = parse(&format!(
            "{head}A,a,140121,county,shallow,groundwater,industry,50000,,no,,,,maybe,2027-13-01\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 2, field supply_covered: 'maybe': expected yes|no"),
            "{e}"
        );
        assert!(
            e.contains("line 2, field closure_planned: '2027-13-01' is not a date"),
            "{e}"
        );
    }

    #[test]
    fn the_new_columns_are_optional() {
        let r = parse_both("", WELLS).unwrap();
        let w = r.well("W-1").unwrap();
        assert_eq!(w.target, None);
        assert_eq!(
            w.limits,
            LevelLimits {
                max_above_ground_m: 1.0,
                max_depth_m: 300.0
            }
        );
    }

    #[test]
    fn targets_and_depth_limits_are_read() {
        let r = wells(
            "L,井,140121,shallow,770.5,d,752.25,,2030,\nD,井,140121,karst,980,d,,118.5,2027,450\nN,井,140121,shallow,770.5,d,,,,\n",
        )
        .unwrap();
        let target = |id| r.well(id).unwrap().target;
        assert_eq!(
            target("L"),
            Some(WellTarget {
                kind: TargetKind::Level,
                value_m: 752.25,
                year: 2030
            })
        );
        assert_eq!(
            target("D"),
            Some(WellTarget {
                kind: TargetKind::Depth,
                value_m: 118.5,
                year: 2027
            })
        );
        assert_eq!(target("N"), None);
        assert_eq!(r.well("D").unwrap().limits.max_depth_m, 450.0);
        assert_eq!(r.well("L").unwrap().limits.max_depth_m, 300.0);
    }

    /// Each way a target or limit can be wrong, with the column it is reported on.
    #[test]
    fn bad_targets_name_line_column_and_the_fix() {
        let cases = [
            (
                "W,井,140121,shallow,770.5,d,752,18,2030,",
                "wells.csv line 2, field target_depth_m: target_level_m = 752 and target_depth_m = 18 are both set: give one target per well, as a level (m above the datum) or as a depth to water (m below ground), and leave the other empty",
            ),
            (
                "W,井,140121,shallow,770.5,d,752,,,",
                "wells.csv line 2, field target_year: empty while target_level_m = 752 is set: give the year by which the target is to be met, e.g. 2030",
            ),
            (
                "W,井,140121,shallow,770.5,d,,,2030,",
                "wells.csv line 2, field target_year: 2030 is set but target_level_m and target_depth_m are empty: give the target in one of them, or leave target_year empty",
            ),
            (
                "W,井,140121,shallow,770.5,d,NaN,,2030,",
                "wells.csv line 2, field target_level_m: 'NaN': expected the target water level in m above the datum, e.g. 762.50, or leave empty",
            ),
            (
                "W,井,140121,shallow,770.5,d,,inf,2030,",
                "wells.csv line 2, field target_depth_m: 'inf': expected the target depth to water in m below ground, e.g. 18.5, or leave empty",
            ),
            (
                "W,井,140121,shallow,770.5,d,,18,1999,",
                "wells.csv line 2, field target_year: '1999': expected the year by which the target is to be met, 2000–2100, e.g. 2030",
            ),
            (
                "W,井,140121,shallow,770.5,d,,18,2101,",
                "wells.csv line 2, field target_year: '2101': expected the year by which the target is to be met, 2000–2100, e.g. 2030",
            ),
            (
                "W,井,140121,shallow,770.5,d,18,,2030,",
                "wells.csv line 2, field target_level_m: target_level_m = 18 puts the water table 752.50 m below ground (ground at 770.50 m above the datum), which is deeper than the well's maximum 300 m: was a depth to water (m below ground) given as target_level_m?",
            ),
            (
                "W,井,140121,shallow,770.5,d,,752,2030,",
                "wells.csv line 2, field target_depth_m: target_depth_m = 752 is deeper than the well's maximum 300 m: was a level (m above the datum) given as target_depth_m?",
            ),
            (
                "W,井,140121,shallow,770.5,d,,,,0",
                "wells.csv line 2, field max_depth_m: '0': expected the deepest plausible depth to water in m below ground, or leave empty for the default 300 ([ingest] max_depth_m)",
            ),
        ];
        for (row, want) in cases {
            assert_eq!(wells(&format!("{row}\n")).unwrap_err(), want, "{row}");
        }
        // A target deeper than the default but within the well's own limit is accepted.
        assert!(wells("W,井,140121,karst,980,d,,350,2030,400\n").is_ok());
    }

    const DATED: &str = "intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit,active_from,active_to\n";

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Rows of one id are dated versions: the latest is the current intake, the earlier ones are
    /// history, and each period's registry takes the version in force then.
    #[test]
    fn dated_rows_are_versions_of_one_intake() {
        let text = format!(
            "{DATED}T,转供井,140121,supply_group,shallow,groundwater,public_supply,200000,,no,2026-01-01,\n\
             S,自备井,140121,county,shallow,groundwater,industry,300000,,no,,2026-03-31\n\
             T,转供井,140121,county,shallow,groundwater,industry,200000,,no,,2025-12-31\n"
        );
        let r = parse(&text).unwrap();
        assert_eq!(r.intakes.len(), 2);
        assert_eq!(r.history.len(), 1);
        assert_eq!(r.intake("T").unwrap().budget, Budget::SupplyGroup);
        let in_2025 = r.intakes_in_force(d("2025-01-01"), d("2025-12-31"));
        let t = in_2025.iter().find(|i| i.id == "T").unwrap();
        assert_eq!(t.budget, Budget::County);
        assert!(in_2025.iter().any(|i| i.id == "S"));
        // 2027: the sealed well is in force on no day of it.
        let in_2027 = r.intakes_in_force(d("2027-01-01"), d("2027-12-31"));
        assert_eq!(
            in_2027.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["T"]
        );
        // 2026: sealed in March, still in force for part of the year.
        assert!(
            r.intakes_in_force(d("2026-01-01"), d("2026-06-30"))
                .iter()
                .any(|i| i.id == "S")
        );
    }

    #[test]
    fn overlapping_versions_and_bad_dates_are_refused_with_the_fix() {
        let text = format!(
            "{DATED}T,a,140121,county,shallow,groundwater,industry,200000,,no,,2026-01-31\n\
             T,b,140121,supply_group,shallow,groundwater,public_supply,200000,,no,2026-01-01,\n\
             U,c,140121,county,shallow,groundwater,industry,200000,,no,2026-13-01,\n\
             V,d,140121,county,shallow,groundwater,industry,200000,,no,2026-05-01,2026-04-30\n"
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("line 3, field active_from: intake T is listed again (line 2)"),
            "{e}"
        );
        assert!(
            e.contains("'2026-13-01' is not a date: write it as YYYY-MM-DD"),
            "{e}"
        );
        assert!(
            e.contains("2026-04-30 is before active_from 2026-05-01"),
            "{e}"
        );
    }
}
