//! From the TOML's raw shape to a validated [`Config`]: one check per section, each adding what
//! is wrong with its section to one list, so that a user fixes every problem in one round.
//!
//! The sections are checked in a fixed order (time, counties, budgets, quotas, ingest,
//! quarantine, assessment, mqtt, then the registry files), which is the order the problems are
//! reported in.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::error::{ConfigError, line_at};
use super::raw::GatewayConfig;
use super::raw::{
    AssessmentConfig, Budgets, IngestConfig, MqttConfig, QuarantineConfig, RawConfig, RawCounty,
    RawQuotaVersion, TimeConfig,
};
use super::registry::{Registry, RegistryParams};
use super::stations::Stations;
use super::{Config, County};
use crate::domain::time::LocalClock;
use crate::domain::{CountyCode, QuotaVersion};

mod quotas;
mod sections;

/// Parses config `text` (from `file`) and checks every section; `read` fetches a registry file
/// named in it, as (name for messages, contents).
pub(super) fn build(
    file: &str,
    text: &str,
    read: impl Fn(&Path) -> Result<(String, String), ConfigError>,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let mut checks = Checks {
        file,
        text,
        errors: Vec::new(),
    };
    let clock = checks.clock(&raw.time);
    let counties = checks.counties(&raw.counties);
    checks.budgets(&raw.budgets);
    let quota_versions = checks.quota_versions(&raw.quota_versions, &counties, &raw.budgets);
    checks.ingest(&raw.ingest);
    if !raw.http.listen.is_empty() && raw.http.listen.parse::<std::net::SocketAddr>().is_err() {
        checks.invalid(
            None,
            format!(
                "[http] listen = \"{}\": expected an IP address and port, e.g. \"127.0.0.1:9650\" (or \"\" for no listener)",
                raw.http.listen
            ),
        );
    }
    match (&raw.http.cert_file, &raw.http.key_file) {
        (Some(_), None) | (None, Some(_)) => checks.invalid(
            None,
            "[http] cert_file and key_file go together: set both for TLS on the listener, or neither (plain HTTP, or TLS at a reverse proxy)".to_string(),
        ),
        _ => {}
    }
    let h = &raw.http;
    for (key, v, eg) in [
        ("header_read_timeout_s", h.header_read_timeout_s, 20),
        ("tls_handshake_timeout_s", h.tls_handshake_timeout_s, 10),
        ("max_connections", h.max_connections as u64, 1024),
        (
            "max_connections_per_address",
            h.max_connections_per_address as u64,
            64,
        ),
        ("build_queue", h.build_queue as u64, 16),
        ("build_queue_per_token", h.build_queue_per_token as u64, 2),
    ] {
        if v == 0 {
            checks.invalid(
                None,
                format!("[http] {key} = 0: expected a positive number, e.g. {eg}"),
            );
        }
    }
    checks.quarantine(&raw.quarantine);
    checks.metering(&raw.metering);
    checks.assessment(&raw.assessment);
    checks.mqtt(&raw.mqtt);
    checks.store(&raw.store);
    let registry = checks.registry(&raw, &counties, clock.is_some(), &read);
    checks.gateway(&raw.gateway);
    let stations = checks.stations(&raw.gateway, registry.as_ref(), &read);
    let projects = checks.projects(&raw, &counties, registry.as_ref(), &read);
    checks.springs(&raw.springs, registry.as_ref());
    checks.finish()?;
    let (Some(clock), Some(registry), Some(stations)) = (clock, registry, stations) else {
        unreachable!("a missing clock, registry or stations file is reported as an error above")
    };
    Ok(Config {
        source: file.to_string(),
        mqtt: raw.mqtt,
        store: raw.store,
        clock,
        ingest: raw.ingest,
        http: raw.http,
        report: raw.report,
        quarantine: raw.quarantine,
        metering: raw.metering,
        assessment: raw.assessment,
        gateway: raw.gateway,
        budgets: raw.budgets,
        counties,
        quota_versions,
        registry,
        stations,
        projects,
        springs: raw.springs,
        registry_example: raw.registry.example,
    })
}

