//! Which Rust toolchain builds a workspace: its own, never the one this tool runs on.
//!
//! `cargo xtask` runs through rustup's proxy, which sets RUSTUP_TOOLCHAIN to this
//! repository's pin; every child would inherit it, so another workspace would be built with
//! that pin whatever its own rust-toolchain.toml or `rust-version` says. The toolchain is
//! therefore chosen per workspace, in rustup's order, and every cargo, rustc and rustup
//! command for the workspace names it explicitly ([`Toolchain::cmd`]):
//!
//! 1. `DIST_TOOLCHAIN` (a user's explicit choice for this tool, since RUSTUP_TOOLCHAIN is
//!    always set by the proxy and says nothing about the user);
//! 2. the workspace's `rust-toolchain` / `rust-toolchain.toml`, looked up from the workspace
//!    root through its parents as rustup does (`rust-toolchain` wins in one directory);
//! 3. the newest installed stable toolchain that satisfies the highest `rust-version` of the
//!    shipped packages; when none does, rustup installs that version (the plan says so).

use crate::model::{MacosVersion, Target};
use crate::runner::{find_on_path, Cmd, Runner};
use crate::UsageError;
use anyhow::{anyhow, Context, Result};
use cargo_metadata::semver::Version;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The toolchain that builds one workspace, and the facts about it that planning needs.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub host: Target,
    pub sysroot: PathBuf,
    /// Every triple this rustc can build for (`rustc --print target-list`).
    pub known_targets: Vec<String>,
    /// The rustup toolchain every command for the workspace runs with (RUSTUP_TOOLCHAIN);
    /// None without rustup: the rustc on PATH builds.
    pub name: Option<String>,
    /// `rustc -V`'s version, e.g. "1.95.0"; None while the toolchain is still to be installed.
    pub version: Option<String>,
    /// Why this toolchain, in words for the plan's reader.
    pub reason: String,
    /// `rustup toolchain install …` when it is not installed yet (the facts above are then
    /// the running rustc's, and the sysroot is where rustup will put it).
    pub install: Option<Cmd>,
}

/// What the plan shows about the toolchain (`plan --json`: `toolchain`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Choice {
    /// The rustup toolchain name (RUSTUP_TOOLCHAIN), or "rustc on PATH" without rustup.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub reason: String,
    pub sysroot: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<Cmd>,
}

