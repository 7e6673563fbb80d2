//! Tools around the daemon, not part of it: the one-command `demo`, the synthetic `fleet` of
//! meters and wells it publishes, the `loadgen` behind `gwmon simulate`, and the simulated
//! field terminals (`rtu`) of `gwmon simulate --protocol`.

pub mod demo;
pub mod fleet;
pub mod loadgen;
pub mod rtu;
