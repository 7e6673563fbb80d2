//! The daemon's health and metrics, shared by the poll loop, the writer thread and the HTTP
//! listener: a few atomics for `/healthz`, and a Prometheus recorder of the daemon's own (not the
//! process-global one, so that several daemons in one process — the tests, the demo — keep
//! their figures apart) rendered at `/metrics`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// How long the broker may be away before `/healthz` says so: a restart or a short network cut
/// is ridden out by the reconnect loop.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(30);

const COMMIT_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// Writer stall threshold when none is configured (`[ingest] writer_stall_s`).
pub const DEFAULT_WRITER_STALL: Duration = Duration::from_secs(120);

/// What `/healthz` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthState {
    Ok,
    /// Paused for a known cause a restart cannot fix (the store refuses writes: a lock, a full
    /// disk, a permission): nothing is lost, the daemon resumes by itself.
    Degraded(String),
    /// Something a restart may fix, or an operator must see: the broker away, the writer stalled.
    Unhealthy(String),
}

/// What `/healthz` reads and `/metrics` renders.
pub struct Health {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connected: AtomicBool,
    /// Connected at least once since start.
    last_connected: AtomicBool,
    /// Epoch seconds since the broker is away (0 = connected, or never connected yet: then the
    /// start time).
    away_since: AtomicI64,
    /// Epoch seconds since the store refuses writes (0 = it accepts them).
    paused_since: AtomicI64,
    /// Epoch seconds of the last publish received (0 = none yet).
    last_message_at: AtomicI64,
    /// Messages handed to the writer and not yet committed.
    pending: AtomicI64,
    /// Epoch seconds of the writer's last commit (the start time before the first).
    last_commit_at: AtomicI64,
    /// A writer with messages waiting and no commit for this long is stalled.
    stall_s: AtomicI64,
    /// `gwmon_readings_{stored,duplicate}_total` for meters and for levels, registered once:
    /// the writer adds to them after every batch.
    stored: [Counter; 2],
    duplicates: [Counter; 2],
    reconnects: Counter,
    connected_gauge: Gauge,
    /// Registered with the first message: absent before it (0 would read as 1970).
    last_message: OnceLock<Gauge>,
    paused_gauge: Gauge,
    pending_gauge: Gauge,
    commit_seconds: Histogram,
    batch_readings: Histogram,
}

const META: Metadata<'static> = Metadata::new("gwmon", metrics::Level::INFO, Some("gwmon"));

