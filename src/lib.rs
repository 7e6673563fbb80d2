//! gwmon — the groundwater overdraft exit monitor for Taiyuan's 四水四定 action plan.
//!
//! It ingests well-level and abstraction readings over MQTT from the metered intakes, aggregates
//! county withdrawals against the plan's groundwater split (太原供水集团 7602万 m³, counties
//! 7390万 m³, city cap 1.5亿 m³), tests water-level trends, and judges each county's readiness to
//! leave the list of groundwater-overloaded areas by its deadlines.
//!
//! # Layout
//! Data flows one way: MQTT → decode → store → analysis → charts/report.
//!
//! - [`config`], [`registry`] — TOML + registry CSVs → a validated [`config::Config`].
//! - [`time`] — local days (Asia/Shanghai) and timestamp parsing.
//! - [`model`] — readings and quarantine records passed from decoding to the store.
//! - [`ingest`] — `decode` (pure: topic + bytes → readings or reasons) and `mqtt` (connection,
//!   poll loop, ack after commit).
//! - [`store`] — SQLite: schema, one writer (batches, duplicate/conflict detection, daily
//!   rollups), read-only connections for queries.
//! - [`analysis`] — pure functions: counter math, aggregation, trends, the verdict.
//! - [`assess`] — store → analysis → the status document every output draws from.
//! - [`import`] — CSV history through the same validation and counter logic.
//! - [`charts`], [`report`] — PNG/SVG charts with Chinese text, the per-county bundle.
//! - [`text`] — terminal tables in Chinese.
//! - [`demo`], [`sim`], [`simulate`], [`broker`] — the one-command demo, the simulated fleet,
//!   the load generator, the in-process broker.
//! - [`cli`] — the command line; `main.rs` only dispatches.

pub mod analysis;
pub mod assess;
pub mod broker;
pub mod charts;
pub mod cli;
pub mod config;
pub mod demo;
pub mod import;
pub mod ingest;
pub mod model;
pub mod registry;
pub mod report;
pub mod sim;
pub mod simulate;
pub mod store;
pub mod text;
pub mod time;
