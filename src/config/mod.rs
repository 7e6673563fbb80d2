//! Configuration: the TOML file and the registry CSVs it names, parsed into a validated [`Config`].
//!
//! Everything the program knows about Taiyuan that is not a measurement lives here: the ten
//! county-level divisions, the plan's budgets, the (versioned) county quotas, the exit deadlines,
//! the thresholds of the readiness model, and the registry of intakes and wells. Errors name the
//! file, the line, the field and what would be valid, because the people who edit these files are
//! water-bureau staff, not programmers.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Deserialize;

pub mod registry;

use self::registry::{Registry, RegistryError};
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

const DEFAULT_TOPIC_PREFIX: &str = "gw";
const DEFAULT_CLIENT_ID: &str = "gwmon";
const DEFAULT_KEEP_ALIVE_S: u64 = 30;
const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
const DEFAULT_BATCH_MAX_READINGS: usize = 5000;
const DEFAULT_BATCH_MAX_DELAY_MS: u64 = 200;
const DEFAULT_BATCH_QUIET_MS: u64 = 3;
const DEFAULT_FUTURE_MARGIN_S: i64 = 600;
const DEFAULT_GAP_HOURS: f64 = 24.0;
const DEFAULT_MAX_FLOW_M3_PER_H: f64 = 500.0;
const DEFAULT_JITTER_M3: f64 = 1.0;
const DEFAULT_RECONNECT_MAX_S: u64 = 30;
const DEFAULT_GW_PERMIT_DUTY_M3: f64 = 50_000.0;
const DEFAULT_SURFACE_PERMIT_DUTY_M3: f64 = 500_000.0;

/// A configuration problem, located as precisely as the source allows.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{} problems in the configuration:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ConfigError>),
}

// ---------------------------------------------------------------------------------------------
// Raw TOML shape
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    mqtt: MqttConfig,
    store: StoreConfig,
    time: TimeConfig,
    #[serde(default)]
    ingest: IngestConfig,
    #[serde(default)]
    metering: MeteringConfig,
    #[serde(default)]
    assessment: AssessmentConfig,
    registry: RegistryConfig,
    budgets: Budgets,
    #[serde(rename = "county")]
    counties: Vec<toml::Spanned<RawCounty>>,
    #[serde(rename = "quota_version")]
    quota_versions: Vec<toml::Spanned<RawQuotaVersion>>,
}

/// `[mqtt]`: the broker connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS).
    pub url: String,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    /// Name of the environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File whose first line is the password (takes precedence over `password_env`).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_s: u64,
    #[serde(default)]
    pub tls: TlsConfig,
    /// Run an in-process broker on the URL's address (for a county without a broker).
    #[serde(default)]
    pub embedded_broker: bool,
}

/// `[mqtt.tls]`: used when the URL scheme is `mqtts`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the CA certificate(s) that signed the broker's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for brokers that require client authentication.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

/// `[store]`: the SQLite database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: PathBuf,
}

/// `[time]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    pub zone: String,
}

/// `[ingest]`: batching and the plausibility rules applied to incoming readings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub batch_max_readings: usize,
    pub batch_max_delay_ms: u64,
    pub batch_quiet_ms: u64,
    pub max_payload_bytes: usize,
    pub future_margin_s: i64,
    pub gap_hours: f64,
    pub default_max_flow_m3_per_h: f64,
    pub counter_jitter_m3: f64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            batch_max_readings: DEFAULT_BATCH_MAX_READINGS,
            batch_max_delay_ms: DEFAULT_BATCH_MAX_DELAY_MS,
            batch_quiet_ms: DEFAULT_BATCH_QUIET_MS,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            future_margin_s: DEFAULT_FUTURE_MARGIN_S,
            gap_hours: DEFAULT_GAP_HOURS,
            default_max_flow_m3_per_h: DEFAULT_MAX_FLOW_M3_PER_H,
            counter_jitter_m3: DEFAULT_JITTER_M3,
        }
    }
}

/// `[metering]`: the plan's online-metering duty (任务 4), applied to the registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeteringConfig {
    pub groundwater_permit_min_m3: f64,
    pub surface_permit_min_m3: f64,
    /// An obliged intake counts as reporting when its last reading is at most this old.
    pub silent_after_days: i64,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        Self {
            groundwater_permit_min_m3: DEFAULT_GW_PERMIT_DUTY_M3,
            surface_permit_min_m3: DEFAULT_SURFACE_PERMIT_DUTY_M3,
            silent_after_days: 3,
        }
    }
}

