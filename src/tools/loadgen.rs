//! The load generator behind `gwmon simulate` (the command keeps its name; the synthetic devices
//! it publishes for come from [`crate::tools::fleet`]): it publishes cumulative meter readings
//! over MQTT (QoS 1) from several connections, fast enough to outrun a single subscriber, so
//! that benchmarks measure the daemon rather than the publisher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

use crate::mqtt::{BrokerUrl, BrokerUrlError};

/// Seconds between a device's consecutive readings: a meter reporting every minute.
pub const STEP_S: i64 = 60;
/// Readings per device allowed for when neither a count nor a rate and duration bound the run:
/// a day's worth at [`STEP_S`]. Readings beyond them would lie in the future, and the daemon
/// quarantines those.
const UNBOUNDED_READINGS_PER_DEVICE: u64 = 1440;

/// What to publish.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub broker: String,
    /// Messages per second over all connections (`None`: as fast as possible).
    pub rate: Option<f64>,
    /// Readings per message (1: single readings; > 1: backlog arrays).
    pub batch: usize,
    /// Stop after this long ...
    pub duration: Option<Duration>,
    /// ... or after this many messages.
    pub count: Option<u64>,
    pub connections: usize,
    pub topic_prefix: String,
    /// Epoch seconds of the first reading; each device's readings follow at `step_s`.
    pub start_ts: i64,
    pub step_s: i64,
    /// Client id prefix (connection k uses `{prefix}-{k}`).
    pub client_id: String,
}

/// What was published (and acknowledged by the broker).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LoadReport {
    pub messages: u64,
    pub readings: u64,
    pub seconds: f64,
    pub messages_per_s: f64,
    pub readings_per_s: f64,
}

/// Why the load generator could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Url(#[from] BrokerUrlError),
    #[error("no devices to simulate: the registry has no intakes (or --devices is 0)")]
    NoDevices,
    #[error("broker {0}: {1}")]
    Connection(String, String),
}

/// Messages a run publishes: `count`, else `rate × duration`; `None` when neither bounds it.
pub fn planned_messages(
    count: Option<u64>,
    rate: Option<f64>,
    duration: Option<Duration>,
) -> Option<u64> {
    count.or_else(|| Some((rate? * duration?.as_secs_f64()) as u64))
}

/// Epoch seconds of the first reading, [`STEP_S`] apart from there on: early enough that every
/// device's last reading of the `planned` messages (of `batch` readings, spread over `devices`)
/// is still in the past at `now`, since the daemon quarantines readings from the future.
pub fn first_reading_ts(now: i64, planned: Option<u64>, devices: usize, batch: usize) -> i64 {
    let batch = batch.max(1) as u64;
    let per_device = planned.map_or(UNBOUNDED_READINGS_PER_DEVICE, |c| {
        c.div_ceil(devices.max(1) as u64) * batch
    });
    now - (per_device + batch) as i64 * STEP_S - STEP_S
}

/// The slowest plausible flow of any intake in the shipped and the synthetic registries
/// (`max_flow_m3_per_h`): simulated meters stay below it, so that no simulated reading is kept
/// and flagged as a spike, as none would be from a working meter.
pub const SLOWEST_MAX_FLOW_M3_PER_H: f64 = 15.0;

/// The payload of one message for a device: `batch` consecutive readings starting at reading
/// number `seq` (totals grow by a device-specific amount per step: 1/16 to 15/64 m³, at most
/// 14 m³/h at [`STEP_S`], below [`SLOWEST_MAX_FLOW_M3_PER_H`]).
pub fn payload(device: usize, seq: u64, batch: usize, start_ts: i64, step_s: i64) -> String {
    let inc = (4 + device % 12) as f64 / 64.0;
    let one = |k: u64| {
        let ts = start_ts + k as i64 * step_s;
        let total = (k as f64 + 1.0) * inc;
        format!("{{\"ts\":{ts},\"total_m3\":{total}}}")
    };
    if batch <= 1 {
        one(seq)
    } else {
        let items: Vec<String> = (0..batch as u64).map(|j| one(seq + j)).collect();
        format!("[{}]", items.join(","))
    }
}

