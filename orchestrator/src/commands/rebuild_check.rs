//! `cargo xtask rebuild-check`: rebuilds an output directory from a clean checkout of the
//! commit its manifest names, in a temporary directory, and compares every archive byte for
//! byte. The first difference is named down to the archive entry and the byte offset.

use crate::commands::dist::{dist, DistOptions};
use crate::config::Overrides;
use crate::context::Context;
use crate::flags::{self, Global};
use crate::package::manifest::Manifest;
use crate::package::read;
use crate::runner::{path_arg, Cmd, Runner};
use crate::UsageError;
use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One archive of the manifest, compared with its rebuild.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub archive: String,
    /// None: byte for byte the same.
    pub difference: Option<String>,
}

/// The outcome of a rebuild check.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildCheck {
    pub commit: String,
    /// The original run recorded uncommitted changes: its archives need not follow from `commit`.
    pub dirty: bool,
    pub archives: Vec<Comparison>,
}

impl RebuildCheck {
    pub fn equal(&self) -> bool {
        self.archives.iter().all(|c| c.difference.is_none())
    }
}

impl flags::RebuildCheck {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let check = rebuild_check(&global.runner(), global.manifest_path.as_deref(), self.dist.as_deref())?;
        if global.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&check).expect("the check serialises")
            );
        } else {
            if check.dirty {
                println!(
                    "note: the manifest records uncommitted changes (dirty): its archives were not built from {} alone",
                    check.commit
                );
            }
            for c in &check.archives {
                match &c.difference {
                    None => println!("equal    {}", c.archive),
                    Some(why) => println!("DIFFERS  {}: {why}", c.archive),
                }
            }
        }
        let differ = check.archives.iter().filter(|c| c.difference.is_some()).count();
        if differ > 0 {
            bail!(
                "{differ} of {} archive(s) differ from a rebuild of commit {}",
                check.archives.len(),
                check.commit
            );
        }
        Ok(())
    }
}

/// Reads `dist_dir`/manifest.json (default: dist/ of the workspace), checks out its commit
/// into a temporary directory, runs dist there for the manifest's targets and profile, and
/// compares each archive with the rebuilt one.
pub fn rebuild_check(runner: &Runner, manifest_path: Option<&Path>, dist_dir: Option<&Path>) -> Result<RebuildCheck> {
    let manifest_path = crate::context::absolute(manifest_path)?;
    let meta = crate::config::metadata(runner, manifest_path.as_deref())?;
    let root = meta.workspace_root.into_std_path_buf();
    let dist_dir = match dist_dir {
        Some(dir) => std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?,
        None => root.join("dist"),
    };
    let path = dist_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UsageError::new(format!(
            "cannot read {}: {e}: run `cargo xtask dist` first, or pass --dist DIR",
            path.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| UsageError::new(format!("{} is not a manifest this version reads: {e}", path.display())))?;
    if manifest.commit == "unknown" || manifest.commit.is_empty() {
        return Err(UsageError::new(format!(
            "{} names no commit: only a dist run from a git checkout can be rebuilt",
            path.display()
        )));
    }
    if manifest.artifacts.is_empty() {
        return Err(UsageError::new(format!(
            "{} lists no archive to rebuild",
            path.display()
        )));
    }
    // The repository may hold the workspace in a subdirectory: clone the whole of it.
    let top = runner
        .query(&Cmd::new("git").args(["rev-parse", "--show-toplevel"]).cwd(&root))
        .map_err(|e| UsageError::new(format!("{} is not in a git repository: {e:#}", root.display())))?;
    let top = PathBuf::from(top.trim());
    // Removed on every way out.
    let temp = TempDir::new()?;
    let checkout = temp.0.join("src");
    let git = |args: &[&str]| Cmd::new("git").args(args.iter().copied());
    runner
        .run_to_stderr(
            &git(&["clone", "--quiet", "--no-checkout"])
                .arg(path_arg(&top)?)
                .arg(path_arg(&checkout)?),
        )
        .with_context(|| format!("cloning {} into {}", top.display(), checkout.display()))?;
    runner
        .run_to_stderr(&git(&["checkout", "--quiet", "--detach", &manifest.commit]).cwd(&checkout))
        .with_context(|| {
            format!(
                "checking out {} in a clone of {}: is that commit in this repository?",
                manifest.commit,
                root.display()
            )
        })?;
    // The workspace's Cargo.toml at the same place inside the checkout (git's top level
    // is canonical, so the manifest's path is made canonical too).
    let manifest_file = manifest_path.unwrap_or_else(|| root.join("Cargo.toml"));
    let manifest_file = manifest_file.canonicalize().unwrap_or(manifest_file);
    let relative = manifest_file
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside the repository {}",
                manifest_file.display(),
                top.display()
            )
        })?;
    let out = temp.0.join("dist");
    let first = &manifest.artifacts[0].features;
    let same_features = manifest.artifacts.iter().all(|a| &a.features == first);
    let overrides = Overrides {
        targets: manifest
            .artifacts
            .iter()
            .flat_map(|a| a.target_triples.iter().map(|t| t.to_string()))
            .collect(),
        profile: Some(manifest.profile.clone()),
        out_dir: Some(out.clone()),
        // Features given on the original command line apply to every target alike.
        features: if same_features {
            first.enabled.clone()
        } else {
            Vec::new()
        },
        all_features: same_features && first.all_features,
        no_default_features: same_features && first.no_default_features,
        // The size mode and allocator are the commit's config, read again in the clone.
        ..Overrides::default()
    };
    let ctx = Context::load(*runner, Some(&checkout.join(relative)), overrides)?;
    let run = dist(
        &ctx,
        &DistOptions {
            keep_going: true,
            accept_msvc_license: ctx.config.accept_msvc_license,
            ..DistOptions::default()
        },
    )?;
    let archives = manifest
        .artifacts
        .iter()
        .map(|a| Comparison {
            archive: a.name.clone(),
            difference: match run.manifest.artifacts.iter().any(|r| r.name == a.name) {
                true => first_difference(&dist_dir.join(&a.name), &out.join(&a.name)),
                false => Some("the rebuild made no such archive (its target failed; see above)".into()),
            },
        })
        .collect();
    Ok(RebuildCheck {
        commit: manifest.commit.clone(),
        dirty: manifest.provenance.as_ref().is_some_and(|p| p.dirty),
        archives,
    })
}

