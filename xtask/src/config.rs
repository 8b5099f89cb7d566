//! Stage 1, config: reads `[workspace.metadata.dist]` through `cargo metadata`, applies the
//! command-line overrides and checks everything a user can get wrong before anything runs.

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
    /// `[workspace.metadata.dist.target.<triple>]`.
    target: Option<BTreeMap<String, TargetConfig>>,
}

/// Settings for one target triple, `[workspace.metadata.dist.target.<triple>]`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetConfig {
    /// Highest GLIBC_x.y a -gnu binary may require (default 2.17, as manylinux2014).
    pub glibc_max: Option<String>,
    /// Largest binary size in bytes.
    pub max_size: Option<u64>,
    /// Shared libraries a linux binary may need beyond glibc's own (`*` ends a prefix).
    pub allow_libs: Option<Vec<String>>,
    /// DLLs a Windows binary may import beyond the system's (`*` ends a prefix).
    pub allow_dlls: Option<Vec<String>>,
    /// Dylib paths a macOS binary may load beyond /usr/lib and /System (`*` ends a prefix).
    pub allow_dylibs: Option<Vec<String>>,
}

/// What `verify` needs from the config, readable without a toolchain or bin targets.
#[derive(Debug, Default, Clone)]
pub struct VerifySettings {
    pub profile: String,
    pub per_target: BTreeMap<String, TargetConfig>,
}

/// Reads the profile and the per-target settings, checking every value a user can get wrong.
pub fn verify_settings(meta: &Metadata) -> Result<VerifySettings> {
    let where_ = format!("[workspace.metadata.dist] in {}", meta.workspace_root.join("Cargo.toml"));
    let raw = raw_dist(meta, &where_)?;
    let per_target = raw.target.unwrap_or_default();
    for (triple, target) in &per_target {
        if let Some(max) = &target.glibc_max {
            if crate::inspect::version(max).is_none() {
                return Err(UsageError::new(format!(
                    "{where_}: target.{triple}.glibc-max is `{max}`: write a glibc version such as \"2.17\""
                )));
            }
        }
    }
    Ok(VerifySettings { profile: raw.profile.unwrap_or_else(|| "dist".into()), per_target })
}

fn raw_dist(meta: &Metadata, where_: &str) -> Result<RawDist> {
    match meta.workspace_metadata.get("dist") {
        None | Some(serde_json::Value::Null) => Ok(RawDist::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| UsageError::new(format!("{where_}: {e}"))),
    }
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
    /// The one timestamp every archive entry carries: SOURCE_DATE_EPOCH, else the commit time.
    pub source_date_epoch: u64,
    /// `[workspace.metadata.dist.target.<triple>]`, by triple.
    pub per_target: BTreeMap<String, TargetConfig>,
}

/// Runs `cargo metadata` for the workspace at `manifest_path` (or the current directory).
pub fn metadata(runner: &Runner, manifest_path: Option<&Path>) -> Result<Metadata> {
    let mut cmd = Cmd::new("cargo").args(["metadata", "--format-version", "1", "--no-deps"]);
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
    let raw = raw_dist(meta, &where_)?;
    let per_target = verify_settings(meta)?.per_target;

    let targets = resolve_targets(&raw, &overrides, toolchain, &where_)?;
    let profile = overrides.profile.or(raw.profile).unwrap_or_else(|| "dist".into());
    if profile.is_empty() {
        return Err(UsageError::new(format!("{where_}: `profile` is empty: name a cargo profile such as \"dist\"")));
    }
    let bins = resolve_bins(meta, raw.bins, &where_)?;
    let owner = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == bins[0].package)
        .context("the package of the first binary vanished from cargo metadata")?;
    let include = resolve_include(&workspace_root, raw.include, &where_)?;
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
        source_date_epoch: 0,
        per_target,
    })
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
                "[workspace]\nmembers = [\"tool\", \"xtask\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n{dist}\n"
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
    fn a_manifest_path_that_is_not_a_file_is_a_usage_error() {
        let err = metadata(&Runner::default(), Some(Path::new("/nonexistent/Cargo.toml"))).unwrap_err();
        assert!(err.is::<UsageError>());
    }
}
