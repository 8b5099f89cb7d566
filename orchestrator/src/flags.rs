//! Every command's arguments, declared in one place (as rust-analyzer's xtask does).

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

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

/// The orchestrator's commands. A project's xtask flattens them into its own subcommands
/// (`#[command(flatten)]`) beside its own, and calls [`Command::run`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the jobs — target, route, commands, environment — and run nothing.
    Plan(Plan),
    /// Build, verify and pack every target of the matrix into the output directory.
    Dist(Dist),
    /// Check binaries or archives against their target's rules (default: what dist/manifest.json lists).
    Verify(Verify),
    /// Sort every dependency of the shipped binaries into native-code tiers, per target.
    Audit(Audit),
    /// Per target: the route, each tool it needs (found or missing) and the fix.
    Doctor(Doctor),
    /// Write the GitHub Actions release workflow (.github/workflows/release.yml) from the config.
    Ci(Ci),
    /// Combine the parts that `dist --partial` wrote into one output directory, re-checking each.
    Merge(Merge),
    /// Which crates take the space in each ELF target's binary (built once without stripping).
    Size(Size),
    /// Rebuild dist/ from a clean checkout of its manifest's commit and compare every archive byte for byte.
    RebuildCheck(RebuildCheck),
    /// Give an existing Cargo project this tool: an xtask/ package, the `cargo xtask` alias, [profile.dist], [workspace.metadata.dist].
    Init(Init),
    /// Make a minisign key pair for signing SHA256SUMS (minisign.key, minisign.pub).
    Keygen(Keygen),
}

#[derive(Debug, Args)]
pub struct Init {
    /// The project: its directory or its root Cargo.toml (default: the current directory).
    #[arg(value_name = "PATH")]
    pub project: Option<PathBuf>,
    /// Print the diff of every file it would create or change, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The xtask depends on the release-orchestrator library at this directory (default: the
    /// checkout this xtask was built from), written relative to the project where possible.
    #[arg(long, value_name = "DIR", conflicts_with = "git")]
    pub path: Option<PathBuf>,
    /// The xtask depends on the release-orchestrator library from this git repository.
    #[arg(long, value_name = "URL")]
    pub git: Option<String>,
    /// The commit, tag or branch of --git to use (default: the repository's default branch).
    #[arg(long, value_name = "REV", requires = "git")]
    pub rev: Option<String>,
}

#[derive(Debug, Args)]
pub struct Plan {
    #[command(flatten)]
    pub selection: Selection,
    /// Print only the GitHub Actions build matrix, as one line of JSON.
    #[arg(long, conflicts_with = "json")]
    pub github_matrix: bool,
    /// Print only the GitHub Actions matrix of macOS smoke runs, as one line of JSON.
    #[arg(long, conflicts_with_all = ["json", "github_matrix"])]
    pub github_smoke_matrix: bool,
}

#[derive(Debug, Args)]
pub struct Ci {
    /// Write nothing; exit 1 if the committed workflow differs from what the config gives.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct Merge {
    /// The part directories (each with the manifest.json that `dist --partial` wrote).
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// The targets the parts must cover together (repeatable; default: `targets` from the config).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// The output directory (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RebuildCheck {
    /// The output directory whose manifest.json names the commit and targets (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,
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

/// Cargo's feature flags, with cargo's meaning. They override `features`, `all-features`
/// and `no-default-features` in `[workspace.metadata.dist]`; a target's own `features`
/// still add to them.
#[derive(Debug, Clone, Default, Args)]
pub struct FeatureArgs {
    /// Features to activate, as cargo takes them (space or comma separated, repeatable).
    #[arg(long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all features, as cargo does.
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the default features, as cargo does.
    #[arg(long)]
    pub no_default_features: bool,
}

/// Which targets, profile and features; flags override `[workspace.metadata.dist]`.
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
    #[command(flatten)]
    pub features: FeatureArgs,
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
    /// Write this run's part of a split build into DIR (what each CI job runs; `merge`
    /// combines the parts). A part is an ordinary output directory for its targets.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub partial: Option<PathBuf>,
    /// Never download tools: fail if one is missing (or set DIST_NO_PROVISION=1).
    #[arg(long)]
    pub no_provision: bool,
    /// Fail at once (exit 1) when another `dist` run holds the output directory's lock,
    /// instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
    /// Also write where this run's time went, stage by stage, as JSON to FILE (the last
    /// line on stderr always sums it up).
    #[arg(long, value_name = "FILE")]
    pub timings: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Audit {
    /// A target triple to audit (repeatable; default: `targets` from the config).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// How to print the report (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Also run the dist build for each target and compare the prediction with what the
    /// build scripts really compiled.
    #[arg(long)]
    pub build: bool,
    /// The cargo profile `--build` uses (default: `profile` from the config, else "dist";
    /// without --build the profile plays no part).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Markdown,
    Json,
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
    /// Check SHA256SUMS.minisig with this minisign public key (the `RW…` line or a .pub
    /// file; default: `minisign-public-key` from the config).
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct Keygen {
    /// The directory to write minisign.key and minisign.pub into (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl Command {
    /// Runs the command in the workspace that `global` names, printing its results.
    pub fn run(self, global: &Global) -> anyhow::Result<()> {
        match self {
            Command::Plan(args) => args.run(global),
            Command::Dist(args) => args.run(global),
            Command::Verify(args) => args.run(global),
            Command::Audit(args) => args.run(global),
            Command::Doctor(args) => args.run(global),
            Command::Ci(args) => args.run(global),
            Command::Merge(args) => args.run(global),
            Command::Size(args) => args.run(global),
            Command::RebuildCheck(args) => args.run(global),
            Command::Init(args) => args.run(global),
            Command::Keygen(args) => args.run(global),
        }
    }
}

impl Global {
    /// The process runner these flags ask for (`-v` echoes every command).
    pub fn runner(&self) -> crate::runner::Runner {
        crate::runner::Runner { verbose: self.verbose }
    }
}

impl From<Selection> for crate::config::Overrides {
    fn from(s: Selection) -> Self {
        crate::config::Overrides {
            targets: s.targets,
            profile: s.profile,
            out_dir: s.out,
            features: s.features.features,
            all_features: s.features.all_features,
            no_default_features: s.features.no_default_features,
            ..Default::default()
        }
    }
}
