//! This repository's `cargo xtask`: the release orchestrator's commands (the
//! `release-orchestrator` library), plus `bench`, which measures the tool itself, and
//! `facts`, which regenerates the verification rules' data from their sources.

mod bench;
mod corpus;
mod facts;

use clap::{Args, Parser, Subcommand};
use release_orchestrator::{cli, flags};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "Builds, proves and packs the release binaries of this workspace for every target of the matrix"
)]
struct Cli {
    #[command(flatten)]
    global: flags::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Release(flags::Command),
    /// Measure the tool against the plain tools and write BENCHMARKS.md (slow: builds the matrix many times).
    Bench(Bench),
    /// Build the corpus of real crates.io projects for every target and write docs/CORPUS.md (slow).
    Corpus(Corpus),
    /// Regenerate orchestrator/facts/ (the Windows system DLLs, auditwheel's manylinux libraries) from their pinned sources.
    Facts(Facts),
}

#[derive(Debug, Args)]
struct Corpus {
    /// Only this project (repeatable; default: all).
    #[arg(long, value_name = "NAME")]
    project: Vec<String>,
    /// Only this target (repeatable; default: the five of the default matrix).
    #[arg(long = "target", value_name = "TRIPLE")]
    targets: Vec<String>,
    /// Only the projects marked for CI (small, and together they compile C).
    #[arg(long)]
    ci: bool,
    /// Where to write the table (default: docs/CORPUS.md for the whole corpus, else the corpus cache).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Fail on Apple cells too (they are the macOS issue's; by default reported, not failed).
    #[arg(long)]
    require_apple: bool,
    /// Rerun only the --project ones and replace their rows in the last whole table.
    #[arg(long, requires = "project")]
    update: bool,
}

#[derive(Debug, Args)]
struct Facts {
    /// Only compare: fail if a file no longer matches its sources.
    #[arg(long)]
    check: bool,
    /// Accept Microsoft's licence for the SDK libraries the Windows list is read from.
    #[arg(long)]
    accept_msvc_license: bool,
}

#[derive(Debug, Args)]
struct Bench {
    /// Runs per figure (default 5; the cold-matrix and cold-help figures use 3, being minutes each).
    #[arg(long, value_name = "N")]
    runs: Option<usize>,
    /// One run per figure, for trying the harness out; the file says the figures are not medians.
    #[arg(long)]
    quick: bool,
    /// Measure only this figure (repeatable): verify, pack, size, projects, noop, overhead, matrix, help, size-mode, allocator, breakdown.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Where to write the results (default: BENCHMARKS.md at the workspace root).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Accept Microsoft's licence for the MSVC libraries the windows-msvc target links against.
    #[arg(long)]
    accept_msvc_license: bool,
}

fn main() -> ExitCode {
    let cli: Cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::main(|| match cli.command {
        Command::Release(command) => command.run(&cli.global),
        Command::Bench(args) => bench::bench(&cli.global, args),
        Command::Corpus(args) => corpus::corpus(
            &cli.global,
            corpus::Options {
                projects: args.project,
                targets: args.targets,
                ci: args.ci,
                out: args.out,
                require_apple: args.require_apple,
                update: args.update,
            },
        ),
        Command::Facts(args) => facts::facts(&cli.global, args),
    })
}
