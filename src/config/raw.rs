//! The TOML file's shape, as serde reads it: the sections [`super::Config`] keeps as they are
//! (`[mqtt]`, `[store]`, `[ingest]`, `[quarantine]`, `[metering]`, `[assessment]`, `[budgets]`),
//! the raw tables
//! [`super::validate`] turns into typed values (`[[county]]`, `[[quota_version]]`, `[registry]`),
//! the documented defaults, and the date fields' parsing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::civil::Date;
use serde::Deserialize;

use super::registry::DutyThresholds;
use crate::domain::LevelLimits;

const DEFAULT_TOPIC_PREFIX: &str = "gw";
const DEFAULT_CLIENT_ID: &str = "gwmon";
const DEFAULT_KEEP_ALIVE_S: u64 = 30;
const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
const DEFAULT_BATCH_MAX_READINGS: usize = 5000;
const DEFAULT_BATCH_MAX_DELAY_MS: u64 = 60;
const DEFAULT_BATCH_MIN_DELAY_MS: u64 = 40;
const DEFAULT_BATCH_QUIET_MS: u64 = 3;
const DEFAULT_FUTURE_MARGIN_S: i64 = 600;
const DEFAULT_GAP_HOURS: f64 = 24.0;
const DEFAULT_MAX_FLOW_M3_PER_H: f64 = 500.0;
const DEFAULT_JITTER_M3: f64 = 1.0;
const DEFAULT_MAX_ABOVE_GROUND_M: f64 = 1.0;
const DEFAULT_MAX_DEPTH_M: f64 = 300.0;
const DEFAULT_RECONNECT_MAX_S: u64 = 5;
const DEFAULT_MAX_SPREAD_DAYS: f64 = 31.0;
const DEFAULT_QUARANTINE_MAX_AGE_DAYS: i64 = 90;
const DEFAULT_QUARANTINE_MAX_ROWS: i64 = 100_000;
const DEFAULT_GATEWAY_STATIONS: &str = "stations.csv";
const DEFAULT_GATEWAY_LISTEN: &str = "0.0.0.0:9651";
const DEFAULT_GATEWAY_CLIENT_ID: &str = "gwmon-gateway";
const DEFAULT_GATEWAY_IDLE_TIMEOUT_S: u64 = 300;
/// An SL 651 frame is at most 4095 + 17 bytes; an SZY 206 frame at most 255 + 5.
const DEFAULT_GATEWAY_MAX_FRAME_BYTES: usize = 4112;
const DEFAULT_GATEWAY_MAX_CONNECTIONS: usize = 10_000;
/// A terminal holds one connection; a few more cover DTUs behind one NAT address and a
/// reconnect racing its dead predecessor.
const DEFAULT_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
const DEFAULT_GATEWAY_PUBACK_TIMEOUT_S: u64 = 10;
const DEFAULT_GATEWAY_REASSEMBLY_TIMEOUT_S: u64 = 120;
const DEFAULT_GATEWAY_ARCHIVE_MAX_AGE_DAYS: i64 = 90;
/// SL 651 hydrological reports take a few packets; pictures, which the gateway does not decode,
/// take more.
const DEFAULT_GATEWAY_MAX_PACKETS: u16 = 64;
const DEFAULT_GATEWAY_REASSEMBLY_MAX_MB: u64 = 64;
/// A terminal reports every 5 to 60 minutes: 60 refused frames a minute is far past any
/// terminal's own rate.
const DEFAULT_GATEWAY_ARCHIVE_ROWS_PER_MINUTE: u32 = 60;
const DEFAULT_GW_PERMIT_DUTY_M3: f64 = 50_000.0;
const DEFAULT_SURFACE_PERMIT_DUTY_M3: f64 = 500_000.0;

