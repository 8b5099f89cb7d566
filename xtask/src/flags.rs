//! Every command's arguments, declared in one place (as rust-analyzer's xtask does).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    version,
    about = "Builds, proves and packs the release binaries of this workspace for every target of the matrix"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The workspace's Cargo.toml (default: the workspace around the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Echo every command before it runs.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print results as JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the jobs — target, route, commands, environment — and run nothing.
    Plan(Selection),
    /// Build, verify and pack every target of the matrix into the output directory.
    Dist(Dist),
}

/// Which targets and profile; flags override `[workspace.metadata.dist]`.
#[derive(Debug, Args)]
pub struct Selection {
    /// A target triple to build (repeatable; default: `targets` from the config).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// The cargo profile to build with (default: `profile` from the config, else "dist").
    #[arg(long)]
    pub profile: Option<String>,
    /// The output directory (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Dist {
    #[command(flatten)]
    pub selection: Selection,
    /// Print the plan and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on with the other targets when one fails (the exit code is still 1).
    #[arg(long)]
    pub keep_going: bool,
    /// Fail at once (exit 1) when another `dist` run holds the output directory's lock,
    /// instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}