/// Where two archives first differ: the entry and the byte offset inside it, else (same
/// entries, other container bytes) the offset in the archive file. None when equal.
pub fn first_difference(original: &Path, rebuilt: &Path) -> Option<String> {
    let (a, b) = match (std::fs::read(original), std::fs::read(rebuilt)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) => return Some(format!("cannot read {}: {e}", original.display())),
        (_, Err(e)) => return Some(format!("cannot read {}: {e}", rebuilt.display())),
    };
    if a == b {
        return None;
    }
    let name = original.file_name().unwrap_or_default().to_string_lossy();
    let entries = |path: &Path| -> Result<Vec<(String, Vec<u8>)>> {
        let format = crate::model::ArchiveFormat::from_name(&name).context("not an archive name this tool writes")?;
        let mut entries = Vec::new();
        read::read(path, format, |entry, bytes| {
            entries.push((entry.to_string(), bytes.to_vec()))
        })?;
        Ok(entries)
    };
    let container = || {
        format!(
            "archive bytes differ at offset {} ({} vs {} bytes)",
            offset(&a, &b),
            a.len(),
            b.len()
        )
    };
    let (ours, theirs) = match (entries(original), entries(rebuilt)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) => return Some(format!("{}; the original does not read back: {e:#}", container())),
        (_, Err(e)) => return Some(format!("{}; the rebuild does not read back: {e:#}", container())),
    };
    for i in 0..ours.len().max(theirs.len()) {
        match (ours.get(i), theirs.get(i)) {
            (Some((p, _)), Some((q, _))) if p != q => {
                return Some(format!("entry {i} is {p} in the original, {q} in the rebuild"))
            }
            (Some((p, x)), Some((_, y))) if x != y => {
                return Some(format!(
                    "entry {p} differs at byte {} ({} vs {} bytes)",
                    offset(x, y),
                    x.len(),
                    y.len()
                ))
            }
            (Some((p, _)), None) => return Some(format!("entry {p} is missing from the rebuild")),
            (None, Some((q, _))) => return Some(format!("entry {q} is only in the rebuild")),
            _ => {}
        }
    }
    Some(format!("{}; every entry is the same (names and contents)", container()))
}

/// The first offset at which two byte strings differ (the shorter one's length if one is
/// a prefix of the other).
fn offset(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// A directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("rebuild-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
