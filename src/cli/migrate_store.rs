//! `gwmon migrate-store --from PATH --to URL`: copies a SQLite store into an empty PostgreSQL
//! store, then checks the copy: row counts per table, and each county's withdrawal per year
//! (days, volume, estimated volume) read back from both.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Common;
use crate::output::terminal::table;
use crate::store::pg::{self, YearTotal};

#[derive(Debug, Args)]
pub struct MigrateStoreArgs {
    #[command(flatten)]
    pub common: Common,
    /// The SQLite store to copy (default: the configuration's `[store] path`).
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
    /// The PostgreSQL store to fill, empty: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE
    /// (add `?options=-csearch_path%3DSCHEMA` for a schema other than public).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// A county by its code (for the order) and its printed name; the unregistered intakes last.
type County = (u32, String);

/// A county's (or the unregistered intakes') withdrawal in a year: days, m³, estimated m³.
type Totals = BTreeMap<(County, String), (i64, f64, f64)>;

/// The last column: blank where both stores agree.
fn mark(agree: bool) -> String {
    if agree {
        String::new()
    } else {
        "✗ 不一致".to_owned()
    }
}

/// Whether two sums of the same doubles agree: they may be added in another order.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Copies, checks and prints the comparison; exit code 1 when anything differs.
pub fn exec(args: MigrateStoreArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| args.common.db_path(&cfg));
    let conn = crate::store::open_ro(&from)?;
    let mut client = pg::open(&args.to)?;
    let started = std::time::Instant::now();
    let copied = pg::copy_from_sqlite(&conn, &mut client)?;
    let rows: u64 = copied.iter().map(|c| c.1).sum();
    println!(
        "{} → {}: {rows} rows in {} tables copied in {:.1} s",
        from.display(),
        pg::redact(&args.to),
        copied.len(),
        started.elapsed().as_secs_f64()
    );
    let mut ok = true;
    let counts: Vec<Vec<String>> = pg::sqlite_counts(&conn)?
        .into_iter()
        .zip(pg::pg_counts(&mut client)?)
        .map(|((table, a), (_, b))| {
            ok &= a == b;
            vec![table.to_owned(), a.to_string(), b.to_string(), mark(a == b)]
        })
        .collect();
    println!(
        "\n{}",
        table(
            &["表", "SQLite", "PostgreSQL", ""],
            &counts,
            &[false, true, true, false]
        )
    );
    // Each county's figures, in the order of its code; intakes the registry does not list last.
    let by_county = |rows: Vec<YearTotal>| -> Totals {
        let mut t = Totals::new();
        for (intake, year, days, m3, est) in rows {
            let county = cfg
                .registry
                .intake(&intake)
                .and_then(|i| cfg.county(i.county))
                .map_or_else(
                    || (u32::MAX, "未登记取水口".to_owned()),
                    |c| (c.code.get(), format!("{}（{}）", c.name, c.code)),
                );
            let e = t.entry((county, year)).or_default();
            e.0 += days;
            e.1 += m3;
            e.2 += est;
        }
        t
    };
    let a = by_county(pg::sqlite_year_totals(&conn)?);
    let b = by_county(pg::pg_year_totals(&mut client)?);
    let mut keys: Vec<&(County, String)> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let wan = |v: Option<&(i64, f64, f64)>, i: usize| {
        v.map_or("—".to_owned(), |v| {
            format!("{:.4}", if i == 1 { v.1 } else { v.2 } / 1e4)
        })
    };
    let years: Vec<Vec<String>> = keys
        .into_iter()
        .map(|key| {
            let (x, y) = (a.get(key), b.get(key));
            let agree = match (x, y) {
                (Some(x), Some(y)) => x.0 == y.0 && same(x.1, y.1) && same(x.2, y.2),
                _ => false,
            };
            ok &= agree;
            let days =
                |v: Option<&(i64, f64, f64)>| v.map_or("—".to_owned(), |v| v.0.to_string());
            vec![
                key.0.1.clone(),
                key.1.clone(),
                days(x),
                days(y),
                wan(x, 1),
                wan(y, 1),
                wan(x, 2),
                wan(y, 2),
                mark(agree),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "区县",
                "年份",
                "日数 SQLite",
                "日数 PG",
                "取水量 SQLite 万m³",
                "取水量 PG 万m³",
                "估算 SQLite 万m³",
                "估算 PG 万m³",
                "",
            ],
            &years,
            &[false, false, true, true, true, true, true, true, false],
        )
    );
    if ok {
        println!("\n核对一致：各表行数、各区县逐年取水量与估算量相同。");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "the copy differs from the SQLite store (marked ✗ above): keep using the SQLite store and report this"
        );
        Ok(ExitCode::from(1))
    }
}
