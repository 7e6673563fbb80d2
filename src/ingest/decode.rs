//! Topic + payload bytes → readings or reasons. Pure: no I/O, the clock is passed in.
//!
//! Contract (DESIGN §3): topics `{prefix}/{county_code}/meter/{intake_id}` and
//! `{prefix}/{county_code}/level/{well_id}`; payload a JSON object or an array of objects (a
//! backlog flush). Meters send `total_m3`; wells send `depth_m` (below ground) or `level_m` (above
//! the datum), and a figure that puts the water table outside the well's plausible range (its
//! registry row's `max_depth_m`, or `[ingest]`) is refused as `bad_value`: that is how a level
//! sent as a depth, or the reverse, shows. `ts` is RFC 3339 with offset, epoch seconds, or naive
//! local time. In an array, the good elements are kept and the bad ones refused; the first
//! [`REJECTIONS_KEPT`](crate::domain::REJECTIONS_KEPT) refusals are kept in full and the rest
//! only counted, so that one hostile array cannot cost memory, rows or log lines in proportion
//! to its length.
//!
//! The topic is device text: messages quote it as [`origin`] makes it (escaped, at most
//! 256 bytes), never as sent; device ids and payload strings quoted are escaped and cut too.

use serde_json::{Map, Value};

use crate::config::Config;
use crate::config::registry::Registry;
use crate::domain::CountyCode;
use crate::domain::reading::origin;
use crate::domain::sanitize::{for_log, for_store};
use crate::domain::time::LocalClock;
use crate::domain::{
    Decoded, QUARANTINE_ORIGIN_MAX, QUARANTINE_PAYLOAD_MAX, Quarantined, Reading, RejectCode,
    Rejection, Sent, TargetKind,
};

/// Characters of a device id or payload string quoted in a message.
const SHOWN_CHARS: usize = 64;

/// Everything decoding needs besides the message.
pub struct DecodeCtx<'a> {
    pub registry: &'a Registry,
    pub clock: &'a LocalClock,
    pub topic_prefix: &'a str,
    pub max_payload_bytes: usize,
    pub future_margin_s: i64,
    /// Timestamps before this (epoch seconds) are refused: `[ingest] earliest`, local midnight.
    pub earliest_ts: i64,
}

impl<'a> DecodeCtx<'a> {
    /// The context of a configuration: its registry, zone, topic prefix and `[ingest]` limits.
    pub fn from_config(cfg: &'a Config) -> Self {
        Self {
            registry: &cfg.registry,
            clock: &cfg.clock,
            topic_prefix: &cfg.mqtt.topic_prefix,
            max_payload_bytes: cfg.ingest.max_payload_bytes,
            future_margin_s: cfg.ingest.future_margin_s,
            earliest_ts: cfg.clock.day_start(cfg.ingest.earliest),
        }
    }
}

/// Device kind named by the topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Meter,
    Level,
}

fn truncate(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(QUARANTINE_PAYLOAD_MAX)].to_vec()
}

/// A refusal from `origin` (a topic as [`origin`] made it).
fn reject(origin: &str, payload: &[u8], code: RejectCode, msg: String) -> Quarantined {
    Quarantined {
        origin: origin.to_string(),
        payload: truncate(payload),
        rejection: Rejection::new(code, msg),
    }
}

