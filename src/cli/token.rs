//! `gwmon token`: access tokens of the web view and its API. `add` prints the new token once,
//! as the last line of stdout; the store keeps only its hash.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Common;
use super::common::resolve_county;
use crate::domain::time::now_ts;
use crate::store::Durability;
use crate::store::tokens::{self, Scope};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token for one county (its page, files and API) or for the city (everything).
    Add {
        /// The county, by code or name (e.g. 140121 or 清徐县).
        #[arg(
            long,
            value_name = "CODE",
            conflicts_with = "city",
            required_unless_present = "city"
        )]
        county: Option<String>,
        /// A token for the city water bureau: every county and the city overview.
        #[arg(long)]
        city: bool,
        /// Who it is for, shown by `token list` (e.g. "清徐县水务局 张工").
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
    /// Every token: id, scope, note, created, last used, revoked.
    List,
    /// Revoke a token: it is refused from the next request on.
    Revoke {
        /// The token's id (from `token list`).
        id: i64,
    },
}

pub fn exec(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.common.config()?;
    let db = args.common.db_path(&cfg);
    if !crate::store::exists(&db) {
        eprintln!(
            "error: no store at {}: pass the daemon's store with --db (or GWMON_DB), or run `gwmon run` or `gwmon import` first",
            crate::store::describe(&db)
        );
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = super::common::refuse_root_on_service_store(&db) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let conn = crate::store::open_write(&db, Durability::Full)?;
    let now = now_ts();
    match args.action {
        TokenAction::Add { county, city, note } => {
            let scope = match (county, city) {
                (Some(c), _) => Scope::County(resolve_county(&cfg, &c)?),
                (None, _) => Scope::City,
            };
            let (id, token) = tokens::add(&conn, scope, note.trim(), now)?;
            let what = match scope {
                Scope::City => "the city (every county)".to_owned(),
                Scope::County(code) => cfg
                    .counties
                    .iter()
                    .find(|c| c.code == code)
                    .map_or(code.to_string(), |c| format!("{} {}", c.code, c.name)),
            };
            eprintln!(
                "token {id} for {what}: shown this once; the store keeps only its hash. Give it to its holder over a trusted channel."
            );
            println!("{token}");
        }
        TokenAction::List => {
            let list = tokens::list(&conn)?;
            if list.is_empty() {
                println!("no tokens: make one with `gwmon token add --county CODE` or `--city`");
                return Ok(ExitCode::SUCCESS);
            }
            let time = |t: Option<i64>| t.map_or("—".to_owned(), |t| cfg.clock.format(t));
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.scope.to_string(),
                        t.note.clone(),
                        cfg.clock.format(t.created),
                        time(t.last_used),
                        time(t.revoked),
                    ]
                })
                .collect();
            print!(
                "{}",
                crate::output::terminal::table(
                    &["id", "scope", "note", "created", "last used", "revoked"],
                    &rows,
                    &[true, false, false, false, false, false],
                )
            );
        }
        TokenAction::Revoke { id } => {
            if tokens::revoke(&conn, id, now)? {
                println!("token {id} revoked");
            } else {
                eprintln!("error: no token {id}: see `gwmon token list`");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
