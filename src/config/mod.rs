//! Configuration: the TOML file and the registry CSVs it names, parsed into a validated [`Config`].
//!
//! Everything the program knows about Taiyuan that is not a measurement lives here: the ten
//! county-level divisions, the plan's budgets, the (versioned) county quotas, the exit deadlines,
//! the thresholds of the readiness model, and the registry of intakes and wells. Errors name the
//! file, the line, the field and what would be valid, because the people who edit these files are
//! water-bureau staff, not programmers.
//!
//! - `mod.rs` — [`Config`] and [`County`], loading (from files or the embedded defaults) and
//!   accessors.
//! - `raw.rs` — the TOML's shape as serde reads it, the documented defaults, date fields.
//! - `validate.rs` — raw shape → [`Config`], one check per section, every problem collected.
//! - `error.rs` — [`ConfigError`] and [`line_at`].
//! - [`registry`] — the registry of intakes and wells and the metering duty derived from it.
//! - [`csv_file`] — the one CSV reader both registry files go through: comments, true line
//!   numbers, problems located by file, line and field.

use std::path::Path;

use jiff::civil::Date;

pub mod csv_file;
pub mod datums;
mod error;
pub mod projects;
mod raw;
pub mod registry;
pub mod stations;
mod validate;

pub use self::error::{ConfigError, line_at};
pub use self::raw::{
    AssessmentConfig, Budgets, GatewayConfig, HttpConfig, IngestConfig, ListenConfig,
    ListenProtocol, MeteringConfig, MqttConfig, QuarantineConfig, ReportConfig, Spring,
    StoreConfig, TimeConfig, TlsConfig,
};
use self::registry::Registry;
use self::stations::Stations;
use crate::domain::time::LocalClock;
use crate::domain::{CountyCode, QuotaVersion};

/// Default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/taiyuan.toml";
/// The shipped config, embedded so that `gwmon demo` runs with no files around it.
pub const EMBEDDED_CONFIG: &str = include_str!("../../config/taiyuan.toml");
/// The shipped example registry of intakes.
pub const EMBEDDED_INTAKES: &str = include_str!("../../config/intakes.csv");
/// The shipped example registry of wells.
pub const EMBEDDED_WELLS: &str = include_str!("../../config/wells.csv");
/// The shipped example mapping of field terminals to devices.
pub const EMBEDDED_STATIONS: &str = include_str!("../../config/stations.csv");
/// The shipped projects.csv (the action plan's projects, example volumes).
pub const EMBEDDED_PROJECTS: &str = include_str!("../../config/projects.csv");

/// A county-level division and its deadlines.
#[derive(Debug, Clone)]
pub struct County {
    pub code: CountyCode,
    pub name: String,
    pub self_assessment: Option<Date>,
    pub exit: Option<Date>,
    pub self_assessment_met: Option<Date>,
    pub exit_met: Option<Date>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the TOML came from (`<embedded>` for the built-in defaults).
    pub source: String,
    pub mqtt: MqttConfig,
    pub store: StoreConfig,
    pub clock: LocalClock,
    pub ingest: IngestConfig,
    pub http: HttpConfig,
    pub quarantine: QuarantineConfig,
    pub metering: MeteringConfig,
    pub assessment: AssessmentConfig,
    pub gateway: GatewayConfig,
    pub report: ReportConfig,
    pub budgets: Budgets,
    pub counties: Vec<County>,
    /// Sorted by `effective_from`.
    pub quota_versions: Vec<QuotaVersion>,
    pub registry: Registry,
    /// The measures of `gwmon plan` (projects.csv; none when `[registry] projects` is unset).
    pub projects: Vec<projects::Project>,
    /// The karst springs watched for reflow (`[[springs]]`).
    pub springs: Vec<Spring>,
    /// The field terminals of the gateway (stations.csv; none when the file is absent).
    pub stations: Stations,
    /// The registry is marked as example data.
    pub registry_example: bool,
}