/// Publishes readings for `devices` (county code, intake id) until the duration or count is
/// reached; returns what the broker acknowledged.
pub async fn run(
    opts: LoadOptions,
    devices: Vec<(String, String)>,
) -> Result<LoadReport, LoadError> {
    if devices.is_empty() {
        return Err(LoadError::NoDevices);
    }
    let url = BrokerUrl::parse(&opts.broker)?;
    let devices = Arc::new(devices);
    let conns = opts.connections.max(1);
    let sent = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mut mo = MqttOptions::new(
            format!("{}-{c}", opts.client_id),
            url.host.clone(),
            url.port,
        );
        mo.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_inflight(1000)
            .set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024)
            .set_request_channel_capacity(4096);
        let (client, mut eventloop) = AsyncClient::new(mo, 4096);
        // Poll loop: counts broker acknowledgements; ends after the DISCONNECT is sent.
        let acked_c = Arc::clone(&acked);
        let conn_acked = Arc::new(AtomicU64::new(0));
        let conn_acked_p = Arc::clone(&conn_acked);
        let broker = opts.broker.clone();
        let poller = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acked_c.fetch_add(1, Ordering::Relaxed);
                        conn_acked_p.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(LoadError::Connection(broker, e.to_string())),
                }
            }
        });
        let my: Vec<usize> = (0..devices.len()).filter(|d| d % conns == c).collect();
        let devices = Arc::clone(&devices);
        let opts = opts.clone();
        let sent = Arc::clone(&sent);
        let publisher = tokio::spawn(async move {
            if my.is_empty() {
                let _ = client.disconnect().await;
                return;
            }
            let per_conn_rate = opts.rate.map(|r| r / conns as f64);
            // Each connection sends its own share of the count, so every device gets the same
            // number of readings whatever the connections' relative speeds.
            let my_quota = opts
                .count
                .map(|n| n / conns as u64 + u64::from((c as u64) < n % conns as u64));
            let mut seq: u64 = 0;
            let mut i = 0usize;
            let mut mine_sent: u64 = 0;
            let t0 = Instant::now();
            loop {
                if opts.duration.is_some_and(|d| t0.elapsed() >= d) {
                    break;
                }
                if let Some(r) = per_conn_rate {
                    // Pace: never ahead of rate × elapsed.
                    let mine = seq * my.len() as u64 + i as u64;
                    let due = Duration::from_secs_f64(mine as f64 / r);
                    let now = t0.elapsed();
                    if due > now {
                        tokio::time::sleep(due - now).await;
                    }
                }
                if my_quota.is_some_and(|q| mine_sent >= q) {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                mine_sent += 1;
                let d = my[i];
                let (county, id) = &devices[d];
                let topic = format!("{}/{county}/meter/{id}", opts.topic_prefix);
                let body = payload(
                    d,
                    seq * opts.batch.max(1) as u64,
                    opts.batch,
                    opts.start_ts,
                    opts.step_s,
                );
                if client
                    .publish(topic, QoS::AtLeastOnce, false, body)
                    .await
                    .is_err()
                {
                    break;
                }
                i += 1;
                if i == my.len() {
                    i = 0;
                    seq += 1;
                }
            }
            // Disconnect only once the broker has acknowledged everything this connection sent.
            let deadline = Instant::now() + Duration::from_secs(60);
            while conn_acked.load(Ordering::Relaxed) < mine_sent && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = client.disconnect().await;
        });
        tasks.push((publisher, poller));
    }
    let mut first_err = None;
    for (p, poller) in tasks {
        let _ = p.await;
        if let Ok(Err(e)) = poller.await
            && first_err.is_none()
        {
            first_err = Some(e);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let messages = acked.load(Ordering::Relaxed);
    if messages == 0
        && let Some(e) = first_err
    {
        return Err(e);
    }
    let readings = messages * opts.batch.max(1) as u64;
    Ok(LoadReport {
        messages,
        readings,
        seconds: secs,
        messages_per_s: messages as f64 / secs,
        readings_per_s: readings as f64 / secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_messages_from_count_or_rate_and_duration() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(planned_messages(Some(5), Some(1.0), secs(10)), Some(5));
        assert_eq!(planned_messages(None, Some(2.5), secs(4)), Some(10));
        assert_eq!(planned_messages(None, Some(1.0), None), None);
        assert_eq!(planned_messages(None, None, secs(4)), None);
    }

    #[test]
    fn first_reading_leaves_every_planned_reading_in_the_past() {
        let now = 1_800_000_000;
        // 400 messages of 5 readings over 20 devices: 100 readings each, plus a batch and a step
        // of margin.
        assert_eq!(first_reading_ts(now, Some(400), 20, 5), now - 106 * STEP_S);
        assert_eq!(
            first_reading_ts(now, None, 20, 1),
            now - (UNBOUNDED_READINGS_PER_DEVICE as i64 + 2) * STEP_S
        );
        // No devices is the load generator's error to report, not a division by zero here.
        assert_eq!(first_reading_ts(now, Some(10), 0, 1), now - 12 * STEP_S);
        for (count, devices, batch) in [(400, 20, 5), (7, 6, 1), (1, 5000, 100), (100_000, 5000, 1)]
        {
            let start = first_reading_ts(now, Some(count), devices, batch);
            // The busiest device publishes ceil(count / devices) messages; its last one starts
            // at reading number (messages - 1) × batch.
            let seq = (count.div_ceil(devices as u64) - 1) * batch as u64;
            let body: serde_json::Value =
                serde_json::from_str(&payload(0, seq, batch, start, STEP_S)).unwrap();
            let readings = match body {
                serde_json::Value::Array(items) => items,
                one => vec![one],
            };
            assert_eq!(readings.len(), batch);
            for r in readings {
                let ts = r["ts"].as_i64().unwrap();
                assert!(
                    ts < now,
                    "{count} messages, {devices} devices, batch {batch}: {ts}"
                );
            }
        }
    }

    #[test]
    fn simulated_meters_run_below_every_intakes_plausible_flow() {
        let registry = crate::config::Config::embedded().unwrap().registry;
        let slowest = registry
            .intakes
            .iter()
            .map(|i| i.max_flow_m3_per_h)
            .fold(f64::INFINITY, f64::min);
        assert!(slowest >= SLOWEST_MAX_FLOW_M3_PER_H, "{slowest}");
        for device in 0..100 {
            let body: Vec<serde_json::Value> =
                serde_json::from_str(&payload(device, 7, 2, 1_767_196_800, STEP_S)).unwrap();
            let step =
                body[1]["total_m3"].as_f64().unwrap() - body[0]["total_m3"].as_f64().unwrap();
            let per_h = step * 3600.0 / STEP_S as f64;
            assert!(
                per_h > 0.0 && per_h < SLOWEST_MAX_FLOW_M3_PER_H,
                "{device}: {per_h}"
            );
        }
    }
}