/// `[assessment]`: thresholds of the readiness model (DESIGN §2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssessmentConfig {
    /// Start of the water-level evaluation window.
    #[serde(deserialize_with = "de_date")]
    pub window_start: Date,
    /// Significance level of the trend test.
    pub alpha: f64,
    /// Minimum years of level data for a well to count.
    pub min_level_years: f64,
    /// Minimum share of months with data in the window, for a well to count.
    pub min_monthly_completeness: f64,
    /// Minimum share of the county's wells that must have sufficient data.
    pub min_wells_sufficient_share: f64,
    /// Largest share of declining wells that still passes.
    pub max_declining_share: f64,
    /// Overdraft coefficient k above which quantity fails.
    pub k_limit: f64,
    /// k above this (but at most `k_limit`) is "at risk".
    pub k_at_risk: f64,
    /// Minimum metering coverage that passes.
    pub min_metering_coverage: f64,
    /// Base year of the exit-readiness chart and history.
    pub base_year: i16,
    /// A well counts only with data within this many months before the as-of date.
    pub recent_months: usize,
    /// Months with data a calendar year needs for an annual mean (v, level targets).
    pub min_months_per_year: usize,
    /// Share of obliged intake-days that must have reported for a year to pass quantity.
    pub min_data_completeness: f64,
    /// Months of data this year before a projection under the limit lifts a failing last year
    /// to "at risk".
    pub min_months_this_year: u32,
    /// Coverage this far below `min_metering_coverage` is "at risk"; further below, a failure.
    pub metering_at_risk_band: f64,
    /// Days of data this year before the seasonal ratio r is computed (before: r = 1).
    pub projection_min_days: i64,
    /// The range the seasonal ratio r is clamped to.
    pub projection_ratio_min: f64,
    pub projection_ratio_max: f64,
}

impl Default for AssessmentConfig {
    fn default() -> Self {
        Self {
            window_start: Date::constant(2020, 1, 1),
            alpha: 0.05,
            min_level_years: 3.0,
            min_monthly_completeness: 0.7,
            min_wells_sufficient_share: 0.5,
            max_declining_share: 0.2,
            k_limit: 1.0,
            k_at_risk: 0.95,
            min_metering_coverage: 0.95,
            base_year: 2020,
            recent_months: 12,
            min_months_per_year: 6,
            min_data_completeness: 0.9,
            min_months_this_year: 6,
            metering_at_risk_band: 0.1,
            projection_min_days: 30,
            projection_ratio_min: 0.5,
            projection_ratio_max: 2.0,
        }
    }
}

impl AssessmentConfig {
    /// The thresholds the verdict is judged with.
    pub fn thresholds(&self) -> crate::analysis::verdict::Thresholds {
        crate::analysis::verdict::Thresholds {
            alpha: self.alpha,
            min_level_years: self.min_level_years,
            min_monthly_completeness: self.min_monthly_completeness,
            recent_months: self.recent_months,
            min_wells_sufficient_share: self.min_wells_sufficient_share,
            max_declining_share: self.max_declining_share,
            k_limit: self.k_limit,
            k_at_risk: self.k_at_risk,
            min_data_completeness: self.min_data_completeness,
            min_months_this_year: self.min_months_this_year,
            min_metering_coverage: self.min_metering_coverage,
            metering_at_risk_band: self.metering_at_risk_band,
        }
    }

    /// The parameters of the year-end projection.
    pub fn projection(&self) -> crate::analysis::accounting::ProjectionParams {
        crate::analysis::accounting::ProjectionParams {
            min_days_for_ratio: self.projection_min_days,
            ratio_min: self.projection_ratio_min,
            ratio_max: self.projection_ratio_max,
        }
    }
}

/// `[registry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryConfig {
    intakes: PathBuf,
    wells: PathBuf,
    #[serde(default)]
    example: bool,
}

