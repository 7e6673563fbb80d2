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
    let registry = checks.registry(&raw, &counties, clock.is_some(), &read);
    checks.gateway(&raw.gateway);
    let stations = checks.stations(&raw.gateway, registry.as_ref(), &read);
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
        quarantine: raw.quarantine,
        metering: raw.metering,
        assessment: raw.assessment,
        gateway: raw.gateway,
        budgets: raw.budgets,
        counties,
        quota_versions,
        registry,
        stations,
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

    /// `[[quota_version]]`: each version on its own, then the versions together, sorted by
    /// `effective_from`.
    fn quota_versions(
        &mut self,
        raw: &[Spanned<RawQuotaVersion>],
        counties: &[County],
        budgets: &Budgets,
    ) -> Vec<QuotaVersion> {
        let mut versions: Vec<(Option<usize>, QuotaVersion)> = raw
            .iter()
            .map(|sv| {
                let line = self.line_of(sv.span());
                (
                    line,
                    self.quota_version(line, sv.get_ref(), counties, budgets),
                )
            })
            .collect();
        versions.sort_by_key(|(_, v)| v.effective_from);
        self.quota_sequence(&versions);
        if versions.is_empty() {
            self.invalid(
                None,
                "no [[quota_version]]: give at least one set of county quotas".into(),
            );
        }
        versions.into_iter().map(|(_, v)| v).collect()
    }

    /// One version: a quota for every configured county and no other, within the counties'
    /// budget.
    fn quota_version(
        &mut self,
        line: Option<usize>,
        v: &RawQuotaVersion,
        counties: &[County],
        budgets: &Budgets,
    ) -> QuotaVersion {
        let from = v.effective_from;
        let county_m3 = self.county_quotas(line, v, counties);
        let sum: f64 = county_m3.values().sum();
        if sum > budgets.counties_m3 + 0.5 {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective {from}: county quotas sum to {:.0} m³ ({:.1}万), above the counties' budget of {:.0} m³ ({:.1}万)",
                    sum,
                    sum / 1e4,
                    budgets.counties_m3,
                    budgets.counties_m3 / 1e4
                ),
            );
        }
        if let Some(until) = v.effective_until
            && until <= from
        {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective_until {until} is not after effective_from {from}"
                ),
            );
        }
        QuotaVersion {
            effective_from: from,
            effective_until: v.effective_until,
            example: v.example,
            note: v.note.clone(),
            county_m3,
        }
    }

    /// A version's `county_m3`: volumes ≥ 0, keyed by configured counties, none missing.
    fn county_quotas(
        &mut self,
        line: Option<usize>,
        v: &RawQuotaVersion,
        counties: &[County],
    ) -> BTreeMap<CountyCode, f64> {
        let from = v.effective_from;
        let mut county_m3 = BTreeMap::new();
        for (k, &m3) in &v.county_m3 {
            let Some(code) =
                CountyCode::parse(k).filter(|code| counties.iter().any(|c| c.code == *code))
            else {
                let known: Vec<String> = counties.iter().map(|c| c.code.to_string()).collect();
                self.invalid(
                    line,
                    format!(
                        "[[quota_version]] effective {from}: county_m3 has unknown county code '{k}'; valid codes: {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if !(m3.is_finite() && m3 >= 0.0) {
                self.invalid(
                    line,
                    format!(
                        "[[quota_version]] effective {from}: county_m3.{k} = {m3}: expected a volume ≥ 0 in m³"
                    ),
                );
            }
            county_m3.insert(code, m3);
        }
        for c in counties.iter().filter(|c| !county_m3.contains_key(&c.code)) {
            self.invalid(
                line,
                format!(
                    "[[quota_version]] effective {from}: no quota for {} {} (add county_m3.{} = <m³>)",
                    c.code, c.name, c.code
                ),
            );
        }
        county_m3
    }

    /// Versions sorted by `effective_from`: no two on one day, none running into the next, and
    /// no days between one that ends and the next (such a day would count zero in its year).
    fn quota_sequence(&mut self, versions: &[(Option<usize>, QuotaVersion)]) {
        for w in versions.windows(2) {
            let (line_a, a) = &w[0];
            let (line_b, b) = &w[1];
            let at =
                |line: &Option<usize>| line.map(|l| format!(" (line {l})")).unwrap_or_default();
            if a.effective_from == b.effective_from {
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] two versions take effect on {}: give each version its own effective_from",
                        a.effective_from
                    ),
                );
            } else if let Some(until) = a.effective_until
                && until > b.effective_from
            {
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] effective {} overlaps the version effective {}{} (which runs until {until}): end the earlier one on or before {}",
                        b.effective_from,
                        a.effective_from,
                        at(line_a),
                        b.effective_from
                    ),
                );
            } else if let Some(until) = a.effective_until
                && until < b.effective_from
            {
                let last = b.effective_from.yesterday().unwrap_or(b.effective_from);
                self.invalid(
                    *line_b,
                    format!(
                        "[[quota_version]] effective {} leaves a hole after the version effective {}{}, which ends before {until}: no county has a quota from {until} to {last}; set effective_until = {} in the earlier version (or remove it), or effective_from = {until} in this one",
                        b.effective_from,
                        a.effective_from,
                        at(line_a),
                        b.effective_from
                    ),
                );
            }
        }
    }

    /// `[metering]`: the silence thresholds.
    fn metering(&mut self, m: &super::raw::MeteringConfig) {
        for (key, days) in [
            ("silent_after_days", m.silent_after_days),
            ("well_silent_after_days", m.well_silent_after_days),
        ] {
            if days < 1 {
                self.invalid(
                    None,
                    format!("[metering] {key} = {days}: expected a number of days ≥ 1, e.g. 3"),
                );
            }
        }
    }

    /// `[ingest]`.
    fn ingest(&mut self, ing: &IngestConfig) {
        if ing.batch_max_readings == 0 {
            self.invalid(None, "[ingest] batch_max_readings must be ≥ 1".into());
        }
        if !(ing.gap_hours.is_finite() && ing.gap_hours > 0.0) {
            self.invalid(
                None,
                "[ingest] gap_hours must be a positive number of hours".into(),
            );
        }
        if !(ing.gap_tolerance_share.is_finite() && (0.0..=1.0).contains(&ing.gap_tolerance_share))
        {
            self.invalid(
                None,
                format!(
                    "[ingest] gap_tolerance_share = {}: expected a share from 0 to 1 of gap_hours, e.g. 0.1",
                    ing.gap_tolerance_share
                ),
            );
        }
        if !(ing.gap_tolerance_min_minutes.is_finite() && ing.gap_tolerance_min_minutes >= 0.0) {
            self.invalid(
                None,
                format!(
                    "[ingest] gap_tolerance_min_minutes = {}: expected minutes, 0 or more, e.g. 30",
                    ing.gap_tolerance_min_minutes
                ),
            );
        }
        if !(ing.max_spread_days.is_finite() && ing.max_spread_days * 24.0 >= ing.gap_hours) {
            self.invalid(
                None,
                format!(
                    "[ingest] max_spread_days = {}: expected a number of days at least as long as gap_hours ({} h), e.g. 31",
                    ing.max_spread_days, ing.gap_hours
                ),
            );
        }
        if ing.writer_stall_s == 0 {
            self.invalid(
                None,
                "[ingest] writer_stall_s = 0: expected the seconds a writer may go without a commit while messages wait, e.g. 120"
                    .into(),
            );
        }
        if ing.heartbeat_s == 0 {
            self.invalid(
                None,
                "[ingest] heartbeat_s = 0: expected the seconds between heartbeat lines, e.g. 300"
                    .into(),
            );
        }
        if ing.earliest < jiff::civil::date(2000, 1, 1) {
            self.invalid(
                None,
                format!(
                    "[ingest] earliest = {}: gwmon accepts no timestamp before 2000-01-01; use a date from 2000 on, e.g. 2010-01-01",
                    ing.earliest
                ),
            );
        }
        if !(ing.default_max_flow_m3_per_h.is_finite() && ing.default_max_flow_m3_per_h > 0.0) {
            self.invalid(
                None,
                "[ingest] default_max_flow_m3_per_h must be positive".into(),
            );
        }
        if !(ing.max_above_ground_m.is_finite() && ing.max_above_ground_m >= 0.0) {
            self.invalid(
                None,
                format!(
                    "[ingest] max_above_ground_m = {}: expected metres ≥ 0 (0 when no well flows above ground)",
                    ing.max_above_ground_m
                ),
            );
        }
        if !(ing.max_depth_m.is_finite() && ing.max_depth_m > 0.0) {
            self.invalid(
                None,
                format!(
                    "[ingest] max_depth_m = {}: expected a positive depth in m below ground, e.g. 300",
                    ing.max_depth_m
                ),
            );
        }
    }

    /// `[quarantine]`.
    fn quarantine(&mut self, q: &QuarantineConfig) {
        if q.max_age_days <= 0 {
            self.invalid(
                None,
                format!(
                    "[quarantine] max_age_days = {}: expected a positive number of days, e.g. 90",
                    q.max_age_days
                ),
            );
        }
        if q.max_rows <= 0 {
            self.invalid(
                None,
                format!(
                    "[quarantine] max_rows = {}: expected a positive number of rows, e.g. 100000",
                    q.max_rows
                ),
            );
        }
    }

    /// `[assessment]`.
    fn assessment(&mut self, a: &AssessmentConfig) {
        if !(a.alpha > 0.0 && a.alpha < 1.0) {
            self.invalid(
                None,
                format!("[assessment] alpha = {}: expected 0 < alpha < 1", a.alpha),
            );
        }
        for (k, v) in [
            ("min_monthly_completeness", a.min_monthly_completeness),
            ("min_wells_sufficient_share", a.min_wells_sufficient_share),
            ("max_declining_share", a.max_declining_share),
            ("min_metering_coverage", a.min_metering_coverage),
            ("min_data_completeness", a.min_data_completeness),
            ("metering_at_risk_band", a.metering_at_risk_band),
            ("level_aquifer_min_share", a.level_aquifer_min_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                self.invalid(
                    None,
                    format!("[assessment] {k} = {v}: expected a share between 0 and 1"),
                );
            }
        }
        for (k, v, example) in [
            ("outlier_mad_k", a.outlier_mad_k, "5"),
            ("level_step_m", a.level_step_m, "3"),
            ("bulletin_band_m", a.bulletin_band_m, "0.5"),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                self.invalid(
                    None,
                    format!("[assessment] {k} = {v}: expected a number ≥ 0, e.g. {example}"),
                );
            }
        }
        if a.recent_window_years == 0 || a.ended_months == 0 {
            self.invalid(
                None,
                format!(
                    "[assessment] recent_window_years = {}, ended_months = {}: expected at least 1, e.g. 3 and 24",
                    a.recent_window_years, a.ended_months
                ),
            );
        }
        if !(a.projection_ratio_min > 0.0 && a.projection_ratio_min <= 1.0)
            || a.projection_ratio_max < 1.0
        {
            self.invalid(
                None,
                format!(
                    "[assessment] projection_ratio_min = {}, projection_ratio_max = {}: expected 0 < min ≤ 1 ≤ max",
                    a.projection_ratio_min, a.projection_ratio_max
                ),
            );
        }
        if a.min_months_per_year == 0 || a.min_months_per_year > 12 {
            self.invalid(
                None,
                format!(
                    "[assessment] min_months_per_year = {}: expected 1 to 12",
                    a.min_months_per_year
                ),
            );
        }
        if a.k_at_risk > a.k_limit {
            self.invalid(
                None,
                format!(
                    "[assessment] k_at_risk = {} is above k_limit = {}",
                    a.k_at_risk, a.k_limit
                ),
            );
        }
    }

    /// `[mqtt]`: the topic prefix (the URL is checked when connecting).
    fn mqtt(&mut self, mqtt: &MqttConfig) {
        let prefix = &mqtt.topic_prefix;
        if prefix.is_empty() || prefix.contains(['+', '#']) || prefix.ends_with('/') {
            self.invalid(
                None,
                format!(
                    "[mqtt] topic_prefix '{prefix}': expected topic levels without wildcards or a trailing '/', e.g. gw"
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

    /// `[gateway]`: listeners and limits (the stations file is read by [`Checks::stations`]).
    fn gateway(&mut self, g: &GatewayConfig) {
        if g.listen.is_empty() {
            self.invalid(
                None,
                "[gateway] listen = []: give at least one listener, e.g. listen = [{ addr = \"0.0.0.0:9651\", protocol = \"auto\" }]".into(),
            );
        }
        let mut seen = HashSet::new();
        for l in &g.listen {
            if l.addr.parse::<std::net::SocketAddr>().is_err() {
                self.invalid(
                    None,
                    format!(
                        "[gateway] listen addr = \"{}\": expected an IP address and port, e.g. \"0.0.0.0:9651\"",
                        l.addr
                    ),
                );
            } else if !seen.insert(l.addr.clone()) {
                self.invalid(
                    None,
                    format!(
                        "[gateway] listen addr = \"{}\" appears twice: one listener per address (protocol = \"auto\" takes both protocols)",
                        l.addr
                    ),
                );
            }
        }
        for (key, v, eg) in [
            ("idle_timeout_s", g.idle_timeout_s, 300),
            ("puback_timeout_s", g.puback_timeout_s, 10),
            ("reassembly_timeout_s", g.reassembly_timeout_s, 120),
            ("reassembly_max_mb", g.reassembly_max_mb, 64),
            (
                "archive_rows_per_minute",
                u64::from(g.archive_rows_per_minute),
                60,
            ),
            ("archive_max_mb", g.archive_max_mb.unwrap_or(1), 256),
            ("max_connections", g.max_connections as u64, 10_000),
            (
                "max_connections_per_address",
                g.max_connections_per_address as u64,
                16,
            ),
        ] {
            if v == 0 {
                self.invalid(
                    None,
                    format!("[gateway] {key} = 0: expected a positive number, e.g. {eg}"),
                );
            }
        }
        if !(32..=65_536).contains(&g.max_frame_bytes) {
            self.invalid(
                None,
                format!(
                    "[gateway] max_frame_bytes = {}: expected 32 to 65536; 4112 holds the longest SL 651 frame",
                    g.max_frame_bytes
                ),
            );
        }
        if !(1..=4095).contains(&g.max_packets) {
            self.invalid(
                None,
                format!(
                    "[gateway] max_packets = {}: expected 1 to 4095 (SL 651 counts packets in 12 bits), e.g. 64",
                    g.max_packets
                ),
            );
        }
        if g.archive_max_age_days <= 0 {
            self.invalid(
                None,
                format!(
                    "[gateway] archive_max_age_days = {}: expected a positive number of days, e.g. 90",
                    g.archive_max_age_days
                ),
            );
        }
        if g.client_id.trim().is_empty() {
            self.invalid(
                None,
                "[gateway] client_id is empty: give the gateway's own MQTT client id, e.g. gwmon-gateway".into(),
            );
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
