//! `gwmon import` from the command line: what a bureau's script sees.

use crate::support::*;

/// A file whose every row is rejected fails the command (exit 1), so a script notices; one with
/// some good rows stores them, lists the bad ones and exits 3; a clean file exits 0.
#[test]
fn an_import_that_stores_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gwmon.db");
    let (_, id) = intakes(1).remove(0);
    let import = |file: &std::path::Path| {
        gwmon(&[
            "import",
            "--kind",
            "meter",
            "--db",
            db.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
    };
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "intake_id,ts,total_m3\nNOPE,2025-01-01 00:00,1\nNOPE,2025-01-02 00:00,2\n",
    )
    .unwrap();
    let (code, out, err) = import(&bad);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("2 rejected") && err.contains("no row of"),
        "{out}{err}"
    );

    let mixed = dir.path().join("mixed.csv");
    std::fs::write(
        &mixed,
        format!("intake_id,ts,total_m3\r\n{id},2025/1/1 0:00,1\r\nNOPE,2025/1/2 0:00,2\r\n"),
    )
    .unwrap();
    let (code, out, err) = import(&mixed);
    assert_eq!(code, 3, "some rows rejected: {out}{err}");
    assert!(out.contains("1 stored") && out.contains("line 3:"), "{out}");

    // The same file again: its good row is already there, its bad row still bad.
    let clean = dir.path().join("clean.csv");
    std::fs::write(
        &clean,
        format!("intake_id,ts,total_m3\n{id},2025/1/1 0:00,1\n"),
    )
    .unwrap();
    let (code, out, err) = import(&clean);
    assert_eq!(code, 0, "every row already there: {out}{err}");
}
