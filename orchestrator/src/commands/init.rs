//! `cargo xtask init PATH`: gives an existing Cargo project — a single package, a workspace
//! with a root package, or a virtual workspace — its own `cargo xtask` built on this library.
//!
//! Every edit is decided first, as data (a list of [`Change`]s: path, old text, new text),
//! then printed as a diff (`--dry-run`) or written, each file through a temporary name and a
//! rename. TOML is edited with toml_edit: every byte of the user's files outside the inserted
//! parts stays as it was. Nothing that exists is replaced (an existing `[profile.dist]`,
//! `[workspace.metadata.dist]`, xtask or rust-toolchain.toml wins), so a second run finds
//! nothing to do. A conflict — an xtask that is not ours, another `xtask` alias, another
//! tool's `[workspace.metadata.dist]` — is refused (exit 2) with the way out.

use crate::flags::{Global, Init};
use crate::model::DEFAULT_TARGETS;
use crate::runner::{path_arg, Cmd, Runner};
use crate::UsageError;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// The alias that makes `cargo xtask` build and run the xtask package.
const ALIAS: &str = "run --package xtask --";

/// The library's package name, which marks an xtask as ours.
const LIBRARY: &str = "release-orchestrator";

/// Versions the generated xtask asks for: the ones this library builds with (a unit test
/// keeps them equal to orchestrator/Cargo.toml), so the project resolves no second copy.
const ANYHOW: &str = "1.0.105";
const CLAP: &str = "4.6.9";
const XSHELL: &str = "0.2.7";

/// The keys `[workspace.metadata.dist]` may hold (config.rs reads them); a table with any
/// other key belongs to another tool (cargo-dist uses the same table name).
const DIST_KEYS: [&str; 14] = [
    "targets",
    "profile",
    "include",
    "bins",
    "smoke-args",
    "smoke-expect",
    "sccache",
    "accept-msvc-license",
    "unix-format",
    "windows-format",
    "completions",
    "completion-shells",
    "man",
    "target",
];

/// One file init creates or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Relative to the project root.
    pub path: PathBuf,
    /// The file as it is; None when init creates it.
    pub old: Option<String>,
    pub new: String,
    /// What changes, a few words each.
    pub what: Vec<String>,
}

/// Where the xtask gets the library from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Library {
    /// As written into xtask/Cargo.toml: relative to xtask/ unless only `/` is shared.
    Path(String),
    Git {
        url: String,
        rev: Option<String>,
    },
}

/// The bin targets found in the workspace (xtask's aside) and which of them ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bins {
    pub found: Vec<String>,
    /// Written as `bins` when it is not all of `found`: the bins of published packages.
    pub ship: Vec<String>,
}

/// What init adds to the root Cargo.toml.
#[derive(Debug, Clone)]
pub struct ManifestPlan {
    /// Add "xtask" to `[workspace] members` (making the project a workspace if needed).
    pub add_member: bool,
    pub bins: Bins,
    /// `[profile.dist]` is already in the project's .cargo/config.toml.
    pub profile_in_config: bool,
}

impl Init {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let root = project_root(self.project.as_deref().or(global.manifest_path.as_deref()))?;
        let (shape, changes) = plan(&global.runner(), &root, &self)?;
        if !self.dry_run {
            for change in &changes {
                write(&root, change)?;
            }
        }
        print_report(&root, shape, &changes, self.dry_run, global.json);
        Ok(())
    }
}

/// The project's root directory (absolute): PATH, or the directory of the Cargo.toml given.
fn project_root(given: Option<&Path>) -> Result<PathBuf> {
    let given = given.unwrap_or(Path::new("."));
    let manifest = if given.is_dir() {
        given.join("Cargo.toml")
    } else {
        given.to_path_buf()
    };
    if !manifest.is_file() || manifest.file_name() != Some("Cargo.toml".as_ref()) {
        return Err(UsageError::new(format!(
            "{} is not a Cargo project: give init the directory that holds the project's Cargo.toml",
            given.display()
        )));
    }
    let dir = manifest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// The library dependency the flags ask for; by default the checkout this code was built
/// from, unless that is a copy in cargo's cache, which a project must not point into.
fn library(root: &Path, args: &Init) -> Result<Library> {
    if let Some(url) = &args.git {
        return Ok(Library::Git {
            url: url.clone(),
            rev: args.rev.clone(),
        });
    }
    let dir = match &args.path {
        Some(dir) => library_dir(dir)?,
        None => {
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR"));
            let cached = built_from
                .components()
                .zip(built_from.components().skip(1))
                .any(|(a, b)| {
                    (a.as_os_str() == "registry" && b.as_os_str() == "src")
                        || (a.as_os_str() == "git" && b.as_os_str() == "checkouts")
                });
            if cached || !built_from.join("Cargo.toml").is_file() {
                return Err(UsageError::new(format!(
                    "this xtask was built from a copy of {LIBRARY} at {} that a project cannot depend on: pass --git URL [--rev REV] or --path DIR",
                    built_from.display()
                )));
            }
            built_from
                .canonicalize()
                .with_context(|| format!("resolving {}", built_from.display()))?
        }
    };
    Ok(Library::Path(dependency_path(&root.join("xtask"), &dir)))
}

/// The library's package directory from `--path`: the package itself, or a checkout of this
/// repository (which holds it in orchestrator/).
fn library_dir(dir: &Path) -> Result<PathBuf> {
    for candidate in [dir.to_path_buf(), dir.join("orchestrator")] {
        let text = std::fs::read_to_string(candidate.join("Cargo.toml")).unwrap_or_default();
        let name = text.parse::<DocumentMut>().ok().and_then(|doc| {
            doc.get("package")
                .and_then(|p| p.get("name"))
                .and_then(Item::as_str)
                .map(str::to_string)
        });
        if name.as_deref() == Some(LIBRARY) {
            return candidate
                .canonicalize()
                .with_context(|| format!("resolving {}", candidate.display()));
        }
    }
    Err(UsageError::new(format!(
        "--path {} is not the {LIBRARY} library: point it at the directory of its Cargo.toml (or of a checkout of its repository)",
        dir.display()
    )))
}

/// `to` as written in a manifest in `from`: relative when the two share more than the root
/// directory, absolute otherwise (`../../../../opt/x` says less than `/opt/x`).
pub fn dependency_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return to.display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The project as `cargo metadata --no-deps` describes it.
struct Project {
    bins: Bins,
    /// A package of the workspace named xtask is already ours (wherever it lives).
    xtask_member: bool,
}

fn read_project(runner: &Runner, root: &Path) -> Result<Project> {
    let manifest = root.join("Cargo.toml");
    let cmd = Cmd::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(path_arg(&manifest)?);
    let json = runner.query(&cmd).map_err(|e| {
        UsageError::new(format!(
            "cargo cannot read {} ({e:#}): fix that first, then rerun init",
            manifest.display()
        ))
    })?;
    let meta =
        cargo_metadata::MetadataCommand::parse(json).context("cargo metadata printed JSON this tool cannot read")?;
    let workspace_root = meta.workspace_root.as_std_path();
    let shown = workspace_root.display();
    if workspace_root.canonicalize().ok().as_deref() != Some(root) {
        return Err(UsageError::new(format!(
            "{} is a member of the workspace at {shown}: run init on {shown}",
            root.display()
        )));
    }
    let mut found = Vec::new();
    let mut ship = Vec::new();
    let mut xtask_member = false;
    for package in meta.workspace_packages() {
        if package.name.as_str() == "xtask" {
            if !package.dependencies.iter().any(|d| d.name == LIBRARY) {
                return Err(UsageError::new(format!(
                    "the workspace already has an xtask package ({}) that does not use {LIBRARY}: add `{LIBRARY}` to its dependencies and flatten `release_orchestrator::flags::Command` into its commands (README: Adopting it in your project), or rename it",
                    package.manifest_path
                )));
            }
            xtask_member = true;
            continue;
        }
        // `publish = false` reads as an empty registry list: a package for this repo only.
        let published = package.publish.as_ref().is_none_or(|registries| !registries.is_empty());
        for target in package.targets.iter().filter(|t| t.is_bin()) {
            found.push(target.name.clone());
            if published {
                ship.push(target.name.clone());
            }
        }
    }
    if found.is_empty() {
        return Err(UsageError::new(format!(
            "{} has no bin target to ship: add a package with a src/main.rs, then rerun init",
            root.display()
        )));
    }
    if ship.is_empty() {
        ship = found.clone();
    }
    Ok(Project {
        bins: Bins { found, ship },
        xtask_member,
    })
}

/// The shape the project had, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    SinglePackage,
    RootPackageWorkspace,
    VirtualWorkspace,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shape::SinglePackage => "a single package",
            Shape::RootPackageWorkspace => "a workspace with a root package",
            Shape::VirtualWorkspace => "a virtual workspace",
        })
    }
}