/// Splits a topic into (county, kind, device id).
pub fn parse_topic<'t>(
    topic: &'t str,
    prefix: &str,
) -> Result<(&'t str, Kind, &'t str), Rejection> {
    let bad = || {
        Rejection::new(
            RejectCode::BadTopic,
            format!(
                "topic '{}' is not {prefix}/<county_code>/meter/<intake_id> or {prefix}/<county_code>/level/<well_id>",
                origin(topic)
            ),
        )
    };
    let rest = topic
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(bad)?;
    let mut parts = rest.split('/');
    let (Some(county), Some(kind), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let kind = match kind {
        "meter" => Kind::Meter,
        "level" => Kind::Level,
        _ => return Err(bad()),
    };
    if county.is_empty() || id.is_empty() {
        return Err(bad());
    }
    Ok((county, kind, id))
}

/// Decodes one MQTT message received at `now` (epoch seconds).
pub fn decode(ctx: &DecodeCtx<'_>, topic: &str, payload: &[u8], now: i64) -> Decoded {
    let mut out = Decoded::default();
    // The topic as stored and quoted: a 60,000-character topic is cut once, here. Borrowed, so
    // no copy, when the topic is short and plain, as it is for every well-behaved device.
    let shown = for_store(topic, QUARANTINE_ORIGIN_MAX);
    let shown = shown.as_ref();
    let whole = |code, msg| reject(shown, payload, code, msg);
    if payload.len() > ctx.max_payload_bytes {
        out.refuse(|| {
            whole(
                RejectCode::Oversize,
                format!(
                    "payload of {} bytes on {shown} exceeds max_payload_bytes = {}: split the backlog into smaller arrays",
                    payload.len(),
                    ctx.max_payload_bytes
                ),
            )
        });
        return out;
    }
    let device = parse_topic(topic, ctx.topic_prefix).and_then(|(county, kind, id)| {
        check_device(ctx.registry, county, kind, id).map(|()| (kind, id))
    });
    let (kind, id) = match device {
        Ok(d) => d,
        Err(r) => {
            out.refuse(|| Quarantined {
                origin: shown.to_string(),
                payload: truncate(payload),
                rejection: r,
            });
            return out;
        }
    };
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            out.refuse(|| {
                whole(
                    RejectCode::MalformedJson,
                    format!(
                        "malformed JSON on {shown}: {e}; expected {{\"ts\": ..., \"{}\": ...}} or an array of such objects",
                        if kind == Kind::Meter { "total_m3" } else { "depth_m" }
                    ),
                )
            });
            return out;
        }
    };
    match value {
        Value::Object(obj) => {
            push_element(ctx, shown, kind, id, &obj, Some(payload), now, &mut out)
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.refuse(|| {
                    whole(
                        RejectCode::BadField,
                        format!("empty array on {shown}: expected at least one reading"),
                    )
                });
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(obj) => {
                        push_element(ctx, shown, kind, id, obj, None, now, &mut out)
                    }
                    // Past the first few, a refusal is only counted: nothing is built for it.
                    other => out.refuse(|| {
                        reject(
                            shown,
                            other.to_string().as_bytes(),
                            RejectCode::BadField,
                            format!("element {i} of the array on {shown} is not a JSON object"),
                        )
                    }),
                }
            }
        }
        other => out.refuse(|| {
            whole(
                RejectCode::BadField,
                format!(
                    "payload on {shown} is a JSON {}: expected an object or an array of objects",
                    json_type(&other)
                ),
            )
        }),
    }
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The device must exist, be of the topic's kind, and sit in the topic's county.
pub fn check_device(reg: &Registry, county: &str, kind: Kind, id: &str) -> Result<(), Rejection> {
    let shown = |s| for_log(s, SHOWN_CHARS);
    let registered = match kind {
        Kind::Meter => reg.intake(id).map(|i| i.county),
        Kind::Level => reg.well(id).map(|w| w.county),
    };
    let Some(reg_county) = registered else {
        let other = match kind {
            Kind::Meter => reg
                .well(id)
                .map(|_| "a monitoring well (publish on .../level/...)"),
            Kind::Level => reg
                .intake(id)
                .map(|_| "a metered intake (publish on .../meter/...)"),
        };
        return Err(match other {
            Some(what) => Rejection::new(
                RejectCode::WrongKind,
                format!("device '{}' is registered as {what}", shown(id)),
            ),
            None => Rejection::new(
                RejectCode::UnknownDevice,
                format!(
                    "unknown {} '{}': add it to the registry ({}) or fix the device's id",
                    if kind == Kind::Meter {
                        "intake"
                    } else {
                        "well"
                    },
                    shown(id),
                    if kind == Kind::Meter {
                        "intakes.csv"
                    } else {
                        "wells.csv"
                    }
                ),
            ),
        });
    };
    if CountyCode::parse(county) != Some(reg_county) {
        return Err(Rejection::new(
            RejectCode::CountyMismatch,
            format!(
                "topic county '{}' does not match the registry: '{id}' belongs to {reg_county}",
                shown(county)
            ),
        ));
    }
    Ok(())
}