impl Toolchain {
    /// Chooses the toolchain for the workspace at `manifest_path` (None: the one around the
    /// current directory) and reads its facts. Runs only queries. `rust_version` gives the
    /// highest `rust-version` of the shipped packages and its package, for a workspace
    /// without a toolchain file (the config stage knows which packages ship).
    pub fn for_workspace(
        runner: &Runner,
        manifest_path: Option<&Path>,
        rust_version: impl FnOnce(&Path) -> Result<(Option<Version>, String)> + Send,
    ) -> Result<Toolchain> {
        if find_on_path("rustup").is_none() {
            return Toolchain::detect(runner, None, "rustup is not installed: the rustc on PATH builds".into());
        }
        let dir = workspace_dir(manifest_path)?;
        let explicit = std::env::var("DIST_TOOLCHAIN").ok().filter(|t| !t.trim().is_empty());
        let file = match explicit {
            Some(_) => None,
            None => find_toolchain_file(&dir)?,
        };
        // The host, the installed toolchains and the shipped packages' rust-version (a
        // `cargo metadata`) do not depend on each other: asked side by side.
        let (version, list, rust_version) = std::thread::scope(|s| {
            let rust_version = (explicit.is_none() && file.is_none()).then(|| s.spawn(|| rust_version(&dir)));
            let [version, list] = runner.query_all([
                Cmd::new("rustc").arg("-vV"),
                Cmd::new("rustup").args(["toolchain", "list"]),
            ]);
            let rust_version = rust_version.map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the rust-version panicked")))
            });
            (version, list, rust_version)
        });
        let host = host_of(&version?)?;
        let installed = parse_toolchain_list(&list.context("listing the installed toolchains")?, host.triple());
        let choice = if let Some(name) = explicit {
            Pick {
                installed: is_installed(&name, &installed, host.triple()),
                reason: format!("DIST_TOOLCHAIN names {name}"),
                name,
                components: Vec::new(),
            }
        } else if let Some((file, pin)) = file {
            Pick {
                installed: is_installed(&pin.name, &installed, host.triple()),
                reason: format!("named by {}", file.display()),
                name: pin.name,
                components: pin.components,
            }
        } else {
            let (rust_version, owner) =
                rust_version.context("the rust-version is read when nothing names a toolchain")??;
            let stable: Vec<&Installed> = installed.iter().filter(|t| is_stable(&t.name)).collect();
            // Every candidate's facts are asked at once, not only its version: the chosen
            // one's are then at hand, without another round of rustc starts after the choice.
            let mut answers = runner
                .query_each(
                    &stable
                        .iter()
                        .flat_map(|t| fact_queries(installed_rustc(&t.name)))
                        .collect::<Vec<_>>(),
                )
                .into_iter();
            let mut candidates = Vec::new();
            for t in &stable {
                let (version, printed) = (answers.next(), answers.next());
                // A toolchain whose rustc does not run is no candidate.
                let Some(Ok(version)) = version else { continue };
                if let Some(parsed) = parse_rustc_version(&version) {
                    candidates.push(Candidate {
                        name: t.name.clone(),
                        version: parsed,
                        default: t.default,
                        facts: (version, printed.unwrap_or_else(|| Err(anyhow!("rustc went unasked")))),
                    });
                }
            }
            let choice = choose(rust_version.as_ref().map(|v| (v, owner.as_str())), &candidates);
            let chosen = candidates
                .into_iter()
                .find(|c| choice.installed && short_name(&c.name) == choice.name);
            if let Some(Candidate {
                facts: (version, printed),
                ..
            }) = chosen
            {
                return Toolchain::from_facts(Some(&choice.name), choice.reason, Ok(version), printed);
            }
            choice
        };
        if choice.installed {
            return Toolchain::detect(runner, Some(&choice.name), choice.reason);
        }
        // Not installed: planned with the running rustc's target list; rustup puts the new
        // toolchain (and, once `rustup target add` has run, its targets) under RUSTUP_HOME.
        let running = Toolchain::detect(runner, None, String::new())?;
        let mut install = Cmd::new("rustup").args(["toolchain", "install", &choice.name, "--profile", "minimal"]);
        for component in &choice.components {
            install = install.args(["--component", component]);
        }
        let dir_name = if choice.name.contains(host.triple()) || Path::new(&choice.name).is_absolute() {
            choice.name.clone()
        } else {
            format!("{}-{host}", choice.name)
        };
        Ok(Toolchain {
            sysroot: rustup_home().join("toolchains").join(dir_name),
            name: Some(choice.name),
            version: None,
            reason: format!("{}; not installed: rustup installs it first", choice.reason),
            install: Some(install.arg("--no-self-update")),
            ..running
        })
    }

    /// The facts of `name` (None: the toolchain the environment selects).
    fn detect(runner: &Runner, name: Option<&str>, reason: String) -> Result<Toolchain> {
        let [version, printed] = runner.query_all(fact_queries(proxied_rustc(name)));
        Toolchain::from_facts(name, reason, version, printed)
    }

    /// The toolchain from [`fact_queries`]' answers: `rustc -vV`, and the sysroot's line
    /// followed by the target list.
    fn from_facts(
        name: Option<&str>,
        reason: String,
        version: Result<String>,
        printed: Result<String>,
    ) -> Result<Toolchain> {
        let which = name.map(|n| format!(" (toolchain {n})")).unwrap_or_default();
        let version = version.with_context(|| format!("asking rustc{which} for its version"))?;
        let host = host_of(&version)?;
        let release = version
            .lines()
            .find_map(|l| l.strip_prefix("release: "))
            .map(str::to_string);
        let printed = printed.with_context(|| format!("asking rustc{which} for its sysroot and targets"))?;
        let mut lines = printed.lines();
        let sysroot = lines.next().unwrap_or_default().trim();
        Ok(Toolchain {
            host,
            sysroot: PathBuf::from(sysroot),
            known_targets: lines.map(str::to_string).collect(),
            name: name.map(str::to_string),
            version: release,
            reason,
            install: None,
        })
    }

    /// A toolchain with only the facts planning needs (tests, and callers that plan for a
    /// rustc they already know).
    pub fn fixed(host: Target, sysroot: PathBuf, known_targets: Vec<String>) -> Toolchain {
        Toolchain {
            host,
            sysroot,
            known_targets,
            name: None,
            version: None,
            reason: String::new(),
            install: None,
        }
    }

    /// `program` (cargo, rustc, rustup, cargo-zigbuild) as it must run for this workspace:
    /// with RUSTUP_TOOLCHAIN naming the chosen toolchain.
    pub fn cmd(&self, program: impl Into<String>) -> Cmd {
        match &self.name {
            Some(name) => Cmd::new(program).env("RUSTUP_TOOLCHAIN", name),
            None => Cmd::new(program),
        }
    }

    /// `program` for a query before anything is installed (`cargo metadata`): this
    /// toolchain when it is installed, else the running one (reading a workspace does not
    /// depend on the compiler's version).
    pub fn query_cmd(&self, program: impl Into<String>) -> Cmd {
        match self.install {
            None => self.cmd(program),
            Some(_) => Cmd::new(program),
        }
    }

    /// What tells this toolchain from another of the same name: its version, sysroot, and
    /// its cargo binary's size and modification time (an updated `stable` keeps the name).
    pub fn identity(&self) -> String {
        let cargo = self.sysroot.join("bin").join("cargo");
        let stamp = std::fs::metadata(&cargo)
            .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
            .unwrap_or_default();
        format!("{:?} {:?} {} {stamp}", self.name, self.version, self.sysroot.display())
    }

    /// `rustup target add` for this toolchain.
    pub fn target_add(&self, target: &Target) -> Cmd {
        let cmd = Cmd::new("rustup").args(["target", "add"]);
        match &self.name {
            Some(name) => cmd.args(["--toolchain", name]).arg(target.triple()),
            None => cmd.arg(target.triple()),
        }
    }

    /// Whether the standard library for `target` is installed (what `rustup target add` adds).
    pub fn has_target(&self, target: &Target) -> bool {
        self.sysroot
            .join("lib/rustlib")
            .join(target.triple())
            .join("lib")
            .is_dir()
    }

    /// The oldest macOS this toolchain builds `target` for (`rustc --print
    /// deployment-target`), the default `macos-min`. MACOSX_DEPLOYMENT_TARGET is removed:
    /// rustc would echo it, and the config, not the environment, sets the minimum.
    pub fn deployment_target(&self, runner: &Runner, target: &Target) -> Result<MacosVersion> {
        deployment_target(runner, self.query_cmd("rustc"), target)
    }

    /// [`deployment_targets`] with this toolchain's rustc.
    pub fn deployment_targets(&self, runner: &Runner, targets: &[&Target]) -> Vec<Result<MacosVersion>> {
        deployment_targets(runner, &self.query_cmd("rustc"), targets)
    }

    /// What the plan shows.
    pub fn choice(&self) -> Choice {
        Choice {
            name: self.name.clone().unwrap_or_else(|| "rustc on PATH".into()),
            version: self.version.clone(),
            reason: self.reason.clone(),
            sysroot: self.sysroot.clone(),
            install: self.install.clone(),
        }
    }
}

