//! gwmon — the groundwater overdraft exit monitor for Taiyuan's 四水四定 action plan.
//!
//! It ingests well-level and abstraction readings over MQTT from the metered intakes, aggregates
//! county withdrawals against the plan's groundwater split (太原供水集团 7602万 m³, counties
//! 7390万 m³, city cap 1.5亿 m³), tests water-level trends, and judges each county's readiness to
//! leave the list of groundwater-overloaded areas by its deadlines.
//!
//! # Layout
//! Data flows one way: (field terminals → gateway →) MQTT → decode → store → analysis → status
//! document → text, charts, report. Each module depends only on the ones listed before it:
//!
//! - [`domain`] — county codes, the registry's enumerations, readings and quarantine records,
//!   quota versions, local days (Asia/Shanghai), volumes and their one 万/亿 m³ formatter.
//! - [`analysis`] — pure functions: counter maths, accounting, levels and trends, the verdict.
//!   It takes its own parameter structs, never the configuration.
//! - [`config`] — TOML + registry CSVs → a validated [`config::Config`].
//! - [`store`] — SQLite: schema, access tokens, one writer (batches, duplicate/conflict detection, daily
//!   rollups), read-only queries.
//! - [`mqtt`] — the MQTT client settings ingest, the gateway and the tools share: the broker
//!   URL, the client options (persistent session, manual acks, credentials, TLS).
//! - [`ingest`] — `decode` (pure: topic + bytes → readings or reasons), `mqtt` (connection, poll
//!   loop, ack after commit), `import` (CSV history), `broker` (the in-process broker, feature
//!   `embedded-broker`).
//! - [`gateway`] — the TCP gateway for field terminals speaking SL 651-2014 or SZY 206-2016:
//!   frames → readings published to the broker in the MQTT contract, each frame confirmed only
//!   after the broker acknowledged its readings; a raw archive for replay.
//! - [`assess`] — store → analysis → the status document every output draws from.
//! - [`output`] — terminal tables, charts (PNG/SVG with Chinese text), the report rendered into
//!   a bundle of files in memory; no store, no file system, no clock.
//! - [`report`] — `gwmon report`: the report model from the store, rendered and written to disk.
//! - [`http`] — the one HTTP listener: the web view and its API for the counties and the city,
//!   and the daemon's `/healthz` and `/metrics`.
//! - [`daemon`] — one supervisor for the gateway, ingest and the HTTP listener: one set of
//!   tokens, every task waited for, stopped in order (input, commit and acknowledge, listeners).
//! - [`tools`] — the one-command demo, the synthetic fleet, the load generator, simulated field
//!   terminals.
//! - [`cli`] — the command line; `main.rs` only parses and dispatches.

pub mod analysis;
pub mod assess;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod gateway;
pub mod http;
pub mod ingest;
pub mod mqtt;
pub mod output;
pub mod report;
pub mod store;
pub mod tools;
