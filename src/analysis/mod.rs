//! Pure analysis: counters → volumes, aggregation against budgets and quotas, trend statistics,
//! the readiness verdict. No I/O, no async: plain functions over slices.

pub mod counter;
pub mod trend;
pub mod accounting;
pub mod levels;
pub mod verdict;
