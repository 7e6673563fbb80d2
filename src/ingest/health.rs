//! The daemon's health and metrics, shared by the poll loop, the writer thread and the HTTP
//! listener: a few atomics for `/healthz`, and a Prometheus recorder of the daemon's own (not the
//! process-global one, so that several daemons in one process — the tests, the demo — keep
//! their figures apart) rendered at `/metrics`.

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

/// What `/healthz` reads and `/metrics` renders.
pub struct Health {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connected: AtomicBool,
    /// Epoch seconds since the broker is away (0 = connected, or never connected yet: then the
    /// start time).
    away_since: AtomicI64,
    /// Epoch seconds since the store refuses writes (0 = it accepts them).
    paused_since: AtomicI64,
    /// Epoch seconds of the last publish received (0 = none yet).
    last_message_at: AtomicI64,
    /// `gwmon_readings_{stored,duplicate}_total` for meters and for levels, registered once:
    /// the writer adds to them after every batch.
    stored: [Counter; 2],
    duplicates: [Counter; 2],
    reconnects: Counter,
    connected_gauge: Gauge,
    last_message: Gauge,
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
            last_message: recorder
                .register_gauge(&key("gwmon_last_message_timestamp_seconds"), &META),
            commit_seconds: recorder
                .register_histogram(&key("gwmon_commit_duration_seconds"), &META),
            batch_readings: recorder.register_histogram(&key("gwmon_batch_readings"), &META),
            recorder,
            handle,
            connected: AtomicBool::new(false),
            away_since: AtomicI64::new(now),
            paused_since: AtomicI64::new(0),
            last_message_at: AtomicI64::new(0),
        }
    }

    /// The broker accepted the connection.
    pub fn connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
        self.away_since.store(0, Ordering::Relaxed);
        self.connected_gauge.set(1.0);
    }

    /// The connection was lost at `now`.
    pub fn disconnected(&self, now: i64) {
        if self.connected.swap(false, Ordering::Relaxed) {
            self.away_since.store(now, Ordering::Relaxed);
            self.reconnects.increment(1);
        }
        self.connected_gauge.set(0.0);
    }

    /// A publish arrived at `now`.
    pub fn message(&self, now: i64) {
        self.last_message_at.store(now, Ordering::Relaxed);
        self.last_message.set(now as f64);
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

    /// One committed batch: how long its commit took and how many readings it held.
    pub fn committed(&self, seconds: f64, readings: usize) {
        self.commit_seconds.record(seconds);
        self.batch_readings.record(readings as f64);
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

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// `Ok` when the store accepts writes and the broker is connected or away for less than
    /// [`RECONNECT_GRACE`]; otherwise why not.
    pub fn check(&self, now: i64) -> Result<(), String> {
        let paused = self.paused_since.load(Ordering::Relaxed);
        if paused > 0 {
            return Err(format!(
                "the store refuses writes since {} s: nothing is acknowledged (see the log for the cause)",
                now - paused
            ));
        }
        let away = self.away_since.load(Ordering::Relaxed);
        if !self.connected.load(Ordering::Relaxed)
            && away > 0
            && now - away >= RECONNECT_GRACE.as_secs() as i64
        {
            return Err(format!("the broker is unreachable since {} s", now - away));
        }
        Ok(())
    }
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
        assert!(
            h.check(6005)
                .unwrap_err()
                .contains("store refuses writes since 5 s")
        );
        h.paused_since().store(0, Ordering::Relaxed);
        assert!(h.check(6006).is_ok());
    }

    #[test]
    fn metrics_render_in_prometheus_text() {
        let h = Health::new(0);
        h.connected();
        h.disconnected(10);
        h.outcome(false, 3, 1, None);
        h.outcome(true, 0, 0, Some("bad_value"));
        h.committed(0.004, 3);
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

    /// Every gwmon metric the shipped dashboard and alert rules query is one the daemon exports.
    #[test]
    fn the_shipped_dashboard_and_alerts_query_existing_metrics() {
        let h = Health::new(0);
        h.connected();
        h.disconnected(1);
        h.outcome(false, 1, 1, Some("bad_value"));
        h.committed(0.01, 1);
        h.message(1);
        h.silent_devices("140121", "meter", 1);
        let text = h.render();
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