/// The whole file as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) mqtt: MqttConfig,
    pub(super) store: StoreConfig,
    pub(super) time: TimeConfig,
    #[serde(default)]
    pub(super) ingest: IngestConfig,
    #[serde(default)]
    pub(super) http: HttpConfig,
    #[serde(default)]
    pub(super) quarantine: QuarantineConfig,
    #[serde(default)]
    pub(super) metering: MeteringConfig,
    #[serde(default)]
    pub(super) assessment: AssessmentConfig,
    #[serde(default)]
    pub(super) gateway: GatewayConfig,
    #[serde(default)]
    pub(super) report: ReportConfig,
    pub(super) registry: RegistryConfig,
    pub(super) budgets: Budgets,
    #[serde(rename = "county")]
    pub(super) counties: Vec<toml::Spanned<RawCounty>>,
    #[serde(rename = "quota_version")]
    pub(super) quota_versions: Vec<toml::Spanned<RawQuotaVersion>>,
    #[serde(default, rename = "springs")]
    pub(super) springs: Vec<Spring>,
}

/// `[[springs]]`: a karst spring whose recovery the plan watches (任务42–43).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spring {
    pub name: String,
    /// The outlet's elevation, m above the wells' datum.
    pub outlet_m: f64,
    /// The karst monitoring wells that represent it (wells.csv ids).
    pub wells: Vec<String>,
    /// The year it should flow again by, if the plan sets one (兰村泉: 2030).
    #[serde(default)]
    pub reflow_by: Option<i16>,
    /// The outlet elevation or the wells are example values (示例值).
    #[serde(default)]
    pub example: bool,
}

/// `[report]`: who the Word documents are by, and the font that draws what the embedded chart
/// font cannot.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// 编制单位: the Word documents' author (their metadata and the sign-off block). Empty: the
    /// metadata carries no author and the block is left blank to fill in.
    #[serde(default)]
    pub author: String,
    /// A font file (TTF, OTF or TTC, face 0 unless `fallback_font_index`) that draws the
    /// characters the embedded chart font lacks (it covers GB18030 level 1). Unset: the first of
    /// the usual system CJK fonts that exists (Noto Sans CJK, WenQuanYi).
    #[serde(default)]
    pub fallback_font: Option<PathBuf>,
    #[serde(default)]
    pub fallback_font_index: u32,
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
    /// Subscribe as `$share/<group>/…`: the daemons of one group, on one PostgreSQL store, share
    /// the messages between them (each message goes to one of them).
    #[serde(default)]
    pub shared_group: Option<String>,
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

/// `[store]`: the SQLite database, or a PostgreSQL store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database (the embedded default).
    pub path: PathBuf,
    /// `postgres://USER@HOST:PORT/DATABASE`: the store is PostgreSQL and `path` is not used.
    #[serde(default)]
    pub url: Option<String>,
}

/// `[time]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    pub zone: String,
}

/// `[http]`: the listener of the web view and its API (`gwmon serve`, `gwmon run`) and, in the
/// daemon, of `/healthz` and `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on; empty: no listener.
    pub listen: String,
    /// PEM certificate chain: the listener speaks TLS (with `key_file`). Unset: plain HTTP, for
    /// a loopback address or behind nginx.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Behind a reverse proxy: the client's address for the login limit is the last of
    /// `X-Forwarded-For` (set by the proxy), not the proxy's own.
    pub behind_proxy: bool,
    /// Seconds a page's figures are reused while the store keeps changing (a running daemon
    /// commits every second); an unchanged store reuses them until it changes.
    pub cache_s: u64,
    /// A file whose first line is the token `/metrics` requires (`Authorization: Bearer …`):
    /// its per-county figures stay with the monitoring system when the listener faces the
    /// counties. Unset: `/metrics` is open, as on a loopback listener.
    pub metrics_token_file: Option<PathBuf>,
    /// A connection that has not sent a whole request head within this many seconds (a new
    /// connection, or one kept alive between requests) is closed.
    pub header_read_timeout_s: u64,
    /// A TLS handshake not finished within this many seconds is abandoned.
    pub tls_handshake_timeout_s: u64,
    /// Connections beyond this many are closed at once; accepting also pauses near the
    /// process's open-file limit.
    pub max_connections: usize,
    /// Connections from one address beyond this many are closed at once.
    pub max_connections_per_address: usize,
    /// Page builds waiting at most (beyond: 503 with Retry-After), and per access token.
    pub build_queue: usize,
    pub build_queue_per_token: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9650".into(),
            cert_file: None,
            key_file: None,
            behind_proxy: false,
            cache_s: 60,
            metrics_token_file: None,
            header_read_timeout_s: 20,
            tls_handshake_timeout_s: 10,
            max_connections: 1024,
            max_connections_per_address: 64,
            build_queue: 16,
            build_queue_per_token: 2,
        }
    }
}

