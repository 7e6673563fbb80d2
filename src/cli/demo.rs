//! `gwmon demo`: the whole job in one command (the work is in [`crate::tools::demo`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::Common;
use super::common::{DAEMON_WORKERS, runtime, shutdown_signal};
use crate::config::Config;
use crate::daemon::{HttpParts, Supervisor, url};
use crate::store::tokens::{self, Scope};
use crate::store::{Durability, open_rw};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub common: Common,
    /// Output folder (the store gwmon.db and the report bundle).
    #[arg(long, value_name = "DIR", default_value = "gwmon-demo")]
    pub out: PathBuf,
    /// Use this broker instead of the in-process one, e.g. mqtt://127.0.0.1:1883.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Then serve the web view here until Ctrl-C, with a city and a county token printed ("" to
    /// end after the report). A taken port falls back to a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9650")]
    pub http: String,
}

/// Runs the demo and prints the status table, what was ingested, and where the store and the
/// report are.
pub fn exec(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Built-in defaults unless a config is named: the demo must not pick up a deployment's
    // config/taiyuan.toml (its broker, its store) from the folder it is started in.
    let cfg = match &args.common.config {
        Some(_) => args.common.load_config()?,
        None => Config::embedded()?,
    };
    let now = crate::domain::time::now_ts();
    let today = cfg.clock.day_of(now);
    let rt = runtime(Some(DAEMON_WORKERS))?;
    let web_cfg = cfg.clone();
    let s = rt.block_on(crate::tools::demo::run(
        cfg,
        &args.out,
        args.common.db.clone(),
        args.broker,
        today,
        now,
    ))?;
    print!(
        "{}",
        crate::output::terminal::status_table(&s.report.status)
    );
    // The way out of the counties whose exit is due first (`gwmon plan` gives every county's).
    let mut first = s.report.status.clone();
    let due = first
        .counties
        .iter()
        .filter_map(|c| c.deadlines.exit.date.clone())
        .min();
    first
        .counties
        .retain(|c| due.is_some() && c.deadlines.exit.date == due);
    if !first.counties.is_empty() {
        print!("\n{}", crate::output::terminal::plan_text(&first));
    }
    println!(
        "\n{} messages published, {} readings stored, {} meter resets/replacements handled, {} inputs quarantined with reasons — {:.1} s.",
        s.messages, s.readings, s.meter_events, s.quarantined, s.seconds
    );
    if s.terminals > 0 {
        println!(
            "{} field terminals (SL 651, SZY 206) reported through the gateway: {} reports confirmed after the broker's acknowledgement.",
            s.terminals, s.terminal_reports
        );
    }
    println!(
        "store: {}  (try: gwmon status --db {})",
        s.db.display(),
        s.db.display()
    );
    println!(
        "report: {} ({} files)",
        s.report.index.display(),
        s.report.files.len()
    );
    if args.http.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    serve_web(&rt, web_cfg, &s.db, &args.http)?;
    Ok(ExitCode::SUCCESS)
}

/// Serves the demo's store until Ctrl-C, with a city token and a token of the county whose exit
/// is due first.
fn serve_web(
    rt: &tokio::runtime::Runtime,
    mut cfg: Config,
    db: &Path,
    addr: &str,
) -> anyhow::Result<()> {
    let conn = open_rw(db, Durability::Normal)?;
    let now = crate::domain::time::now_ts();
    let (_, city) = tokens::add(&conn, Scope::City, "gwmon demo: city", now)?;
    // A county of the plan's first batch (the nearest exit deadline), whose page has days to show.
    let county = cfg
        .counties
        .iter()
        .min_by_key(|c| (c.exit.is_none(), c.exit, c.code))
        .map(|c| (c.code, c.name.clone()));
    let county_token = match county {
        Some((code, ref name)) => Some((
            name.clone(),
            tokens::add(&conn, Scope::County(code), "gwmon demo", now)?.1,
        )),
        None => None,
    };
    drop(conn);
    cfg.http.listen = addr.to_owned();
    let cfg = Arc::new(cfg);
    let daemon = Supervisor::new();
    let start = |cfg: Arc<Config>| daemon.start_http(cfg, db.to_owned(), HttpParts::default());
    let bound = match rt.block_on(start(Arc::clone(&cfg))) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("note: {e}; serving on a free port instead");
            let mut c = (*cfg).clone();
            c.http.listen = "127.0.0.1:0".into();
            rt.block_on(start(Arc::new(c)))
                .map_err(anyhow::Error::msg)?
        }
    };
    println!("\nweb view: {}  (Ctrl-C to stop)", url(&cfg, bound));
    println!("  city token:  {city}");
    if let Some((name, t)) = county_token {
        println!("  {name} token: {t}");
    }
    rt.block_on(async {
        shutdown_signal().await;
        daemon.shutdown().await;
    });
    Ok(())
}
