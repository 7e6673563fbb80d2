//! SIGHUP reloads the configuration and registry, validated first, and never stops the daemon.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::*;

fn hangup(pid: u32) {
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn stored(db: &Path, id: &str) -> i64 {
    query_i64(
        db,
        &format!("SELECT count(*) FROM meter_readings WHERE intake_id = '{id}'"),
    )
}

#[test]
fn sighup_reloads_the_registry_and_an_invalid_one_is_refused() {
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-reload", "gw");
    // The registry the daemon reads is a copy of the shipped one that the test edits.
    let intakes = dir.path().join("intakes.csv");
    std::fs::copy(Path::new(REPO).join("config/intakes.csv"), &intakes).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let shipped = format!("{}/config/intakes.csv", REPO);
    assert!(text.contains(&shipped));
    std::fs::write(&cfg, text.replace(&shipped, &intakes.display().to_string())).unwrap();
    let db = dir.path().join("gwmon.db");
    let mut daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    wait_until("subscription", Duration::from_secs(10), || {
        daemon.log_text().contains("subscribed")
    });
    let pid = daemon.pid().unwrap();
    let topic = "gw/140121/meter/QX-NEW-1";
    let reading = |h: u32| format!(r#"{{"ts":"2026-11-02T{h:02}:00:00+08:00","total_m3":{h}0}}"#);

    // Not in the registry yet: refused as an unknown device.
    publish(broker.port, topic, &reading(1));
    wait_until("the refusal", Duration::from_secs(20), || {
        query_i64(
            &db,
            "SELECT count(*) FROM quarantine WHERE reason_code = 'unknown_device'",
        ) == 1
    });

    // Registered, then reloaded: accepted.
    let mut csv = std::fs::read_to_string(&intakes).unwrap();
    csv.push_str(
        "QX-NEW-1,新登记自备井,140121,county,shallow,groundwater,industry,60000,30,no,,,,\n",
    );
    std::fs::write(&intakes, &csv).unwrap();
    hangup(pid);
    wait_until("the reload", Duration::from_secs(20), || {
        daemon.log_text().contains("configuration reloaded")
    });
    publish(broker.port, topic, &reading(2));
    wait_until("the new intake's reading", Duration::from_secs(20), || {
        stored(&db, "QX-NEW-1") == 1
    });

    // An invalid registry is refused with an ERROR; the daemon keeps running on the last good one.
    std::fs::write(
        &intakes,
        format!("{csv}QX-BAD,坏行,140199,county,shallow,groundwater,industry,60000,30,no,,,,\n"),
    )
    .unwrap();
    hangup(pid);
    wait_until("the refusal of the reload", Duration::from_secs(20), || {
        daemon.log_text().contains("configuration reload refused")
    });
    let log = daemon.log_text();
    assert!(
        log.contains("140199"),
        "the error names the bad value:\n{log}"
    );
    publish(broker.port, topic, &reading(3));
    wait_until(
        "a reading after the refused reload",
        Duration::from_secs(20),
        || stored(&db, "QX-NEW-1") == 2,
    );
    assert!(
        daemon.exited().is_none(),
        "SIGHUP must never stop the daemon"
    );
    assert!(daemon.terminate().success());
}
