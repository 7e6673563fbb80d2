//! Tools around the daemon, not part of it: the one-command `demo`, the synthetic `fleet` of
//! meters and wells it publishes, and the `loadgen` behind `gwmon simulate`.

pub mod demo;
pub mod fleet;
pub mod loadgen;