impl Config {
    /// Loads and validates the config file and the registry files it names (paths relative to the
    /// config file's folder).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let file = path.display().to_string();
        Self::from_parts(&file, &text, |p| {
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            let text = std::fs::read_to_string(&full).map_err(|source| ConfigError::Read {
                path: full.clone(),
                source,
            })?;
            Ok((full.display().to_string(), text))
        })
    }

    /// The built-in configuration and example registry (what `gwmon demo` runs on).
    pub fn embedded() -> Result<Config, ConfigError> {
        Self::from_parts("<embedded>/taiyuan.toml", EMBEDDED_CONFIG, |p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let text = match name {
                "intakes.csv" => EMBEDDED_INTAKES,
                "wells.csv" => EMBEDDED_WELLS,
                "stations.csv" => EMBEDDED_STATIONS,
                "projects.csv" => EMBEDDED_PROJECTS,
                _ => {
                    return Err(ConfigError::Invalid {
                        file: "<embedded>/taiyuan.toml".into(),
                        line: None,
                        message: format!("no embedded registry file named {}", p.display()),
                    });
                }
            };
            Ok((format!("<embedded>/{name}"), text.to_string()))
        })
    }

    /// Parses config text; `read` fetches a registry file named in it.
    pub fn from_parts(
        file: &str,
        text: &str,
        read: impl Fn(&Path) -> Result<(String, String), ConfigError>,
    ) -> Result<Config, ConfigError> {
        validate::build(file, text, read)
    }

    /// The county with this code.
    pub fn county(&self, code: CountyCode) -> Option<&County> {
        self.counties.iter().find(|c| c.code == code)
    }

    /// True when any figure shown to users is example data (example quotas or registry).
    pub fn has_example_data(&self) -> bool {
        self.registry_example || self.quota_versions.iter().any(|v| v.example)
    }

    /// The MQTT password from `password_file` or `password_env`, if configured. A configured
    /// source that yields no password (a missing file, an unset variable, an empty first line)
    /// is an error naming it: an empty password would only come back as "not authorised".
    pub fn mqtt_password(&self) -> Result<Option<String>, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: self.source.clone(),
            line: None,
            message,
        };
        if let Some(p) = &self.mqtt.password_file {
            let text = std::fs::read_to_string(p).map_err(|e| {
                invalid(format!(
                    "[mqtt] password_file = \"{}\": cannot read it ({e}); create it with the broker password on its first line, readable by the user gwmon runs as",
                    p.display()
                ))
            })?;
            let first = text.lines().next().unwrap_or_default().trim_end();
            if first.is_empty() {
                return Err(invalid(format!(
                    "[mqtt] password_file = \"{}\": its first line is empty; put the broker password on the first line",
                    p.display()
                )));
            }
            return Ok(Some(first.to_string()));
        }
        if let Some(var) = &self.mqtt.password_env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                _ => Err(invalid(format!(
                    "[mqtt] password_env = \"{var}\": the environment variable {var} is not set or empty; set it to the broker password (for a service, in an EnvironmentFile), or use password_file"
                ))),
            };
        }
        Ok(None)
    }

    /// Where the MQTT password comes from, for log lines (never the password itself).
    pub fn mqtt_password_source(&self) -> String {
        match (&self.mqtt.password_file, &self.mqtt.password_env) {
            (Some(p), _) => format!("password_file {}", p.display()),
            (None, Some(v)) => format!("environment variable {v}"),
            (None, None) => "no password configured".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TargetKind;

    #[test]
    fn embedded_config_is_valid() {
        let c = Config::embedded().unwrap();
        assert_eq!(c.counties.len(), 10);
        assert!(c.has_example_data());
        assert!(c.registry.intakes.len() >= 200);
        // The action plan's projects (任务40) ship with the example registry.
        assert!(
            c.projects
                .iter()
                .any(|p| p.name == "清徐县地下水置换晋祠泉保护治理工程")
        );
        assert!(c.registry.intakes.iter().any(|i| i.supply_covered));
    }

    #[test]
    fn a_spring_is_represented_by_karst_wells_of_the_registry() {
        let c = Config::embedded().unwrap();
        assert_eq!(c.springs.len(), 2);
        assert_eq!(c.springs[0].name, "晋祠泉");
        assert_eq!(c.springs[0].outlet_m, 802.59);
        assert_eq!(c.springs[1].reflow_by, Some(2030));
        for (wells, want) in [
            (
                "[\"W-QX-01\"]",
                "'W-QX-01' screens 浅层孔隙水, not karst water",
            ),
            ("[\"W-NOPE\"]", "'W-NOPE' is not a well in wells.csv"),
            ("[]", "wells is empty"),
        ] {
            let text =
                EMBEDDED_CONFIG.replace("wells = [\"W-JY-01\"]", &format!("wells = {wells}"));
            let e = with(&text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("[[springs]] 晋祠泉: {want}")) || e.contains(want),
                "{e}"
            );
        }
    }

    fn with(text: &str) -> Result<Config, ConfigError> {
        Config::from_parts("t.toml", text, |p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            Ok((
                name.to_string(),
                match name {
                    "intakes.csv" => EMBEDDED_INTAKES.to_string(),
                    "stations.csv" => EMBEDDED_STATIONS.to_string(),
                    "projects.csv" => EMBEDDED_PROJECTS.to_string(),
                    _ => EMBEDDED_WELLS.to_string(),
                },
            ))
        })
    }

    #[test]
    fn quotas_above_budget_are_rejected_with_the_line() {
        let over = regex_free_replace_quota(EMBEDDED_CONFIG, "140105", "70000000");
        let e = with(&over).unwrap_err().to_string();
        assert!(e.contains("above the counties' budget"), "{e}");
        assert!(e.contains("t.toml line"), "{e}");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let bad = EMBEDDED_CONFIG.replacen("140105 = ", "140105 = = ", 1);
        let e = with(&bad).unwrap_err().to_string();
        assert!(e.starts_with("t.toml: TOML parse error at line"), "{e}");
        let e = with(&EMBEDDED_CONFIG.replacen("zone =", "zonee =", 1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `zonee`"), "{e}");
    }

    #[test]
    fn a_store_url_must_be_postgresql_and_a_shared_group_one_level() {
        let text = EMBEDDED_CONFIG.replacen(
            "path = \"var/gwmon.db\"",
            "path = \"var/gwmon.db\"\nurl = \"mysql://gwmon:secret@db/gwmon\"",
            1,
        );
        let e = with(&text).unwrap_err().to_string();
        assert!(
            e.contains("[store] url (mysql): expected a PostgreSQL URL") && !e.contains("secret"),
            "{e}"
        );
        let ok = text.replacen("mysql://", "postgres://", 1);
        assert_eq!(
            with(&ok).unwrap().store.url.as_deref(),
            Some("postgres://gwmon:secret@db/gwmon")
        );
        let e = with(&EMBEDDED_CONFIG.replacen(
            "topic_prefix = \"gw\"",
            "topic_prefix = \"gw\"\nshared_group = \"a/b\"",
            1,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("[mqtt] shared_group 'a/b'"), "{e}");
    }

    #[test]
    fn duplicate_quota_versions_are_rejected() {
        let start = EMBEDDED_CONFIG.find("[[quota_version]]").unwrap();
        let dup = format!("{}\n{}", EMBEDDED_CONFIG, &EMBEDDED_CONFIG[start..]);
        let e = with(&dup).unwrap_err().to_string();
        assert!(e.contains("two versions take effect"), "{e}");
    }

    /// The config with `until` as the first quota version's effective_until, and the lines the
    /// two versions start on.
    fn first_version_until(until: &str) -> (String, usize, usize) {
        let text = EMBEDDED_CONFIG.replacen(
            "effective_from = 2020-01-01\n",
            &format!("effective_from = 2020-01-01\neffective_until = {until}\n"),
            1,
        );
        let mut starts = text
            .match_indices("[[quota_version]]")
            .map(|(at, _)| line_at(&text, at));
        let (a, b) = (starts.next().unwrap(), starts.next().unwrap());
        (text, a, b)
    }

    #[test]
    fn a_hole_between_quota_versions_names_both_lines_and_the_days() {
        let (text, a, b) = first_version_until("2026-03-01");
        assert_eq!(
            with(&text).unwrap_err().to_string(),
            format!(
                "t.toml line {b}: [[quota_version]] effective 2026-07-01 leaves a hole after the version effective 2020-01-01 (line {a}), which ends before 2026-03-01: no county has a quota from 2026-03-01 to 2026-06-30; set effective_until = 2026-07-01 in the earlier version (or remove it), or effective_from = 2026-03-01 in this one"
            )
        );
        // Ending the day the next version starts leaves no hole (effective_until is exclusive).
        let (text, _, _) = first_version_until("2026-07-01");
        assert!(with(&text).is_ok());
        let (text, a, b) = first_version_until("2026-07-02");
        let e = with(&text).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "t.toml line {b}: [[quota_version]] effective 2026-07-01 overlaps the version effective 2020-01-01 (line {a})"
            )),
            "{e}"
        );
    }

    #[test]
    fn level_plausibility_keys_are_checked() {
        let text = EMBEDDED_CONFIG
            .replacen("max_above_ground_m = 1.0", "max_above_ground_m = -1.0", 1)
            .replacen("max_depth_m = 300.0", "max_depth_m = 0.0", 1);
        let e = with(&text).unwrap_err().to_string();
        assert!(
            e.contains("[ingest] max_above_ground_m = -1: expected metres ≥ 0"),
            "{e}"
        );
        assert!(
            e.contains("[ingest] max_depth_m = 0: expected a positive depth in m below ground"),
            "{e}"
        );
        let c = with(&EMBEDDED_CONFIG.replacen("max_depth_m = 300.0", "max_depth_m = 250.0", 1))
            .unwrap();
        let limits = |id| c.registry.well(id).unwrap().limits;
        assert_eq!(limits("W-XD-01").max_depth_m, 250.0);
        // A well's own limit is not the default's.
        assert_eq!(limits("W-WBL-01").max_depth_m, 500.0);
        assert_eq!(limits("W-WBL-01").max_above_ground_m, 1.0);
    }

    #[test]
    fn quarantine_retention_has_defaults_and_must_be_positive() {
        let c = with(EMBEDDED_CONFIG).unwrap();
        assert_eq!(
            c.quarantine,
            QuarantineConfig {
                max_age_days: 90,
                max_rows: 100_000
            }
        );
        let text = EMBEDDED_CONFIG
            .replacen("max_age_days = 90", "max_age_days = 0", 1)
            .replacen("max_rows = 100000", "max_rows = -5", 1);
        let e = with(&text).unwrap_err().to_string();
        assert!(
            e.contains("[quarantine] max_age_days = 0: expected a positive number of days"),
            "{e}"
        );
        assert!(
            e.contains("[quarantine] max_rows = -5: expected a positive number of rows"),
            "{e}"
        );
        let e =
            with(&EMBEDDED_CONFIG.replacen("max_rows = 100000", "max_rows = 1\nmax_size = 2", 1))
                .unwrap_err()
                .to_string();
        assert!(e.contains("max_size"), "{e}");
        // The section is optional.
        let start = EMBEDDED_CONFIG.find("[quarantine]").unwrap();
        let end = start + EMBEDDED_CONFIG[start..].find("max_rows = 100000").unwrap();
        let without = format!(
            "{}{}",
            &EMBEDDED_CONFIG[..start],
            &EMBEDDED_CONFIG[end + "max_rows = 100000".len()..]
        );
        assert_eq!(
            with(&without).unwrap().quarantine,
            QuarantineConfig::default()
        );
    }

    /// The shipped registry shows both ways of writing a target.
    #[test]
    fn the_example_registry_sets_level_and_depth_targets() {
        let c = Config::embedded().unwrap();
        let kinds: Vec<TargetKind> = c
            .registry
            .wells
            .iter()
            .filter_map(|w| w.target.map(|t| t.kind))
            .collect();
        assert!(kinds.contains(&TargetKind::Level) && kinds.contains(&TargetKind::Depth));
        assert!(kinds.len() < c.registry.wells.len());
        assert!(EMBEDDED_WELLS.contains("示例值"));
    }

    #[test]
    fn unknown_county_in_quota_is_named() {
        let bad = EMBEDDED_CONFIG.replacen("140105 = ", "140199 = 1\n140105 = ", 1);
        let e = with(&bad).unwrap_err().to_string();
        assert!(e.contains("unknown county code '140199'"), "{e}");
    }

    /// Replaces the value of the first `code = value` line under a quota table.
    fn regex_free_replace_quota(text: &str, code: &str, value: &str) -> String {
        let key = format!("\n{code} = ");
        let at = text.find(&key).expect("quota line") + key.len();
        let end = at + text[at..].find([' ', '\n']).unwrap();
        format!("{}{}{}", &text[..at], value, &text[end..])
    }
}