/// `[budgets]`: the plan's fixed figures (重点任务 12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    pub city_cap_m3: f64,
    pub supply_group_m3: f64,
    pub counties_m3: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounty {
    code: u32,
    name: String,
    #[serde(default, deserialize_with = "de_opt_date")]
    self_assessment: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    exit: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    self_assessment_met: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    exit_met: Option<Date>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuotaVersion {
    #[serde(deserialize_with = "de_date")]
    effective_from: Date,
    #[serde(default, deserialize_with = "de_opt_date")]
    effective_until: Option<Date>,
    #[serde(default)]
    example: bool,
    #[serde(default)]
    note: String,
    county_m3: BTreeMap<String, f64>,
}

fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.into()
}
fn default_topic_prefix() -> String {
    DEFAULT_TOPIC_PREFIX.into()
}
fn default_keep_alive() -> u64 {
    DEFAULT_KEEP_ALIVE_S
}
fn default_reconnect_max() -> u64 {
    DEFAULT_RECONNECT_MAX_S
}

fn toml_date(d: toml::value::Datetime) -> Result<Date, String> {
    match (d.date, d.time) {
        (Some(dd), None) => Date::new(dd.year as i16, dd.month as i8, dd.day as i8)
            .map_err(|e| format!("invalid date {d}: {e}")),
        _ => Err(format!("expected a plain date like 2027-06-30, got {d}")),
    }
}

fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        T(toml::value::Datetime),
        S(String),
    }
    match Either::deserialize(d)? {
        Either::T(t) => toml_date(t).map_err(serde::de::Error::custom),
        Either::S(s) => {
            crate::domain::time::parse_date(&s, "date").map_err(serde::de::Error::custom)
        }
    }
}

