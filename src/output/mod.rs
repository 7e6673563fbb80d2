//! What people read: terminal tables (`text`), charts (`charts`) and the report bundle
//! (`report`). Everything here draws from the status document of [`crate::assess`].

pub mod charts;
pub mod report;
pub mod text;
