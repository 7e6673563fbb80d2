//! A decoded frame's elements → MQTT publishes in the normal contract
//! (`{prefix}/{county}/meter/{intake}` with `{"ts","total_m3"}`, `{prefix}/{county}/level/{well}`
//! with `{"ts","depth_m"|"level_m"}`), through stations.csv. Pure.
//!
//! Readings of one device in one frame (a 均匀时段报 series, repeated observation groups) go
//! out as one array, so one PUBACK covers them. An element without an observation time takes
//! the frame's send time.

use std::collections::BTreeMap;

use super::frame::{Frame, Invalid, Value};
use crate::config::stations::{DeviceKind, ElementKey, Quantity, Stations};

/// One MQTT publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    pub payload: String,
}

/// One reading a frame carries for a registered device, before it becomes a publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub kind: DeviceKind,
    pub device_id: String,
    pub quantity: Quantity,
    /// Epoch seconds of the observation.
    pub ts: i64,
    pub value: f64,
    /// The MQTT topic of the device.
    pub topic: String,
}

/// What became of a frame's elements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapped {
    pub publishes: Vec<Publish>,
    /// The readings of the publishes, one by one (what the store will be asked about).
    pub points: Vec<Point>,
    /// Readings in the publishes.
    pub readings: u32,
    /// Elements no stations.csv row maps (voltage, flow, …: expected; a mapped element missing
    /// from every frame is not).
    pub unmapped: u32,
    /// Mapped elements without a value: (element, why).
    pub invalid: Vec<(ElementKey, Invalid)>,
}

/// Maps `frame`'s elements through `stations`; `prefix` is `[mqtt] topic_prefix`.
pub fn map(frame: &Frame, stations: &Stations, prefix: &str) -> Mapped {
    let mut out = Mapped::default();
    for e in &frame.elements {
        let target = stations
            .get(frame.protocol, &e.station)
            .and_then(|s| s.elements.get(&e.key));
        let Some(t) = target else {
            out.unmapped += 1;
            continue;
        };
        let x = match &e.value {
            Value::Number(x) => *x,
            Value::Invalid(why) => {
                out.invalid.push((e.key, *why));
                continue;
            }
            Value::Raw(_) => {
                out.invalid.push((e.key, Invalid::NotBcd));
                continue;
            }
        };
        let Some(ts) = e.observed.or(frame.sent) else {
            out.invalid.push((e.key, Invalid::NoData));
            continue;
        };
        let kind = match t.kind {
            DeviceKind::Intake => "meter",
            DeviceKind::Well => "level",
        };
        out.points.push(Point {
            kind: t.kind,
            device_id: t.device_id.clone(),
            quantity: t.quantity,
            ts,
            value: x,
            topic: format!("{prefix}/{}/{kind}/{}", t.county, t.device_id),
        });
    }
    out.readings = out.points.len() as u32;
    out.publishes = publishes(&out.points);
    out
}

/// The publishes of `points`: one per device and quantity, an array when it has several.
pub fn publishes(points: &[Point]) -> Vec<Publish> {
    // (topic, field) → [(ts, value)], ordered so that publishes come out the same every time.
    let mut by_device: BTreeMap<(&str, &'static str), Vec<(i64, f64)>> = BTreeMap::new();
    for p in points {
        by_device
            .entry((p.topic.as_str(), p.quantity.field()))
            .or_default()
            .push((p.ts, p.value));
    }
    let mut out = Vec::new();
    for ((topic, field), readings) in by_device {
        let one = |(ts, x): &(i64, f64)| {
            let ts = jiff::Timestamp::from_second(*ts)
                .map_or_else(|_| ts.to_string(), |t| format!("\"{t}\""));
            format!(
                "{{\"ts\":{ts},\"{field}\":{}}}",
                serde_json::Number::from_f64(*x).map_or("null".into(), |n| n.to_string())
            )
        };
        let payload = if readings.len() == 1 {
            one(&readings[0])
        } else {
            let items: Vec<String> = readings.iter().map(one).collect();
            format!("[{}]", items.join(","))
        };
        out.push(Publish {
            topic: topic.to_string(),
            payload,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::gateway::crc::from_hex;
    use crate::gateway::{sl651, szy206};

    fn cfg() -> Config {
        Config::embedded().unwrap()
    }

    #[test]
    fn a_well_report_becomes_one_depth_reading() {
        let c = cfg();
        let r = sl651::Report::sample(
            1,
            vec![
                (0x0E, 0x1A, vec![0x00, 0x15, 0x20]),
                (0x38, 0x12, vec![0x12, 0x56]),
            ],
        );
        let f = sl651::decode(&r.encode(), &c.clock).unwrap();
        let m = map(&f, &c.stations, "gw");
        assert_eq!(
            m.publishes,
            [Publish {
                topic: "gw/140121/level/W-QX-01".into(),
                payload: "{\"ts\":\"2026-11-30T00:00:00Z\",\"depth_m\":15.2}".into()
            }]
        );
        assert_eq!((m.readings, m.unmapped), (1, 1));
        // The payload is what the daemon's decoder accepts.
        let ctx = crate::ingest::decode::DecodeCtx::from_config(&c);
        let d = crate::ingest::decode::decode(
            &ctx,
            &m.publishes[0].topic,
            m.publishes[0].payload.as_bytes(),
            1_800_000_000,
        );
        assert_eq!((d.readings.len(), d.rejected.len()), (1, 0), "{d:?}");
    }

    #[test]
    fn a_meter_total_and_invalid_values() {
        let c = cfg();
        let at = |s: &str| c.clock.parse_str(s).unwrap();
        let f = szy206::decode(
            &from_hex("681A68B35303810D00C00059000000826110000001106000004508090A3516").unwrap(),
            at("2026-11-09 09:00"),
            600,
            &c.clock,
        )
        .unwrap();
        // 5303810D00 is not in the shipped stations.csv.
        let m = map(&f, &c.stations, "gw");
        assert_eq!((m.publishes.len(), m.unmapped), (0, 2));
        let r = szy206::Report7 {
            station: "1401210100".parse().unwrap(),
            type_code: szy206::TYPE_FLOW,
            values: vec![1000, 345_678],
            status: 0,
            time: "2026-11-30T08:00:00".parse().unwrap(),
        };
        let f = szy206::decode(&r.encode(), at("2026-11-30 08:00:05"), 600, &c.clock).unwrap();
        let m = map(&f, &c.stations, "gw");
        assert_eq!(
            m.publishes,
            [Publish {
                topic: "gw/140121/meter/QX-0002".into(),
                payload: "{\"ts\":\"2026-11-30T00:00:00Z\",\"total_m3\":345678.0}".into()
            }]
        );
        let mut bytes = r.encode();
        // The volume all AA: mapped, but no value.
        bytes[15..20].copy_from_slice(&[0xAA; 5]);
        let n = bytes.len();
        bytes[n - 2] = crate::gateway::crc::crc8_e5(&bytes[3..n - 2]);
        let f = szy206::decode(&bytes, at("2026-11-30 08:00:05"), 600, &c.clock).unwrap();
        let m = map(&f, &c.stations, "gw");
        assert!(m.publishes.is_empty());
        assert_eq!(m.invalid, [(ElementKey::Szy206Volume(1), Invalid::NoData)]);
    }
}
