//! The settings sections: metering, ingest, quarantine, assessment, mqtt, gateway.

use super::*;

impl Checks<'_> {
    /// `[metering]`: the silence thresholds.
    pub(super) fn metering(&mut self, m: &crate::config::raw::MeteringConfig) {
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
    pub(super) fn ingest(&mut self, ing: &IngestConfig) {
        if ing.batch_max_readings == 0 {
            self.invalid(None, "[ingest] batch_max_readings must be ≥ 1".into());
        }
        if ing.batch_min_delay_ms > ing.batch_max_delay_ms {
            self.invalid(
                None,
                format!(
                    "[ingest] batch_min_delay_ms = {} is longer than batch_max_delay_ms = {}: a batch closes at batch_max_delay_ms at the latest; lower batch_min_delay_ms or raise batch_max_delay_ms",
                    ing.batch_min_delay_ms, ing.batch_max_delay_ms
                ),
            );
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
    pub(super) fn quarantine(&mut self, q: &QuarantineConfig) {
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
    pub(super) fn assessment(&mut self, a: &AssessmentConfig) {
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

    /// `[store]`: a PostgreSQL URL, when one is given, must be one (a mistyped scheme would
    /// otherwise be taken for a SQLite file name).
    pub(super) fn store(&mut self, store: &super::super::StoreConfig) {
        if let Some(url) = &store.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            // Only the scheme is quoted: the rest may hold a password.
            let scheme = url.split_once("://").map_or("no scheme", |(s, _)| s);
            self.invalid(
                None,
                format!(
                    "[store] url ({scheme}): expected a PostgreSQL URL, postgres://USER@HOST:PORT/DATABASE (or leave url out and give a SQLite file as path)"
                ),
            );
        }
    }

    /// `[mqtt]`: the topic prefix (the URL is checked when connecting).
    pub(super) fn mqtt(&mut self, mqtt: &MqttConfig) {
        let prefix = &mqtt.topic_prefix;
        if prefix.is_empty() || prefix.contains(['+', '#']) || prefix.ends_with('/') {
            self.invalid(
                None,
                format!(
                    "[mqtt] topic_prefix '{prefix}': expected topic levels without wildcards or a trailing '/', e.g. gw"
                ),
            );
        }
        if let Some(g) = &mqtt.shared_group
            && (g.is_empty() || g.contains(['+', '#', '/']))
        {
            self.invalid(
                None,
                format!(
                    "[mqtt] shared_group '{g}': expected one topic level without wildcards or '/', e.g. gwmon (or leave it out: one daemon takes every message)"
                ),
            );
        }
    }

    /// `[gateway]`: listeners and limits (the stations file is read by [`Checks::stations`]).
    pub(super) fn gateway(&mut self, g: &GatewayConfig) {
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
}
