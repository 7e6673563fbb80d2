//! The `gwmon` binary: parse the command line, set up logging, load the config, dispatch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use gwmon::cli::{Cli, Command, Common};
use gwmon::config::{Config, DEFAULT_CONFIG_PATH};

fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    // rumqttd (the in-process broker) logs ordinary disconnects at ERROR: keep its warnings only.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("GWMON_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Loads the config named by `--config`, else `config/taiyuan.toml`, else the built-in copy.
fn load_config(common: &Common) -> Result<Config, gwmon::config::ConfigError> {
    match &common.config {
        Some(p) => Config::load(p),
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            Config::load(Path::new(DEFAULT_CONFIG_PATH))
        }
        None => Config::embedded(),
    }
}

/// Config, as-of date and county filter of `status` and `report`.
fn evaluation(
    common: &Common,
    as_of: Option<String>,
    year: Option<i16>,
    county: Option<String>,
) -> anyhow::Result<(Config, jiff::civil::Date, Option<gwmon::domain::CountyCode>)> {
    let cfg = load_config(common).context("loading the configuration")?;
    let today = cfg.clock.day_of(gwmon::domain::time::now_ts());
    let as_of = gwmon::cli::resolve_as_of(as_of.as_deref(), year, today)?;
    let county = county
        .map(|c| gwmon::cli::resolve_county(&cfg, &c))
        .transpose()?;
    Ok((cfg, as_of, county))
}

fn db_path(common: &Common, cfg: &Config) -> PathBuf {
    common.db.clone().unwrap_or_else(|| cfg.store.path.clone())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own progress; the daemon's lifecycle lines would only clutter it.
    init_tracing(match cli.command {
        Command::Demo { .. } => "error,rumqttd=off",
        _ => "info,rumqttd=warn",
    });
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig { common } => match load_config(&common) {
            Ok(cfg) => {
                print!("{}", gwmon::output::text::config_summary(&cfg));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("invalid configuration:\n{e}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Status {
            common,
            county,
            year,
            as_of,
            json,
        } => {
            let (cfg, as_of, county) = evaluation(&common, as_of, year, county)?;
            let conn = gwmon::store::open_ro(&db_path(&common, &cfg))?;
            let mut doc = gwmon::assess::status(&cfg, &conn, as_of)?;
            gwmon::assess::filter_county(&mut doc, county);
            if json {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print!("{}", gwmon::output::text::status_table(&doc));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            common,
            county,
            all: _,
            year,
            as_of,
            out,
        } => {
            let (cfg, as_of, county) = evaluation(&common, as_of, year, county)?;
            let t = std::time::Instant::now();
            let r =
                gwmon::output::report::report(&cfg, &db_path(&common, &cfg), as_of, county, &out)?;
            println!(
                "wrote {} files in {:.1} s; open {}",
                r.files.len(),
                t.elapsed().as_secs_f64(),
                r.index.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { common, kind, file } => {
            let cfg = Arc::new(load_config(&common).context("loading the configuration")?);
            let db = db_path(&common, &cfg);
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let s = gwmon::ingest::import::import_csv(
                Arc::clone(&cfg),
                &db,
                kind,
                &file,
                tty,
                gwmon::domain::time::now_ts(),
            )?;
            println!(
                "{}: {} rows — {} stored, {} duplicates skipped, {} rejected",
                file.display(),
                s.rows,
                s.stored,
                s.duplicates,
                s.rejected.len()
            );
            for r in s.rejected.iter().take(200) {
                println!("  line {}: {}", r.line, r.reason);
            }
            if s.rejected.len() > 200 {
                println!(
                    "  … {} more (all are in the quarantine table)",
                    s.rejected.len() - 200
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            common,
            broker,
            devices,
            rate,
            batch,
            duration,
            count,
            connections,
            write_config,
        } => {
            let cfg = load_config(&common).context("loading the configuration")?;
            let n = devices.unwrap_or(cfg.registry.intakes.len());
            if let Some(dir) = write_config {
                let path = gwmon::tools::fleet::write_synthetic_config(&dir, n, 200)?;
                println!(
                    "wrote {} ({n} synthetic intakes, 200 wells)",
                    path.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let devs = gwmon::tools::fleet::devices(&cfg, n)?;
            let batch = batch.max(1);
            let duration = duration.map(std::time::Duration::from_secs_f64);
            let planned = count.or_else(|| Some((rate? * duration?.as_secs_f64()) as u64));
            let per_device = planned.map_or(1440, |c| c.div_ceil(devs.len() as u64) * batch as u64);
            let opts = gwmon::tools::loadgen::SimOptions {
                broker: broker.unwrap_or_else(|| cfg.mqtt.url.clone()),
                rate,
                batch,
                duration,
                count,
                connections,
                topic_prefix: cfg.mqtt.topic_prefix.clone(),
                start_ts: gwmon::domain::time::now_ts()
                    - (per_device + batch as u64) as i64 * 60
                    - 60,
                step_s: 60,
                client_id: format!("gwmon-sim-{}", std::process::id()),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let r = rt.block_on(gwmon::tools::loadgen::run(opts, devs))?;
            println!(
                "published {} messages ({} readings) in {:.2} s: {:.0} msg/s, {:.0} readings/s (acknowledged by the broker)",
                r.messages, r.readings, r.seconds, r.messages_per_s, r.readings_per_s
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            common,
            out,
            broker,
        } => {
            let cfg = match &common.config {
                Some(_) => load_config(&common)?,
                None => Config::embedded()?,
            };
            let today = cfg.clock.day_of(gwmon::domain::time::now_ts());
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let s = rt.block_on(gwmon::tools::demo::run(
                cfg,
                &out,
                common.db.clone(),
                broker,
                today,
                gwmon::domain::time::now_ts(),
            ))?;
            print!("{}", gwmon::output::text::status_table(&s.report.status));
            println!(
                "\n{} messages published, {} readings stored, {} meter resets/replacements handled, {} inputs quarantined with reasons — {:.1} s.",
                s.messages, s.readings, s.meter_events, s.quarantined, s.seconds
            );
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
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { common, broker } => {
            let mut cfg = load_config(&common).context("loading the configuration")?;
            if let Some(url) = broker {
                cfg.mqtt.url = url;
            }
            let db = db_path(&common, &cfg);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(gwmon::ingest::mqtt::run(
                Arc::new(cfg),
                &db,
                shutdown_signal(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