/// The nightly the size mode builds with unless `size-toolchain` names another: a dated
/// nightly, so the same source builds the same std (a moving `nightly` would not). Its
/// std has `optimize_for_size` and rustc takes `-Cpanic=immediate-abort`
/// (with -Zunstable-options); it has no rust-std for aarch64-unknown-linux-musl, which the
/// size mode does not need (see `plan::size_route`).
pub const SIZE_NIGHTLY: &str = "nightly-2026-05-20";

impl Toolchain {
    /// The nightly `name` that size-mode builds use, with `rust-src` (the std it rebuilds).
    /// Installed and complete: nothing to do; installed without rust-src: `rustup component
    /// add`; missing: `rustup toolchain install` with rust-src. Runs only queries.
    pub fn for_size(runner: &Runner, name: &str, host: &Target) -> Result<Toolchain> {
        if find_on_path("rustup").is_none() {
            return Err(UsageError::new(format!(
                "size-mode = \"build-std\" builds with the nightly {name}, which only rustup installs: install rustup, or remove size-mode"
            )));
        }
        let reason = format!("size-mode = \"build-std\": std is rebuilt with the nightly {name}");
        if is_installed(name, &installed(runner, host.triple())?, host.triple()) {
            let mut toolchain = Toolchain::detect(runner, Some(name), reason)?;
            if !toolchain.has_rust_src() {
                toolchain.reason.push_str("; rustup adds its rust-src first");
                toolchain.install =
                    Some(Cmd::new("rustup").args(["component", "add", "rust-src", "--toolchain", name]));
            }
            return Ok(toolchain);
        }
        let running = Toolchain::detect(runner, None, String::new())?;
        Ok(Toolchain {
            sysroot: rustup_home().join("toolchains").join(format!("{name}-{host}")),
            name: Some(name.to_string()),
            version: None,
            reason: format!("{reason}; not installed: rustup installs it first"),
            install: Some(Cmd::new("rustup").args([
                "toolchain",
                "install",
                name,
                "--profile",
                "minimal",
                "--component",
                "rust-src",
                "--no-self-update",
            ])),
            ..running
        })
    }