/// `[ingest]`: batching and the plausibility rules applied to incoming readings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub batch_max_readings: usize,
    pub batch_max_delay_ms: u64,
    /// A batch that is not full stays open at least this long; after that it closes as soon as
    /// `batch_quiet_ms` passes without a message.
    pub batch_min_delay_ms: u64,
    pub batch_quiet_ms: u64,
    pub max_payload_bytes: usize,
    pub future_margin_s: i64,
    pub gap_hours: f64,
    /// A terminal's reporting time wanders (08:00 one day, 08:20 the next): an interval is a gap
    /// only past `gap_hours` plus this share of it, and at least `gap_tolerance_min_minutes`.
    pub gap_tolerance_share: f64,
    pub gap_tolerance_min_minutes: f64,
    pub default_max_flow_m3_per_h: f64,
    pub counter_jitter_m3: f64,
    /// A level reading putting the water table more than this far above ground is refused.
    pub max_above_ground_m: f64,
    /// A level reading deeper than this below ground is refused, unless the well's registry row
    /// sets its own `max_depth_m`.
    pub max_depth_m: f64,
    /// Readings stamped before this local date are refused (`bad_timestamp`): a device clock at
    /// its default date after a power loss must not rewrite years of history.
    #[serde(deserialize_with = "de_date")]
    pub earliest: Date,
    /// A meter interval longer than this many days is a long gap: spread over its days as
    /// estimated volume like any gap, and also recorded as a `long_gap` event in `meter_events`
    /// for review; `[assessment] max_long_gap_share` weighs it in the verdict.
    pub max_spread_days: f64,
    /// Seconds between the daemon's heartbeat lines (connected, last message age, totals).
    /// A writer with messages waiting that commits nothing for this long is stalled:
    /// `/healthz` says unhealthy and the systemd watchdog stops being pinged.
    pub writer_stall_s: u64,
    pub heartbeat_s: u64,
}

impl IngestConfig {
    /// Seconds an interval may last before it is a gap: `gap_hours` and its tolerance.
    pub fn gap_s(&self) -> i64 {
        let base = self.gap_hours * 3600.0;
        let tolerance =
            (base * self.gap_tolerance_share).max(self.gap_tolerance_min_minutes * 60.0);
        (base + tolerance) as i64
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            batch_max_readings: DEFAULT_BATCH_MAX_READINGS,
            batch_max_delay_ms: DEFAULT_BATCH_MAX_DELAY_MS,
            batch_min_delay_ms: DEFAULT_BATCH_MIN_DELAY_MS,
            batch_quiet_ms: DEFAULT_BATCH_QUIET_MS,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            future_margin_s: DEFAULT_FUTURE_MARGIN_S,
            gap_hours: DEFAULT_GAP_HOURS,
            gap_tolerance_share: 0.1,
            gap_tolerance_min_minutes: 30.0,
            default_max_flow_m3_per_h: DEFAULT_MAX_FLOW_M3_PER_H,
            counter_jitter_m3: DEFAULT_JITTER_M3,
            max_above_ground_m: DEFAULT_MAX_ABOVE_GROUND_M,
            max_depth_m: DEFAULT_MAX_DEPTH_M,
            earliest: jiff::civil::date(2010, 1, 1),
            max_spread_days: DEFAULT_MAX_SPREAD_DAYS,
            heartbeat_s: 300,
            writer_stall_s: 120,
        }
    }
}

impl IngestConfig {
    /// The plausible depths to water of a well whose registry row sets no `max_depth_m`.
    pub fn level_limits(&self) -> LevelLimits {
        LevelLimits {
            max_above_ground_m: self.max_above_ground_m,
            max_depth_m: self.max_depth_m,
        }
    }
}

