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

/// The daemon, run as the service account, waits for a store it cannot open — root-owned
/// `-wal` and `-shm` files left by a command run as root — and starts by itself once their
/// owner is fixed, as it does after a full disk.
#[test]
fn the_daemon_recovers_by_itself_once_a_permission_problem_is_fixed() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;
    if !is_root() {
        eprintln!("skipped: needs root to run the daemon as another user");
        return;
    }
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-perm", "gw");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let db = state.join("gwmon.db");
    // A store written as root (an import), then handed to the service account, but its WAL
    // files left root's and private.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS probe (x); INSERT INTO probe VALUES (1);")
            .unwrap();
        // Keep the -wal and -shm files: the connection stays open until they are chowned below.
        assert!(
            Command::new("chown")
                .args(["-R", "65534"])
                .arg(&state)
                .status()
                .unwrap()
                .success()
        );
        for f in ["gwmon.db-wal", "gwmon.db-shm"] {
            let p = state.join(f);
            if p.exists() {
                assert!(
                    Command::new("chown")
                        .arg("0")
                        .arg(&p)
                        .status()
                        .unwrap()
                        .success()
                );
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        let log = dir.path().join("gwmon.log");
        let mut child = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                GWMON,
                "run",
                "--config",
            ])
            .arg(&cfg)
            .arg("--db")
            .arg(&db)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let text = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_until("the wait for the store", Duration::from_secs(20), || {
            text().contains("cannot open the store yet")
        });
        assert!(
            child.try_wait().unwrap().is_none(),
            "it waits, it does not exit: {}",
            text()
        );
        // The operator fixes the owner.
        assert!(
            Command::new("chown")
                .args(["-R", "65534"])
                .arg(&state)
                .status()
                .unwrap()
                .success()
        );
        wait_until("the start once fixed", Duration::from_secs(40), || {
            text().contains("store available: starting")
        });
        wait_until("the subscription", Duration::from_secs(20), || {
            text().contains("subscribed")
        });
        let _ = child.kill();
        let _ = child.wait();
        drop(conn);
    }
}

/// With `[http] metrics_token_file`, `/metrics` (per-county figures) needs that bearer token;
/// `/healthz` stays open for a load balancer.
#[test]
fn metrics_can_be_restricted_to_a_token() {
    use std::time::Duration;
    let broker = Broker::start(BrokerKind::Production);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &broker.url(), "gwmon-metrics-token", "gw");
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, "s3cret-metrics\n").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[http]\n",
        &format!(
            "[http]\nmetrics_token_file = \"{}\"\n",
            token_file.display()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    let db = dir.path().join("gwmon.db");
    let daemon = Daemon::start(&cfg, &db, &dir.path().join("gwmon.log"));
    let addr = listener_address(&daemon.log_text());
    assert_eq!(http_get(&addr, "/metrics").0, 401);
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::io::Write::write_all(
        &mut s,
        b"GET /metrics HTTP/1.1\r\nHost: gwmon\r\nAuthorization: Bearer s3cret-metrics\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("gwmon_build_info"), "{out}");
}
