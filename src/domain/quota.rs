//! County quotas (管控指标), versioned by effective date because the plan says the split moves.

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::CountyCode;

/// How a year's quota is taken when a new version comes into force during it
/// (`[assessment] quota_rule`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaRule {
    /// Each version weighted by the days of the year it is in force.
    #[default]
    Prorated,
    /// The figure in force for the year as its issuing document says: the last version in force
    /// during the year, for the whole year.
    AsIssued,
}

impl QuotaRule {
    /// Chinese description for reports.
    pub fn label(self) -> &'static str {
        match self {
            QuotaRule::Prorated => "年中调整的指标按天数折算",
            QuotaRule::AsIssued => "年中调整的指标按下达文件执行全年",
        }
    }
}

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