fn shape(doc: &DocumentMut) -> Shape {
    match (doc.contains_key("package"), doc.contains_key("workspace")) {
        (true, false) => Shape::SinglePackage,
        (true, true) => Shape::RootPackageWorkspace,
        (false, _) => Shape::VirtualWorkspace,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Every change init would make to the project at `root`, in the order they are written:
/// the root Cargo.toml last, so an interrupted run leaves no member without its package.
fn plan(runner: &Runner, root: &Path, args: &Init) -> Result<(Shape, Vec<Change>)> {
    let project = read_project(runner, root)?;
    let manifest_text = std::fs::read_to_string(root.join("Cargo.toml"))
        .with_context(|| format!("reading {}", root.join("Cargo.toml").display()))?;
    let doc: DocumentMut = manifest_text
        .parse()
        .with_context(|| format!("parsing {}", root.join("Cargo.toml").display()))?;
    let shape = shape(&doc);
    let mut changes = Vec::new();

    // xtask/: created unless the workspace has our xtask; refused if xtask/ is something else.
    let mut xtask_ours_here = false;
    if !project.xtask_member {
        let dir = root.join("xtask");
        if dir.exists() {
            let text = read_optional(&dir.join("Cargo.toml"))?.unwrap_or_default();
            if !depends_on_library(&text) {
                return Err(UsageError::new(format!(
                    "{} exists and is not an xtask built on {LIBRARY}: move it aside (or add `{LIBRARY}` to its dependencies), then rerun init",
                    dir.display()
                )));
            }
            xtask_ours_here = true;
        }
        if !xtask_ours_here || !dir.join("src/main.rs").exists() {
            changes.push(Change {
                path: "xtask/src/main.rs".into(),
                old: None,
                new: XTASK_MAIN.to_string(),
                what: vec!["`cargo xtask`: the release commands and a `release` task of this project".into()],
            });
        }
        if !xtask_ours_here {
            // Asked only now: a project whose xtask exists needs no library location.
            let library = library(root, args)?;
            changes.push(Change {
                path: "xtask/Cargo.toml".into(),
                old: None,
                new: xtask_manifest(&library),
                what: vec![format!(
                    "the xtask package, depending on {LIBRARY} ({})",
                    library.describe()
                )],
            });
        }
    }

    // The alias, in the config file cargo reads: the legacy `.cargo/config` when it exists
    // (with both present, cargo reads only that one).
    let config_path: PathBuf = if root.join(".cargo/config").is_file() {
        ".cargo/config".into()
    } else {
        ".cargo/config.toml".into()
    };
    let config_old = read_optional(&root.join(&config_path))?;
    let (config_new, what) =
        edit_cargo_config(config_old.as_deref()).with_context(|| root.join(&config_path).display().to_string())?;
    let profile_in_config = config_new
        .parse::<DocumentMut>()
        .ok()
        .is_some_and(|c| c.get("profile").and_then(|p| p.get("dist")).is_some());
    if !what.is_empty() {
        changes.push(Change {
            path: config_path,
            old: config_old,
            new: config_new,
            what,
        });
    }

    let gitignore_old = read_optional(&root.join(".gitignore"))?;
    if let Some(new) = edit_gitignore(gitignore_old.as_deref()) {
        changes.push(Change {
            path: ".gitignore".into(),
            old: gitignore_old,
            new,
            what: vec!["/dist/ ignored".into()],
        });
    }

    let manifest_plan = ManifestPlan {
        add_member: !project.xtask_member,
        bins: project.bins,
        profile_in_config,
    };
    let (new, what) =
        edit_manifest(&manifest_text, &manifest_plan).with_context(|| root.join("Cargo.toml").display().to_string())?;
    if !what.is_empty() {
        changes.push(Change {
            path: "Cargo.toml".into(),
            old: Some(manifest_text),
            new,
            what,
        });
    }
    Ok((shape, changes))
}

/// Whether an xtask manifest depends on this library (what makes an xtask ours).
fn depends_on_library(manifest: &str) -> bool {
    manifest.parse::<DocumentMut>().is_ok_and(|doc| {
        doc.get("dependencies")
            .and_then(Item::as_table_like)
            .is_some_and(|deps| deps.contains_key(LIBRARY))
    })
}

impl Library {
    fn describe(&self) -> String {
        match self {
            Library::Path(path) => format!("path {path}"),
            Library::Git { url, rev: Some(rev) } => format!("git {url}, rev {rev}"),
            Library::Git { url, rev: None } => format!("git {url}"),
        }
    }

    /// The inline table after `release-orchestrator = ` in xtask/Cargo.toml.
    fn dependency(&self) -> String {
        match self {
            Library::Path(path) => format!("{{ path = {} }}", toml_string(path)),
            Library::Git { url, rev: None } => format!("{{ git = {} }}", toml_string(url)),
            Library::Git { url, rev: Some(rev) } => {
                format!("{{ git = {}, rev = {} }}", toml_string(url), toml_string(rev))
            }
        }
    }
}

/// A TOML basic string holding `s`, escaped as needed.
fn toml_string(s: &str) -> String {
    Value::from(s).to_string().trim().to_string()
}

/// xtask/Cargo.toml. Nothing is inherited from `[workspace.package]`: the package must not
/// depend on what the user's workspace happens to define.
pub fn xtask_manifest(library: &Library) -> String {
    format!(
        r#"# `cargo xtask` (the alias in .cargo/config.toml) builds and runs this package: the release
# commands of the {LIBRARY} library, and this project's own tasks.
[package]
name = "xtask"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
{LIBRARY} = {}
anyhow = "{ANYHOW}"
clap = {{ version = "{CLAP}", features = ["derive"] }}
xshell = "{XSHELL}"
"#,
        library.dependency()
    )
}

/// xtask/src/main.rs: the library's commands, flattened beside one task of the project's own.
pub const XTASK_MAIN: &str = r#"//! `cargo xtask`: this project's release and maintenance tasks. `dist`, `verify`, `plan`,
//! `doctor`, `audit` and the other release commands come from the release-orchestrator
//! library; this project's own tasks are the other variants of `Command`, each with its
//! arguments and a `run` method. Written by `cargo xtask init`; edit it freely.

use clap::{Args, Parser, Subcommand};
use release_orchestrator::{cli, flags};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xshell::{cmd, Shell};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "This project's release and maintenance tasks")]
struct Cli {
    #[command(flatten)]
    global: flags::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Orchestrator(flags::Command),
    /// Run the workspace's tests, then `dist` (which takes the same flags): a release is
    /// never packed from a commit whose tests fail.
    Release(Release),
}