    /// Where rust-src puts the standard library's sources, which `-Z build-std` compiles.
    pub fn rust_src(&self) -> PathBuf {
        self.sysroot.join("lib/rustlib/src/rust/library")
    }

    fn has_rust_src(&self) -> bool {
        self.rust_src().join("std/Cargo.toml").is_file()
    }
}

/// `rustc --print deployment-target --target <target>` with `rustc` as given: the oldest
/// macOS that rustc supports for the target.
pub fn deployment_target(runner: &Runner, rustc: Cmd, target: &Target) -> Result<MacosVersion> {
    deployment_targets(runner, &rustc, &[target])
        .pop()
        .unwrap_or_else(|| Err(anyhow::anyhow!("rustc was not asked for {target}")))
}

/// The thin Apple targets whose oldest macOS is worth asking rustc for before the config
/// says what ships: the default matrix's two and `more` (a `--target`), each once.
pub fn likely_apple_targets(more: impl IntoIterator<Item = Target>) -> Vec<Target> {
    let defaults = ["x86_64-apple-darwin", "aarch64-apple-darwin"]
        .iter()
        .filter_map(|t| t.parse::<Target>().ok());
    let likely: std::collections::BTreeSet<Target> = defaults
        .chain(more)
        .filter(|t| t.family() == crate::model::Family::AppleDarwin && !t.is_universal())
        .collect();
    likely.into_iter().collect()
}

/// Runs `beside` (a short command's read of the workspace) while `rustc` prints the oldest
/// macOS of each of `targets`: the two are most of such a command's time. Returns what
/// `beside` gave and rustc's answers by target.
pub fn beside_deployment_targets<T: Send>(
    runner: &Runner,
    rustc: &Cmd,
    targets: Vec<Target>,
    beside: impl FnOnce() -> T + Send,
) -> (T, std::collections::BTreeMap<Target, Result<MacosVersion>>) {
    std::thread::scope(|s| {
        let asked = s.spawn(|| {
            let found = deployment_targets(runner, rustc, &targets.iter().collect::<Vec<_>>());
            targets.iter().cloned().zip(found).collect()
        });
        let value = beside();
        (value, asked.join().unwrap_or_default())
    })
}

