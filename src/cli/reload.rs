//! `systemctl reload gwmon` (SIGHUP): the daemon reads its configuration and registry again, as
//! Mosquitto does. The new files are validated first; an invalid set is refused with an ERROR
//! and the running configuration kept. SIGHUP never stops the daemon.
//!
//! What a reload changes: the registry (new intakes and wells are accepted, removed ones
//! refused), the `[ingest]` rules of decoding and counting, quotas, thresholds and the rest of
//! the model. What it cannot change while running — the broker connection (`[mqtt]`), the store
//! (`[store]`), the listeners (`[http]`, `[gateway]`) and the time zone (`[time]`, which keys
//! every stored day) — is kept as it runs, with a WARN naming each changed section: those take
//! effect at the next restart.

use std::sync::Arc;

use tokio::signal::unix::Signal;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{Config, ConfigError};

/// `new` with the sections a running daemon cannot change taken from `running`; the names of
/// those that differ.
pub(super) fn reloadable(running: &Config, mut new: Config) -> (Config, Vec<&'static str>) {
    // Compared by their debug form: every field of these sections is plain data.
    fn differs<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
        format!("{a:?}") != format!("{b:?}")
    }
    let mut kept = Vec::new();
    if differs(&running.mqtt, &new.mqtt) {
        kept.push("[mqtt]");
    }
    if differs(&running.store, &new.store) {
        kept.push("[store]");
    }
    if differs(&running.http, &new.http) {
        kept.push("[http]");
    }
    if differs(&running.gateway, &new.gateway) {
        kept.push("[gateway]");
    }
    if running.clock.name() != new.clock.name() {
        kept.push("[time]");
    }
    new.mqtt = running.mqtt.clone();
    new.store = running.store.clone();
    new.http = running.http.clone();
    new.gateway = running.gateway.clone();
    new.clock = running.clock.clone();
    (new, kept)
}

/// Waits for SIGHUP and publishes each valid reloaded configuration on `tx`, until every
/// receiver is gone.
pub(super) async fn on_hangup(
    mut hup: Signal,
    load: impl Fn() -> Result<Config, ConfigError>,
    tx: watch::Sender<Arc<Config>>,
) {
    while hup.recv().await.is_some() {
        let running = Arc::clone(&tx.borrow());
        match load() {
            Ok(new) => {
                let (new, kept) = reloadable(&running, new);
                if !kept.is_empty() {
                    warn!(
                        sections = %kept.join(", "),
                        "configuration reload: these sections changed but cannot while the daemon runs; they take effect at the next restart"
                    );
                }
                let (source, intakes, wells) = (
                    new.source.clone(),
                    new.registry.intakes.len(),
                    new.registry.wells.len(),
                );
                if tx.send(Arc::new(new)).is_err() {
                    return;
                }
                info!(config = %source, intakes, wells, "configuration reloaded");
            }
            Err(e) => error!(
                error = %e,
                "configuration reload refused: the new configuration is invalid; the running one is kept (fix the files and reload again)"
            ),
        }
    }
}