#[derive(Debug, Args)]
struct Release {
    #[command(flatten)]
    dist: flags::Dist,
}

impl Release {
    fn run(self, global: &flags::Global) -> anyhow::Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        cmd!(sh, "cargo test --workspace").run()?;
        flags::Command::Dist(self.dist).run(global)
    }
}

/// The workspace root: the directory above this package's.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn main() -> ExitCode {
    let cli: Cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cli::main(|| match cli.command {
        Command::Orchestrator(command) => command.run(&cli.global),
        Command::Release(release) => release.run(&cli.global),
    })
}
"#;

/// Parses a TOML file init is about to edit; a file cargo reads is valid TOML, so failing
/// here means the user has to fix it first.
fn parse(text: &str) -> Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| UsageError::new(format!("not valid TOML, fix it first: {}", one_line(&e.to_string()))))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Files written with CRLF line ends keep them in the lines init adds.
fn line_ends_like(old: &str, new: String) -> String {
    if old.contains("\r\n") {
        new.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        new
    }
}

/// The root Cargo.toml with the xtask member, `[workspace.metadata.dist]` and
/// `[profile.dist]` added where absent, and what was added (empty: nothing to do). New
/// tables go at the end of the file, after everything the user wrote.
pub fn edit_manifest(text: &str, plan: &ManifestPlan) -> Result<(String, Vec<String>)> {
    let mut doc = parse(text)?;
    let mut what = Vec::new();
    // The new tables, as text with their comments, appended in one block.
    let mut appended = String::new();
    let has_package = doc.contains_key("package");

    if let Some(workspace) = doc.get("workspace") {
        let workspace = workspace.as_table().ok_or_else(|| {
            UsageError::new("`workspace` is an inline table: write it as a [workspace] section, then rerun init")
        })?;
        if let Some(exclude) = workspace.get("exclude").and_then(Item::as_array) {
            if exclude.iter().filter_map(Value::as_str).any(names_xtask) {
                return Err(UsageError::new(
                    "[workspace] exclude names xtask: take it out of `exclude`, then rerun init",
                ));
            }
        }
    }
    if plan.add_member {
        match doc.get_mut("workspace").and_then(Item::as_table_mut) {
            None => {
                appended.push_str(&format!(
                    "\n# A workspace, so that the xtask/ package (`cargo xtask`) builds beside this one.\n[workspace]\nmembers = [{}\"xtask\"]\n",
                    if has_package { "\".\", " } else { "" }
                ));
                what.push("made it a workspace with the xtask as a member".into());
            }
            Some(workspace) => match workspace.get_mut("members") {
                None => {
                    let mut members = Array::new();
                    if has_package {
                        members.push(".");
                    }
                    members.push("xtask");
                    workspace.insert("members", toml_edit::value(members));
                    what.push("[workspace] members with the xtask".into());
                }
                Some(members) => {
                    let members = members.as_array_mut().ok_or_else(|| {
                        UsageError::new("[workspace] members is not an array: make it a list of paths, then rerun init")
                    })?;
                    if !members.iter().filter_map(Value::as_str).any(names_xtask) {
                        push_like_the_others(members, "xtask");
                        what.push("\"xtask\" added to [workspace] members".into());
                    }
                }
            },
        }
    }

    let existing_dist = doc
        .get("workspace")
        .and_then(|w| w.get("metadata"))
        .and_then(|m| m.get("dist"));
    match existing_dist {
        Some(dist) => {
            let dist = dist.as_table_like().ok_or_else(|| {
                UsageError::new("[workspace.metadata] dist is not a table: make it a [workspace.metadata.dist] section")
            })?;
            let foreign: Vec<&str> = dist.iter().map(|(k, _)| k).filter(|k| !DIST_KEYS.contains(k)).collect();
            if !foreign.is_empty() {
                return Err(UsageError::new(format!(
                    "[workspace.metadata.dist] belongs to another tool (it has {}; cargo-dist uses this table too): move that tool's settings out (cargo-dist reads dist-workspace.toml), then rerun init",
                    foreign.join(", ")
                )));
            }
        }
        None => {
            if let Some(metadata) = doc.get("workspace").and_then(|w| w.get("metadata")) {
                if !metadata.is_table() {
                    return Err(UsageError::new(
                        "[workspace] metadata is an inline table: write it as a [workspace.metadata] section, then rerun init",
                    ));
                }
            }
            appended.push_str(&dist_table(&plan.bins));
            what.push(format!(
                "[workspace.metadata.dist]: the default matrix of {} targets, shipping {}",
                DEFAULT_TARGETS.len(),
                plan.bins.ship.join(", ")
            ));
        }
    }

    let profile = doc.get("profile");
    if profile.is_some_and(|p| !p.is_table()) {
        return Err(UsageError::new(
            "`profile` is an inline table: write its profiles as [profile.<name>] sections, then rerun init",
        ));
    }
    if profile.and_then(|p| p.get("dist")).is_none() && !plan.profile_in_config {
        appended.push_str(PROFILE_DIST);
        what.push("[profile.dist]: size-optimised, stripped release builds".into());
    }

    if !appended.is_empty() {
        append_tables(&mut doc, &appended)?;
    }
    let new = line_ends_like(text, doc.to_string());
    // What cargo will read must still be TOML, with the member in it.
    parse(&new).context("init produced invalid TOML (a bug in init)")?;
    Ok((new, what))
}

