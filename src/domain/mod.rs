//! Domain types at the bottom of the crate: county codes, the registry's enumerations, readings
//! and quarantine records, quota versions, wells' level targets and plausible depths, local
//! days, the retry [`Backoff`], and [`sanitize`], which makes device-supplied text safe to log and store. Every other layer
//! builds on these; they depend on nothing else in the crate.

pub mod backoff;
pub mod county;
pub mod kinds;
pub mod quota;
pub mod reading;
pub mod sanitize;
pub mod time;
pub mod volume;
pub mod well;

pub use backoff::Backoff;
pub use county::{CountyCode, DeadlineKind};
pub use kinds::{Aquifer, Budget, Sector, Source};
pub use quota::{QuotaRule, QuotaVersion};
pub use reading::{
    Decoded, QUARANTINE_ORIGIN_MAX, QUARANTINE_PAYLOAD_MAX, QUARANTINE_REASON_MAX, Quarantined,
    REJECTIONS_KEPT, Reading, RejectCode, Rejection,
};
pub use time::LocalClock;
pub use volume::Volume;
pub use well::{Datum, LevelLimits, Sent, TargetKind, WellTarget};

/// Monthly points per device: `(year, month, value)`.
pub type MonthlyPoints<T> = std::collections::HashMap<String, Vec<(i16, i8, T)>>;