/// [`deployment_target`] for each of `targets`, asked side by side (one rustc start each).
pub fn deployment_targets(runner: &Runner, rustc: &Cmd, targets: &[&Target]) -> Vec<Result<MacosVersion>> {
    let cmds: Vec<Cmd> = targets
        .iter()
        .map(|target| {
            rustc
                .clone()
                .args(["--print", "deployment-target", "--target", target.triple()])
                .env_remove("MACOSX_DEPLOYMENT_TARGET")
        })
        .collect();
    let fix = "set macos-min in [workspace.metadata.dist] (an older rustc cannot print it)";
    runner
        .query_each(&cmds)
        .into_iter()
        .zip(targets)
        .map(|(printed, target)| {
            let printed =
                printed.with_context(|| format!("asking rustc for the oldest macOS {target} supports: {fix}"))?;
            printed
                .trim()
                .strip_prefix("MACOSX_DEPLOYMENT_TARGET=")
                .and_then(|v| v.parse().ok())
                .with_context(|| {
                    format!(
                        "`rustc --print deployment-target` printed `{}` for {target}: {fix}",
                        printed.trim()
                    )
                })
        })
        .collect()
}

/// The host triple in `rustc -vV`'s output.
fn host_of(version: &str) -> Result<Target> {
    version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .context("`rustc -vV` printed no host line")?
        .parse()
        .context("`rustc -vV` printed a host that is not a target triple")
}

/// The directory rustup starts its toolchain-file lookup from: the workspace's.
fn workspace_dir(manifest_path: Option<&Path>) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Ok(match manifest_path.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => cwd.join(dir),
        _ => cwd,
    })
}

fn rustup_home() -> PathBuf {
    std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .unwrap_or_else(|| PathBuf::from(".rustup"))
}

/// A toolchain a rust-toolchain file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// A channel ("1.95.0", "stable", "nightly-2026-01-01") or an absolute toolchain path.
    pub name: String,
    pub components: Vec<String>,
}

/// Parses a rust-toolchain file: TOML with a `[toolchain]` table (`channel` or `path`), or
/// the legacy one-line form that holds just the channel.
pub fn parse_toolchain_file(text: &str, file: &Path) -> Result<Pin> {
    let bad = |why: &str| UsageError::new(format!("{}: {why}", file.display()));
    let trimmed = text.trim();
    if !trimmed.contains('[') && !trimmed.contains('=') {
        if trimmed.is_empty() || trimmed.lines().count() > 1 {
            return Err(bad("name one toolchain, e.g. `1.95.0`, or write a [toolchain] table"));
        }
        return Ok(Pin {
            name: trimmed.to_string(),
            components: Vec::new(),
        });
    }
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| bad(&format!("not valid TOML: {}", e.to_string().trim())))?;
    let table = doc
        .get("toolchain")
        .and_then(|t| t.as_table_like())
        .ok_or_else(|| bad("no [toolchain] table"))?;
    let string = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let name = match (string("channel"), string("path")) {
        (Some(channel), _) => channel,
        (None, Some(path)) => {
            let path = Path::new(&path);
            let dir = file.parent().unwrap_or(Path::new("."));
            dir.join(path).to_string_lossy().into_owned()
        }
        (None, None) => return Err(bad("[toolchain] has neither `channel` nor `path`")),
    };
    let components = table
        .get("components")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(Pin { name, components })
}

/// The nearest rust-toolchain file from `dir` upwards, as rustup looks it up.
pub fn find_toolchain_file(dir: &Path) -> Result<Option<(PathBuf, Pin)>> {
    for dir in dir.ancestors() {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            let file = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&file) {
                return parse_toolchain_file(&text, &file).map(|pin| Some((file, pin)));
            }
        }
    }
    Ok(None)
}