/// Decodes one object of the message from `origin`; `raw` is its bytes when it is the whole
/// payload, else it is serialised again, and only if its refusal is kept.
#[allow(clippy::too_many_arguments)]
fn push_element(
    ctx: &DecodeCtx<'_>,
    origin: &str,
    kind: Kind,
    id: &str,
    obj: &Map<String, Value>,
    raw: Option<&[u8]>,
    now: i64,
    out: &mut Decoded,
) {
    match decode_element(ctx, origin, kind, id, obj, now) {
        Ok(r) => out.readings.push(r),
        Err(rejection) => out.refuse(|| Quarantined {
            origin: origin.to_string(),
            payload: match raw {
                Some(raw) => truncate(raw),
                None => truncate(&serde_json::to_vec(obj).unwrap_or_default()),
            },
            rejection,
        }),
    }
}

/// Validates one reading object for device `id` of `kind`; `topic` names the origin in messages
/// (an MQTT topic, or `file line N` for imports).
pub fn decode_element(
    ctx: &DecodeCtx<'_>,
    topic: &str,
    kind: Kind,
    id: &str,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<Reading, Rejection> {
    let ts = match obj.get("ts") {
        None => {
            return Err(Rejection::new(
                RejectCode::BadField,
                format!(
                    "missing field 'ts' on {topic}: expected RFC 3339, epoch seconds or local time"
                ),
            ));
        }
        Some(Value::String(s)) => ctx.clock.parse_str(s),
        Some(Value::Number(n)) => ctx.clock.parse_epoch(n.as_f64().unwrap_or(f64::NAN)),
        Some(other) => {
            return Err(Rejection::new(
                RejectCode::BadField,
                format!(
                    "field 'ts' on {topic} is a JSON {}: expected a string or a number",
                    json_type(other)
                ),
            ));
        }
    }
    .map_err(|e| Rejection::new(RejectCode::BadTimestamp, format!("{e} (on {topic})")))?;
    if ts < ctx.earliest_ts {
        return Err(Rejection::new(
            RejectCode::BadTimestamp,
            format!(
                "timestamp {} on {topic} is before {}, the earliest accepted ([ingest] earliest): a device clock fallen back to its default date? check the device clock (lower [ingest] earliest to import older records)",
                ctx.clock.format(ts),
                ctx.clock.format(ctx.earliest_ts),
            ),
        ));
    }
    if ts > now + ctx.future_margin_s {
        return Err(Rejection::new(
            RejectCode::FutureTimestamp,
            format!(
                "timestamp {} on {topic} is {} s in the future (allowed: {} s): check the device clock",
                ctx.clock.format(ts),
                ts - now,
                ctx.future_margin_s
            ),
        ));
    }
    match kind {
        Kind::Meter => {
            let total = number(obj, "total_m3", topic)?.ok_or_else(|| {
                let hint = if obj.contains_key("volume_m3") {
                    "interval volumes (volume_m3) are not accepted: send the meter's cumulative total_m3"
                } else {
                    "expected the meter's cumulative total in m³"
                };
                Rejection::new(
                    RejectCode::BadField,
                    format!("missing field 'total_m3' on {topic}: {hint}"),
                )
            })?;
            if total < 0.0 {
                return Err(Rejection::new(
                    RejectCode::BadValue,
                    format!("total_m3 = {total} on {topic}: a cumulative total cannot be negative"),
                ));
            }
            Ok(Reading::Meter {
                intake_id: id.to_string(),
                ts,
                total_m3: total,
            })
        }
        Kind::Level => {
            let well = ctx.registry.well(id).ok_or_else(|| {
                Rejection::new(RejectCode::UnknownDevice, format!("unknown well '{id}'"))
            })?;
            let depth = number(obj, "depth_m", topic)?;
            let level = number(obj, "level_m", topic)?;
            // The datum in force on the reading's day: a depth is measured from its measuring
            // point, a level is above its datum.
            let datum = well.datum_on(ctx.clock.day_of(ts));
            // Each figure is checked as sent, so that the message speaks of it; with both
            // sent, both are stored as measured (the trend is computed on the level).
            let check = |field, value, form| {
                well.limits
                    .check(field, value, form, datum.ground_elevation_m)
                    .map_err(|e| Rejection::new(RejectCode::BadValue, format!("{e} (on {topic})")))
            };
            if let Some(d) = depth {
                check("depth_m", d - datum.measuring_point_m, TargetKind::Depth)?;
            }
            if let Some(l) = level {
                check("level_m", l, TargetKind::Level)?;
            }
            let sent = match (depth, level) {
                (Some(_), Some(_)) => Sent::Both,
                (Some(d), None) => Sent::Depth(d),
                (None, Some(l)) => Sent::Level(l),
                (None, None) => {
                    return Err(Rejection::new(
                        RejectCode::BadField,
                        format!(
                            "missing field on {topic}: expected 'depth_m' (m below ground) or 'level_m' (m above {})",
                            well.datum
                        ),
                    ));
                }
            };
            let (depth_m, level_m) = datum
                .derive(sent)
                .or(depth.zip(level))
                .unwrap_or((f64::NAN, f64::NAN));
            Ok(Reading::Level {
                well_id: id.to_string(),
                ts,
                depth_m,
                level_m,
                sent,
            })
        }
    }
}

/// A finite number field; `Ok(None)` when absent.
fn number(obj: &Map<String, Value>, key: &str, topic: &str) -> Result<Option<f64>, Rejection> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(Rejection::new(
                RejectCode::BadValue,
                format!("{key} = {n} on {topic} is not a finite number"),
            )),
        },
        Some(Value::String(s)) => Err(Rejection::new(
            RejectCode::BadField,
            format!(
                "field '{key}' on {topic} is a string (\"{}\"): send a JSON number",
                for_log(s, SHOWN_CHARS)
            ),
        )),
        Some(other) => Err(Rejection::new(
            RejectCode::BadField,
            format!(
                "field '{key}' on {topic} is a JSON {}: expected a number",
                json_type(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const NOW: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z

    fn run(topic: &str, payload: &str) -> Decoded {
        let cfg = Config::embedded().unwrap();
        let ctx = DecodeCtx {
            registry: &cfg.registry,
            clock: &cfg.clock,
            topic_prefix: "gw",
            max_payload_bytes: 4096,
            future_margin_s: 600,
            earliest_ts: cfg.clock.day_start(cfg.ingest.earliest),
        };
        decode(&ctx, topic, payload.as_bytes(), NOW)
    }

    fn intake() -> (String, String) {
        let cfg = Config::embedded().unwrap();
        let i = &cfg.registry.intakes[0];
        (format!("gw/{}/meter/{}", i.county, i.id), i.id.clone())
    }

    fn well() -> (String, String, f64) {
        let cfg = Config::embedded().unwrap();
        let w = &cfg.registry.wells[0];
        (
            format!("gw/{}/level/{}", w.county, w.id),
            w.id.clone(),
            w.ground_elevation_m,
        )
    }

    fn code(d: &Decoded) -> &'static str {
        d.rejected[0].rejection.code.as_str()
    }

    #[test]
    fn object_and_backlog_array() {
        let (t, id) = intake();
        let d = run(&t, r#"{"ts":"2026-03-01T08:00:00+08:00","total_m3":12.5}"#);
        assert_eq!(
            d.readings,
            vec![Reading::Meter {
                intake_id: id.clone(),
                ts: NOW,
                total_m3: 12.5
            }]
        );
        let d = run(
            &t,
            r#"[{"ts":1772323200,"total_m3":1},{"ts":"2026-03-01 07:00:00","total_m3":2},{"ts":"x","total_m3":3}]"#,
        );
        assert_eq!(d.readings.len(), 2);
        assert_eq!(d.rejected.len(), 1);
        assert_eq!(code(&d), "bad_timestamp");
        assert_eq!(
            d.rejected[0].payload,
            br#"{"total_m3":3,"ts":"x"}"#.to_vec()
        );
    }

    #[test]
    fn depth_and_level_are_converted_with_ground_elevation() {
        let (t, id, ground) = well();
        let d = run(&t, r#"{"ts":1772323200,"depth_m":42.25}"#);
        match &d.readings[0] {
            Reading::Level {
                well_id,
                depth_m,
                level_m,
                ..
            } => {
                assert_eq!(well_id, &id);
                assert_eq!(*depth_m, 42.25);
                assert!((level_m - (ground - 42.25)).abs() < 1e-9);
            }
            r => panic!("{r:?}"),
        }
        let d = run(&t, r#"{"ts":1772323200,"level_m":700.0}"#);
        assert!(matches!(d.readings[0], Reading::Level { level_m, .. } if level_m == 700.0));
    }

    /// Level figures against the plausible range: 1 m above ground to 300 m below it by default,
    /// deeper where the registry row says so. `want` is `Ok(stored depth)` or the message.
    #[test]
    fn implausible_levels_are_refused_with_the_likely_cause() {
        let cfg = Config::embedded().unwrap();
        let w = cfg.registry.well("W-XD-01").unwrap();
        assert_eq!(w.ground_elevation_m, 768.47);
        let deep = cfg.registry.well("W-WBL-01").unwrap();
        assert_eq!(deep.limits.max_depth_m, 500.0);
        let topic = |w: &crate::config::registry::Well| format!("gw/{}/level/{}", w.county, w.id);
        let (t, deep_t) = (topic(w), topic(deep));
        let cases: Vec<(&str, &str, Result<f64, String>)> = vec![
            (&t, r#""depth_m":42.25"#, Ok(42.25)),
            (&t, r#""depth_m":300"#, Ok(300.0)),
            (&t, r#""depth_m":-1"#, Ok(-1.0)),
            (&t, r#""level_m":768.0"#, Ok(768.47 - 768.0)),
            (&t, r#""depth_m":20,"level_m":748.5"#, Ok(20.0)),
            (&deep_t, r#""depth_m":450"#, Ok(450.0)),
            (
                &t,
                r#""depth_m":792.3"#,
                Err(format!(
                    "depth_m = 792.3 is deeper than the well's maximum 300 m: was a level (m above the datum) given as depth_m? (on {t})"
                )),
            ),
            (
                &t,
                r#""depth_m":300.5"#,
                Err(format!(
                    "depth_m = 300.5 is deeper than the well's maximum 300 m: check the units (metres) and the sensor (on {t})"
                )),
            ),
            (
                &deep_t,
                r#""depth_m":501"#,
                Err(format!(
                    "depth_m = 501 is deeper than the well's maximum 500 m: check the units (metres) and the sensor (on {deep_t})"
                )),
            ),
            (
                &t,
                r#""depth_m":-1.5"#,
                Err(format!(
                    "depth_m = -1.5 is more than the allowed 1 m above ground: depth to water is positive below ground: was the sign reversed? (on {t})"
                )),
            ),
            (
                &t,
                r#""level_m":45.2"#,
                Err(format!(
                    "level_m = 45.2 puts the water table 723.27 m below ground (ground at 768.47 m above the datum), which is deeper than the well's maximum 300 m: was a depth to water (m below ground) given as level_m? (on {t})"
                )),
            ),
            (
                &t,
                r#""level_m":780"#,
                Err(format!(
                    "level_m = 780 puts the water table 11.53 m above ground (ground at 768.47 m above the datum), which is more than the allowed 1 m above ground: check the datum of the figure and the well's ground_elevation_m in wells.csv (on {t})"
                )),
            ),
            // Both sent: a depth sent as the level is caught too, since trends use the level.
            (
                &t,
                r#""depth_m":20,"level_m":20"#,
                Err(format!(
                    "level_m = 20 puts the water table 748.47 m below ground (ground at 768.47 m above the datum), which is deeper than the well's maximum 300 m: was a depth to water (m below ground) given as level_m? (on {t})"
                )),
            ),
        ];
        for (topic, fields, want) in cases {
            let d = run(topic, &format!(r#"{{"ts":1772323200,{fields}}}"#));
            let got = match (&d.readings[..], &d.rejected[..]) {
                ([Reading::Level { depth_m, .. }], []) => Ok(*depth_m),
                ([], [q]) => {
                    assert_eq!(q.rejection.code, RejectCode::BadValue, "{fields}");
                    Err(q.rejection.message.clone())
                }
                _ => panic!("{fields}: {d:?}"),
            };
            match (got, want) {
                (Ok(g), Ok(w)) => assert!((g - w).abs() < 1e-9, "{fields}: {g} ≠ {w}"),
                (got, want) => assert_eq!(got, want, "{topic} {fields}"),
            }
        }
    }

    /// Regression: every bad element of a 1 MB array became a quarantine record of its own
    /// (500,000 records, each with its topic, payload and message).
    #[test]
    fn a_hostile_array_keeps_five_refusals_and_counts_the_rest() {
        let (t, _) = intake();
        let n = 500_000;
        let payload = format!("[{}1]", "1,".repeat(n - 1));
        let cfg = Config::embedded().unwrap();
        let ctx = DecodeCtx {
            max_payload_bytes: 2 << 20,
            ..DecodeCtx::from_config(&cfg)
        };
        let d = decode(&ctx, &t, payload.as_bytes(), NOW);
        assert!(d.readings.is_empty());
        assert_eq!(d.rejected.len(), crate::domain::REJECTIONS_KEPT);
        assert_eq!(d.rejected_elements(), n as u32);
        assert_eq!(
            d.rejected[4].rejection.message,
            format!("element 4 of the array on {t} is not a JSON object")
        );
        // Good elements among bad ones are kept, and so are the first bad ones.
        let d = run(
            &t,
            r#"[1,{"ts":1772323200,"total_m3":1},{"ts":"x"},2,3,4,5,6,{"ts":1772323300,"total_m3":2}]"#,
        );
        assert_eq!(d.readings.len(), 2);
        assert_eq!(d.rejected.len(), 5);
        assert_eq!(d.rejected_elements(), 7);
        assert_eq!(d.elements(), 9);
        assert_eq!(d.rejected[1].payload, br#"{"ts":"x"}"#.to_vec());
    }

    #[test]
    fn device_text_in_messages_is_escaped_and_cut() {
        let (t, _) = intake();
        let county = t.split('/').nth(1).unwrap().to_string();
        // A newline and a terminal escape in a payload string.
        let d = run(
            &t,
            r#"{"ts":"x\n2026-03-01T08:00:00Z  INFO gwmon: ok \u001b[31m","total_m3":1}"#,
        );
        let m = &d.rejected[0].rejection.message;
        assert_eq!(d.rejected[0].rejection.code, RejectCode::BadTimestamp);
        assert!(
            m.starts_with(
                r"invalid timestamp 'x\u{a}2026-03-01T08:00:00Z  INFO gwmon: ok \u{1b}[31m'"
            ),
            "{m}"
        );
        let d = run(&t, r#"{"ts":1772323200,"total_m3":"1\r\u202e"}"#);
        assert!(
            d.rejected[0]
                .rejection
                .message
                .contains(r#"("1\u{d}\u{202e}")"#)
        );
        // A right-to-left override in a device id.
        let d = run(&format!("gw/{county}/meter/QX\u{202E}9"), "{}");
        let q = &d.rejected[0];
        assert_eq!(q.origin, format!("gw/{county}/meter/QX\\u{{202e}}9"));
        assert!(
            q.rejection
                .message
                .starts_with("unknown intake 'QX\\u{202e}9'")
        );
        // A 60,000-character topic is stored and quoted cut, never whole.
        let long = format!("gw/{county}/meter/{}", "A".repeat(60_000));
        for topic in [long.clone(), format!("x/{}", "B".repeat(60_000))] {
            let d = run(&topic, "{}");
            let q = &d.rejected[0];
            assert!(
                q.origin.len() <= crate::domain::QUARANTINE_ORIGIN_MAX,
                "{}",
                q.origin.len()
            );
            assert!(q.rejection.message.len() <= 1024);
            assert!(!q.rejection.message.contains(&"A".repeat(300)));
            assert!(!q.rejection.message.contains(&"B".repeat(300)));
        }
    }

    #[test]
    fn each_bad_input_has_its_reason() {
        let (t, _) = intake();
        let (wt, wid, _) = well();
        let county = t.split('/').nth(1).unwrap().to_string();
        let id = t.rsplit('/').next().unwrap().to_string();
        let cases: Vec<(String, String, &str)> = vec![
            (t.clone(), "{not json".into(), "malformed_json"),
            (t.clone(), r#"{"total_m3":1}"#.into(), "bad_field"),
            (t.clone(), r#"{"ts":1772323200}"#.into(), "bad_field"),
            (
                t.clone(),
                r#"{"ts":1772323200,"total_m3":"12"}"#.into(),
                "bad_field",
            ),
            (
                t.clone(),
                r#"{"ts":1772323200,"total_m3":-3}"#.into(),
                "bad_value",
            ),
            (
                t.clone(),
                r#"{"ts":1772323200,"total_m3":1e999}"#.into(),
                "malformed_json",
            ),
            (
                t.clone(),
                r#"{"ts":"2026-13-01","total_m3":1}"#.into(),
                "bad_timestamp",
            ),
            // An RTC fallen back to its default date: before [ingest] earliest (2010-01-01).
            (
                t.clone(),
                r#"{"ts":"2001-06-01T00:00:00+08:00","total_m3":0}"#.into(),
                "bad_timestamp",
            ),
            (
                t.clone(),
                r#"{"ts":"2009-12-31T23:59:59+08:00","total_m3":0}"#.into(),
                "bad_timestamp",
            ),
            (
                t.clone(),
                r#"{"ts":0,"total_m3":1}"#.into(),
                "bad_timestamp",
            ),
            (
                t.clone(),
                r#"{"ts":1872323200,"total_m3":1}"#.into(),
                "future_timestamp",
            ),
            (t.clone(), "42".into(), "bad_field"),
            (t.clone(), "[]".into(), "bad_field"),
            (t.clone(), "x".repeat(5000), "oversize"),
            (
                format!("gw/{county}/meter/NOPE-1"),
                r#"{"ts":1772323200,"total_m3":1}"#.into(),
                "unknown_device",
            ),
            (
                format!("gw/140199/meter/{id}"),
                r#"{"ts":1772323200,"total_m3":1}"#.into(),
                "county_mismatch",
            ),
            (
                format!("gw/{county}/level/{id}"),
                r#"{"ts":1772323200,"depth_m":1}"#.into(),
                "wrong_kind",
            ),
            (
                wt.replace("/level/", "/meter/"),
                r#"{"ts":1772323200,"total_m3":1}"#.into(),
                "wrong_kind",
            ),
            (
                wt.clone(),
                r#"{"ts":1772323200,"depth_m":5000}"#.into(),
                "bad_value",
            ),
            (wt.clone(), r#"{"ts":1772323200}"#.into(), "bad_field"),
            (format!("gw/{county}/flow/{wid}"), "{}".into(), "bad_topic"),
            ("other/x".into(), "{}".into(), "bad_topic"),
        ];
        for (topic, payload, want) in cases {
            let d = run(&topic, &payload);
            assert!(d.readings.is_empty(), "{topic} {payload}");
            assert_eq!(d.rejected.len(), 1, "{topic} {payload}");
            assert_eq!(
                code(&d),
                want,
                "{topic} {payload}: {}",
                d.rejected[0].rejection.message
            );
            assert!(d.rejected[0].payload.len() <= QUARANTINE_PAYLOAD_MAX);
        }
    }
}