/// Whether a `members` or `exclude` entry (a path or a glob) covers the xtask/ directory.
fn names_xtask(entry: &str) -> bool {
    let entry = entry.trim_start_matches("./").trim_end_matches('/');
    glob_matches(entry, "xtask")
}

/// A glob as cargo's members take it, for one path segment: `*` any run, `?` one character.
fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.chars().next() {
        None => name.is_empty(),
        Some('*') => (0..=name.len())
            .filter(|&i| name.is_char_boundary(i))
            .any(|i| glob_matches(&pattern[1..], &name[i..])),
        Some(c) => {
            let mut rest = name.chars();
            match rest.next() {
                Some(n) if c == '?' || c == n => glob_matches(&pattern[c.len_utf8()..], rest.as_str()),
                _ => false,
            }
        }
    }
}

/// Appends `value` to an array in the layout of its last element: one per line stays one per
/// line, `["a", "b"]` gets `, "xtask"`, and a trailing comma stays.
fn push_like_the_others(array: &mut Array, value: &str) {
    let mut new = Value::from(value);
    if let Some(last) = array.get_mut(array.len().wrapping_sub(1)) {
        let prefix = last.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").to_string();
        let suffix = last.decor().suffix().and_then(|s| s.as_str()).unwrap_or("").to_string();
        // The space (or newline) before `]` moves behind the new last element.
        last.decor_mut().set_suffix("");
        // Only the line break and indentation: a comment before the last element is its own.
        let prefix = match prefix.rfind('\n') {
            Some(i) => format!("\n{}", &prefix[i + 1..]),
            None if prefix.is_empty() => " ".to_string(),
            None => prefix,
        };
        new.decor_mut().set_prefix(prefix);
        new.decor_mut().set_suffix(suffix);
    } else {
        new.decor_mut().set_prefix("");
        new.decor_mut().set_suffix("");
    }
    array.push_formatted(new);
}

/// `[workspace.metadata.dist]` for a new project: the default matrix, the binaries, and how
/// to opt in to Microsoft's licence — never opted in for the user.
fn dist_table(bins: &Bins) -> String {
    let mut text = String::from(
        "\n# What `cargo xtask dist` builds, checks and packs (the release-orchestrator library). Every\n# key is optional and an unknown key is an error; its README lists them all.\n[workspace.metadata.dist]\n# The default matrix, all built from one Linux machine: static Linux binaries (musl),\n# Windows (MSVC) and macOS.\ntargets = [\n",
    );
    for target in DEFAULT_TARGETS {
        text.push_str(&format!("    \"{target}\",\n"));
    }
    text.push_str("]\n");
    if bins.ship == bins.found {
        text.push_str(&format!(
            "# Ships every bin target of the workspace ({}); list some in `bins = [...]` to ship fewer.\n",
            bins.found.join(", ")
        ));
    } else {
        let list: Vec<String> = bins.ship.iter().map(|b| toml_string(b)).collect();
        text.push_str(&format!(
            "# The bin targets of the published packages (found: {}).\nbins = [{}]\n",
            bins.found.join(", "),
            list.join(", ")
        ));
    }
    text.push_str(
        "# x86_64-pc-windows-msvc links against Microsoft's CRT and Windows SDK libraries, which\n# `cargo xtask dist` downloads only once this project accepts Microsoft's licence\n# (https://go.microsoft.com/fwlink/?LinkId=2086102): to accept it, uncomment the next line\n# (or pass --accept-msvc-license to each run); until then dist stops and asks.\n# accept-msvc-license = true\n",
    );
    text
}

/// `[profile.dist]` as this repository has it: the smallest binary, no symbols.
const PROFILE_DIST: &str = r#"
# The release binaries `cargo xtask dist` builds: smallest size, no symbols, no unwinding
# tables. opt-level "z" trades speed for size (use 3 for a CPU-bound tool), and
# panic = "abort" suits a program that never catches a panic.
[profile.dist]
inherits = "release"
lto = "fat"
codegen-units = 1
opt-level = "z"
strip = true
panic = "abort"
"#;