/// An installed rustup toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Installed {
    name: String,
    default: bool,
}

/// `rustup toolchain list`: "stable-x86_64-unknown-linux-gnu (active, default)" per line.
fn installed(runner: &Runner, host: &str) -> Result<Vec<Installed>> {
    let list = runner
        .query(&Cmd::new("rustup").args(["toolchain", "list"]))
        .context("listing the installed toolchains")?;
    Ok(parse_toolchain_list(&list, host))
}

fn parse_toolchain_list(list: &str, host: &str) -> Vec<Installed> {
    list.lines()
        .filter_map(|line| {
            let mut words = line.splitn(2, ' ');
            let name = words.next()?.trim();
            // Toolchains for another host cannot run here; "no installed toolchains".
            let foreign = name.contains("-unknown-") || name.contains("-pc-") || name.contains("-apple-");
            if name.is_empty() || (foreign && !name.ends_with(host)) || line.starts_with("no ") {
                return None;
            }
            Some(Installed {
                name: name.to_string(),
                default: words.next().is_some_and(|rest| rest.contains("default")),
            })
        })
        .collect()
}

fn is_installed(name: &str, installed: &[Installed], host: &str) -> bool {
    if Path::new(name).is_absolute() {
        return Path::new(name).is_dir();
    }
    installed
        .iter()
        .any(|t| t.name == name || t.name == format!("{name}-{host}"))
}

/// A stable toolchain: `stable-…` or a release number (`1.95.0-…`, `1.95-…`).
fn is_stable(name: &str) -> bool {
    name == "stable" || name.starts_with("stable-") || name.starts_with(|c: char| c.is_ascii_digit())
}

/// "rustc 1.95.0 (59807616e 2026-04-14)" → 1.95.0.
pub fn parse_rustc_version(line: &str) -> Option<Version> {
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The two starts of `rustc` that tell a toolchain's facts: `rustc -vV`, and one
/// `rustc --print sysroot --print target-list` (rustc prints each in the order asked).
fn fact_queries(rustc: Cmd) -> [Cmd; 2] {
    [
        rustc.clone().arg("-vV"),
        rustc.args(["--print", "sysroot", "--print", "target-list"]),
    ]
}

/// The rustc of `name` through rustup's proxy (None: the toolchain the environment selects).
fn proxied_rustc(name: Option<&str>) -> Cmd {
    match name {
        Some(name) => Cmd::new("rustc").env("RUSTUP_TOOLCHAIN", name),
        None => Cmd::new("rustc"),
    }
}

/// The rustc of the installed toolchain `full_name` (as `rustup toolchain list` prints it),
/// started from RUSTUP_HOME/toolchains directly: rustup's proxy would take another 10 ms of
/// each start to find the same file. Through the proxy when that file is not there.
fn installed_rustc(full_name: &str) -> Cmd {
    let rustc = rustup_home().join("toolchains").join(full_name).join("bin/rustc");
    match rustc.is_file() {
        true => Cmd::new(rustc.to_string_lossy()),
        false => proxied_rustc(Some(full_name)),
    }
}

/// An installed stable toolchain, its version, and the answers to its [`fact_queries`].
#[derive(Debug)]
struct Candidate {
    name: String,
    version: Version,
    default: bool,
    facts: (String, Result<String>),
}

/// The toolchain chosen, why, and whether it is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pick {
    name: String,
    reason: String,
    installed: bool,
    components: Vec<String>,
}

