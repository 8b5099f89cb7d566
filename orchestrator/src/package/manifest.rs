//! The schema of `dist/manifest.json`: what was released, from which commit, and what the
//! verifier found in each binary. Field names follow cargo-dist's dist-manifest.json where
//! the meaning is the same (`dist_version`, `artifacts`, `name`, `kind`, `target_triples`,
//! `assets`, `checksums`); docs/MANIFEST.md documents every field.

use crate::inspect::Inspection;
use crate::model::{ArchiveFormat, ArtifactKind, AssetKind, Features, Route, SmokeStatus, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when a field changes meaning or disappears.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    /// The version of the xtask that wrote this manifest.
    pub dist_version: String,
    pub app_name: String,
    pub app_version: String,
    pub commit: String,
    pub source_date_epoch: u64,
    pub profile: String,
    /// Exactly the archives this run produced; nothing else in the directory is covered.
    pub artifacts: Vec<Artifact>,
    /// The targets of the run that have no archive, each with why; absent when every
    /// target succeeded (so a successful run's manifest keeps its bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failed>,
    /// The install scripts (install.sh, install.ps1) written for these archives; absent in
    /// a run without archives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installers: Vec<IndexFile>,
    /// Who built it and how: every tool and version, the profile's settings, the source's
    /// state; absent in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A file of the release beside the archives (an SBOM, an install script): its name in the
/// output directory and its SHA-256, which SHA256SUMS lists too.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexFile {
    pub name: String,
    pub sha256: String,
}

impl IndexFile {
    /// The file `name` in `dir`, hashed now.
    pub fn hash(dir: &std::path::Path, name: &str) -> anyhow::Result<IndexFile> {
        Ok(IndexFile {
            name: name.to_string(),
            sha256: crate::package::sha256_file(&dir.join(name))?,
        })
    }
}

/// Enough to build the same bytes again (docs/MANIFEST.md, `cargo xtask rebuild-check`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// The toolchain's name (e.g. "1.95.0") and why it was chosen.
    pub toolchain: String,
    /// `rustc -vV`, as the toolchain printed it.
    pub rustc: String,
    /// `cargo -V`.
    pub cargo: String,
    /// Every other tool the run used, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolVersion>,
    /// What the Apple targets linked against (zig's bundled libSystem stubs, or an SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_sdk: Option<String>,
    /// How the binaries got their dependency list (`.dep-v0`); absent when they have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_list: Option<String>,
    /// Uncommitted changes to tracked files when it was built (`git status`): such a build
    /// cannot be reproduced from `commit`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
    /// The profile's settings that shape the code, as the build used them.
    pub profile_settings: BTreeMap<String, String>,
}

/// One tool and the version it reports (or the pinned version, for those that report none).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolVersion {
    pub tool: String,
    pub version: String,
    /// Where it came from: "PyPI ziglang", "crates.io cargo-auditable", "PATH".
    pub origin: String,
}

/// How one archive's binaries were built, beyond the top level's tools and profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BuildRecord {
    /// The cargo command's arguments after the program, machine paths written as
    /// `$WORKSPACE`, `$TARGET_DIR`, `$TOOLS`, `$CARGO_HOME`, `$SYSROOT`.
    pub cargo_args: Vec<String>,
    /// The environment the plan set (PATH left out), paths written the same way.
    pub env: BTreeMap<String, String>,
    /// The variables the plan removed (RUSTFLAGS would replace the per-target flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_removed: Vec<String>,
}

/// A target of the run that left no archive.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failed {
    pub target: Target,
    pub status: FailedStatus,
    /// The error, first line only (a build's log tail is in `log`).
    pub reason: String,
    /// The build log of this run that shows the cause, when the build itself failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FailedStatus {
    /// It was built (or tried) and failed: the build, verification, smoke run or packing.
    Failed,
    /// An earlier target failed and the run stopped before this one (no --keep-going).
    NotStarted,
}

impl std::fmt::Display for FailedStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailedStatus::Failed => "failed",
            FailedStatus::NotStarted => "not started",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    /// The archive's file name in the output directory.
    pub name: String,
    /// Always "executable-zip", cargo-dist's kind for an archive of binaries (of any format).
    pub kind: ArtifactKind,
    pub target_triples: Vec<Target>,
    pub format: ArchiveFormat,
    pub route: Route,
    /// Apple targets: where the linker found the frameworks and system libraries ("stubs
    /// generated from …" or "SDK at …", plan::AppleLink::note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_link: Option<String>,
    /// Apple targets: whether the stubs or an SDK were linked, and the library the crates'
    /// `#[link]` declares for each symbol the binaries import (and the crates declaring
    /// it), which verify holds the binds to where the facts do not know the symbol;
    /// absent in older manifests (verify then proves binds by the facts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_imports: Option<crate::apple::AppleImports>,
    /// The cargo features the binaries were built with; absent when cargo's defaults were
    /// (so a manifest without features keeps its bytes).
    #[serde(default, skip_serializing_if = "Features::is_empty")]
    pub features: Features,
    pub size: u64,
    /// Algorithm name to lower-case hex digest; "sha256" always present.
    pub checksums: BTreeMap<String, String>,
    /// The smoke run: "passed (runs natively)", "passed (runs under qemu-aarch64)", or
    /// "not run (...)" with the reason — never "passed" for a binary nothing ran.
    pub smoke: SmokeStatus,
    /// SHA-256 over the packing scheme, format, top directory, mtime and every entry's
    /// name, mode and content hash: a later run with the same value reuses the archive.
    pub input_sha256: String,
    pub assets: Vec<Asset>,
    /// The CycloneDX SBOM beside the archive (`<archive stem>.cdx.json`): the Rust packages
    /// and the C libraries in its binaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom: Option<IndexFile>,
    /// The cargo run that built it (provenance); absent in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Asset {
    pub name: String,
    /// Path inside the archive.
    pub path: String,
    /// "executable", "readme", "license", "changelog", "shell-completions", "man-page" or "misc".
    pub kind: AssetKind,
    pub size: u64,
    pub sha256: String,
    /// The verifier's findings, for executables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
}

/// How an archive on disk compares with its manifest entry.
#[derive(Debug, PartialEq, Eq)]
pub enum FileCheck {
    /// Same SHA-256 (and size) as recorded.
    Matches,
    /// The file could not be read (usually: it is missing).
    Unreadable(String),
    /// The manifest records no sha256 for it.
    Unrecorded,
    /// Its SHA-256 is not the recorded one.
    Differs { actual: String, recorded: String },
}

impl Artifact {
    /// The recorded SHA-256, if any.
    pub fn sha256(&self) -> Option<&str> {
        self.checksums.get("sha256").map(String::as_str)
    }

    /// Hashes the file at `path` and compares it with what this entry records: the one
    /// checksum check that dist's reuse, `verify` and `merge` all make.
    pub fn check_file(&self, path: &std::path::Path) -> FileCheck {
        let Some(recorded) = self.sha256() else {
            return FileCheck::Unrecorded;
        };
        match crate::package::sha256_file(path) {
            Err(e) => FileCheck::Unreadable(format!("{e:#}")),
            Ok(actual) if actual == recorded => FileCheck::Matches,
            Ok(actual) => FileCheck::Differs {
                actual,
                recorded: recorded.to_string(),
            },
        }
    }
}