impl Health {
    /// A fresh recorder; `now` is the start time (the broker counts as away from then on until
    /// the first connection).
    pub fn new(now: i64) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("gwmon_commit_duration_seconds".into()),
                &COMMIT_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("gwmon_batch_readings".into()),
                    &BATCH_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        let key = |name: &'static str| Key::from_name(name);
        let by_kind = |name: &'static str| {
            ["meter", "level"].map(|kind| {
                recorder.register_counter(
                    &Key::from_parts(name, vec![Label::new("kind", kind)]),
                    &META,
                )
            })
        };
        Self {
            stored: by_kind("gwmon_readings_stored_total"),
            duplicates: by_kind("gwmon_readings_duplicate_total"),
            reconnects: recorder.register_counter(&key("gwmon_mqtt_reconnects_total"), &META),
            connected_gauge: recorder.register_gauge(&key("gwmon_mqtt_connected"), &META),
            last_message: OnceLock::new(),
            paused_gauge: recorder.register_gauge(&key("gwmon_store_paused_seconds"), &META),
            pending_gauge: recorder.register_gauge(&key("gwmon_writer_pending_messages"), &META),
            commit_seconds: recorder
                .register_histogram(&key("gwmon_commit_duration_seconds"), &META),
            batch_readings: recorder.register_histogram(&key("gwmon_batch_readings"), &META),
            recorder,
            handle,
            connected: AtomicBool::new(false),
            last_connected: AtomicBool::new(false),
            away_since: AtomicI64::new(now),
            paused_since: AtomicI64::new(0),
            last_message_at: AtomicI64::new(0),
            pending: AtomicI64::new(0),
            last_commit_at: AtomicI64::new(now),
            stall_s: AtomicI64::new(DEFAULT_WRITER_STALL.as_secs() as i64),
        }
    }

    /// Sets how long a writer may go without a commit while messages wait.
    pub fn set_writer_stall(&self, d: Duration) {
        self.stall_s
            .store(d.as_secs().max(1) as i64, Ordering::Relaxed);
    }

    /// The broker accepted the connection.
    pub fn connected(&self) {
        self.last_connected.store(true, Ordering::Relaxed);
        self.connected.store(true, Ordering::Relaxed);
        self.away_since.store(0, Ordering::Relaxed);
        self.connected_gauge.set(1.0);
    }

    /// The connection was lost, or a connection attempt failed, at `now`: either counts in
    /// `gwmon_mqtt_reconnects_total`, so a broker that never answers shows as a climbing count.
    pub fn disconnected(&self, now: i64) {
        if self.connected.swap(false, Ordering::Relaxed) {
            self.away_since.store(now, Ordering::Relaxed);
        }
        self.reconnects.increment(1);
        self.connected_gauge.set(0.0);
    }

    /// Whether the daemon has been connected since it started.
    pub fn ever_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed) || self.last_connected.load(Ordering::Relaxed)
    }

    /// A publish arrived at `now`.
    pub fn message(&self, now: i64) {
        self.last_message_at.store(now, Ordering::Relaxed);
        self.last_message
            .get_or_init(|| {
                self.recorder.register_gauge(
                    &Key::from_name("gwmon_last_message_timestamp_seconds"),
                    &META,
                )
            })
            .set(now as f64);
    }

    /// `n` messages were handed to the writer.
    pub fn forwarded(&self, n: usize) {
        self.pending.fetch_add(n as i64, Ordering::Relaxed);
    }

    /// Whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Epoch seconds of the last publish received, if any.
    pub fn last_message_at(&self) -> Option<i64> {
        Some(self.last_message_at.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// Where the writer records since when the store refuses writes (0: it accepts them).
    pub fn paused_since(&self) -> &AtomicI64 {
        &self.paused_since
    }

    /// One committed batch at `now`: how long its commit took, how many readings and messages it
    /// held.
    pub fn committed(&self, now: i64, seconds: f64, readings: usize, messages: usize) {
        self.commit_seconds.record(seconds);
        self.batch_readings.record(readings as f64);
        self.last_commit_at.store(now, Ordering::Relaxed);
        let left = self.pending.fetch_sub(messages as i64, Ordering::Relaxed) - messages as i64;
        if left < 0 {
            // Messages rescued at shutdown or counted elsewhere: never below zero.
            self.pending.store(0, Ordering::Relaxed);
        }
    }

    /// A committed message's outcome: readings stored and duplicate, of a level well (`level`)
    /// or a meter, and the reason code of its quarantine row if it had one.
    pub fn outcome(&self, level: bool, stored: u32, duplicates: u32, refused: Option<&str>) {
        let i = usize::from(level);
        self.stored[i].increment(u64::from(stored));
        self.duplicates[i].increment(u64::from(duplicates));
        if let Some(code) = refused {
            // Refusals are rare: their counter is looked up by reason when one happens.
            self.recorder
                .register_counter(
                    &Key::from_parts(
                        "gwmon_quarantined_total",
                        vec![Label::new("reason", code.to_string())],
                    ),
                    &META,
                )
                .increment(1);
        }
    }

    /// Sets `gwmon_silent_devices{county,kind}` from the latest count.
    pub fn silent_devices(&self, county: &str, kind: &'static str, n: usize) {
        self.recorder
            .register_gauge(
                &Key::from_parts(
                    "gwmon_silent_devices",
                    vec![
                        Label::new("county", county.to_string()),
                        Label::new("kind", kind),
                    ],
                ),
                &META,
            )
            .set(n as f64);
    }

    /// The Prometheus text exposition: the daemon's metrics, then the process's (`process_*`).
    pub fn render(&self) -> String {
        let now = crate::domain::time::now_ts();
        let paused = self.paused_since.load(Ordering::Relaxed);
        self.paused_gauge.set(if paused > 0 {
            (now - paused) as f64
        } else {
            0.0
        });
        self.pending_gauge
            .set(self.pending.load(Ordering::Relaxed).max(0) as f64);
        let mut text = self.handle.render();
        text.push_str(&process_metrics());
        text
    }

    /// True when messages wait and the writer has committed nothing for `writer_stall_s`, while
    /// not paused for a known cause: a hang a restart may fix (the watchdog stops then).
    pub fn writer_stalled(&self, now: i64) -> bool {
        let pending = self.pending.load(Ordering::Relaxed);
        let since = now - self.last_commit_at.load(Ordering::Relaxed);
        pending > 0
            && self.paused_since.load(Ordering::Relaxed) == 0
            && since >= self.stall_s.load(Ordering::Relaxed)
    }

    /// What `/healthz` reports at `now`.
    pub fn state(&self, now: i64) -> HealthState {
        if self.writer_stalled(now) {
            return HealthState::Unhealthy(format!(
                "the writer has committed nothing for {} s while {} messages wait",
                now - self.last_commit_at.load(Ordering::Relaxed),
                self.pending.load(Ordering::Relaxed)
            ));
        }
        let away = self.away_since.load(Ordering::Relaxed);
        if !self.connected.load(Ordering::Relaxed)
            && away > 0
            && now - away >= RECONNECT_GRACE.as_secs() as i64
        {
            return HealthState::Unhealthy(format!(
                "the broker is unreachable since {} s",
                now - away
            ));
        }
        let paused = self.paused_since.load(Ordering::Relaxed);
        if paused > 0 {
            return HealthState::Degraded(format!(
                "the store refuses writes since {} s: nothing is acknowledged (see the log for the cause); gwmon resumes by itself",
                now - paused
            ));
        }
        HealthState::Ok
    }

    /// `Ok` when [`Health::state`] is ok; otherwise why not.
    pub fn check(&self, now: i64) -> Result<(), String> {
        match self.state(now) {
            HealthState::Ok => Ok(()),
            HealthState::Degraded(r) | HealthState::Unhealthy(r) => Err(r),
        }
    }
}

/// HELP text of every metric the daemon exports, and its build.
fn describe(r: &PrometheusRecorder) {
    let help: [(&'static str, &'static str, bool); 10] = [
        (
            "gwmon_readings_stored_total",
            "New readings committed to the store, by kind (meter, level).",
            true,
        ),
        (
            "gwmon_readings_duplicate_total",
            "Readings received again with the same value (redeliveries): no-ops.",
            true,
        ),
        (
            "gwmon_quarantined_total",
            "Messages refused into the quarantine table, by reason code.",
            true,
        ),
        (
            "gwmon_mqtt_reconnects_total",
            "Broker connections lost and connection attempts that failed.",
            true,
        ),
        (
            "gwmon_mqtt_connected",
            "1 while the broker connection is up.",
            false,
        ),
        (
            "gwmon_last_message_timestamp_seconds",
            "Epoch seconds of the last publish received (absent before the first).",
            false,
        ),
        (
            "gwmon_store_paused_seconds",
            "Seconds since the store began refusing writes (0 while it accepts them).",
            false,
        ),
        (
            "gwmon_writer_pending_messages",
            "Messages handed to the writer and not yet committed.",
            false,
        ),
        (
            "gwmon_silent_devices",
            "Silent or never-reported obliged meters and monitoring wells, by county and kind.",
            false,
        ),
        (
            "gwmon_build_info",
            "The running gwmon's version (always 1).",
            false,
        ),
    ];
    for (name, text, counter) in help {
        if counter {
            r.describe_counter(name.into(), None, text.into());
        } else {
            r.describe_gauge(name.into(), None, text.into());
        }
    }
    r.describe_histogram(
        "gwmon_commit_duration_seconds".into(),
        None,
        "Seconds a batch took to commit, retries included.".into(),
    );
    r.describe_histogram(
        "gwmon_batch_readings".into(),
        None,
        "Readings and refused elements per committed batch.".into(),
    );
    r.register_gauge(
        &Key::from_parts(
            "gwmon_build_info",
            vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
        ),
        &META,
    )
    .set(1.0);
}

/// The process's own figures in the Prometheus client convention (`process_*`), read from
/// /proc: CPU seconds, memory, open and allowed file descriptors, start time.
fn process_metrics() -> String {
    let mut out = String::new();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK) as f64,
            libc::sysconf(libc::_SC_PAGESIZE) as f64,
        )
    };
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    });
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
    };
    // stat fields (1-based in proc(5)): utime 14, stime 15, starttime 22, vsize 23, rss 24; the
    // slice starts at field 3.
    metric(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        field(11).zip(field(12)).map(|(u, s)| (u + s) / ticks),
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        field(21).map(|p| p * page),
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        field(20),
    );
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the epoch in seconds.",
        field(19).zip(boot).map(|(t, b)| b + t / ticks),
    );
    metric(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as f64),
    );
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `lim`.
    let max_fds = (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some(lim.rlim_cur as f64);
    metric(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        max_fds,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_broker_and_the_store() {
        let h = Health::new(1000);
        assert!(h.check(1010).is_ok(), "within the grace after start");
        assert!(h.check(1031).unwrap_err().contains("broker is unreachable"));
        h.connected();
        assert!(h.check(5000).is_ok());
        h.disconnected(5000);
        assert!(h.check(5029).is_ok());
        assert!(h.check(5030).is_err());
        h.connected();
        h.paused_since().store(6000, Ordering::Relaxed);
        match h.state(6005) {
            HealthState::Degraded(r) => {
                assert!(r.contains("store refuses writes since 5 s"), "{r}")
            }
            other => panic!("a paused store is degraded, not {other:?}"),
        }
        h.paused_since().store(0, Ordering::Relaxed);
        assert!(h.check(6006).is_ok());
    }

    /// Messages waiting and no commit for `writer_stall_s`: unhealthy, and the watchdog stops;
    /// paused for a known cause it is degraded instead; a commit clears it.
    #[test]
    fn a_stalled_writer_is_unhealthy_and_a_paused_one_degraded() {
        let h = Health::new(1000);
        h.connected();
        h.set_writer_stall(Duration::from_secs(120));
        h.forwarded(5);
        assert!(!h.writer_stalled(1119));
        assert!(h.writer_stalled(1120));
        match h.state(1120) {
            HealthState::Unhealthy(r) => {
                assert!(
                    r.contains("committed nothing for 120 s while 5 messages wait"),
                    "{r}"
                )
            }
            other => panic!("{other:?}"),
        }
        h.paused_since().store(1100, Ordering::Relaxed);
        assert!(!h.writer_stalled(1200));
        assert!(matches!(h.state(1200), HealthState::Degraded(_)));
        h.paused_since().store(0, Ordering::Relaxed);
        h.committed(1201, 0.01, 5, 5);
        assert!(!h.writer_stalled(2000), "nothing waits after the commit");
        assert_eq!(h.state(2000), HealthState::Ok);
    }

    /// HELP text for every metric, `process_*` and the build; no last-message timestamp before
    /// the first message; a failed connection attempt counts as a reconnect.
    #[test]
    fn metrics_have_help_process_figures_and_no_false_last_message() {
        let h = Health::new(0);
        let text = h.render();
        assert!(
            !text.contains("gwmon_last_message_timestamp_seconds "),
            "{text}"
        );
        for want in [
            "# HELP gwmon_readings_stored_total",
            "# HELP gwmon_mqtt_reconnects_total",
            "# HELP gwmon_store_paused_seconds",
            "gwmon_build_info{version=",
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
            "process_max_fds ",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        h.disconnected(5);
        h.disconnected(6);
        assert!(h.render().contains("gwmon_mqtt_reconnects_total 2"));
        h.message(7);
        assert!(
            h.render()
                .contains("gwmon_last_message_timestamp_seconds 7")
        );
    }

    #[test]
    fn metrics_render_in_prometheus_text() {
        let h = Health::new(0);
        h.connected();
        h.disconnected(10);
        h.outcome(false, 3, 1, None);
        h.outcome(true, 0, 0, Some("bad_value"));
        h.committed(0, 0.004, 3, 1);
        h.message(1_767_196_800);
        h.silent_devices("140121", "meter", 2);
        let text = h.render();
        for want in [
            "gwmon_readings_stored_total{kind=\"meter\"} 3",
            "gwmon_readings_duplicate_total{kind=\"meter\"} 1",
            "gwmon_quarantined_total{reason=\"bad_value\"} 1",
            "gwmon_mqtt_reconnects_total 1",
            "gwmon_mqtt_connected 0",
            "gwmon_last_message_timestamp_seconds 1767196800",
            "gwmon_commit_duration_seconds_bucket{le=\"0.005\"} 1",
            "gwmon_batch_readings_count 1",
            "gwmon_silent_devices{county=\"140121\",kind=\"meter\"} 2",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }

    /// The dashboard has an instance selector, and every query of it is filtered by it.
    #[test]
    fn the_dashboard_selects_the_instance_in_every_query() {
        let d: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana-dashboard.json")).unwrap();
        assert!(
            d["templating"]["list"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == "instance")
        );
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                assert!(expr.contains("instance=~\"$instance\""), "{expr}");
            }
        }
    }

    /// Every gwmon metric the shipped dashboard and alert rules query is one the daemon exports.
    #[test]
    fn the_shipped_dashboard_and_alerts_query_existing_metrics() {
        let h = Health::new(0);
        h.connected();
        h.disconnected(1);
        h.outcome(false, 1, 1, Some("bad_value"));
        h.committed(0, 0.01, 1, 1);
        h.message(1);
        h.silent_devices("140121", "meter", 1);
        let g = crate::gateway::metrics::Metrics::new();
        g.frame(crate::config::stations::Protocol::Szy206, "bad_crc");
        g.refused("too_many_from_address");
        g.connections(1);
        let text = h.render() + &g.render();
        for file in [
            include_str!("../../deploy/grafana-dashboard.json"),
            include_str!("../../deploy/prometheus-alerts.yml"),
        ] {
            let mut rest = file;
            while let Some(i) = rest.find("gwmon_") {
                let name: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[i + name.len()..];
                assert!(
                    text.contains(&format!("{name} ")) || text.contains(&format!("{name}{{")),
                    "{name} is queried but not exported:\n{text}"
                );
            }
        }
    }
}
