//! County quotas (管控指标), versioned by effective date because the plan says the split moves.

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::CountyCode;

/// One version of the county quotas, in force from `effective_from` until the next version (or
/// `effective_until`, exclusive).
#[derive(Debug, Clone)]
pub struct QuotaVersion {
    pub effective_from: Date,
    pub effective_until: Option<Date>,
    pub example: bool,
    pub note: String,
    pub county_m3: BTreeMap<CountyCode, f64>,
}
