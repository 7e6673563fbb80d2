//! What the store needs to know from the configuration, taken once when it opens.
//!
//! The store turns meter totals into daily volumes, which takes the local clock (days are local)
//! and each intake's counter rules (plausible maximum flow, gap and jitter thresholds); it prunes
//! the quarantine table by `[quarantine]`. Nothing else of the configuration reaches it: [`StoreSettings::from_config`] is its one contact with
//! [`Config`].

use std::collections::HashMap;

use crate::analysis::counter::CounterParams;
use crate::config::{Config, QuarantineConfig};
use crate::domain::LocalClock;

/// The clock, counter rules and quarantine retention the writer applies.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// The zone whose calendar days and years the rollups follow.
    pub clock: LocalClock,
    /// Counter rules of an intake the registry does not list (its maximum flow is the default).
    pub counter: CounterParams,
    /// Plausible maximum flow of each registered intake, m³/h.
    pub max_flow_m3_per_h: HashMap<String, f64>,
    /// How long quarantine rows are kept, and how many.
    pub quarantine: QuarantineConfig,
    /// Each registered well's datum history, oldest first: the store derives levels from what
    /// terminals sent with it, again whenever it changes.
    pub datums: HashMap<String, Vec<crate::domain::Datum>>,
}

impl StoreSettings {
    /// The settings of the configured zone, `[ingest]` counter rules and intake registry.
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            clock: cfg.clock.clone(),
            counter: CounterParams {
                max_flow_m3_per_h: cfg.ingest.default_max_flow_m3_per_h,
                gap_s: cfg.ingest.gap_s(),
                max_spread_s: (cfg.ingest.max_spread_days * 86_400.0) as i64,
                jitter_m3: cfg.ingest.counter_jitter_m3,
            },
            max_flow_m3_per_h: cfg
                .registry
                .intakes
                .iter()
                .map(|i| (i.id.clone(), i.max_flow_m3_per_h))
                .collect(),
            quarantine: cfg.quarantine.clone(),
            datums: cfg
                .registry
                .wells
                .iter()
                .map(|w| (w.id.clone(), w.datums.clone()))
                .collect(),
        }
    }

    /// Counter rules for one intake.
    pub fn counter_params(&self, intake_id: &str) -> CounterParams {
        CounterParams {
            max_flow_m3_per_h: self
                .max_flow_m3_per_h
                .get(intake_id)
                .copied()
                .unwrap_or(self.counter.max_flow_m3_per_h),
            ..self.counter
        }
    }
}
