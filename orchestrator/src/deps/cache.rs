//! Per-target graphs (`cargo metadata --filter-platform`) kept between runs.
//!
//! Resolving one target's graph takes cargo a quarter of a second (it asks rustc about the
//! target), and a five-target run needs five: most of a no-op `dist`'s own time. The answer
//! depends only on what is hashed into the key here, so a run whose inputs are unchanged
//! reads the answer back instead:
//! - the whole workspace's `cargo metadata` (every package's manifest as cargo read it, the
//!   lock's resolve across all platforms), which every run reads anyway;
//! - the cargo command (its RUSTUP_TOOLCHAIN), the toolchain's identity (version, sysroot,
//!   the cargo binary's size and time: an updated `stable` differs);
//! - every cargo config and toolchain file cargo would read from the workspace up, and
//!   CARGO_HOME's config (rustflags' `--cfg` change which target-specific dependencies apply);
//! - the CARGO_* and RUST* environment (the jobserver's CARGO_MAKEFLAGS aside).
//!
//! A missing, unreadable or corrupt entry is resolved again, never an error.
//!
//! Beside them, [`ScanCache`]: what [`super::scan()`] read from each package whose files
//! cannot change (a registry or git package at its locked version), the other half of a
//! run's start (a real project's graph holds hundreds of packages).

use super::scan::Files;
use crate::apple::LinkName;
use crate::package::hex;
use crate::runner::Cmd;
use cargo_metadata::Package;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bumped when what is stored changes meaning.
const FORMAT: &str = "graph-cache-1";

/// Entries kept: four runs' worth of a ten-target matrix.
const KEEP: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCache {
    dir: PathBuf,
    /// SHA-256 of everything above, hex: the first half of every entry's name.
    inputs: String,
}

impl GraphCache {
    /// `dir`: where entries live (the target directory's dist-tools/graphs);
    /// `workspace_json`: the whole workspace's `cargo metadata` output; `cargo`: the command
    /// the graphs are resolved with; `toolchain`: what identifies the toolchain behind it.
    pub fn new(dir: PathBuf, workspace_json: &str, cargo: &Cmd, manifest: &Path, toolchain: &str) -> GraphCache {
        let mut hasher = Sha256::new();
        let mut part = |label: &str, bytes: &[u8]| {
            hasher.update(label.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part("format", FORMAT.as_bytes());
        part("workspace", workspace_json.as_bytes());
        part("cargo", cargo.display().as_bytes());
        part("toolchain", toolchain.as_bytes());
        for file in read_by_cargo(manifest) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            part(&file.display().to_string(), &bytes);
        }
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| (k.starts_with("CARGO_") || k.starts_with("RUST")) && k != "CARGO_MAKEFLAGS")
            .collect();
        env.sort();
        for (key, value) in env {
            part(&key, value.as_bytes());
        }
        GraphCache {
            dir,
            inputs: hex(&hasher.finalize()),
        }
    }

    fn entry(&self, target: &str, feature_flags: &[String]) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(target.as_bytes());
        for flag in feature_flags {
            hasher.update([0]);
            hasher.update(flag.as_bytes());
        }
        let which = hex(&hasher.finalize());
        self.dir.join(format!("{}-{}.json", &self.inputs[..32], &which[..32]))
    }

    /// The stored graph of `target` with these feature flags, if these inputs resolved it.
    pub fn get(&self, target: &str, feature_flags: &[String]) -> Option<String> {
        std::fs::read_to_string(self.entry(target, feature_flags)).ok()
    }

    /// Stores a graph (best effort: a cache that cannot be written only costs time), and
    /// keeps only the newest [`KEEP`] entries: each edit of a manifest or the lock makes new
    /// ones, and `dist` and `verify` (another cargo command) keep theirs side by side.
    pub fn put(&self, target: &str, feature_flags: &[String], json: &str) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let path = self.entry(target, feature_flags);
        if write_atomic(&path, json.as_bytes()).is_err() {
            return;
        }
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (_, stale) in entries.iter().skip(KEEP) {
            let _ = std::fs::remove_file(stale);
        }
    }
}

impl GraphCache {
    /// The scans kept beside the graphs (one file per target directory).
    pub fn scans(&self) -> ScanCache {
        let path = self.dir.with_file_name("scans.json");
        let tool = tool_identity();
        let stored = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<StoredScans>(&bytes).ok())
            .filter(|s| s.tool == tool);
        ScanCache {
            path,
            entries: stored.map(|s| s.packages).unwrap_or_default(),
            tool,
            changed: false,
        }
    }
}

/// Scans of packages whose files cannot change, by package id, valid for one build of this
/// tool (what a scan finds, and the facts it is read against, are part of the tool).
#[derive(Debug)]
pub struct ScanCache {
    path: PathBuf,
    entries: BTreeMap<String, StoredFiles>,
    tool: String,
    changed: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredScans {
    tool: String,
    packages: BTreeMap<String, StoredFiles>,
}

/// [`Files`] with the Apple imports as a list: JSON's keys are strings only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFiles {
    files: Files,
    apple_imports: Vec<(LinkName, BTreeSet<String>)>,
}

