//! `gwmon completions SHELL` and `gwmon man`: shell completions and manual pages generated from
//! the command-line definition itself, so they cannot drift from it. The Debian package carries
//! both (`deploy/build-deb.sh` generates them before packaging).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write gwmon.1 and a page per command (gwmon-run.1, …) into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// Prints the completion script for the shell.
pub fn exec_completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "gwmon", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Writes the manual pages.
pub fn exec_man(args: ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, &args.out)
        .with_context(|| format!("cannot write the manual pages into {}", args.out.display()))?;
    println!("manual pages written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bash_completion_knows_the_commands_and_their_options() {
        let mut cmd = Cli::command();
        let mut out = Vec::new();
        clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "gwmon", &mut out);
        let text = String::from_utf8(out).unwrap();
        for word in ["import", "backup", "check-config", "--as-of", "--config"] {
            assert!(text.contains(word), "{word} missing from the completion");
        }
    }

    #[test]
    fn man_pages_are_written_for_gwmon_and_each_command() {
        let dir = tempfile::tempdir().unwrap();
        exec_man(ManArgs {
            out: dir.path().to_path_buf(),
        })
        .unwrap();
        let main = std::fs::read_to_string(dir.path().join("gwmon.1")).unwrap();
        assert!(main.contains(".TH gwmon"), "{main}");
        assert!(dir.path().join("gwmon-import.1").exists());
    }
}
