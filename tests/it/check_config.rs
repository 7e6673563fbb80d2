//! `check-config` refuses what `run` would refuse before connecting: a TLS broker without a
//! readable CA, a password variable that is not set, a gateway enabled without its stations.

use crate::support::*;

/// The shipped config with `edits` applied, in a folder of its own: (folder, config path).
fn config_with(edits: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "mqtt://127.0.0.1:1883", "gwmon-check", "gw");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "config has no '{from}'");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&cfg, text).unwrap();
    (dir, cfg)
}

fn check(cfg: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new(GWMON);
    cmd.args(["check-config", "--config"]).arg(cfg);
    cmd.env_remove("GWMON_MQTT_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_tls_broker_without_a_readable_ca_is_refused() {
    let (_d, cfg) = config_with(&[(
        "url = \"mqtt://127.0.0.1:1883\"",
        "url = \"mqtts://broker.example:8883\"",
    )]);
    let (code, err) = check(&cfg, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mqtts:// needs [mqtt.tls] ca_file"), "{err}");
    let (_d, cfg) = config_with(&[
        (
            "url = \"mqtt://127.0.0.1:1883\"",
            "url = \"mqtts://broker.example:8883\"",
        ),
        (
            "# ca_file = \"/etc/gwmon/ca.pem\"",
            "ca_file = \"/nonexistent/ca.pem\"",
        ),
    ]);
    let (code, err) = check(&cfg, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read ca_file /nonexistent/ca.pem"),
        "{err}"
    );
}

#[test]
fn an_unset_password_variable_is_refused_and_a_set_one_passes() {
    let (_d, cfg) = config_with(&[("[mqtt]\n", "[mqtt]\nusername = \"gwmon\"\n")]);
    let (code, err) = check(&cfg, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("GWMON_MQTT_PASSWORD"), "{err}");
    let (code, err) = check(&cfg, &[("GWMON_MQTT_PASSWORD", "secret")]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_gateway_without_stations_is_refused() {
    let (_d, cfg) = config_with(&[(
        "enabled = false",
        "enabled = true\nstations = \"/nonexistent/stations.csv\"",
    )]);
    let (code, err) = check(&cfg, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("[gateway]"), "{err}");
}

/// The listeners' limits: a zero, or a packet count SL 651 cannot carry, is named with what
/// would do.
#[test]
fn listener_limits_out_of_range_are_named() {
    for (from, to, says) in [
        (
            "header_read_timeout_s = 20",
            "header_read_timeout_s = 0",
            "[http] header_read_timeout_s = 0: expected a positive number, e.g. 20",
        ),
        (
            "build_queue_per_token = 2",
            "build_queue_per_token = 0",
            "[http] build_queue_per_token = 0: expected a positive number, e.g. 2",
        ),
        (
            "max_packets = 64",
            "max_packets = 5000",
            "[gateway] max_packets = 5000: expected 1 to 4095",
        ),
        (
            "archive_rows_per_minute = 60",
            "archive_rows_per_minute = 0",
            "[gateway] archive_rows_per_minute = 0: expected a positive number, e.g. 60",
        ),
        (
            "# archive_max_mb = 256",
            "archive_max_mb = 0",
            "[gateway] archive_max_mb = 0: expected a positive number, e.g. 256",
        ),
    ] {
        let (_d, cfg) = config_with(&[(from, to)]);
        let (code, err) = check(&cfg, &[]);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(err.contains(says), "{to}: {err}");
    }
}
