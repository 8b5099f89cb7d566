//! Stage 1, config: reads `[workspace.metadata.dist]` through `cargo metadata`, applies the
//! command-line overrides and checks everything a user can get wrong before anything runs.

use crate::plan::Route;
use crate::runner::{Cmd, Runner};
use crate::triple;
use crate::UsageError;
use anyhow::{Context, Result};
use cargo_metadata::Metadata;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[workspace.metadata.dist]` as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDist {
    targets: Option<Vec<String>>,
    profile: Option<String>,
    include: Option<Vec<PathBuf>>,
    bins: Option<Vec<String>>,
    smoke_args: Option<Vec<String>>,
    smoke_expect: Option<String>,
    /// The generated CI workflow wraps rustc in sccache.
    sccache: Option<bool>,
    #[serde(default)]
    target: BTreeMap<String, TargetConfig>,
}

/// `[workspace.metadata.dist.target.<triple>]`: settings for one target.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetConfig {
    /// Overrides the automatic linker route.
    pub route: Option<Route>,
    /// The GitHub Actions runner label its CI job runs on (default: ubuntu-latest).
    pub runner: Option<String>,
}

/// What the command line can override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub targets: Vec<String>,
    pub profile: Option<String>,
    pub out_dir: Option<PathBuf>,
}

/// A binary to ship: the bin target and the package that owns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bin {
    pub package: String,
    pub name: String,
}

/// The facts about the installed Rust toolchain that planning depends on.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub host: String,
    pub sysroot: PathBuf,
    /// Every triple this rustc can build for (`rustc --print target-list`).
    pub known_targets: Vec<String>,
}

impl Toolchain {
    pub fn detect(runner: &Runner) -> Result<Toolchain> {
        let version = runner.query(&Cmd::new("rustc").arg("-vV"))?;
        let host = version
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .context("`rustc -vV` printed no host line")?
            .to_string();
        let sysroot = runner.query(&Cmd::new("rustc").args(["--print", "sysroot"]))?;
        let list = runner.query(&Cmd::new("rustc").args(["--print", "target-list"]))?;
        Ok(Toolchain {
            host,
            sysroot: PathBuf::from(sysroot.trim()),
            known_targets: list.lines().map(str::to_string).collect(),
        })
    }

    /// Whether the standard library for `triple` is installed (what `rustup target add` adds).
    pub fn has_target(&self, triple: &str) -> bool {
        self.sysroot.join("lib/rustlib").join(triple).join("lib").is_dir()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub manifest_path: PathBuf,
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Name and version of the package that owns the first shipped binary: the archive name.
    pub name: String,
    pub version: String,
    pub profile: String,
    pub targets: Vec<String>,
    /// Absolute paths of the extra files packed beside the binaries.
    pub include: Vec<PathBuf>,
    pub bins: Vec<Bin>,
    pub commit: String,
    /// Packages in the shipped binaries' dependency graph that compile C/C++ (they have a
    /// `cc` or `cmake` build-dependency): their targets need a C cross compiler.
    pub c_code: Vec<String>,
    /// Linked packages that link Apple frameworks: macOS targets then need an SDK (SDKROOT).
    pub frameworks: Vec<String>,
    /// Arguments for the smoke run of each runnable binary, and text its output must hold
    /// (`{target}` stands for the triple); no expectation means exit status 0 is enough.
    pub smoke_args: Vec<String>,
    pub smoke_expect: Option<String>,
    pub target_config: BTreeMap<String, TargetConfig>,
    /// Whether the generated CI workflow caches compilation with sccache.
    pub sccache: bool,
    /// The one timestamp every archive entry carries: SOURCE_DATE_EPOCH, else the commit time.
    pub source_date_epoch: u64,
}

/// Runs `cargo metadata` for the workspace at `manifest_path` (or the current directory).
pub fn metadata(runner: &Runner, manifest_path: Option<&Path>) -> Result<Metadata> {
    // With dependencies: the plan needs to know which of them compile C.
    let mut cmd = Cmd::new("cargo").args(["metadata", "--format-version", "1"]);
    if let Some(path) = manifest_path {
        if !path.is_file() {
            return Err(UsageError::new(format!(
                "--manifest-path {} is not a file: point it at a workspace's Cargo.toml",
                path.display()
            )));
        }
        cmd = cmd.arg("--manifest-path").arg(crate::runner::path_arg(path)?);
    }
    let json = runner.query(&cmd).map_err(|e| {
        UsageError::new(format!("cannot read the workspace (is this a Cargo workspace?): {e:#}"))
    })?;
    cargo_metadata::MetadataCommand::parse(json).context("cargo metadata printed JSON this tool cannot read")
}

/// The commit being released and its time (`git log -1`); ("unknown", 0) outside git.
pub fn commit(runner: &Runner, workspace_root: &Path) -> (String, u64) {
    let cmd = Cmd::new("git").args(["log", "-1", "--format=%H %ct"]).cwd(workspace_root);
    let out = runner.query(&cmd).unwrap_or_default();
    match out.trim().split_once(' ') {
        Some((hash, time)) => (hash.to_string(), time.parse().unwrap_or(0)),
        None => ("unknown".into(), 0),
    }
}

/// SOURCE_DATE_EPOCH (the reproducible-builds convention) wins over the commit time.
fn source_date_epoch(commit_time: u64) -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value.trim().parse().map_err(|_| {
            UsageError::new(format!("SOURCE_DATE_EPOCH is `{value}`: it must be whole seconds since 1970, like `git log -1 --format=%ct` prints"))
        }),
        Err(_) => Ok(commit_time),
    }
}

pub fn load(runner: &Runner, manifest_path: Option<&Path>, toolchain: &Toolchain, overrides: Overrides) -> Result<Config> {
    let meta = metadata(runner, manifest_path)?;
    let (commit, time) = commit(runner, meta.workspace_root.as_std_path());
    let mut config = from_metadata(&meta, toolchain, overrides, commit)?;
    config.source_date_epoch = source_date_epoch(time)?;
    Ok(config)
}

/// Builds the config from already-read metadata; every check a user can fail is here.
pub fn from_metadata(meta: &Metadata, toolchain: &Toolchain, overrides: Overrides, commit: String) -> Result<Config> {
    let workspace_root = meta.workspace_root.clone().into_std_path_buf();
    let manifest_path = workspace_root.join("Cargo.toml");
    let where_ = format!("[workspace.metadata.dist] in {}", manifest_path.display());
    let raw: RawDist = match meta.workspace_metadata.get("dist") {
        None | Some(serde_json::Value::Null) => RawDist::default(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| UsageError::new(format!("{where_}: {e}")))?,
    };

    let targets = resolve_targets(&raw, &overrides, toolchain, &where_)?;
    let profile = overrides.profile.or(raw.profile).unwrap_or_else(|| "dist".into());
    if profile.is_empty() {
        return Err(UsageError::new(format!("{where_}: `profile` is empty: name a cargo profile such as \"dist\"")));
    }
    check_profile(&workspace_root, &profile)?;
    let bins = resolve_bins(meta, raw.bins, &where_)?;
    let owner = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == bins[0].package)
        .context("the package of the first binary vanished from cargo metadata")?;
    let include = resolve_include(&workspace_root, raw.include, &where_)?;
    for triple in raw.target.keys() {
        if !targets.contains(triple) && !toolchain.known_targets.contains(triple) {
            return Err(UsageError::new(format!(
                "{where_}: [target.{triple}] names an unknown target triple{}",
                triple::closest(triple, &toolchain.known_targets).map(|c| format!(": did you mean `{c}`?")).unwrap_or_default()
            )));
        }
    }
    for (triple, target) in &raw.target {
        if let Some(runner) = &target.runner {
            check_runner_label(runner).map_err(|why| UsageError::new(format!("{where_}: [target.{triple}] runner = \"{runner}\" {why}")))?;
        }
    }
    let linked = linked_packages(meta, &bins);
    let c_code = packages_with_c(&linked);
    let frameworks = sorted_names(linked.iter().copied().filter(|p| FRAMEWORK_CRATES.contains(&p.name.as_str())));
    let out_dir = match overrides.out_dir {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => std::env::current_dir().context("reading the current directory")?.join(dir),
        None => workspace_root.join("dist"),
    };
    Ok(Config {
        manifest_path,
        target_dir: meta.target_directory.clone().into_std_path_buf(),
        out_dir,
        name: owner.name.to_string(),
        version: owner.version.to_string(),
        workspace_root,
        profile,
        targets,
        include,
        bins,
        commit,
        c_code,
        frameworks,
        smoke_args: raw.smoke_args.unwrap_or_else(|| vec!["--version".into()]),
        smoke_expect: raw.smoke_expect,
        target_config: raw.target,
        sccache: raw.sccache.unwrap_or(false),
        source_date_epoch: 0,
    })
}

/// The runner a target's CI job uses: its `runner` key, else ubuntu-latest, since every
/// route works from Linux.
pub fn runner_for<'a>(config: &'a Config, target: &str) -> &'a str {
    config.target_config.get(target).and_then(|t| t.runner.as_deref()).unwrap_or("ubuntu-latest")
}

/// A runner label goes into the generated workflow as YAML text: only the characters
/// GitHub's labels use, so it can never open an expression or a new YAML node.
fn check_runner_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("is empty: name a runner label such as \"ubuntu-latest\"");
    }
    if !label.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err("is not a runner label: use letters, digits, '-', '_' and '.' only, such as \"macos-latest\"");
    }
    Ok(())
}

/// Cargo knows a custom profile only from `[profile.<name>]` in the root manifest or a
/// cargo config file (or CARGO_PROFILE_<NAME>_* variables); without one the build fails
/// after the output directory exists, so it is checked here, before anything runs.
fn check_profile(root: &Path, profile: &str) -> Result<()> {
    if ["dev", "release", "test", "bench"].contains(&profile) {
        return Ok(());
    }
    let env_prefix = format!("CARGO_PROFILE_{}_", profile.to_uppercase().replace('-', "_"));
    if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with(&env_prefix)) {
        return Ok(());
    }
    let mut files = vec![root.join("Cargo.toml")];
    for dir in root.ancestors() {
        files.push(dir.join(".cargo/config.toml"));
        files.push(dir.join(".cargo/config"));
    }
    if let Some(home) = std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"))) {
        files.push(home.join("config.toml"));
    }
    let key = format!("profile.{profile}");
    let defined = files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|l| {
                let l = l.trim_start().trim_start_matches('[').trim_start();
                l.starts_with(&format!("{key}]")) || l.starts_with(&format!("{key}.")) || l.starts_with(&format!("{key} "))
            })
        })
    });
    if defined {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "the profile `{profile}` is not defined in {}: add [profile.{profile}] with inherits = \"release\", or pass --profile release",
            root.join("Cargo.toml").display()
        )))
    }
}

fn resolve_targets(raw: &RawDist, overrides: &Overrides, toolchain: &Toolchain, where_: &str) -> Result<Vec<String>> {
    let (targets, source) = if !overrides.targets.is_empty() {
        (overrides.targets.clone(), "--target")
    } else if let Some(targets) = &raw.targets {
        (targets.clone(), "`targets` in [workspace.metadata.dist]")
    } else {
        (triple::DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect(), "the default matrix")
    };
    if targets.is_empty() {
        return Err(UsageError::new(format!(
            "{where_}: `targets` is empty: list at least one target triple, or remove the key for the default matrix"
        )));
    }
    let mut unique: Vec<String> = Vec::new();
    for target in targets {
        if !toolchain.known_targets.contains(&target) {
            let hint = match triple::closest(&target, &toolchain.known_targets) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "`rustc --print target-list` lists the known ones".into(),
            };
            return Err(UsageError::new(format!("unknown target triple `{target}` (from {source}): {hint}")));
        }
        if !unique.contains(&target) {
            unique.push(target);
        }
    }
    Ok(unique)
}

fn resolve_bins(meta: &Metadata, wanted: Option<Vec<String>>, where_: &str) -> Result<Vec<Bin>> {
    // The orchestrator itself is never shipped.
    let available: Vec<Bin> = meta
        .workspace_packages()
        .into_iter()
        .filter(|p| p.name.as_str() != "xtask")
        .flat_map(|p| {
            p.targets
                .iter()
                .filter(|t| t.is_bin())
                .map(|t| Bin { package: p.name.to_string(), name: t.name.clone() })
        })
        .collect();
    let bins = match wanted {
        None => available.clone(),
        Some(names) if names.is_empty() => {
            return Err(UsageError::new(format!("{where_}: `bins` is empty: name at least one bin target, or remove the key to ship them all")))
        }
        Some(names) => {
            let mut bins = Vec::new();
            for name in names {
                let bin = available.iter().find(|b| b.name == name).cloned().ok_or_else(|| {
                    let names: Vec<&str> = available.iter().map(|b| b.name.as_str()).collect();
                    UsageError::new(format!(
                        "{where_}: `bins` names `{name}`, which is not a bin target of this workspace (bin targets: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ))
                })?;
                bins.push(bin);
            }
            bins
        }
    };
    if bins.is_empty() {
        return Err(UsageError::new(format!(
            "the workspace at {} has no bin target to ship (xtask does not count): add a package with a src/main.rs",
            meta.workspace_root
        )));
    }
    Ok(bins)
}

/// Build-dependencies that mean a package compiles C or C++ for the target.
const C_BUILD_DEPS: [&str; 3] = ["cc", "cmake", "autotools"];

/// Crates that link Apple frameworks, which exist only in a macOS SDK.
const FRAMEWORK_CRATES: [&str; 8] = [
    "core-foundation-sys",
    "security-framework-sys",
    "system-configuration-sys",
    "coreaudio-sys",
    "io-kit-sys",
    "objc-sys",
    "cocoa",
    "metal",
];

/// The packages linked into the shipped binaries: the resolved graph walked from the
/// shipped packages along normal dependencies (build-dependencies run on the host).
fn linked_packages<'a>(meta: &'a Metadata, bins: &[Bin]) -> Vec<&'a cargo_metadata::Package> {
    let Some(resolve) = &meta.resolve else { return Vec::new() };
    let mut seen: Vec<&cargo_metadata::PackageId> = Vec::new();
    let mut stack: Vec<&cargo_metadata::PackageId> = meta
        .workspace_packages()
        .into_iter()
        .filter(|p| bins.iter().any(|b| b.package == p.name.as_str()))
        .map(|p| &p.id)
        .collect();
    while let Some(id) = stack.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(node) = resolve.nodes.iter().find(|n| &n.id == id) {
            let normal = |d: &&cargo_metadata::NodeDep| d.dep_kinds.iter().any(|k| k.kind == cargo_metadata::DependencyKind::Normal);
            stack.extend(node.deps.iter().filter(normal).map(|d| &d.pkg));
        }
    }
    meta.packages.iter().filter(|p| seen.contains(&&p.id)).collect()
}

fn sorted_names<'a>(packages: impl Iterator<Item = &'a cargo_metadata::Package>) -> Vec<String> {
    let mut names: Vec<String> = packages.map(|p| p.name.to_string()).collect();
    names.sort();
    names.dedup();
    names
}

/// Packages that compile native code (the shipped ones included).
fn packages_with_c(linked: &[&cargo_metadata::Package]) -> Vec<String> {
    sorted_names(linked.iter().copied().filter(|p| {
        p.dependencies
            .iter()
            .any(|d| d.kind == cargo_metadata::DependencyKind::Build && C_BUILD_DEPS.contains(&d.name.as_str()))
    }))
}

fn resolve_include(root: &Path, wanted: Option<Vec<PathBuf>>, where_: &str) -> Result<Vec<PathBuf>> {
    match wanted {
        Some(paths) => paths
            .into_iter()
            .map(|p| {
                let full = root.join(&p);
                if full.is_file() {
                    Ok(full)
                } else {
                    Err(UsageError::new(format!(
                        "{where_}: `include` names {}, which is not a file in {}: fix the path or remove it",
                        p.display(),
                        root.display()
                    )))
                }
            })
            .collect(),
        None => {
            // The files a user expects beside a binary: README, licences, changelog.
            let mut found = Vec::new();
            let entries = std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {}", root.display()))?;
                let name = entry.file_name().to_string_lossy().to_uppercase();
                let wanted = ["README", "LICENSE", "LICENCE", "COPYING", "CHANGELOG"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix));
                if wanted && entry.path().is_file() {
                    found.push(entry.path());
                }
            }
            found.sort();
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain() -> Toolchain {
        Toolchain {
            host: "x86_64-unknown-linux-gnu".into(),
            sysroot: PathBuf::from("/nonexistent"),
            known_targets: ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-musl"]
                .iter()
                .chain(triple::DEFAULT_TARGETS.iter())
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// A real workspace on disk, read by the real `cargo metadata`.
    fn workspace(dist: &str) -> (tempfile::TempDir, Metadata) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[workspace]\nmembers = [\"tool\", \"xtask\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\n\n[workspace.metadata.dist]\n{dist}\n"
            ),
        )
        .unwrap();
        for (pkg, version) in [("tool", "1.2.3"), ("xtask", "0.0.0")] {
            std::fs::create_dir_all(root.join(pkg).join("src")).unwrap();
            std::fs::write(
                root.join(pkg).join("Cargo.toml"),
                format!("[package]\nname = \"{pkg}\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
            )
            .unwrap();
            std::fs::write(root.join(pkg).join("src/main.rs"), "fn main() {}\n").unwrap();
        }
        std::fs::write(root.join("README.md"), "hi\n").unwrap();
        std::fs::write(root.join("LICENSE-MIT"), "mit\n").unwrap();
        let meta = metadata(&Runner::default(), Some(&root.join("Cargo.toml"))).unwrap();
        (dir, meta)
    }

    fn load_from(dist: &str, overrides: Overrides) -> Result<Config> {
        let (_dir, meta) = workspace(dist);
        from_metadata(&meta, &toolchain(), overrides, "abc".into())
    }

    fn usage_message(result: Result<Config>) -> String {
        let err = result.unwrap_err();
        assert!(err.is::<UsageError>(), "not a usage error: {err:#}");
        err.to_string()
    }

    #[test]
    fn defaults_ship_every_bin_but_xtask_for_the_seed_matrix() {
        let (dir, meta) = workspace("");
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert_eq!(config.targets, triple::DEFAULT_TARGETS);
        assert_eq!(config.profile, "dist");
        assert_eq!(config.bins, [Bin { package: "tool".into(), name: "tool".into() }]);
        assert_eq!((config.name.as_str(), config.version.as_str()), ("tool", "1.2.3"));
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(config.include, [root.join("LICENSE-MIT"), root.join("README.md")]);
        assert_eq!(config.out_dir, root.join("dist"));
    }

    #[test]
    fn config_keys_are_read_and_flags_win() {
        let dist = "targets = [\"x86_64-unknown-linux-musl\"]\nprofile = \"release\"\ninclude = [\"README.md\"]\nbins = [\"tool\"]";
        let config = load_from(dist, Overrides::default()).unwrap();
        assert_eq!(config.targets, ["x86_64-unknown-linux-musl"]);
        assert_eq!(config.profile, "release");
        assert_eq!(config.include.len(), 1);
        let flags = Overrides {
            targets: vec!["aarch64-unknown-linux-musl".into(), "aarch64-unknown-linux-musl".into()],
            profile: Some("dist".into()),
            out_dir: Some("/tmp/out".into()),
        };
        let config = load_from(dist, flags).unwrap();
        assert_eq!(config.targets, ["aarch64-unknown-linux-musl"], "flags win and duplicates collapse");
        assert_eq!(config.profile, "dist");
        assert_eq!(config.out_dir, PathBuf::from("/tmp/out"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let message = usage_message(load_from("tragets = []", Overrides::default()));
        assert!(message.contains("unknown field `tragets`"), "{message}");
        assert!(message.contains("[workspace.metadata.dist]"), "{message}");
    }

    #[test]
    fn a_wrong_type_is_named() {
        let message = usage_message(load_from("targets = \"x86_64-unknown-linux-musl\"", Overrides::default()));
        assert!(message.contains("expected a sequence"), "{message}");
    }

    #[test]
    fn a_typo_in_a_triple_suggests_the_closest() {
        let flags = Overrides { targets: vec!["x86_64-unknown-linux-mussl".into()], ..Overrides::default() };
        let message = usage_message(load_from("", flags));
        assert!(message.contains("did you mean `x86_64-unknown-linux-musl`?"), "{message}");
    }

    #[test]
    fn an_undefined_profile_is_refused_before_building() {
        let flags = Overrides { profile: Some("shipping".into()), ..Overrides::default() };
        let message = usage_message(load_from("", flags));
        assert!(message.contains("the profile `shipping` is not defined"), "{message}");
        let flags = Overrides { profile: Some("release".into()), ..Overrides::default() };
        assert!(load_from("", flags).is_ok(), "built-in profiles need no definition");
    }

    #[test]
    fn an_empty_matrix_is_refused() {
        let message = usage_message(load_from("targets = []", Overrides::default()));
        assert!(message.contains("`targets` is empty"), "{message}");
    }

    #[test]
    fn a_missing_bin_lists_the_real_ones() {
        let message = usage_message(load_from("bins = [\"nope\"]", Overrides::default()));
        assert!(message.contains("`nope`") && message.contains("bin targets: tool"), "{message}");
    }

    #[test]
    fn a_missing_include_file_is_named() {
        let message = usage_message(load_from("include = [\"CHANGES.md\"]", Overrides::default()));
        assert!(message.contains("CHANGES.md"), "{message}");
    }

    #[test]
    fn c_code_is_found_in_the_dependency_graph() {
        let (_dir, meta) = workspace("");
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert!(config.c_code.is_empty(), "a pure fixture has no C: {:?}", config.c_code);
        // This repository's app compiles csrc/crc32.c with the cc crate.
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("Cargo.toml");
        let meta = metadata(&Runner::default(), Some(&here)).unwrap();
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert_eq!(config.c_code, ["app"]);
    }

    #[test]
    fn a_route_override_is_read_and_checked() {
        let config = load_from("[workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"zig\"", Overrides::default()).unwrap();
        assert_eq!(config.target_config["aarch64-unknown-linux-musl"].route, Some(Route::Zig));
        let message = usage_message(load_from("[workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"gcc\"", Overrides::default()));
        assert!(message.contains("unknown variant `gcc`"), "{message}");
    }

    #[test]
    fn runners_default_to_ubuntu_and_labels_are_checked() {
        let config = load_from("sccache = true\n[workspace.metadata.dist.target.aarch64-apple-darwin]\nrunner = \"macos-14\"", Overrides::default()).unwrap();
        assert!(config.sccache);
        assert_eq!(runner_for(&config, "aarch64-apple-darwin"), "macos-14");
        assert_eq!(runner_for(&config, "x86_64-unknown-linux-musl"), "ubuntu-latest");
        assert!(!load_from("", Overrides::default()).unwrap().sccache);
        let message = usage_message(load_from("[workspace.metadata.dist.target.aarch64-apple-darwin]\nrunner = \"${{ github.head_ref }}\"", Overrides::default()));
        assert!(message.contains("is not a runner label"), "{message}");
    }

    #[test]
    fn a_manifest_path_that_is_not_a_file_is_a_usage_error() {
        let err = metadata(&Runner::default(), Some(Path::new("/nonexistent/Cargo.toml"))).unwrap_err();
        assert!(err.is::<UsageError>());
    }
}
