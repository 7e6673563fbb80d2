//! `plan`: the way out per county, from the binary: the cut each year needs is the projection
//! over k at the pass threshold, measures come from the registry and projects.csv, candidates are
//! ranked, and `status --json` carries the same plan.

use crate::support::*;

#[test]
fn the_plan_gives_the_cut_the_measures_the_gap_and_the_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store(dir.path());
    let db = db.to_str().unwrap();
    let (code, json, err) = gwmon(&["plan", "--db", db, "--as-of", "2026-11-27", "--json"]);
    assert_eq!(code, 0, "{err}");
    let plans: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (_, status, _) = gwmon(&["status", "--db", db, "--as-of", "2026-11-27", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    for (p, c) in plans
        .as_array()
        .unwrap()
        .iter()
        .zip(status["counties"].as_array().unwrap())
    {
        assert_eq!(p["code"], c["code"]);
        assert_eq!(p["plan"], c["plan"], "status --json carries the same plan");
        let has_exit = c["deadlines"]["exit"].is_string();
        assert_eq!(
            !p["plan"].is_null(),
            has_exit,
            "{}: a plan only with an exit deadline",
            c["name"]
        );
    }
    let qx = plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "140121")
        .unwrap();
    let c = status["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "140121")
        .unwrap();
    let plan = &qx["plan"];
    let years = plan["years"].as_array().unwrap();
    assert_eq!(
        years
            .iter()
            .map(|y| y["year"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2026, 2027],
        "this year to the exit year"
    );
    let projected = c["projected_m3"].as_f64().unwrap();
    let pass_k = plan["pass_k"].as_f64().unwrap();
    for y in years {
        let quota = y["quota_m3"].as_f64().unwrap();
        let cut = y["cut_needed_m3"].as_f64().unwrap();
        assert!(
            (cut - (projected - quota * pass_k).max(0.0)).abs() < 0.01,
            "{y}"
        );
        let gap = y["gap_m3"].as_f64().unwrap();
        let delivered = y["delivered_m3"].as_f64().unwrap();
        assert!((gap - (cut - delivered).max(0.0)).abs() < 0.01, "{y}");
    }
    // This year's quota is the status document's.
    assert!(
        (years[0]["quota_m3"].as_f64().unwrap() - c["quota_m3"].as_f64().unwrap()).abs() < 0.01
    );
    let measures = plan["measures"].as_array().unwrap();
    assert!(
        measures
            .iter()
            .any(|m| m["name"] == "清徐县地下水置换晋祠泉保护治理工程"
                && m["kind"] == "substitution"),
        "{measures:?}"
    );
    assert!(
        measures
            .iter()
            .any(|m| m["kind"] == "closure" && m["from"] == "2027-03-31"),
        "the registry's closure_planned"
    );
    let candidates = plan["candidates"].as_array().unwrap();
    assert!(!candidates.is_empty());
    let mut sum = 0.0;
    let mut last = f64::INFINITY;
    for k in candidates {
        let v = k["last_year_m3"].as_f64().unwrap();
        assert!(v <= last, "largest first");
        last = v;
        sum += v;
        assert!((k["cumulative_m3"].as_f64().unwrap() - sum).abs() < 0.01);
        // A candidate is no intake a measure already closes.
        let id = k["id"].as_str().unwrap();
        assert!(
            !measures
                .iter()
                .any(|m| m["name"].as_str().unwrap().starts_with(id)),
            "{id}"
        );
    }
    // The text says what remains in the exit year.
    let (code, text, err) = gwmon(&[
        "plan",
        "--db",
        db,
        "--as-of",
        "2026-11-27",
        "--county",
        "140121",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("清徐县（140121）") && text.contains("结论："),
        "{text}"
    );
    assert!(
        text.contains("清徐县地下水置换晋祠泉保护治理工程"),
        "{text}"
    );
    let conclusion = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("结论："))
        .unwrap()
        .to_owned();
    // The Word appendix prints the same plan in its own section.
    let out = dir.path().join("report");
    let report = |county: &str| {
        let (code, _, err) = gwmon(&[
            "report",
            "--db",
            db,
            "--as-of",
            "2026-11-27",
            "--county",
            county,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    };
    report("140121");
    let docx = std::fs::File::open(out.join("140121-清徐县/自评估图表.docx")).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip::ZipArchive::new(docx)
            .unwrap()
            .by_name("word/document.xml")
            .unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(xml.contains("九、退出路径"), "the plan's section");
    // The way-out chart: its bars name the measures that take something off the exit year, its
    // headline is the plan's conclusion; the Word document embeds it.
    let svg = std::fs::read_to_string(out.join("140121-清徐县/plan.svg")).unwrap();
    assert!(svg.contains(&format!("结论：{conclusion}")), "headline");
    assert!(
        svg.contains("水源置换：清徐县地下水置换"),
        "a measure's bar"
    );
    assert!(svg.contains("2027 年措施后") && svg.contains("2027 年允许取水量"));
    assert!(xml.contains("退出路径：本年预测、各项措施与退出年允许取水量"));
    // The city folder has the springs, each against its outlet.
    let springs = std::fs::read_to_string(out.join("city/springs.svg")).unwrap();
    for s in ["晋祠泉", "兰村泉", "泉口 802.59 m"] {
        assert!(springs.contains(s), "{s}");
    }
    // A county the action plan sets no exit deadline has no way-out chart.
    report("140105");
    assert!(out.join("140105-小店区/sources.png").exists());
    assert!(!out.join("140105-小店区/plan.png").exists());
    assert!(
        xml.contains(&format!("结论：{conclusion}。")),
        "{conclusion}"
    );
    assert!(xml.contains("清徐县地下水置换晋祠泉保护治理工程"));
}
