//! The `gwmon` binary: parse the command line, set up logging, run the command ([`gwmon::cli`]).

use std::process::ExitCode;

use clap::Parser;
use gwmon::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own progress; the daemon's lifecycle lines would only clutter it.
    // rumqttd (the in-process broker) logs ordinary disconnects at ERROR: keep its warnings only.
    init_tracing(match cli.command {
        Command::Demo(_) => "error,rumqttd=off",
        _ => "info,rumqttd=warn",
    });
    gwmon::cli::run(cli).unwrap_or_else(|e| {
        eprintln!("error: {}", describe(&e));
        ExitCode::FAILURE
    })
}

/// The error and its causes on one line, each cause once: errors that already quote their
/// cause in their own message do not repeat it.
fn describe(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        // "Error code 14: unable to open database file" under "…: unable to open database file"
        let tail = c.rsplit(": ").next().unwrap_or(&c);
        if !out.contains(&c) && !out.contains(tail) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

/// Logs to stderr at `default` unless `RUST_LOG` says otherwise; JSON lines when
/// `GWMON_LOG_FORMAT=json`; ANSI colours only on a terminal and without `NO_COLOR`.
fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("GWMON_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colour only for a person at a terminal: journald and log files get plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .with_timer(gwmon::cli::logtime::LogTime);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
