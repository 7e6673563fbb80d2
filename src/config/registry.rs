//! The registry of metered intakes and monitoring wells, as water bureaus keep it: two CSV files.
//!
//! Lines starting with `#` are comments (the shipped example files say there that they are
//! examples). The metering duty of the plan (任务 4) is derived here from source, sector and
//! permit, never typed in, so that it cannot drift from the rule.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use crate::config::{County, IngestConfig, MeteringConfig};
use crate::domain::{Aquifer, Budget, CountyCode, Sector, Source};

/// A registry problem: file, line, field and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct RegistryError(pub Vec<RegistryProblem>);

/// One located problem.
#[derive(Debug)]
pub struct RegistryProblem {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line {}, field {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

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
}

/// A monitoring well.
#[derive(Debug, Clone)]
pub struct Well {
    pub id: String,
    pub name: String,
    pub county: CountyCode,
    pub aquifer: Aquifer,
    pub ground_elevation_m: f64,
    pub datum: String,
}

/// All devices, with lookups by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub intakes: Vec<Intake>,
    pub wells: Vec<Well>,
    intake_ix: HashMap<String, usize>,
    well_ix: HashMap<String, usize>,
}

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
}

#[derive(Debug, Deserialize)]
struct RawWell {
    well_id: String,
    name: String,
    county_code: String,
    aquifer: String,
    ground_elevation_m: String,
    datum: String,
}

/// True when `id` is usable as a device id (and as an MQTT topic level).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

struct Problems<'a> {
    file: &'a str,
    list: Vec<RegistryProblem>,
}

impl Problems<'_> {
    fn push(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.list.push(RegistryProblem {
            file: self.file.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
        });
    }
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes())
}

