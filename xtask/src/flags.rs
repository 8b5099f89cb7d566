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
    /// Check binaries or archives against their target's rules (default: what dist/manifest.json lists).
    Verify(Verify),
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
}

#[derive(Debug, Args)]
pub struct Verify {
    /// Binaries or archives (.tar.gz, .tar.xz, .zip) to check; none: everything in dist/manifest.json.
    pub paths: Vec<PathBuf>,
    /// The triple the files were built for (default: from the manifest, the archive's name or the file's headers).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// The directory holding manifest.json (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