/// Appends the tables of `text` (a TOML fragment with comments) after everything in `doc`.
/// The fragment's tables keep their comments; `doc`'s trailing comments stay where they
/// were, in front of the new tables; parent tables that do not exist are created implicit.
fn append_tables(doc: &mut DocumentMut, text: &str) -> Result<()> {
    let fragment: DocumentMut = text
        .parse()
        .context("a table init writes does not parse (a bug in init)")?;
    let mut tables: Vec<(Vec<String>, Table)> = Vec::new();
    collect_tables(fragment.as_table(), &mut Vec::new(), &mut tables);
    tables.sort_by_key(|(_, t)| t.position());
    if let Some((_, first)) = tables.first_mut() {
        let before = doc.trailing().as_str().unwrap_or("");
        // A last comment without its line end gets one, so the new table keeps its blank line.
        let end = if before.is_empty() || before.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let prefix = first.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
        let prefix = format!("{before}{end}{prefix}");
        first.decor_mut().set_prefix(prefix);
    }
    let first_free = max_position(doc.as_table()) + 1;
    for (position, (path, mut table)) in (first_free..).zip(tables) {
        table.set_position(Some(position));
        let (last, parents) = path.split_last().context("a table without a name")?;
        let mut parent = doc.as_table_mut();
        for key in parents {
            let item = parent.entry(key).or_insert_with(|| {
                let mut implicit = Table::new();
                implicit.set_implicit(true);
                Item::Table(implicit)
            });
            parent = item.as_table_mut().ok_or_else(|| {
                UsageError::new(format!(
                    "`{key}` is an inline table: write it as a [{key}] section, then rerun init"
                ))
            })?;
        }
        parent.insert(last, Item::Table(table));
    }
    doc.set_trailing(fragment.trailing().as_str().unwrap_or(""));
    Ok(())
}

/// The explicit tables under `table`, each without its subtables, with its path.
fn collect_tables(table: &Table, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Table)>) {
    if !table.is_implicit() && !path.is_empty() {
        let mut own = table.clone();
        own.retain(|_, item| !item.is_table());
        out.push((path.clone(), own));
    }
    for (key, item) in table.iter() {
        if let Item::Table(child) = item {
            path.push(key.to_string());
            collect_tables(child, path, out);
            path.pop();
        }
    }
}

fn max_position(table: &Table) -> isize {
    table
        .iter()
        .filter_map(|(_, item)| item.as_table())
        .map(max_position)
        .chain(table.position())
        .max()
        .unwrap_or(0)
}

/// The cargo config with the `xtask` alias added if absent, and what was added. An `xtask`
/// alias that runs anything else is refused.
pub fn edit_cargo_config(text: Option<&str>) -> Result<(String, Vec<String>)> {
    let what = vec!["the `cargo xtask` alias".to_string()];
    let Some(text) = text else {
        let new = format!(
            "[alias]\n# `cargo xtask <command>` builds and runs the xtask/ package: the release commands of\n# {LIBRARY} and this project's own tasks.\nxtask = \"{ALIAS}\"\n"
        );
        return Ok((new, what));
    };
    let mut doc = parse(text)?;
    match doc.get_mut("alias") {
        None => {
            append_tables(
                &mut doc,
                &format!(
                    "\n# `cargo xtask <command>` builds and runs the xtask/ package.\n[alias]\nxtask = \"{ALIAS}\"\n"
                ),
            )?;
        }
        Some(alias) => {
            let alias = alias.as_table_like_mut().ok_or_else(|| {
                UsageError::new("`alias` is not a table: make it an [alias] section, then rerun init")
            })?;
            match alias.get("xtask") {
                None => {
                    alias.insert("xtask", toml_edit::value(ALIAS));
                }
                Some(existing) if runs_our_xtask(existing) => return Ok((text.to_string(), Vec::new())),
                Some(existing) => {
                    return Err(UsageError::new(format!(
                        "its `xtask` alias runs `{}`, not `{ALIAS}`: remove or rename that alias, then rerun init",
                        one_line(&existing.to_string().replace('"', ""))
                    )))
                }
            }
        }
    }
    Ok((line_ends_like(text, doc.to_string()), what))
}

/// Whether an alias runs the xtask package the way ours does (`-p` for `--package` too).
fn runs_our_xtask(alias: &Item) -> bool {
    let words: Vec<String> = match alias.as_value() {
        Some(Value::String(s)) => s.value().split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => return false,
    };
    let words: Vec<String> = words
        .iter()
        .flat_map(|w| match w.as_str() {
            "-p" => vec!["--package".to_string()],
            "--package=xtask" => vec!["--package".to_string(), "xtask".to_string()],
            _ => vec![w.clone()],
        })
        .collect();
    words == ["run", "--package", "xtask", "--"] || words == ["run", "--package", "xtask"]
}

/// `.gitignore` with `/dist/` appended, unless a line already ignores dist/ at the root.
pub fn edit_gitignore(text: Option<&str>) -> Option<String> {
    let text = text.unwrap_or("");
    let ignored = text.lines().map(str::trim).any(|l| {
        [
            "dist", "dist/", "/dist", "/dist/", "dist/*", "/dist/*", "dist/**", "/dist/**",
        ]
        .contains(&l)
    });
    if ignored {
        return None;
    }
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Some(line_ends_like(
        text,
        format!("{text}{separator}# Release archives written by `cargo xtask dist`.\n/dist/\n"),
    ))
}