/// The newest installed stable toolchain that satisfies `rust_version` (with the package
/// that declares it); on a tie the rustup default, then a name that is a version number.
/// None satisfies it: that version, to be installed.
fn choose(rust_version: Option<(&Version, &str)>, candidates: &[Candidate]) -> Pick {
    let fits = |c: &&Candidate| rust_version.is_none_or(|(v, _)| c.version >= *v);
    let best = candidates.iter().filter(fits).max_by_key(|c| {
        (
            c.version.clone(),
            c.default,
            c.name.starts_with(|ch: char| ch.is_ascii_digit()),
        )
    });
    let newest = candidates.iter().map(|c| &c.version).max();
    match (best, rust_version) {
        (Some(c), Some((v, owner))) => Pick {
            name: short_name(&c.name),
            reason: format!(
                "no rust-toolchain file; rust-version {v} (package {owner}): the newest installed stable toolchain, rustc {}",
                c.version
            ),
            installed: true,
            components: Vec::new(),
        },
        (Some(c), None) => Pick {
            name: short_name(&c.name),
            reason: format!(
                "no rust-toolchain file and no rust-version: the newest installed stable toolchain, rustc {}",
                c.version
            ),
            installed: true,
            components: Vec::new(),
        },
        (None, Some((v, owner))) => Pick {
            name: v.to_string(),
            reason: format!(
                "no rust-toolchain file; rust-version {v} (package {owner}) is newer than every installed stable toolchain{}",
                newest.map(|n| format!(" (newest: rustc {n})")).unwrap_or_default()
            ),
            installed: false,
            components: Vec::new(),
        },
        (None, None) => Pick {
            name: "stable".into(),
            reason: "no rust-toolchain file, no rust-version and no stable toolchain installed".into(),
            installed: false,
            components: Vec::new(),
        },
    }
}

