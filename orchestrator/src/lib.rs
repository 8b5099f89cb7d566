//! The release orchestrator: builds, proves and packs a Rust workspace's release binaries
//! for every target of its matrix, from one Linux machine.
//!
//! See docs/ARCHITECTURE.md for the stages: config → plan → build → inspect → package → report.
//!
//! # A project's own `cargo xtask`
//!
//! A project uses the library from its xtask package (`cargo xtask init` writes one): the
//! commands of [`flags::Command`] flattened beside the project's own, each of which can run
//! one of ours and then do more. Here `release` runs `dist`, with all of dist's flags, then
//! prints the checksums to paste into the release notes:
//!
//! ```no_run
//! use clap::{Args, Parser, Subcommand};
//! use release_orchestrator::{cli, flags};
//! use std::path::Path;
//! use std::process::ExitCode;
//!
//! #[derive(Parser)]
//! #[command(name = "cargo xtask", bin_name = "cargo xtask")]
//! struct Cli {
//!     #[command(flatten)]
//!     global: flags::Global,
//!     #[command(subcommand)]
//!     command: Command,
//! }
//!
//! #[derive(Subcommand)]
//! enum Command {
//!     #[command(flatten)]
//!     Orchestrator(flags::Command),
//!     /// Build, verify and pack every target, then print SHA256SUMS for the release notes.
//!     Release(Release),
//! }
//!
//! #[derive(Args)]
//! struct Release {
//!     #[command(flatten)]
//!     dist: flags::Dist,
//! }
//!
//! impl Release {
//!     fn run(self, global: &flags::Global) -> anyhow::Result<()> {
//!         // The xtask package sits in the workspace root, whose dist/ is the default output.
//!         let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
//!         let out = self.dist.selection.out.clone().unwrap_or_else(|| root.join("dist"));
//!         flags::Command::Dist(self.dist).run(global)?;
//!         print!("{}", std::fs::read_to_string(out.join("SHA256SUMS"))?);
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> ExitCode {
//!     let cli: Cli = match cli::parse() {
//!         Ok(cli) => cli,
//!         Err(code) => return code,
//!     };
//!     cli::main(|| match cli.command {
//!         Command::Orchestrator(command) => command.run(&cli.global),
//!         Command::Release(release) => release.run(&cli.global),
//!     })
//! }
//! ```

pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod flags;
pub mod inspect;
pub mod model;
pub mod package;
pub mod plan;
pub mod report;
pub mod runner;
pub mod tools;
pub mod ui;

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
