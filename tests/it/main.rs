//! Integration tests: the `gwmon` binary against real Mosquitto brokers.

mod daemon;
mod demo;
mod ingest;
mod report;
mod status;
mod support;
mod verdict;