/// The problems found so far in one config file.
struct Checks<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Checks<'_> {
    fn invalid(&mut self, line: Option<usize>, message: String) {
        self.errors.push(ConfigError::Invalid {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    /// The line a TOML table starts on.
    fn line_of(&self, span: Range<usize>) -> Option<usize> {
        Some(line_at(self.text, span.start))
    }

    /// `Err` with every problem found (a single one as itself), or `Ok` when there are none.
    fn finish(mut self) -> Result<(), ConfigError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(self.errors.remove(0)),
            _ => Err(ConfigError::Many(self.errors)),
        }
    }

    /// `[time]`.
    fn clock(&mut self, time: &TimeConfig) -> Option<LocalClock> {
        LocalClock::new(&time.zone)
            .map_err(|e| self.invalid(None, format!("[time] zone: {e}")))
            .ok()
    }

    /// `[[county]]`: every county with a valid code, duplicates included (they are reported).
    fn counties(&mut self, raw: &[Spanned<RawCounty>]) -> Vec<County> {
        let mut seen = HashSet::new();
        let counties: Vec<County> = raw
            .iter()
            .filter_map(|sc| self.county(self.line_of(sc.span()), sc.get_ref(), &mut seen))
            .collect();
        if counties.is_empty() {
            self.invalid(
                None,
                "no [[county]] tables: list the county-level divisions to monitor".into(),
            );
        }
        counties
    }

    fn county(
        &mut self,
        line: Option<usize>,
        c: &RawCounty,
        seen: &mut HashSet<CountyCode>,
    ) -> Option<County> {
        let Some(code) = CountyCode::parse(&c.code.to_string()) else {
            self.invalid(
                line,
                format!(
                    "[[county]] code {}: expected a six-digit GB/T 2260 code such as 140121",
                    c.code
                ),
            );
            return None;
        };
        if !seen.insert(code) {
            self.invalid(
                line,
                format!("[[county]] code {code} appears twice: each county once"),
            );
        }
        if c.name.trim().is_empty() {
            self.invalid(line, format!("[[county]] {code}: name is empty"));
        }
        if let (Some(s), Some(e)) = (c.self_assessment, c.exit)
            && s > e
        {
            self.invalid(
                line,
                format!(
                    "[[county]] {code} ({}): self_assessment {s} is after exit {e}; the self-assessment comes first",
                    c.name
                ),
            );
        }
        Some(County {
            code,
            name: c.name.trim().to_string(),
            self_assessment: c.self_assessment,
            exit: c.exit,
            self_assessment_met: c.self_assessment_met,
            exit_met: c.exit_met,
        })
    }

    /// `[budgets]`.
    fn budgets(&mut self, b: &Budgets) {
        for (k, v) in [
            ("city_cap_m3", b.city_cap_m3),
            ("supply_group_m3", b.supply_group_m3),
            ("counties_m3", b.counties_m3),
        ] {
            if !(v.is_finite() && v > 0.0) {
                self.invalid(
                    None,
                    format!("[budgets] {k} = {v}: expected a positive volume in m³"),
                );
            }
        }
        if b.supply_group_m3 + b.counties_m3 > b.city_cap_m3 + 0.5 {
            self.invalid(
                None,
                format!(
                    "[budgets] supply_group_m3 + counties_m3 = {} m³ exceeds city_cap_m3 = {} m³",
                    b.supply_group_m3 + b.counties_m3,
                    b.city_cap_m3
                ),
            );
        }
    }

    /// `[registry]`: both files are read (so that a missing one is reported either way) and
    /// parsed when both are there and `zone_ok`.
    fn registry(
        &mut self,
        raw: &RawConfig,
        counties: &[County],
        zone_ok: bool,
        read: &impl Fn(&Path) -> Result<(String, String), ConfigError>,
    ) -> Option<Registry> {
        match (read(&raw.registry.intakes), read(&raw.registry.wells)) {
            (Ok((fi, ti)), Ok((fw, tw))) if zone_ok => {
                let codes: Vec<CountyCode> = counties.iter().map(|c| c.code).collect();
                let params = RegistryParams {
                    counties: &codes,
                    duty: raw.metering.duty(),
                    default_max_flow_m3_per_h: raw.ingest.default_max_flow_m3_per_h,
                    level_limits: raw.ingest.level_limits(),
                };
                let mut reg = Registry::parse(&fi, &ti, &fw, &tw, &params)
                    .map_err(|e| self.errors.push(e.into()))
                    .ok()?;
                // datums.csv, when [registry] datums names it.
                if let Some(path) = &raw.registry.datums {
                    match read(path) {
                        Ok((fd, td)) => {
                            if let Err(e) = super::datums::apply(&fd, &td, &mut reg) {
                                self.errors.push(e.into());
                                return None;
                            }
                        }
                        Err(e) => {
                            self.errors.push(e);
                            return None;
                        }
                    }
                }
                Some(reg)
            }
            (ri, rw) => {
                self.errors.extend(ri.err());
                self.errors.extend(rw.err());
                None
            }
        }
    }

    /// `[[springs]]`: an outlet elevation a datum can give, and karst wells of the registry.
    fn springs(&mut self, springs: &[super::Spring], registry: Option<&Registry>) {
        for s in springs {
            if !(s.outlet_m.is_finite() && (-500.0..9000.0).contains(&s.outlet_m)) {
                self.invalid(
                    None,
                    format!(
                        "[[springs]] {}: outlet_m = {}: expected the outlet's elevation in m above the wells' datum, e.g. 802.59",
                        s.name, s.outlet_m
                    ),
                );
            }
            if s.wells.is_empty() {
                self.invalid(
                    None,
                    format!("[[springs]] {}: wells is empty: name the karst monitoring wells that represent the spring", s.name),
                );
            }
            let Some(registry) = registry else { continue };
            for id in &s.wells {
                match registry.well(id) {
                    None => self.invalid(
                        None,
                        format!("[[springs]] {}: '{id}' is not a well in wells.csv: list it there, or correct the id", s.name),
                    ),
                    Some(w) if w.aquifer != crate::domain::Aquifer::Karst => self.invalid(
                        None,
                        format!("[[springs]] {}: '{id}' screens {}, not karst water: a spring is represented by karst wells", s.name, w.aquifer.label()),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    /// projects.csv, when `[registry] projects` names it, checked against the registry once that
    /// parsed.
    fn projects(
        &mut self,
        raw: &RawConfig,
        counties: &[County],
        registry: Option<&Registry>,
        read: &impl Fn(&Path) -> Result<(String, String), ConfigError>,
    ) -> Vec<super::projects::Project> {
        let (Some(path), Some(registry)) = (&raw.registry.projects, registry) else {
            return Vec::new();
        };
        match read(path) {
            Ok((file, text)) => {
                let codes: Vec<CountyCode> = counties.iter().map(|c| c.code).collect();
                super::projects::parse(&file, &text, registry, &codes)
                    .map_err(|e| self.errors.push(e.into()))
                    .unwrap_or_default()
            }
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        }
    }

    /// stations.csv, checked against the registry once that parsed. A missing file is no
    /// stations, unless the file is named in `[gateway] stations` or the gateway is enabled.
    fn stations(
        &mut self,
        g: &GatewayConfig,
        registry: Option<&Registry>,
        read: &impl Fn(&Path) -> Result<(String, String), ConfigError>,
    ) -> Option<Stations> {
        let path = g.stations_path();
        match read(&path) {
            Ok((file, text)) => {
                let registry = registry?;
                Stations::parse(&file, &text, registry)
                    .map_err(|e| self.errors.push(e.into()))
                    .ok()
            }
            Err(ConfigError::Read { path: full, source })
                if source.kind() == std::io::ErrorKind::NotFound
                    && g.stations.is_none()
                    && !g.enabled =>
            {
                Some(Stations::none(&full.display().to_string()))
            }
            Err(ConfigError::Read { path: full, source })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.invalid(
                    None,
                    format!(
                        "[gateway] stations: {} does not exist; create it with the header station,protocol,device_id,quantity,element,reply (README, \"Field terminals\"){}",
                        full.display(),
                        if g.enabled { ", or set [gateway] enabled = false" } else { "" }
                    ),
                );
                None
            }
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}
