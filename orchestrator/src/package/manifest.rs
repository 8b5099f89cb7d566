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
