//! How the commands behave as an operator runs them on a server: refusals that a service
//! manager must not retry, and writer commands run as the wrong user.

use std::process::Command;

use crate::support::*;

/// `gwmon gateway` without any station is a refusal (exit code 2), so that the unit's
/// `RestartPreventExitStatus=2` stops a restart loop.
#[test]
fn a_gateway_without_stations_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1", "gwmon-nostations", "gw");
    let (code, _, err) = gwmon(&["gateway", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("stations"), "{err}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Root running a writer command on the service account's store is refused with the user to
/// run it as; the store is left as it was.
#[test]
fn a_writer_command_as_root_on_the_services_store_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to own a store as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1", "gwmon-root", "gw");
    let db = dir.path().join("gwmon.db");
    let csv = dir.path().join("m.csv");
    let (_, id) = intakes(1).remove(0);
    std::fs::write(
        &csv,
        format!("intake_id,ts,total_m3\n{id},2026-11-02T08:00:00+08:00,1\n"),
    )
    .unwrap();
    let args = [
        "import",
        "--kind",
        "meter",
        csv.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    // A store root created is root's: allowed.
    let (code, _, err) = gwmon(&args);
    assert_eq!(code, 0, "{err}");
    // Handed to the service account (uid 65534 here), root is refused.
    assert!(
        Command::new("chown")
            .arg("65534")
            .arg(&db)
            .status()
            .unwrap()
            .success()
    );
    let (code, _, err) = gwmon(&args);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("run it as that user") && err.contains("sudo -u"),
        "{err}"
    );
    let (code, _, err) = gwmon(&[
        "token",
        "list",
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
}