/// `[quarantine]`: how long refused input is kept. The daemon deletes older rows, then the oldest
/// beyond the row limit, at start and then hourly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// Rows received more than this many days ago are deleted.
    pub max_age_days: i64,
    /// At most this many rows are kept: the newest.
    pub max_rows: i64,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            max_age_days: DEFAULT_QUARANTINE_MAX_AGE_DAYS,
            max_rows: DEFAULT_QUARANTINE_MAX_ROWS,
        }
    }
}

/// `[gateway]`: the TCP gateway for SL 651 / SZY 206 field terminals (`gwmon gateway`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Run the gateway inside `gwmon run` as well.
    pub enabled: bool,
    /// stations.csv, relative to the config file's folder. When the key is left out, a missing
    /// file means no stations (unless `enabled`); a file named here must exist.
    pub stations: Option<PathBuf>,
    /// The listeners; each takes one protocol or detects it per frame (`auto`).
    pub listen: Vec<ListenConfig>,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout_s: u64,
    /// Frames longer than this are refused (the stream resynchronises past them).
    pub max_frame_bytes: usize,
    /// Connections beyond this many are closed at once.
    pub max_connections: usize,
    /// Connections from one IP address beyond this many are closed at once, so that one
    /// address cannot take every slot.
    pub max_connections_per_address: usize,
    /// The gateway's own MQTT client id (a second gateway needs another).
    pub client_id: String,
    /// A frame whose readings the broker has not acknowledged within this many seconds is not
    /// confirmed: the terminal sends it again.
    pub puback_timeout_s: u64,
    /// Packets of an SL 651 multi-packet message (M3) are kept this long for the rest.
    pub reassembly_timeout_s: u64,
    /// Archived raw frames older than this many days are deleted (hourly).
    pub archive_max_age_days: i64,
    /// The archive holds at most this many megabytes, oldest rows deleted first; unset, a
    /// twentieth of the space free on the store's volume when the gateway starts (16 to 1024).
    pub archive_max_mb: Option<u64>,
    /// Frames not applied (refused, unknown, bad CRC, packets) are archived at most this many a
    /// minute per connection and per station; the rest are counted only.
    pub archive_rows_per_minute: u32,
    /// An SL 651 multi-packet message claiming more packets than this is refused.
    pub max_packets: u16,
    /// Packets held for reassembly by all connections together, megabytes at most.
    pub reassembly_max_mb: u64,
}

impl GatewayConfig {
    /// The stations file: the configured path or the default name.
    pub fn stations_path(&self) -> PathBuf {
        self.stations
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_GATEWAY_STATIONS))
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            stations: None,
            listen: vec![ListenConfig {
                addr: DEFAULT_GATEWAY_LISTEN.into(),
                protocol: ListenProtocol::Auto,
            }],
            idle_timeout_s: DEFAULT_GATEWAY_IDLE_TIMEOUT_S,
            max_frame_bytes: DEFAULT_GATEWAY_MAX_FRAME_BYTES,
            max_connections: DEFAULT_GATEWAY_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS,
            client_id: DEFAULT_GATEWAY_CLIENT_ID.into(),
            puback_timeout_s: DEFAULT_GATEWAY_PUBACK_TIMEOUT_S,
            reassembly_timeout_s: DEFAULT_GATEWAY_REASSEMBLY_TIMEOUT_S,
            archive_max_age_days: DEFAULT_GATEWAY_ARCHIVE_MAX_AGE_DAYS,
            archive_max_mb: None,
            archive_rows_per_minute: DEFAULT_GATEWAY_ARCHIVE_ROWS_PER_MINUTE,
            max_packets: DEFAULT_GATEWAY_MAX_PACKETS,
            reassembly_max_mb: DEFAULT_GATEWAY_REASSEMBLY_MAX_MB,
        }
    }
}

/// One `[[gateway.listen]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// `ip:port`.
    pub addr: String,
    #[serde(default = "default_listen_protocol")]
    pub protocol: ListenProtocol,
}

/// What a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenProtocol {
    Sl651,
    Szy206,
    /// Either, detected per frame by its start bytes.
    Auto,
}

fn default_listen_protocol() -> ListenProtocol {
    ListenProtocol::Auto
}

