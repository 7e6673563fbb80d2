//! Integration tests: the `gwmon` binary against real Mosquitto brokers.

mod ingest;
mod report;
mod status;
mod support;
