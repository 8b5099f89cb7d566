//! The release orchestrator: builds, proves and packs a Rust workspace's release binaries
//! for every target of its matrix, from one Linux machine.
//!
//! A project uses it from its own `xtask` (`cargo xtask init` writes one). The data flows one
//! way, one module per stage: [`config`] → [`plan`] → [`build`] → [`inspect`] → [`package`] →
//! [`report`]; each command in [`commands`] runs the stages it needs over one [`Context`].
//! docs/ARCHITECTURE.md has the picture and the folder map.
//!
//! The typed entry points, each taking data and returning data (nothing is printed):
//!
//! | entry point | returns |
//! |---|---|
//! | [`Context::load`] | the config and the [`Plan`]: every job, route and command |
//! | [`dist()`] | a [`DistRun`]: the manifest of what was built, verified and packed, and what failed |
//! | [`verify()`] | one [`VerifyRow`] per binary: PASS, or FAIL with each broken rule |
//! | [`audit()`] | an [`AuditReport`]: every linked package in native-code tiers, per target |
//! | [`doctor()`] | one [`Check`] per requirement of each target's route |
//!
//! [`flags::Command`] is the same commands as clap subcommands, for an xtask that offers
//! them on its command line; [`cli`] gives it this tool's exit codes and one-line errors.
//!
//! # A project's own `cargo xtask`
//!
//! The commands of [`flags::Command`] flattened beside the project's own; here `release`
//! runs `dist` through the typed entry point, then a step of the project's own: it prints
//! the checksum lines to paste into the release notes.
//!
//! ```no_run
//! use clap::{Parser, Subcommand};
//! use release_orchestrator::{cli, dist, flags, Context, DistOptions, Overrides};
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
//!     /// Build, verify and pack every target, then print the checksums for the release notes.
//!     Release,
//! }
//!
//! fn release(global: &flags::Global) -> anyhow::Result<()> {
//!     let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), Overrides::default())?;
//!     let manifest = dist(&ctx, &DistOptions::default())?.into_result()?;
//!     for artifact in &manifest.artifacts {
//!         println!("{}  {}", artifact.sha256().unwrap_or_default(), artifact.name);
//!     }
//!     Ok(())
//! }
//!
//! fn main() -> ExitCode {
//!     let cli: Cli = match cli::parse() {
//!         Ok(cli) => cli,
//!         Err(code) => return code,
//!     };
//!     cli::main(|| match cli.command {
//!         Command::Orchestrator(command) => command.run(&cli.global),
//!         Command::Release => release(&cli.global),
//!     })
//! }
//! ```

pub mod apple;
pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod deps;
pub mod flags;
pub mod inspect;
pub mod lipo;
pub mod model;
pub mod mt;
pub mod package;
pub mod plan;
pub mod policy;
pub mod provenance;
pub mod report;
pub mod runner;
pub mod sign;
pub mod toolchain;
pub mod tools;
pub mod ui;

pub use commands::audit::{audit, AuditOptions, AuditReport};
pub use commands::dist::{dist, DistOptions, DistRun};
pub use commands::doctor::{checks as doctor, Check};
pub use commands::verify::{verify, Row as VerifyRow, VerifyOptions};
pub use config::Overrides;
pub use context::Context;
pub use plan::Plan;

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
