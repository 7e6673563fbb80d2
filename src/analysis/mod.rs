//! Pure analysis: counters → volumes, aggregation against budgets and quotas, trend statistics,
//! the readiness verdict. No I/O, no async: plain functions over slices.

pub mod accounting;
pub mod counter;
pub mod expected;
pub mod levels;
pub mod plan;
pub mod springs;
pub mod trend;
pub mod verdict;
