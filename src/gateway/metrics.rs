//! The gateway's Prometheus metrics, on a recorder of its own (as the daemon's
//! [`Health`](crate::ingest::health::Health) has), so a gateway beside a daemon in one process
//! keeps its figures apart:
//!
//! - `gwmon_gateway_frames_total{protocol,outcome}` — frames by what became of them
//!   (`published`, `confirmed`, `unknown_station`, `unmapped`, `invalid_value`, `bad_crc`,
//!   `bad_frame`, `bad_time`, `broker_unavailable`, `link`, `test`, `packet`, `packet_missing`,
//!   `downlink`, `unsupported`, `bad_password`, `not_allowed`, `conflict`, `store_unavailable`);
//! - `gwmon_gateway_elements_total{protocol,outcome}` — elements `published`, `unmapped`,
//!   `invalid`, `conflict`;
//! - `gwmon_gateway_connections_refused_total{reason}` — connections closed at once
//!   (`too_many_connections`, `too_many_from_address`), and `gwmon_gateway_accept_paused_total`,
//!   times accepting paused near the open-file limit;
//! - `gwmon_gateway_replies_total{protocol}`, `gwmon_gateway_junk_bytes_total`,
//!   `gwmon_gateway_connections` (gauge);
//! - the raw archive: `gwmon_gateway_archive_dropped_total{reason}` — rows not archived
//!   (`behind`: the archive thread fell behind; `rate`: past `archive_rows_per_minute`),
//!   `gwmon_gateway_archive_evicted_total` — oldest rows deleted to stay within
//!   `archive_max_mb`, `gwmon_gateway_archive_bytes` (gauge), `gwmon_gateway_bad_crc_runs_total`
//!   — runs of bad-CRC frames archived as one row;
//! - `gwmon_gateway_reassembly_bytes` (gauge) — packets held for reassembly, all connections.

use metrics::{Counter, Gauge, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::config::stations::Protocol;

const META: Metadata<'static> =
    Metadata::new("gwmon::gateway", metrics::Level::INFO, Some("gwmon"));

/// The gateway's counters.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connections: Gauge,
    junk: Counter,
    archive_evicted: Counter,
    archive_bytes: Gauge,
    reassembly_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with the gauges and the counters without labels registered.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        Metrics {
            connections: recorder
                .register_gauge(&Key::from_name("gwmon_gateway_connections"), &META),
            junk: recorder
                .register_counter(&Key::from_name("gwmon_gateway_junk_bytes_total"), &META),
            archive_evicted: recorder.register_counter(
                &Key::from_name("gwmon_gateway_archive_evicted_total"),
                &META,
            ),
            archive_bytes: recorder
                .register_gauge(&Key::from_name("gwmon_gateway_archive_bytes"), &META),
            reassembly_bytes: recorder
                .register_gauge(&Key::from_name("gwmon_gateway_reassembly_bytes"), &META),
            recorder,
            handle,
        }
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &META)
    }

    /// A frame of `protocol` with `outcome`.
    pub fn frame(&self, protocol: Protocol, outcome: &'static str) {
        self.counter(
            "gwmon_gateway_frames_total",
            vec![
                Label::new("protocol", protocol.as_str()),
                Label::new("outcome", outcome),
            ],
        )
        .increment(1);
    }

    /// `n` elements with `outcome`.
    pub fn elements(&self, protocol: Protocol, outcome: &'static str, n: u64) {
        if n > 0 {
            self.counter(
                "gwmon_gateway_elements_total",
                vec![
                    Label::new("protocol", protocol.as_str()),
                    Label::new("outcome", outcome),
                ],
            )
            .increment(n);
        }
    }

    /// A reply sent to a terminal.
    pub fn reply(&self, protocol: Protocol) {
        self.counter(
            "gwmon_gateway_replies_total",
            vec![Label::new("protocol", protocol.as_str())],
        )
        .increment(1);
    }

    /// Bytes that started no frame.
    pub fn junk(&self, n: usize) {
        self.junk.increment(n as u64);
    }

    /// An archive row not written, for `reason` (`behind`, `rate`).
    pub fn archive_dropped(&self, reason: &'static str) {
        self.counter(
            "gwmon_gateway_archive_dropped_total",
            vec![Label::new("reason", reason)],
        )
        .increment(1);
    }

    /// The archive's size and the rows it deleted to stay within its bound (absolute).
    pub fn archive(&self, bytes: u64, evicted: u64) {
        self.archive_bytes.set(bytes as f64);
        self.archive_evicted.absolute(evicted);
    }

    /// A run of bad-CRC frames archived as one row.
    pub fn bad_crc_run(&self) {
        self.counter("gwmon_gateway_bad_crc_runs_total", Vec::new())
            .increment(1);
    }

    /// Bytes held for reassembly by all connections.
    pub fn reassembly(&self, bytes: usize) {
        self.reassembly_bytes.set(bytes as f64);
    }

    /// A connection closed at once, for `reason`.
    pub fn refused(&self, reason: &'static str) {
        self.counter(
            "gwmon_gateway_connections_refused_total",
            vec![Label::new("reason", reason)],
        )
        .increment(1);
    }

    /// Accepting paused because the process is near its open-file limit.
    pub fn accept_paused(&self) {
        self.counter("gwmon_gateway_accept_paused_total", Vec::new())
            .increment(1);
    }

    /// Open terminal connections.
    pub fn connections(&self, n: usize) {
        self.connections.set(n as f64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels() {
        let m = Metrics::new();
        m.frame(Protocol::Sl651, "published");
        m.frame(Protocol::Sl651, "published");
        m.frame(Protocol::Szy206, "bad_crc");
        m.elements(Protocol::Sl651, "unmapped", 3);
        m.connections(2);
        let text = m.render();
        for line in [
            "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"published\"} 2",
            "gwmon_gateway_frames_total{protocol=\"szy206\",outcome=\"bad_crc\"} 1",
            "gwmon_gateway_elements_total{protocol=\"sl651\",outcome=\"unmapped\"} 3",
            "gwmon_gateway_connections 2",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