/// Writes one change through a temporary file and a rename, keeping an existing file's
/// permissions.
fn write(root: &Path, change: &Change) -> Result<()> {
    let path = root.join(&change.path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let permissions = std::fs::metadata(&path).ok().map(|m| m.permissions());
    crate::package::write_atomic(&path, |out| {
        use std::io::Write;
        out.write_all(change.new.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    })?;
    if let Some(permissions) = permissions {
        std::fs::set_permissions(&path, permissions)
            .with_context(|| format!("restoring the mode of {}", path.display()))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Report<'a> {
    project: &'a Path,
    shape: Shape,
    dry_run: bool,
    changes: Vec<ReportedChange>,
}

#[derive(Serialize)]
struct ReportedChange {
    path: String,
    action: &'static str,
    what: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

fn print_report(root: &Path, shape: Shape, changes: &[Change], dry_run: bool, json: bool) {
    let reported: Vec<ReportedChange> = changes
        .iter()
        .map(|c| ReportedChange {
            path: c.path.display().to_string(),
            action: if c.old.is_some() { "change" } else { "create" },
            what: c.what.clone(),
            diff: dry_run.then(|| unified_diff(&c.path.display().to_string(), c.old.as_deref(), &c.new)),
        })
        .collect();
    if json {
        let report = Report {
            project: root,
            shape,
            dry_run,
            changes: reported,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serialises")
        );
        return;
    }
    if changes.is_empty() {
        println!(
            "nothing to do: {} already has `cargo xtask` with {LIBRARY}",
            root.display()
        );
        return;
    }
    if dry_run {
        for change in &reported {
            print!("{}", change.diff.as_deref().unwrap_or_default());
        }
        println!();
    }
    let verb = |c: &ReportedChange| match (dry_run, c.action) {
        (true, "create") => "would create",
        (true, _) => "would change",
        (false, "create") => "created",
        (false, _) => "changed",
    };
    println!("{} ({shape}):", root.display());
    for change in &reported {
        println!("  {} {}: {}", verb(change), change.path, change.what.join("; "));
    }
    if dry_run {
        println!("nothing written (--dry-run)");
    } else {
        println!("next: `cargo xtask doctor` (its first run builds the xtask), then `cargo xtask dist`");
    }
}

/// A unified diff (3 lines of context) from `old` (None: the file is new) to `new`.
pub fn unified_diff(path: &str, old: Option<&str>, new: &str) -> String {
    let a: Vec<&str> = old.map(|o| o.lines().collect()).unwrap_or_default();
    let b: Vec<&str> = new.lines().collect();
    let ops = line_ops(&a, &b);
    if ops.iter().all(|op| matches!(op, Op::Same)) {
        return String::new();
    }
    let mut out = match old {
        Some(_) => format!("--- a/{path}\n+++ b/{path}\n"),
        None => format!("--- /dev/null\n+++ b/{path}\n"),
    };
    // Line numbers in a and b before each op.
    let mut positions = Vec::with_capacity(ops.len() + 1);
    let (mut i, mut j) = (0, 0);
    for op in &ops {
        positions.push((i, j));
        match op {
            Op::Same => (i, j) = (i + 1, j + 1),
            Op::Removed => i += 1,
            Op::Added => j += 1,
        }
    }
    positions.push((i, j));
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| !matches!(ops[k], Op::Same)).collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &k in &changed {
        let (start, end) = (k.saturating_sub(CONTEXT), (k + 1 + CONTEXT).min(ops.len()));
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    for (start, end) in hunks {
        let (a_start, b_start) = positions[start];
        let (a_end, b_end) = positions[end];
        let range = |from: usize, len: usize| {
            if len == 0 {
                format!("{from},0")
            } else {
                format!("{},{len}", from + 1)
            }
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(a_start, a_end - a_start),
            range(b_start, b_end - b_start)
        ));
        for (k, op) in ops.iter().enumerate().take(end).skip(start) {
            let (i, j) = positions[k];
            match op {
                Op::Same => out.push_str(&format!(" {}\n", a[i])),
                Op::Removed => out.push_str(&format!("-{}\n", a[i])),
                Op::Added => out.push_str(&format!("+{}\n", b[j])),
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// The edit script from `a` to `b`: a longest common subsequence of the lines between the
/// common head and tail (init's edits are a few insertions, so that part is small).
fn line_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops = vec![Op::Same; head];
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) > 4_000_000 {
        // Too big to align line by line: shown as replaced.
        ops.extend(std::iter::repeat_n(Op::Removed, n));
        ops.extend(std::iter::repeat_n(Op::Added, m));
    } else {
        // lcs[i][j]: the longest common subsequence of a_mid[i..] and b_mid[j..].
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * (m + 1) + j] = if a_mid[i] == b_mid[j] {
                    lcs[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                ops.push(Op::Same);
                (i, j) = (i + 1, j + 1);
            } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
                // Removals first, as diff -u shows a replaced line.
                ops.push(Op::Removed);
                i += 1;
            } else {
                ops.push(Op::Added);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Same, tail));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(add_member: bool) -> ManifestPlan {
        ManifestPlan {
            add_member,
            bins: Bins {
                found: vec!["tool".into()],
                ship: vec!["tool".into()],
            },
            profile_in_config: false,
        }
    }

    /// Asserts that `new` is `old` with only `inserted` put in at the one place where they
    /// differ, and returns the part appended at the end (after all of `old`).
    fn appended<'a>(old: &str, new: &'a str) -> &'a str {
        assert!(new.starts_with(old), "the original text is not kept whole:\n{new}");
        &new[old.len()..]
    }

    fn dist_of(doc: &DocumentMut) -> &Item {
        &doc["workspace"]["metadata"]["dist"]
    }

    const SINGLE: &str = r#"# A CLI with opinions about layout.
[package]
name    = "tool"   # aligned on purpose
version = "0.3.1"
edition = "2021"

[dependencies]
anyhow = "1"        # errors
# clap = "4"        (not yet)

[profile.release]
lto = true
# trailing comment the user wrote last
"#;

    #[test]
    fn a_single_package_becomes_a_workspace_root_keeping_every_byte() {
        let (new, what) = edit_manifest(SINGLE, &plan(true)).unwrap();
        let added = appended(SINGLE, &new);
        // The user's last comment stays last of what they wrote: the new tables follow it.
        assert!(added.starts_with("\n# A workspace, so that"), "{added}");
        let doc: DocumentMut = new.parse().unwrap();
        let members: Vec<&str> = doc["workspace"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(members, [".", "xtask"]);
        let targets: Vec<&str> = dist_of(&doc)["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(targets, DEFAULT_TARGETS);
        assert!(dist_of(&doc).get("bins").is_none(), "every bin ships: no `bins` needed");
        assert!(
            dist_of(&doc).get("accept-msvc-license").is_none(),
            "the licence is the user's choice"
        );
        assert!(new.contains("\n# accept-msvc-license = true\n"), "{new}");
        let profile = &doc["profile"]["dist"];
        assert_eq!(profile["inherits"].as_str(), Some("release"));
        assert_eq!(profile["lto"].as_str(), Some("fat"));
        assert_eq!(profile["codegen-units"].as_integer(), Some(1));
        assert_eq!(profile["opt-level"].as_str(), Some("z"));
        assert_eq!(profile["strip"].as_bool(), Some(true));
        assert_eq!(profile["panic"].as_str(), Some("abort"));
        assert_eq!(doc["profile"]["release"]["lto"].as_bool(), Some(true));
        assert_eq!(what.len(), 3, "{what:?}");

        // Idempotent: the second run finds the member, the table and the profile.
        let (again, what) = edit_manifest(&new, &plan(false)).unwrap();
        assert_eq!(again, new);
        assert!(what.is_empty(), "{what:?}");
        let (again, what) = edit_manifest(&new, &plan(true)).unwrap();
        assert_eq!((again.as_str(), what.len()), (new.as_str(), 0));
    }

    #[test]
    fn a_virtual_workspace_gets_xtask_in_its_members_in_their_layout() {
        let old = r#"[workspace]
resolver = "2"
# Every crate of the project.
members = [
    "crates/core", # the engine
    "crates/cli",
]

[workspace.package]
version = "1.0.0"

# Release settings of our own.
[profile.dist]
inherits = "release"
debug = true
"#;
        let (new, what) = edit_manifest(old, &plan(true)).unwrap();
        // The one change inside the user's text: a line in the members' own layout.
        let expected_head = old.replace("    \"crates/cli\",\n", "    \"crates/cli\",\n    \"xtask\",\n");
        assert!(new.starts_with(&expected_head), "{new}");
        let added = &new[expected_head.len()..];
        assert!(added.starts_with("\n# What `cargo xtask dist`"), "{added}");
        assert!(
            !added.contains("[profile.dist]"),
            "an existing profile is never replaced:\n{added}"
        );
        assert_eq!(
            what,
            [
                "\"xtask\" added to [workspace] members",
                "[workspace.metadata.dist]: the default matrix of 5 targets, shipping tool"
            ]
        );
        let (again, what) = edit_manifest(&new, &plan(true)).unwrap();
        assert_eq!((again, what.len()), (new, 0));
    }

    #[test]
    fn a_workspace_with_a_root_package_and_one_line_members() {
        let old = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\"helper\"]\n\n[workspace.metadata.release]\nsign = true\n";
        let (new, _) = edit_manifest(old, &plan(true)).unwrap();
        let head = old.replace("members = [\"helper\"]", "members = [\"helper\", \"xtask\"]");
        assert!(new.starts_with(&head), "{new}");
        let doc: DocumentMut = new.parse().unwrap();
        assert_eq!(doc["workspace"]["metadata"]["release"]["sign"].as_bool(), Some(true));
        assert!(dist_of(&doc).is_table());

        // [workspace] without members: a root package is always a member, xtask is added.
        let old = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n\n[workspace]\n";
        let (new, _) = edit_manifest(old, &plan(true)).unwrap();
        assert!(
            new.starts_with(
                "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\".\", \"xtask\"]\n"
            ),
            "{new}"
        );
    }

    #[test]
    fn members_keep_their_layout() {
        let cases = [
            ("members = []\n", "members = [\"xtask\"]\n"),
            ("members = [\"a\"]\n", "members = [\"a\", \"xtask\"]\n"),
            (
                "members = [ \"a\", \"b\" ]\n",
                "members = [ \"a\", \"b\", \"xtask\" ]\n",
            ),
            ("members = [\n  \"a\"\n]\n", "members = [\n  \"a\",\n  \"xtask\"\n]\n"),
            (
                "members = [\"crates/*\", \"xtask/\"]\n",
                "members = [\"crates/*\", \"xtask/\"]\n",
            ),
            ("members = [\"*\"]\n", "members = [\"*\"]\n"),
        ];
        for (members, expected) in cases {
            let old = format!(
                "[workspace]\n{members}\n[profile.dist]\ninherits = \"release\"\n\n[workspace.metadata.dist]\n"
            );
            let (new, _) = edit_manifest(&old, &plan(true)).unwrap();
            assert_eq!(new, old.replace(members, expected), "{members}");
        }
    }

    #[test]
    fn bins_are_written_only_when_not_all_ship() {
        let mut p = plan(true);
        p.bins = Bins {
            found: vec!["tool".into(), "gen-docs".into()],
            ship: vec!["tool".into()],
        };
        let (new, _) = edit_manifest(SINGLE, &p).unwrap();
        let doc: DocumentMut = new.parse().unwrap();
        let bins: Vec<&str> = dist_of(&doc)["bins"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(bins, ["tool"]);
    }

    #[test]
    fn a_profile_in_the_cargo_config_is_not_duplicated() {
        let mut p = plan(true);
        p.profile_in_config = true;
        let (new, _) = edit_manifest(SINGLE, &p).unwrap();
        assert!(!new.contains("[profile.dist]"), "{new}");
    }

    #[test]
    fn conflicts_are_refused_as_usage_errors() {
        let cases = [
            ("[workspace]\nmembers = [\"a\"]\nexclude = [\"xtask\"]\n", "exclude names xtask"),
            (
                "[workspace]\nmembers = [\"a\"]\n\n[workspace.metadata.dist]\ncargo-dist-version = \"0.28.0\"\nci = \"github\"\n",
                "belongs to another tool (it has cargo-dist-version",
            ),
            ("workspace = { members = [\"a\"] }\n", "inline table"),
            ("[workspace]\nmembers = \"a\"\n", "members is not an array"),
            ("[package]\nname = \"x\"\nprofile = 3\n[profile\n", "not valid TOML"),
        ];
        for (text, expected) in cases {
            let err = edit_manifest(text, &plan(true)).unwrap_err();
            assert!(err.is::<UsageError>(), "{text}: {err:#}");
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
            assert_eq!(format!("{err:#}").lines().count(), 1, "{err:#}");
        }
    }

    #[test]
    fn a_last_line_without_its_line_end_keeps_the_new_tables_apart() {
        let old = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n\n[workspace]\n# the end, no newline";
        let (new, _) = edit_manifest(old, &plan(true)).unwrap();
        let expected = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\".\", \"xtask\"]\n# the end, no newline\n\n# What `cargo xtask dist`";
        assert!(new.starts_with(expected), "{new}");
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let old = SINGLE.replace('\n', "\r\n");
        let (new, _) = edit_manifest(&old, &plan(true)).unwrap();
        assert!(new.starts_with(&old));
        assert!(!new.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF file");
    }

    #[test]
    fn the_alias_is_created_or_merged_and_a_different_one_refused() {
        let (new, what) = edit_cargo_config(None).unwrap();
        assert_eq!(what.len(), 1);
        let doc: DocumentMut = new.parse().unwrap();
        assert_eq!(doc["alias"]["xtask"].as_str(), Some(ALIAS));

        let old = "# Our settings.\n[alias]\nb = \"build\"   # short\n\n[build]\nrustflags = [\"-Dwarnings\"]\n";
        let (new, _) = edit_cargo_config(Some(old)).unwrap();
        assert_eq!(
            new,
            old.replace("# short\n", "# short\nxtask = \"run --package xtask --\"\n")
        );
        let (again, what) = edit_cargo_config(Some(&new)).unwrap();
        assert_eq!((again, what.len()), (new, 0));

        let old = "[build]\njobs = 2\n# the end\n";
        let (new, _) = edit_cargo_config(Some(old)).unwrap();
        assert!(new.starts_with(old), "{new}");
        assert!(new.ends_with("[alias]\nxtask = \"run --package xtask --\"\n"), "{new}");

        for same in [
            "[alias]\nxtask = \"run -p xtask --\"\n",
            "[alias]\nxtask = [\"run\", \"--package\", \"xtask\", \"--\"]\n",
            "alias.xtask = \"run --package xtask\"\n",
        ] {
            let (new, what) = edit_cargo_config(Some(same)).unwrap();
            assert_eq!((new.as_str(), what.len()), (same, 0));
        }
        let err =
            edit_cargo_config(Some("[alias]\nxtask = \"run --manifest-path tools/Cargo.toml --\"\n")).unwrap_err();
        assert!(err.is::<UsageError>());
        assert!(
            format!("{err:#}").contains("runs `run --manifest-path tools/Cargo.toml --`"),
            "{err:#}"
        );
    }

    #[test]
    fn dist_is_git_ignored_once() {
        assert_eq!(
            edit_gitignore(None).as_deref(),
            Some("# Release archives written by `cargo xtask dist`.\n/dist/\n")
        );
        assert_eq!(
            edit_gitignore(Some("/target")).as_deref(),
            Some("/target\n# Release archives written by `cargo xtask dist`.\n/dist/\n")
        );
        for ignored in ["/target\ndist\n", "dist/\n", " /dist \n"] {
            assert_eq!(edit_gitignore(Some(ignored)), None, "{ignored}");
        }
        // `dist-tools/` or `!dist` does not ignore dist/.
        assert!(edit_gitignore(Some("dist-tools/\n")).is_some());
    }

    #[test]
    fn dependency_paths_are_relative_when_they_share_more_than_the_root() {
        assert_eq!(
            dependency_path(Path::new("/home/u/proj/xtask"), Path::new("/home/u/ro/orchestrator")),
            "../../ro/orchestrator"
        );
        assert_eq!(
            dependency_path(Path::new("/tmp/proj/xtask"), Path::new("/work/ro/orchestrator")),
            "/work/ro/orchestrator"
        );
        assert_eq!(
            dependency_path(Path::new("/w/proj/xtask"), Path::new("/w/proj/vendor/ro")),
            "../vendor/ro"
        );
    }

    #[test]
    fn the_xtask_manifest_names_the_library_and_parses() {
        for library in [
            Library::Path("../../my \"odd\" dir".into()),
            Library::Git {
                url: "https://example.invalid/ro.git".into(),
                rev: Some("v1.2".into()),
            },
        ] {
            let text = xtask_manifest(&library);
            let doc: DocumentMut = text.parse().unwrap();
            let dep = &doc["dependencies"][LIBRARY];
            match &library {
                Library::Path(path) => assert_eq!(dep["path"].as_str(), Some(path.as_str())),
                Library::Git { url, .. } => {
                    assert_eq!(dep["git"].as_str(), Some(url.as_str()));
                    assert_eq!(dep["rev"].as_str(), Some("v1.2"));
                }
            }
            assert_eq!(doc["package"]["publish"].as_bool(), Some(false));
            assert!(depends_on_library(&text));
        }
        assert!(
            XTASK_MAIN.contains("xshell"),
            "the template uses what its manifest adds"
        );
    }

    #[test]
    fn the_xtask_asks_for_the_versions_this_library_builds_with() {
        let ours: DocumentMut = include_str!("../../Cargo.toml").parse().unwrap();
        let version = |dep: &str| {
            let item = &ours["dependencies"][dep];
            item.as_str()
                .or_else(|| item.get("version").and_then(Item::as_str))
                .unwrap()
                .to_string()
        };
        assert_eq!(version("anyhow"), ANYHOW);
        assert_eq!(version("clap"), CLAP);
    }

    #[test]
    fn the_dry_run_diff_shows_insertions_in_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
        let new = "a\nb\nc\nd\nX\ne\nf\ng\nh\ni\nj\nk\nl\nm\nY\n";
        let diff = unified_diff("f.txt", Some(old), new);
        assert_eq!(
            diff,
            "--- a/f.txt\n+++ b/f.txt\n@@ -2,6 +2,7 @@\n b\n c\n d\n+X\n e\n f\n g\n@@ -11,3 +12,4 @@\n k\n l\n m\n+Y\n"
        );
        // Changes 6 lines apart or closer share one hunk, as diff -u does.
        let near = unified_diff("f.txt", Some("a\nb\nc\n"), "a\nX\nb\nc\nY\n");
        assert_eq!(near, "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,5 @@\n a\n+X\n b\n c\n+Y\n");
        assert_eq!(
            unified_diff("n.toml", None, "x = 1\n"),
            "--- /dev/null\n+++ b/n.toml\n@@ -0,0 +1,1 @@\n+x = 1\n"
        );
        assert_eq!(unified_diff("same", Some("a\n"), "a\n"), "");
        assert_eq!(
            unified_diff("r", Some("a\nb\n"), "a\nc\n"),
            "--- a/r\n+++ b/r\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
        );
    }

    #[test]
    fn globs_match_as_cargo_members_do() {
        assert!(glob_matches("*", "xtask"));
        assert!(glob_matches("xt?sk", "xtask"));
        assert!(glob_matches("x*", "xtask"));
        assert!(!glob_matches("crates/*", "xtask"));
        assert!(!glob_matches("xtasks", "xtask"));
        assert!(names_xtask("./xtask/"));
    }
}