impl Registry {
    /// Parses both registry files; every problem found is reported, not just the first.
    pub fn parse(
        intakes_file: &str,
        intakes_text: &str,
        wells_file: &str,
        wells_text: &str,
        counties: &[County],
        metering: &MeteringConfig,
        ingest: &IngestConfig,
    ) -> Result<Registry, RegistryError> {
        let codes: Vec<String> = counties.iter().map(|c| c.code.to_string()).collect();
        let county_of =
            |s: &str| CountyCode::parse(s).filter(|c| counties.iter().any(|k| k.code == *c));
        let mut reg = Registry::default();
        let mut all = Vec::new();

        let mut p = Problems {
            file: intakes_file,
            list: Vec::new(),
        };
        let mut rdr = csv_reader(intakes_text);
        let headers = match rdr.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                p.push(1, "-", format!("cannot read the header row: {e}"));
                csv::StringRecord::new()
            }
        };
        for rec in rdr.records() {
            let parsed = rec
                .map_err(|e| (e.position().map(|p| p.line()).unwrap_or(0), e))
                .and_then(|rec| {
                    let line = rec.position().map(|p| p.line()).unwrap_or(0);
                    rec.deserialize::<RawIntake>(Some(&headers))
                        .map(|r| (line, r))
                        .map_err(|e| (line, e))
                });
            let (line, r) = match parsed {
                Ok(x) => x,
                Err((line, e)) => {
                    p.push(line, "-", format!("{e}; expected the columns intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit"));
                    continue;
                }
            };
            let before = p.list.len();
            if !valid_id(&r.intake_id) {
                p.push(
                    line,
                    "intake_id",
                    format!(
                        "'{}' is not a valid id: use 1–64 characters from A–Z a–z 0–9 - _ .",
                        r.intake_id
                    ),
                );
            } else if reg.intake_ix.contains_key(&r.intake_id) {
                p.push(
                    line,
                    "intake_id",
                    format!("duplicate id '{}': each intake once", r.intake_id),
                );
            }
            let county = county_of(&r.county_code);
            if county.is_none() {
                p.push(
                    line,
                    "county_code",
                    format!(
                        "unknown county code '{}'; valid codes: {}",
                        r.county_code,
                        codes.join(", ")
                    ),
                );
            }
            let budget = Budget::parse(&r.budget);
            if budget.is_none() {
                p.push(
                    line,
                    "budget",
                    format!("'{}': expected {}", r.budget, Budget::choices()),
                );
            }
            let aquifer = Aquifer::parse(&r.aquifer);
            if aquifer.is_none() {
                p.push(
                    line,
                    "aquifer",
                    format!("'{}': expected {}", r.aquifer, Aquifer::choices()),
                );
            }
            let source = Source::parse(&r.source);
            if source.is_none() {
                p.push(
                    line,
                    "source",
                    format!("'{}': expected {}", r.source, Source::choices()),
                );
            }
            let sector = Sector::parse(&r.sector);
            if sector.is_none() {
                p.push(
                    line,
                    "sector",
                    format!("'{}': expected {}", r.sector, Sector::choices()),
                );
            }
            let permit = r
                .permit_m3_per_year
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0);
            if permit.is_none() {
                p.push(
                    line,
                    "permit_m3_per_year",
                    format!(
                        "'{}': expected a volume ≥ 0 in m³ per year, digits only (50000, not 5万)",
                        r.permit_m3_per_year
                    ),
                );
            }
            let max_flow = if r.max_flow_m3_per_h.is_empty() {
                Some(ingest.default_max_flow_m3_per_h)
            } else {
                r.max_flow_m3_per_h
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v > 0.0)
            };
            if max_flow.is_none() {
                p.push(
                    line,
                    "max_flow_m3_per_h",
                    format!(
                        "'{}': expected a positive flow in m³/h, or leave empty for the default {}",
                        r.max_flow_m3_per_h, ingest.default_max_flow_m3_per_h
                    ),
                );
            }
            let key_unit = match r.key_unit.as_str() {
                "" | "no" | "否" => Some(false),
                "yes" | "是" => Some(true),
                _ => None,
            };
            if key_unit.is_none() {
                p.push(
                    line,
                    "key_unit",
                    format!("'{}': expected yes|no", r.key_unit),
                );
            }
            if p.list.len() > before {
                continue;
            }
            let (
                Some(county),
                Some(budget),
                Some(aquifer),
                Some(source),
                Some(sector),
                Some(permit),
                Some(max_flow),
                Some(key_unit),
            ) = (
                county, budget, aquifer, source, sector, permit, max_flow, key_unit,
            )
            else {
                continue;
            };
            let metering_duty = metering_duty(source, sector, permit, key_unit, metering);
            reg.intake_ix.insert(r.intake_id.clone(), reg.intakes.len());
            reg.intakes.push(Intake {
                id: r.intake_id,
                name: r.name,
                county,
                budget,
                aquifer,
                source,
                sector,
                permit_m3_per_year: permit,
                max_flow_m3_per_h: max_flow,
                key_unit,
                metering_duty,
            });
        }
        all.append(&mut p.list);

        let mut p = Problems {
            file: wells_file,
            list: Vec::new(),
        };
        let mut rdr = csv_reader(wells_text);
        let headers = match rdr.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                p.push(1, "-", format!("cannot read the header row: {e}"));
                csv::StringRecord::new()
            }
        };
        for rec in rdr.records() {
            let parsed = rec
                .map_err(|e| (e.position().map(|p| p.line()).unwrap_or(0), e))
                .and_then(|rec| {
                    let line = rec.position().map(|p| p.line()).unwrap_or(0);
                    rec.deserialize::<RawWell>(Some(&headers))
                        .map(|r| (line, r))
                        .map_err(|e| (line, e))
                });
            let (line, r) = match parsed {
                Ok(x) => x,
                Err((line, e)) => {
                    p.push(line, "-", format!("{e}; expected the columns well_id,name,county_code,aquifer,ground_elevation_m,datum"));
                    continue;
                }
            };
            let before = p.list.len();
            if !valid_id(&r.well_id) {
                p.push(
                    line,
                    "well_id",
                    format!(
                        "'{}' is not a valid id: use 1–64 characters from A–Z a–z 0–9 - _ .",
                        r.well_id
                    ),
                );
            } else if reg.well_ix.contains_key(&r.well_id) || reg.intake_ix.contains_key(&r.well_id)
            {
                p.push(
                    line,
                    "well_id",
                    format!(
                        "duplicate id '{}': ids must be unique across intakes and wells",
                        r.well_id
                    ),
                );
            }
            let county = county_of(&r.county_code);
            if county.is_none() {
                p.push(
                    line,
                    "county_code",
                    format!(
                        "unknown county code '{}'; valid codes: {}",
                        r.county_code,
                        codes.join(", ")
                    ),
                );
            }
            let aquifer = Aquifer::parse(&r.aquifer);
            if aquifer.is_none() {
                p.push(
                    line,
                    "aquifer",
                    format!("'{}': expected {}", r.aquifer, Aquifer::choices()),
                );
            }
            let elev = r
                .ground_elevation_m
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && (-500.0..9000.0).contains(v));
            if elev.is_none() {
                p.push(
                    line,
                    "ground_elevation_m",
                    format!(
                        "'{}': expected the ground elevation in m above the datum, e.g. 778.40",
                        r.ground_elevation_m
                    ),
                );
            }
            if p.list.len() > before {
                continue;
            }
            let (Some(county), Some(aquifer), Some(elev)) = (county, aquifer, elev) else {
                continue;
            };
            reg.well_ix.insert(r.well_id.clone(), reg.wells.len());
            reg.wells.push(Well {
                id: r.well_id,
                name: r.name,
                county,
                aquifer,
                ground_elevation_m: elev,
                datum: r.datum,
            });
        }
        all.append(&mut p.list);

        if all.is_empty() {
            Ok(reg)
        } else {
            Err(RegistryError(all))
        }
    }

    /// The intake with this id.
    pub fn intake(&self, id: &str) -> Option<&Intake> {
        self.intake_ix.get(id).map(|&i| &self.intakes[i])
    }

    /// The well with this id.
    pub fn well(&self, id: &str) -> Option<&Well> {
        self.well_ix.get(id).map(|&i| &self.wells[i])
    }
}

/// The plan's online-metering duty (任务 4): non-agricultural intakes with a groundwater permit
/// ≥ 5万 m³/yr or a surface-water permit ≥ 50万 m³/yr, and key monitored units.
pub fn metering_duty(
    source: Source,
    sector: Sector,
    permit_m3: f64,
    key_unit: bool,
    m: &MeteringConfig,
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
mod tests {
    use super::*;

    fn counties() -> Vec<County> {
        vec![County {
            code: CountyCode::parse("140121").unwrap(),
            name: "清徐县".into(),
            self_assessment: None,
            exit: None,
            self_assessment_met: None,
            exit_met: None,
        }]
    }

    const HEAD: &str = "intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit\n";
    const WELLS: &str = "well_id,name,county_code,aquifer,ground_elevation_m,datum\nW-1,井,140121,shallow,770.5,1985国家高程基准\n";

    fn parse(intakes: &str) -> Result<Registry, RegistryError> {
        Registry::parse(
            "intakes.csv",
            intakes,
            "wells.csv",
            WELLS,
            &counties(),
            &MeteringConfig::default(),
            &IngestConfig::default(),
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
}