fn de_opt_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    de_date(d).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Validated shape
// ---------------------------------------------------------------------------------------------

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
    pub metering: MeteringConfig,
    pub assessment: AssessmentConfig,
    pub budgets: Budgets,
    pub counties: Vec<County>,
    /// Sorted by `effective_from`.
    pub quota_versions: Vec<QuotaVersion>,
    pub registry: Registry,
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
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let line_of = |span: std::ops::Range<usize>| Some(line_at(text, span.start));
        let invalid = |line: Option<usize>, message: String| ConfigError::Invalid {
            file: file.to_string(),
            line,
            message,
        };
        let mut errors = Vec::new();

        let clock = match LocalClock::new(&raw.time.zone) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(invalid(None, format!("[time] zone: {e}")));
                None
            }
        };

        // Counties.
        let mut counties = Vec::new();
        let mut seen = HashMap::new();
        for sc in &raw.counties {
            let line = line_of(sc.span());
            let c = sc.get_ref();
            let Some(code) = CountyCode::parse(&c.code.to_string()) else {
                errors.push(invalid(
                    line,
                    format!(
                        "[[county]] code {}: expected a six-digit GB/T 2260 code such as 140121",
                        c.code
                    ),
                ));
                continue;
            };
            if seen.insert(code, ()).is_some() {
                errors.push(invalid(
                    line,
                    format!("[[county]] code {code} appears twice: each county once"),
                ));
            }
            if c.name.trim().is_empty() {
                errors.push(invalid(line, format!("[[county]] {code}: name is empty")));
            }
            if let (Some(s), Some(e)) = (c.self_assessment, c.exit)
                && s > e
            {
                errors.push(invalid(
                    line,
                    format!(
                        "[[county]] {code} ({}): self_assessment {s} is after exit {e}; the self-assessment comes first",
                        c.name
                    ),
                ));
            }
            counties.push(County {
                code,
                name: c.name.trim().to_string(),
                self_assessment: c.self_assessment,
                exit: c.exit,
                self_assessment_met: c.self_assessment_met,
                exit_met: c.exit_met,
            });
        }
        if counties.is_empty() {
            errors.push(invalid(
                None,
                "no [[county]] tables: list the county-level divisions to monitor".into(),
            ));
        }
        let known: Vec<String> = counties.iter().map(|c| c.code.to_string()).collect();

        // Budgets.
        let b = &raw.budgets;
        for (k, v) in [
            ("city_cap_m3", b.city_cap_m3),
            ("supply_group_m3", b.supply_group_m3),
            ("counties_m3", b.counties_m3),
        ] {
            if !(v.is_finite() && v > 0.0) {
                errors.push(invalid(
                    None,
                    format!("[budgets] {k} = {v}: expected a positive volume in m³"),
                ));
            }
        }
        if b.supply_group_m3 + b.counties_m3 > b.city_cap_m3 + 0.5 {
            errors.push(invalid(
                None,
                format!(
                    "[budgets] supply_group_m3 + counties_m3 = {} m³ exceeds city_cap_m3 = {} m³",
                    b.supply_group_m3 + b.counties_m3,
                    b.city_cap_m3
                ),
            ));
        }

        // Quota versions.
        let mut versions: Vec<(Option<usize>, QuotaVersion)> = Vec::new();
        for sv in &raw.quota_versions {
            let line = line_of(sv.span());
            let v = sv.get_ref();
            let mut county_m3 = BTreeMap::new();
            for (k, &m3) in &v.county_m3 {
                match CountyCode::parse(k) {
                    Some(code) if seen.contains_key(&code) => {
                        if !(m3.is_finite() && m3 >= 0.0) {
                            errors.push(invalid(
                                line,
                                format!(
                                    "[[quota_version]] effective {}: county_m3.{k} = {m3}: expected a volume ≥ 0 in m³",
                                    v.effective_from
                                ),
                            ));
                        }
                        county_m3.insert(code, m3);
                    }
                    _ => errors.push(invalid(
                        line,
                        format!(
                            "[[quota_version]] effective {}: county_m3 has unknown county code '{k}'; valid codes: {}",
                            v.effective_from,
                            known.join(", ")
                        ),
                    )),
                }
            }
            for c in &counties {
                if !county_m3.contains_key(&c.code) {
                    errors.push(invalid(
                        line,
                        format!(
                            "[[quota_version]] effective {}: no quota for {} {} (add county_m3.{} = <m³>)",
                            v.effective_from, c.code, c.name, c.code
                        ),
                    ));
                }
            }
            let sum: f64 = county_m3.values().sum();
            if sum > b.counties_m3 + 0.5 {
                errors.push(invalid(
                    line,
                    format!(
                        "[[quota_version]] effective {}: county quotas sum to {:.0} m³ ({:.1}万), above the counties' budget of {:.0} m³ ({:.1}万)",
                        v.effective_from,
                        sum,
                        sum / 1e4,
                        b.counties_m3,
                        b.counties_m3 / 1e4
                    ),
                ));
            }
            if let Some(until) = v.effective_until
                && until <= v.effective_from
            {
                errors.push(invalid(
                    line,
                    format!(
                        "[[quota_version]] effective_until {until} is not after effective_from {}",
                        v.effective_from
                    ),
                ));
            }
            versions.push((
                line,
                QuotaVersion {
                    effective_from: v.effective_from,
                    effective_until: v.effective_until,
                    example: v.example,
                    note: v.note.clone(),
                    county_m3,
                },
            ));
        }
        versions.sort_by_key(|(_, v)| v.effective_from);
        for w in versions.windows(2) {
            let (_, a) = &w[0];
            let (line_b, bv) = &w[1];
            if a.effective_from == bv.effective_from {
                errors.push(invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] two versions take effect on {}: give each version its own effective_from",
                        a.effective_from
                    ),
                ));
            } else if let Some(until) = a.effective_until
                && until > bv.effective_from
            {
                errors.push(invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] effective {} overlaps the version effective {} (which runs until {until}): end the earlier one on or before {}",
                        bv.effective_from, a.effective_from, bv.effective_from
                    ),
                ));
            }
        }
        if versions.is_empty() {
            errors.push(invalid(
                None,
                "no [[quota_version]]: give at least one set of county quotas".into(),
            ));
        }

        // Ingest sanity.
        let ing = &raw.ingest;
        if ing.batch_max_readings == 0 {
            errors.push(invalid(
                None,
                "[ingest] batch_max_readings must be ≥ 1".into(),
            ));
        }
        if !(ing.gap_hours.is_finite() && ing.gap_hours > 0.0) {
            errors.push(invalid(
                None,
                "[ingest] gap_hours must be a positive number of hours".into(),
            ));
        }
        if !(ing.default_max_flow_m3_per_h.is_finite() && ing.default_max_flow_m3_per_h > 0.0) {
            errors.push(invalid(
                None,
                "[ingest] default_max_flow_m3_per_h must be positive".into(),
            ));
        }
        let a = &raw.assessment;
        if !(a.alpha > 0.0 && a.alpha < 1.0) {
            errors.push(invalid(
                None,
                format!("[assessment] alpha = {}: expected 0 < alpha < 1", a.alpha),
            ));
        }
        for (k, v) in [
            ("min_monthly_completeness", a.min_monthly_completeness),
            ("min_wells_sufficient_share", a.min_wells_sufficient_share),
            ("max_declining_share", a.max_declining_share),
            ("min_metering_coverage", a.min_metering_coverage),
        ] {
            if !(0.0..=1.0).contains(&v) {
                errors.push(invalid(
                    None,
                    format!("[assessment] {k} = {v}: expected a share between 0 and 1"),
                ));
            }
        }
        if a.k_at_risk > a.k_limit {
            errors.push(invalid(
                None,
                format!(
                    "[assessment] k_at_risk = {} is above k_limit = {}",
                    a.k_at_risk, a.k_limit
                ),
            ));
        }
        if raw.mqtt.topic_prefix.is_empty()
            || raw.mqtt.topic_prefix.contains(['+', '#'])
            || raw.mqtt.topic_prefix.ends_with('/')
        {
            errors.push(invalid(
                None,
                format!(
                    "[mqtt] topic_prefix '{}': expected topic levels without wildcards or a trailing '/', e.g. gw",
                    raw.mqtt.topic_prefix
                ),
            ));
        }

        // Registry.
        let registry = match (
            read(&raw.registry.intakes),
            read(&raw.registry.wells),
            clock.as_ref(),
        ) {
            (Ok((fi, ti)), Ok((fw, tw)), Some(_)) => {
                match Registry::parse(&fi, &ti, &fw, &tw, &counties, &raw.metering, &raw.ingest) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        errors.push(e.into());
                        None
                    }
                }
            }
            (ri, rw, _) => {
                if let Err(e) = ri {
                    errors.push(e);
                }
                if let Err(e) = rw {
                    errors.push(e);
                }
                None
            }
        };

        if !errors.is_empty() {
            return Err(if errors.len() == 1 {
                errors.remove(0)
            } else {
                ConfigError::Many(errors)
            });
        }
        let (Some(clock), Some(registry)) = (clock, registry) else {
            unreachable!("errors are reported above")
        };
        Ok(Config {
            source: file.to_string(),
            mqtt: raw.mqtt,
            store: raw.store,
            clock,
            ingest: raw.ingest,
            metering: raw.metering,
            assessment: raw.assessment,
            budgets: raw.budgets,
            counties,
            quota_versions: versions.into_iter().map(|(_, v)| v).collect(),
            registry,
            registry_example: raw.registry.example,
        })
    }

    /// The county with this code.
    pub fn county(&self, code: CountyCode) -> Option<&County> {
        self.counties.iter().find(|c| c.code == code)
    }

    /// True when any figure shown to users is example data (example quotas or registry).
    pub fn has_example_data(&self) -> bool {
        self.registry_example || self.quota_versions.iter().any(|v| v.example)
    }

    /// The MQTT password from `password_file` or `password_env`, if configured.
    pub fn mqtt_password(&self) -> Result<Option<String>, ConfigError> {
        if let Some(p) = &self.mqtt.password_file {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.clone(),
                source,
            })?;
            return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
        }
        if let Some(var) = &self.mqtt.password_env {
            return Ok(std::env::var(var).ok());
        }
        Ok(None)
    }
}

/// 1-based line number of byte offset `pos` in `text`.
pub fn line_at(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_config_is_valid() {
        let c = Config::embedded().unwrap();
        assert_eq!(c.counties.len(), 10);
        assert!(c.has_example_data());
        assert!(c.registry.intakes.len() >= 200);
    }

    fn with(text: &str) -> Result<Config, ConfigError> {
        Config::from_parts("t.toml", text, |p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            Ok((
                name.to_string(),
                match name {
                    "intakes.csv" => EMBEDDED_INTAKES.to_string(),
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
    fn duplicate_quota_versions_are_rejected() {
        let start = EMBEDDED_CONFIG.find("[[quota_version]]").unwrap();
        let dup = format!("{}\n{}", EMBEDDED_CONFIG, &EMBEDDED_CONFIG[start..]);
        let e = with(&dup).unwrap_err().to_string();
        assert!(e.contains("two versions take effect"), "{e}");
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
