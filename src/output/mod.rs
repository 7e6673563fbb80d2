//! What people read: terminal tables (`terminal`), charts (`charts`) and the report (`report`),
//! rendered into a [`Bundle`] of files in memory. Everything here draws from the status document
//! and the report model of [`crate::assess`]; nothing here opens the store, touches the file
//! system or reads the clock.

pub mod bundle;
pub mod charts;
pub mod report;
pub mod terminal;
pub mod wording;

pub use bundle::Bundle;
