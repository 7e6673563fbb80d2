//! `status` and `import` on stores built from the simulated fleet.

use crate::support::*;

#[test]
fn status_json_has_the_documented_fields_and_differing_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store(dir.path());
    let db = db.to_str().unwrap();
    let (code, out, err) = gwmon(&["status", "--db", db, "--as-of", "2026-11-27", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["as_of"], "2026-11-27");
    assert_eq!(doc["year"], 2026);
    let budgets = doc["city"]["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 3);
    for b in budgets {
        for f in [
            "budget",
            "quota_m3",
            "ytd_m3",
            "last_year_m3",
            "projected_m3",
        ] {
            assert!(!b[f].is_null(), "city.budgets[].{f}");
        }
    }
    assert_eq!(budgets[0]["quota_m3"], 76_020_000.0);
    assert_eq!(budgets[1]["quota_m3"], 73_900_000.0);
    assert_eq!(budgets[2]["quota_m3"], 150_000_000.0);
    let counties = doc["counties"].as_array().unwrap();
    assert_eq!(counties.len(), 10);
    let mut verdicts = std::collections::BTreeSet::new();
    for c in counties {
        for f in [
            "code",
            "name",
            "quota_m3",
            "ytd_m3",
            "last_year_m3",
            "projected_m3",
            "k",
            "verdict",
        ] {
            assert!(!c[f].is_null(), "counties[].{f} in {}", c["name"]);
        }
        assert_eq!(c["criteria"].as_array().unwrap().len(), 5);
        for f in [
            "self_assessment",
            "exit",
            "days_to_self_assessment",
            "days_to_exit",
        ] {
            assert!(c["deadlines"].get(f).is_some());
        }
        for f in ["obligated", "reporting", "coverage"] {
            assert!(c["metering"].get(f).is_some());
        }
        for w in c["wells"].as_array().unwrap() {
            for f in [
                "n_months",
                "mk_s",
                "mk_var",
                "mk_z",
                "mk_p",
                "sen_slope_m_per_year",
                "mean_annual_change_m",
                "direction",
            ] {
                assert!(w["trend"].get(f).is_some(), "wells[].trend.{f}");
            }
        }
        verdicts.insert(c["verdict"].as_str().unwrap().to_string());
    }
    for f in ["meter_readings", "level_readings", "quarantined"] {
        assert!(doc["ingest"][f].is_i64());
    }
    // The simulation makes some counties recover and some not.
    assert!(verdicts.len() >= 3, "{verdicts:?}");
    let qx = counties.iter().find(|c| c["code"] == "140121").unwrap();
    assert_eq!(qx["deadlines"]["self_assessment_state"], "passed");
    assert_eq!(qx["deadlines"]["days_to_exit"], 215);
    let lf = counties.iter().find(|c| c["code"] == "140123").unwrap();
    assert_eq!(
        lf["verdict"], "insufficient_data",
        "娄烦 has level data only since 2025"
    );
    // Quota moves on 2026-07-01 for 清徐县: 181 days at 14.5M + 184 days at 14.2M.
    let want = (181.0 * 14_500_000.0 + 184.0 * 14_200_000.0) / 365.0;
    assert!((qx["quota_m3"].as_f64().unwrap() - want).abs() < 1e-6);

    let (code, table, _) = gwmon(&["status", "--db", db, "--as-of", "2026-11-27"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("清徐县") && table.contains("示例数据"),
        "{table}"
    );
    let (code, one, _) = gwmon(&[
        "status",
        "--db",
        db,
        "--as-of",
        "2026-11-27",
        "--county",
        "140121",
        "--json",
    ]);
    assert_eq!(code, 0);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["counties"].as_array().unwrap().len(), 1);
}

#[test]
fn status_rejects_bad_arguments_clearly() {
    let (code, _, err) = gwmon(&[
        "status",
        "--db",
        "/nonexistent/x.db",
        "--as-of",
        "2026-02-30",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid --as-of '2026-02-30'"), "{err}");
    let (code, _, err) = gwmon(&["status", "--county", "140199", "--db", "/nonexistent/x.db"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown county '140199'"), "{err}");
    let (code, _, err) = gwmon(&["status", "--as-of", "2025-03-01", "--year", "2024"]);
    assert_ne!(code, 0);
    assert!(err.contains("not in --year 2024"), "{err}");
}

#[test]
fn import_is_idempotent_and_reports_rejected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gwmon.db");
    let (_, id) = intakes(1).remove(0);
    let (_, wid) = a_well();
    let meter = dir.path().join("meter.csv");
    std::fs::write(
        &meter,
        format!(
            "取水口编码,监测时间,累计水量\n{id},2025-01-01 00:00:00,100\n{id},2025-01-01 12:00:00,160\n{id},2025-01-02 00:00:00,220\nNOPE,2025-01-02 00:00:00,1\n{id},2025-13-01,5\n{id},2025-01-03 00:00:00,-4\n{id},2025-01-03 00:00:00,abc\n"
        ),
    )
    .unwrap();
    let db_s = db.to_str().unwrap();
    let m = meter.to_str().unwrap();
    let (code, out, err) = gwmon(&["import", "--kind", "meter", "--db", db_s, m]);
    assert_eq!(code, 3, "some rows rejected: {err}");
    assert!(
        out.contains("7 rows — 3 stored, 0 duplicates skipped, 4 rejected"),
        "{out}"
    );
    assert!(out.contains("line 5: unknown intake 'NOPE'"), "{out}");
    assert!(
        out.contains("line 6: invalid timestamp '2025-13-01'"),
        "{out}"
    );
    assert!(out.contains("line 7: total_m3 = -4"), "{out}");
    assert!(out.contains("line 8: column total_m3 = 'abc'"), "{out}");
    let (_, again, _) = gwmon(&["import", "--kind", "meter", "--db", db_s, m]);
    assert!(
        again.contains("7 rows — 0 stored, 3 duplicates skipped, 4 rejected"),
        "{again}"
    );
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM meter_readings"),
        3,
        "importing twice changes nothing"
    );
    // 100 → 160 → 220 over 2025-01-01: 120 m³ on that day.
    let v: f64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT volume_m3 FROM daily_volume WHERE day = '2025-01-01'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, 120.0);

    let level = dir.path().join("level.csv");
    std::fs::write(
        &level,
        format!(
            "well_id,ts,depth_m\n{wid},2025-01-01T08:00:00+08:00,35.2\n{wid},1735689600,35.4\n"
        ),
    )
    .unwrap();
    let (code, out, _) = gwmon(&[
        "import",
        "--kind",
        "level",
        "--db",
        db_s,
        level.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "one row rejected");
    assert!(
        out.contains("2 rows — 1 stored, 0 duplicates skipped, 1 rejected"),
        "{out}"
    );
    assert!(
        out.contains("conflict"),
        "same well and time, different depth: {out}"
    );

    let daily = dir.path().join("daily.csv");
    std::fs::write(&daily, format!("intake_id,day,volume_m3\n{id},2024-12-30,50\n{id},2024-12-31,70\n{id},2024-12-31,70\n{id},2099-01-01,5\n")).unwrap();
    let (code, out, _) = gwmon(&[
        "import",
        "--kind",
        "daily-volume",
        "--db",
        db_s,
        daily.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "the day in the future is rejected");
    assert!(
        out.contains("4 rows — 2 stored, 1 duplicates skipped, 1 rejected"),
        "{out}"
    );
    let (code, _, err) = gwmon(&["import", "--kind", "daily-volume", "--db", db_s, m]);
    assert_ne!(code, 0);
    assert!(err.contains("no 'day' column"), "{err}");
}

/// Run outside the repository without --config or GWMON_CONFIG, a command says which
/// configuration and store it uses; GWMON_CONFIG and GWMON_DB are taken like the options.
#[test]
fn a_command_says_which_config_and_store_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let run = |envs: &[(&str, &str)]| {
        let out = std::process::Command::new(GWMON)
            .args(["status", "--as-of", "2026-01-31"])
            .current_dir(dir.path())
            .env_remove("GWMON_CONFIG")
            .env_remove("GWMON_DB")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&[]);
    assert!(
        err.contains("using the built-in example configuration and the store var/gwmon.db"),
        "{err}"
    );
    let db = dir.path().join("elsewhere.db");
    let cfg = format!("{REPO}/config/taiyuan.toml");
    let err = run(&[("GWMON_CONFIG", &cfg), ("GWMON_DB", db.to_str().unwrap())]);
    assert!(!err.contains("note:"), "{err}");
    assert!(err.contains("elsewhere.db"), "GWMON_DB is the store: {err}");
}
