//! Integration tests: the `gwmon` binary against real Mosquitto brokers.

mod ingest;
mod status;
mod support;
