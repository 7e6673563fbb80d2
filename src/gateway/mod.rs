//! The gateway for field terminals (RTUs) that speak SL 651-2014 or SZY 206-2016 over TCP: it
//! listens, cuts each connection's bytes into frames, decodes them, publishes the readings of
//! mapped stations to the broker in the normal MQTT JSON contract, and confirms a frame to its
//! terminal only once the broker has acknowledged every reading in it. The daemon (`gwmon run`)
//! then ingests them like any other reading: its duplicate detection makes a terminal's resend,
//! or a replay, harmless.
//!
//! - [`crc`] — CRC-16/MODBUS and CRC-8 (0xE5), hex helpers.
//! - [`frame`] — the decoded frame every protocol produces.
//! - [`sl651`], [`szy206`] — pure decoders and the frames the centre sends.
//! - [`stream`] — a connection's byte stream → frames (resync after junk), SL 651 multi-packet
//!   reassembly.
//! - [`map`] — a frame's elements → MQTT topics and payloads, through stations.csv.
//! - [`publish`] — one MQTT connection, QoS 1, each publish's PUBACK reported back.
//! - [`metrics`] — the gateway's Prometheus counters.
//! - [`server`] — the TCP listeners, one task per connection; replay.
//! - [`admission`] — which connections are taken: per-address and total caps, the process's
//!   file-descriptor budget.
//! - [`conflicts`] — whether a report contradicts a stored reading (then it is not confirmed).
//!
//! Every frame is also kept raw for replay, in the store: [`crate::store::frame_archive`].

pub mod admission;
pub mod conflicts;
pub mod crc;
mod decode;
pub mod frame;
pub mod map;
pub mod metrics;
pub mod publish;
mod reports;
pub mod server;
pub mod sl651;
pub mod stream;
pub mod szy206;
