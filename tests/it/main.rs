//! Integration tests: the `gwmon` binary against real Mosquitto brokers.

mod backup;
mod check_config;
mod daemon;
mod demo;
mod devices;
mod gateway;
mod import;
mod ingest;
mod ops;
mod pg;
mod plan;
mod quarantine;
mod reload;
mod report;
mod status;
mod support;
mod verdict;
mod web;
mod wedge;