/// `[metering]`: the plan's online-metering duty (任务 4), applied to the registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeteringConfig {
    pub groundwater_permit_min_m3: f64,
    pub surface_permit_min_m3: f64,
    /// An obliged intake counts as reporting when its last reading is at most this old.
    pub silent_after_days: i64,
    /// A monitoring well counts as reporting when its last level reading is at most this old.
    pub well_silent_after_days: i64,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        Self {
            groundwater_permit_min_m3: DEFAULT_GW_PERMIT_DUTY_M3,
            surface_permit_min_m3: DEFAULT_SURFACE_PERMIT_DUTY_M3,
            silent_after_days: 3,
            well_silent_after_days: 7,
        }
    }
}

impl MeteringConfig {
    /// The permit sizes from which the registry derives the duty to meter online.
    pub fn duty(&self) -> DutyThresholds {
        DutyThresholds {
            groundwater_permit_min_m3: self.groundwater_permit_min_m3,
            surface_permit_min_m3: self.surface_permit_min_m3,
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
    /// k = withdrawal ÷ quota above which quantity fails.
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
    /// A quota that changes mid-year: `prorated` by days, or `as_issued` (the figure in force
    /// for the year, for all of it).
    pub quota_rule: crate::domain::QuotaRule,
    /// Largest share of a year's withdrawal figure that may be estimated (meter gaps spread over
    /// their days) or imputed (silent days of obliged meters) for quantity to pass.
    pub max_estimated_share: f64,
    /// Largest share of a year's withdrawal figure that may rest on long meter gaps (spread over
    /// months of silence) for quantity to pass: beyond it, at most at risk until reviewed.
    pub max_long_gap_share: f64,
    /// The recent window of the level trend: this many complete years plus the year to date.
    pub recent_window_years: u32,
    /// Outlier screen: a month further than this many MADs from its neighbours' median
    /// (deseasonalised) is left out of every level figure; 0 turns screening off.
    pub outlier_mad_k: f64,
    /// A lasting jump of more than this many metres between consecutive months is flagged as
    /// a step (datum or measuring-point change); 0 turns it off.
    pub level_step_m: f64,
    /// A falling record that stopped within this many months still counts as evidence.
    pub ended_months: usize,
    /// An aquifer supplying more than this share of the county's groundwater needs at least
    /// one well with sufficient data.
    pub level_aquifer_min_share: f64,
    /// The 公报 band: a year-on-year change of depth within ±this many metres is 稳定.
    pub bulletin_band_m: f64,
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
            quota_rule: crate::domain::QuotaRule::Prorated,
            max_estimated_share: 0.05,
            max_long_gap_share: 0.02,
            recent_window_years: 3,
            outlier_mad_k: 5.0,
            level_step_m: 3.0,
            ended_months: 24,
            level_aquifer_min_share: 0.1,
            bulletin_band_m: 0.5,
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
            max_estimated_share: self.max_estimated_share,
            max_long_gap_share: self.max_long_gap_share,
            level_aquifer_min_share: self.level_aquifer_min_share,
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

/// `[registry]`: where the two registry files are, relative to the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegistryConfig {
    pub(super) intakes: PathBuf,
    pub(super) wells: PathBuf,
    /// Dated datum versions of the wells (datums.csv); none when not named.
    #[serde(default)]
    pub(super) datums: Option<PathBuf>,
    /// The measures of `gwmon plan` (projects.csv); none when not named.
    #[serde(default)]
    pub(super) projects: Option<PathBuf>,
    #[serde(default)]
    pub(super) example: bool,
}

/// `[budgets]`: the plan's fixed figures (重点任务 12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    pub city_cap_m3: f64,
    pub supply_group_m3: f64,
    pub counties_m3: f64,
}

/// One `[[county]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounty {
    pub(super) code: u32,
    pub(super) name: String,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(super) self_assessment: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(super) exit: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(super) self_assessment_met: Option<Date>,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(super) exit_met: Option<Date>,
}

/// One `[[quota_version]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuotaVersion {
    #[serde(deserialize_with = "de_date")]
    pub(super) effective_from: Date,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(super) effective_until: Option<Date>,
    #[serde(default)]
    pub(super) example: bool,
    #[serde(default)]
    pub(super) note: String,
    pub(super) county_m3: BTreeMap<String, f64>,
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
