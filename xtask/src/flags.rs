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
    /// Per target: the route, each tool it needs (found or missing) and the fix.
    Doctor(Doctor),
    /// Measure the tool against the plain tools and write BENCHMARKS.md (slow: builds the matrix many times).
    Bench(Bench),
    /// Which crates take the space in each ELF target's binary (built once without stripping).
    Size(Size),
}

#[derive(Debug, Args)]
pub struct Bench {
    /// Runs per figure (default 5; the cold-matrix and cold-help figures use 3, being minutes each).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// One run per figure, for trying the harness out; the file says the figures are not medians.
    #[arg(long)]
    pub quick: bool,
    /// Measure only this figure (repeatable): inspect, pack, optdeps, size, noop, overhead, matrix, help, breakdown.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Where to write the results (default: BENCHMARKS.md at the workspace root).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Accept Microsoft's licence for the MSVC libraries the windows-msvc target links against.
    #[arg(long)]
    pub accept_msvc_license: bool,
}

#[derive(Debug, Args)]
pub struct Size {
    /// A target triple (repeatable; default: the ELF targets of the config).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// How many crates to list per target; the rest are summed in one line.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct Doctor {
    /// A target triple to check (repeatable; default: `targets` from the config).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Install what is missing: rustup targets and the provisioned tools.
    #[arg(long)]
    pub fix: bool,
    /// Accept Microsoft's licence for the MSVC libraries (needed by --fix for windows-msvc).
    #[arg(long)]
    pub accept_msvc_license: bool,
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
    /// Accept Microsoft's licence for the MSVC CRT and Windows SDK libraries that
    /// windows-msvc targets link against (or set DIST_ACCEPT_MSVC_LICENSE=1).
    #[arg(long)]
    pub accept_msvc_license: bool,
}
