//! `cargo xtask`: the release orchestrator. See docs/ARCHITECTURE.md for the stages:
//! config → plan → build → inspect → package → report, one module each.

mod bench;
mod build;
mod config;
mod dist;
mod doctor;
mod flags;
mod inspect;
mod manifest;
mod package;
mod plan;
mod report;
mod runner;
mod size;
mod tools;
mod triple;

use clap::Parser;
use std::process::ExitCode;

/// A mistake the user can fix (bad flag, bad config, bad path): exit code 2, one line.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    // Returns the anyhow::Error carrying it: every caller wants to return that directly.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(UsageError(message.into()))
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = flags::Cli::parse();
    let runner = runner::Runner { verbose: cli.global.verbose, dry_run: false };
    let result = match cli.command {
        flags::Command::Plan(selection) => dist::plan(&runner, &cli.global, selection),
        flags::Command::Dist(args) => dist::dist(&runner, &cli.global, args),
        flags::Command::Doctor(args) => doctor::doctor(&runner, &cli.global, args),
        flags::Command::Bench(args) => bench::bench(&runner, &cli.global, args),
        flags::Command::Size(args) => size::size(&runner, &cli.global, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.chain().any(|e| e.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