/// Most packages a stored scan file keeps: far above any real graph, a bound on the file.
const KEEP_SCANS: usize = 5000;

impl ScanCache {
    /// A package's files: its stored scan when it has one, else [`super::scan()`] (stored
    /// when the package comes from a registry or a git revision).
    pub fn scan(&mut self, pkg: &Package) -> anyhow::Result<Files> {
        let immutable = pkg.source.as_ref().is_some_and(|s| {
            s.repr.starts_with("registry+") || s.repr.starts_with("sparse+") || s.repr.starts_with("git+")
        });
        let key = pkg.id.repr.clone();
        if immutable {
            if let Some(stored) = self.entries.get(&key) {
                let mut files = stored.files.clone();
                files.apple_imports = stored.apple_imports.iter().cloned().collect();
                return Ok(files);
            }
        }
        let files = super::scan(pkg)?;
        if immutable && self.entries.len() < KEEP_SCANS {
            let apple_imports = files
                .apple_imports
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.entries.insert(
                key,
                StoredFiles {
                    files: files.clone(),
                    apple_imports,
                },
            );
            self.changed = true;
        }
        Ok(files)
    }

    /// Writes the scans back when this run added any (best effort, as the graphs).
    pub fn save(self) {
        if !self.changed || self.path.parent().is_none_or(|d| std::fs::create_dir_all(d).is_err()) {
            return;
        }
        let stored = StoredScans {
            tool: self.tool,
            packages: self.entries,
        };
        let Ok(json) = serde_json::to_vec(&stored) else {
            return;
        };
        let _ = write_atomic(&self.path, &json);
    }
}

/// The package stage's temp-file-and-rename writer: a killed run leaves no half entry.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    crate::package::write_atomic(path, |w| Ok(w.write_all(bytes)?))
}

/// This build of the tool: its executable's size and modification time.
fn tool_identity() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{} {} {:?}", env!("CARGO_PKG_VERSION"), m.len(), m.modified().ok()))
        .unwrap_or_default()
}

/// The config and toolchain files cargo reads for a workspace at `manifest`: `.cargo/config`
/// and `.cargo/config.toml` in its directory and every one above, CARGO_HOME's (default
/// ~/.cargo), and the rust-toolchain files on the same path (rustup picks the toolchain).
fn read_by_cargo(manifest: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let start = manifest.parent().and_then(|d| std::path::absolute(d).ok());
    for dir in start.iter().flat_map(|d| d.ancestors()) {
        for name in [
            ".cargo/config",
            ".cargo/config.toml",
            "rust-toolchain",
            "rust-toolchain.toml",
        ] {
            files.push(dir.join(name));
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = home {
        files.push(home.join("config"));
        files.push(home.join("config.toml"));
    }
    files.retain(|f| f.is_file());
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_found_only_for_the_same_inputs_target_and_features() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[workspace]\n").unwrap();
        let cache_dir = dir.path().join("graphs");
        let cargo = Cmd::new("cargo").env("RUSTUP_TOOLCHAIN", "1.95.0");
        let cache = GraphCache::new(cache_dir.clone(), "{\"packages\":[]}", &cargo, &manifest, "1.95.0");
        let flags = vec!["--features".to_string(), "x".to_string()];
        assert_eq!(cache.get("x86_64-unknown-linux-musl", &flags), None);
        cache.put("x86_64-unknown-linux-musl", &flags, "graph");
        assert_eq!(cache.get("x86_64-unknown-linux-musl", &flags).as_deref(), Some("graph"));
        assert_eq!(cache.get("x86_64-unknown-linux-musl", &[]), None);
        assert_eq!(cache.get("aarch64-unknown-linux-musl", &flags), None);

        // Another workspace graph, cargo command, toolchain or cargo config: another key.
        let other = |json: &str, cargo: &Cmd, toolchain: &str| {
            GraphCache::new(cache_dir.clone(), json, cargo, &manifest, toolchain)
        };
        for changed in [
            other("{\"packages\":[1]}", &cargo, "1.95.0"),
            other("{\"packages\":[]}", &Cmd::new("cargo"), "1.95.0"),
            other("{\"packages\":[]}", &cargo, "1.96.0"),
        ] {
            assert_ne!(changed, cache);
            assert_eq!(changed.get("x86_64-unknown-linux-musl", &flags), None);
        }
        std::fs::create_dir_all(dir.path().join(".cargo")).unwrap();
        std::fs::write(
            dir.path().join(".cargo/config.toml"),
            "[build]\nrustflags = [\"--cfg\", \"x\"]\n",
        )
        .unwrap();
        let configured = other("{\"packages\":[]}", &cargo, "1.95.0");
        assert_eq!(configured.get("x86_64-unknown-linux-musl", &flags), None);

        // Other inputs' entries stay, up to the newest KEEP.
        configured.put("x86_64-unknown-linux-musl", &flags, "graph 2");
        assert_eq!(cache.get("x86_64-unknown-linux-musl", &flags).as_deref(), Some("graph"));
        for n in 0..KEEP {
            configured.put(&format!("target-{n}"), &[], "graph");
        }
        // (File times are coarse, so which of these equally new entries went is not asked.)
        assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), KEEP);
    }
}