/// "1.95.0-x86_64-unknown-linux-gnu" → "1.95.0": the name as a user writes it (rustup
/// resolves it for the host).
fn short_name(name: &str) -> String {
    [
        "-x86_64-",
        "-aarch64-",
        "-i686-",
        "-armv7-",
        "-riscv64gc-",
        "-powerpc64le-",
        "-s390x-",
    ]
    .iter()
    .find_map(|marker| name.find(marker))
    .map_or_else(|| name.to_string(), |i| name[..i].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn candidate(name: &str, v: &str, default: bool) -> Candidate {
        Candidate {
            name: name.into(),
            version: version(v),
            default,
            facts: (String::new(), Ok(String::new())),
        }
    }

    #[test]
    fn toolchain_files_are_parsed_in_both_forms() {
        let file = Path::new("/ws/rust-toolchain.toml");
        let pin = parse_toolchain_file(
            "[toolchain]\nchannel = \"1.95.0\"\ncomponents = [\"rustfmt\", \"clippy\"]\ntargets = [\"x86_64-unknown-linux-musl\"]\n",
            file,
        )
        .unwrap();
        assert_eq!(pin.name, "1.95.0");
        assert_eq!(pin.components, ["rustfmt", "clippy"]);
        let legacy = parse_toolchain_file("nightly-2026-01-01\n", Path::new("/ws/rust-toolchain")).unwrap();
        assert_eq!(legacy.name, "nightly-2026-01-01");
        let path = parse_toolchain_file("[toolchain]\npath = \"tc\"\n", file).unwrap();
        assert_eq!(path.name, "/ws/tc");
        for (text, says) in [
            ("[toolchain]\nprofile = \"minimal\"\n", "neither `channel` nor `path`"),
            ("[tools]\nchannel = \"1.0\"\n", "no [toolchain] table"),
            ("[toolchain\n", "not valid TOML"),
            ("", "name one toolchain"),
        ] {
            let err = parse_toolchain_file(text, file).unwrap_err();
            assert!(
                err.is::<UsageError>() && err.to_string().contains(says),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn the_nearest_toolchain_file_wins_and_rust_toolchain_before_toml() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws/member");
        std::fs::create_dir_all(&ws).unwrap();
        assert_eq!(find_toolchain_file(&ws).unwrap(), None);
        std::fs::write(
            dir.path().join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"stable\"\n",
        )
        .unwrap();
        let (file, pin) = find_toolchain_file(&ws).unwrap().unwrap();
        assert_eq!(
            (file, pin.name.as_str()),
            (dir.path().join("rust-toolchain.toml"), "stable")
        );
        std::fs::write(
            dir.path().join("ws/rust-toolchain.toml"),
            "[toolchain]\nchannel = \"1.90\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("ws/rust-toolchain"), "1.91.0\n").unwrap();
        assert_eq!(find_toolchain_file(&ws).unwrap().unwrap().1.name, "1.91.0");
    }

    #[test]
    fn rust_versions_compare_as_numbers() {
        // cargo metadata gives `rust-version = "1.80"` as 1.80.0; 1.9 is older than 1.10.
        assert!(version("1.9.0") < version("1.10.0"));
        assert!(version("1.80.0") < version("1.80.1"));
        assert_eq!(
            parse_rustc_version("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some(version("1.95.0"))
        );
    }

    #[test]
    fn the_newest_stable_that_satisfies_rust_version_is_chosen() {
        let installed = [
            candidate("stable-x86_64-unknown-linux-gnu", "1.95.0", true),
            candidate("1.95.0-x86_64-unknown-linux-gnu", "1.95.0", false),
            candidate("1.80.0-x86_64-unknown-linux-gnu", "1.80.0", false),
        ];
        let rv = version("1.85.0");
        let pick = choose(Some((&rv, "tool")), &installed);
        assert_eq!(pick.name, "stable", "the newest; on a tie the default");
        assert!(pick.installed);
        assert!(
            pick.reason.contains("rust-version 1.85.0 (package tool)"),
            "{}",
            pick.reason
        );
        let pick = choose(Some((&rv, "tool")), &installed[1..]);
        assert_eq!(pick.name, "1.95.0");
        let old = version("1.70.0");
        assert_eq!(
            choose(Some((&old, "tool")), &installed[1..]).name,
            "1.95.0",
            "newest, not oldest"
        );
        // Newer than all: that version is installed, and the plan says why.
        let new = version("1.99.0");
        let pick = choose(Some((&new, "tool")), &installed);
        assert_eq!((pick.name.as_str(), pick.installed), ("1.99.0", false));
        assert!(pick
            .reason
            .contains("newer than every installed stable toolchain (newest: rustc 1.95.0)"));
        assert_eq!(choose(None, &installed).name, "stable");
        assert_eq!(choose(None, &[]).name, "stable");
        assert!(!choose(None, &[]).installed);
    }

    #[test]
    fn the_toolchain_list_is_read_for_this_host_only() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\nnightly-x86_64-unknown-linux-gnu\n1.95.0-x86_64-unknown-linux-gnu\nstable-aarch64-apple-darwin\nmy-custom\n";
        let names: Vec<(String, bool)> = parse_toolchain_list(list, "x86_64-unknown-linux-gnu")
            .into_iter()
            .map(|t| (t.name, t.default))
            .collect();
        assert_eq!(
            names,
            [
                ("stable-x86_64-unknown-linux-gnu".to_string(), true),
                ("nightly-x86_64-unknown-linux-gnu".to_string(), false),
                ("1.95.0-x86_64-unknown-linux-gnu".to_string(), false),
                ("my-custom".to_string(), false),
            ]
        );
        let stable: Vec<&str> = ["stable-x", "nightly-x", "1.95.0-x", "beta", "my-custom"]
            .into_iter()
            .filter(|n| is_stable(n))
            .collect();
        assert_eq!(stable, ["stable-x", "1.95.0-x"]);
        assert_eq!(short_name("1.95.0-x86_64-unknown-linux-gnu"), "1.95.0");
        let installed = parse_toolchain_list(list, "x86_64-unknown-linux-gnu");
        assert!(is_installed("1.95.0", &installed, "x86_64-unknown-linux-gnu"));
        assert!(!is_installed("1.96.0", &installed, "x86_64-unknown-linux-gnu"));
    }
}
