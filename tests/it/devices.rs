//! `gwmon devices` and `gwmon quarantine` on a store filled by import, as of a fixed day.

use serde_json::Value;

use crate::support::*;

#[test]
fn devices_report_last_readings_and_silence_and_quarantine_groups_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gwmon.db");
    let db_s = db.to_str().unwrap();
    let ids: Vec<String> = intakes(3).into_iter().map(|(_, id)| id).collect();
    let cfg = gwmon::config::Config::load(&std::path::Path::new(REPO).join("config/taiyuan.toml"))
        .unwrap();
    let wells: Vec<String> = cfg
        .registry
        .wells
        .iter()
        .take(2)
        .map(|w| w.id.clone())
        .collect();
    let meters = dir.path().join("m.csv");
    std::fs::write(
        &meters,
        format!(
            "intake_id,ts,total_m3\n{a},2026-03-10 07:00,100\n{a},2026-03-10 08:00,110\n{b},2026-02-28 08:00,5\nNOPE,2026-03-10 08:00,1\nNOPE,2026-03-10 09:00,1\n",
            a = ids[0],
            b = ids[1]
        ),
    )
    .unwrap();
    let levels = dir.path().join("l.csv");
    std::fs::write(
        &levels,
        format!(
            "well_id,ts,depth_m\n{},2026-03-08 08:00,35.5\n{},2026-03-01 08:00,40.25\n",
            wells[0], wells[1]
        ),
    )
    .unwrap();
    for (kind, f) in [("meter", &meters), ("level", &levels)] {
        let (code, out, err) =
            gwmon(&["import", "--kind", kind, "--db", db_s, f.to_str().unwrap()]);
        assert!(code == 0 || code == 3, "{out}{err}");
    }

    let (code, out, err) = gwmon(&["devices", "--as-of", "2026-03-10", "--json", "--db", db_s]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let find = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let a = find(&ids[0]);
    assert_eq!(a["state"], "ok");
    assert_eq!(a["last_value"], 110.0);
    assert_eq!(a["last_reading"], "2026-03-10 08:00:00");
    assert_eq!(a["readings_today"], 2);
    let b = find(&ids[1]);
    assert_eq!(b["state"], "silent");
    assert_eq!(b["silent_days"], 10, "28 Feb 08:00 to the end of 10 March");
    assert_eq!(find(&ids[2])["state"], "never_reported");
    let w0 = find(&wells[0]);
    assert_eq!(
        (w0["kind"].as_str(), w0["state"].as_str()),
        (Some("well"), Some("ok"))
    );
    assert_eq!(w0["last_value"], 35.5);
    let w1 = find(&wells[1]);
    assert_eq!(w1["state"], "silent", "9 days, over the wells' 7");
    assert_eq!(
        rows.len(),
        cfg.registry.intakes.len() + cfg.registry.wells.len()
    );

    // --silent keeps the silent and the never-reported; the table names the thresholds.
    let (_, table, _) = gwmon(&["devices", "--as-of", "2026-03-10", "--silent", "--db", db_s]);
    assert!(
        !table.contains(&ids[0]) && table.contains(&ids[1]),
        "{table}"
    );
    assert!(
        table.contains("静默 10 天") && table.contains("水表 3 天，水位井 7 天"),
        "{table}"
    );

    let (code, out, err) = gwmon(&[
        "quarantine",
        "--since",
        "2026-01-01",
        "--reason",
        "unknown_device",
        "--json",
        "--db",
        db_s,
    ]);
    assert_eq!(code, 0, "{err}");
    let groups: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        groups.len(),
        2,
        "one group per origin (file and line): {out}"
    );
    assert!(
        groups
            .iter()
            .all(|g| g["reason_code"] == "unknown_device" && g["rows"] == 1)
    );
}
