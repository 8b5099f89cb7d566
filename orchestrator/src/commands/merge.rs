//! `cargo xtask merge PART... --out DIR`: the last step of a split build. Each CI job wrote
//! its targets' archives and a partial manifest with `dist --partial`; this combines them
//! into the one output directory a single-machine `dist` would have written, byte for byte.
//!
//! A part is never trusted: every archive is hashed again and compared with its part's
//! manifest, the parts must agree with each other and with this checkout (app, version,
//! commit, profile), and together they must cover the configured targets exactly once.

use crate::commands::dist;
use crate::config::Overrides;
use crate::context::Context;
use crate::flags::{self, Global};
use crate::model::Target;
use crate::package::manifest::{self, Artifact, FileCheck, Manifest};
use crate::{package, report, UsageError};
use anyhow::{bail, Context as _, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the parts must match: this checkout's config.
pub struct Expected {
    pub name: String,
    pub version: String,
    pub commit: String,
    pub profile: String,
    /// In the config's order, which is the order of the merged manifest's artifacts.
    pub targets: Vec<Target>,
}

/// One part directory and the manifest it holds.
#[derive(Debug)]
pub struct Part {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl flags::Merge {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let overrides = Overrides {
            targets: self.targets,
            profile: None,
            out_dir: self.out,
            ..Overrides::default()
        };
        let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), overrides)?;
        let manifest = merge(&ctx, &self.parts)?;
        report::print_dist(&manifest, global.json);
        Ok(())
    }
}

/// Combines the part directories that `dist --partial` wrote into `ctx`'s output
/// directory, re-checking every archive, and returns the merged manifest.
pub fn merge(ctx: &Context, part_dirs: &[PathBuf]) -> Result<Manifest> {
    let config = &ctx.config;
    let expected = Expected {
        name: config.name.clone(),
        version: config.version.clone(),
        commit: config.commit.clone(),
        profile: config.profile.clone(),
        targets: config.targets.clone(),
    };
    let parts = part_dirs
        .iter()
        .map(|dir| read_part(dir))
        .collect::<Result<Vec<Part>>>()?;
    refuse_out_in_parts(&config.out_dir, &parts)?;
    let mut manifest = combine(&parts, &expected)?;
    let signing_key = crate::sign::key_from_env(config.minisign_public_key.as_deref())?;
    dist::prepare_out_dir(&config.out_dir)?;
    // The same lock as `dist`: a merge never interleaves with a run writing the same place.
    let _lock = dist::lock_out_dir(&config.out_dir, false, &crate::ui::Progress::new())?;
    for (part, artifact) in sources(&parts, &manifest) {
        copy_verified(&part.dir, &config.out_dir, artifact)?;
    }
    dist::write_release(&config.out_dir, config, &mut manifest, signing_key.as_ref(), &|m| {
        eprintln!("{m}")
    })?;
    Ok(manifest)
}

pub fn read_part(dir: &Path) -> Result<Part> {
    if !dir.is_dir() {
        return Err(UsageError::new(format!(
            "the part {} is not a directory: pass the directories that `cargo xtask dist --partial DIR` wrote",
            dir.display()
        )));
    }
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        UsageError::new(format!(
            "the part {} has no readable manifest.json ({e}): is it a `dist --partial` directory?",
            dir.display()
        ))
    })?;
    let manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a manifest this xtask can read: rebuild the part with this commit's `cargo xtask dist --partial`", path.display()))?;
    Ok(Part {
        dir: dir.to_path_buf(),
        manifest,
    })
}

/// Merging into one of the parts would overwrite the files being checked.
fn refuse_out_in_parts(out: &Path, parts: &[Part]) -> Result<()> {
    let Ok(out) = out.canonicalize() else { return Ok(()) };
    for part in parts {
        if part.dir.canonicalize().is_ok_and(|p| p == out) {
            return Err(UsageError::new(format!(
                "--out {} is one of the parts: merge into another directory",
                out.display()
            )));
        }
    }
    Ok(())
}

/// The manifest fields that every part must share, by name.
fn header(m: &Manifest) -> [(&'static str, String); 7] {
    [
        ("format_version", m.format_version.to_string()),
        ("dist_version", m.dist_version.clone()),
        ("app_name", m.app_name.clone()),
        ("app_version", m.app_version.clone()),
        ("commit", m.commit.clone()),
        ("source_date_epoch", m.source_date_epoch.to_string()),
        ("profile", m.profile.clone()),
    ]
}

/// Checks the parts against each other, the config and their own archives, and returns
/// the merged manifest with the artifacts in the config's target order.
pub fn combine(parts: &[Part], expected: &Expected) -> Result<Manifest> {
    let first = parts.first().context("no parts to merge")?;
    if first.manifest.format_version != manifest::FORMAT_VERSION {
        bail!(
            "{} has manifest format {}, this xtask writes {}: build every part with this commit's xtask",
            first.dir.display(),
            first.manifest.format_version,
            manifest::FORMAT_VERSION
        );
    }
    for part in &parts[1..] {
        for ((field, want), (_, got)) in header(&first.manifest).iter().zip(header(&part.manifest)) {
            if *want != got {
                bail!(
                    "the parts disagree on {field}: {} has `{want}`, {} has `{got}`: merge only parts of one run, built from one commit",
                    first.dir.display(),
                    part.dir.display()
                );
            }
        }
    }
    let m = &first.manifest;
    for (field, got, want) in [
        ("app", &m.app_name, &expected.name),
        ("version", &m.app_version, &expected.version),
        ("commit", &m.commit, &expected.commit),
        ("profile", &m.profile, &expected.profile),
    ] {
        if got != want {
            bail!("the parts were built for {field} `{got}`, but this checkout's config gives `{want}`: merge in a checkout of the commit the parts were built from");
        }
    }

    let mut by_target: BTreeMap<&Target, (&Part, &Artifact)> = BTreeMap::new();
    let mut names: BTreeMap<&str, &Path> = BTreeMap::new();
    for part in parts {
        // A part records the targets it has no archive for, and why (manifest `failed`).
        if let Some(failed) = part
            .manifest
            .failed
            .iter()
            .find(|f| expected.targets.contains(&f.target))
        {
            bail!(
                "{} has no archive for {}: {} in that `dist --partial` run ({}){}; fix it and rerun that job",
                part.dir.display(),
                failed.target,
                failed.status,
                failed.reason,
                failed.log.as_ref().map(|l| format!(", log {l}")).unwrap_or_default()
            );
        }
        if part.manifest.artifacts.is_empty() {
            bail!(
                "{} holds no artifacts: its `dist --partial` run failed or built nothing; rerun that job",
                part.dir.display()
            );
        }
        for artifact in &part.manifest.artifacts {
            check_file_name(&part.dir, &artifact.name)?;
            if let Some(other) = names.insert(&artifact.name, &part.dir) {
                bail!(
                    "{} is in two parts, {} and {}: each archive must come from one part",
                    artifact.name,
                    other.display(),
                    part.dir.display()
                );
            }
            let [target] = artifact.target_triples.as_slice() else {
                bail!(
                    "{} in {} is for {} targets; `dist` writes one archive per target",
                    artifact.name,
                    part.dir.display(),
                    artifact.target_triples.len()
                );
            };
            if !expected.targets.contains(target) {
                bail!(
                    "{} in {} is for {target}, which is not among the targets to merge ({}): pass --target to merge another set",
                    artifact.name,
                    part.dir.display(),
                    expected.targets.join(", ")
                );
            }
            if let Some((other, _)) = by_target.insert(target, (part, artifact)) {
                bail!(
                    "{target} is built in two parts, {} and {}: keep one",
                    other.dir.display(),
                    part.dir.display()
                );
            }
            verify(&part.dir.join(&artifact.name), artifact, target)?;
        }
    }
    let missing: Vec<&str> = expected
        .targets
        .iter()
        .filter(|t| !by_target.contains_key(t))
        .map(Target::triple)
        .collect();
    if !missing.is_empty() {
        bail!(
            "no part holds {}: wait for (or rerun) their build jobs, or pass --target for the targets you have",
            missing.join(", ")
        );
    }
    Ok(Manifest {
        artifacts: expected.targets.iter().map(|t| by_target[t].1.clone()).collect(),
        // Every merged target has its archive; a part's failures elsewhere are not merged.
        failed: Vec::new(),
        provenance: merged_provenance(parts),
        ..first.manifest.clone()
    })
}

/// The parts' provenance as one: the first part's toolchain and profile (a part built with
/// another rustc is its own `artifacts[].build` record's to show), every part's tools once,
/// and dirty if any part was.
fn merged_provenance(parts: &[Part]) -> Option<crate::package::manifest::Provenance> {
    let mut all = parts.iter().filter_map(|p| p.manifest.provenance.as_ref());
    let mut merged = all.next()?.clone();
    for other in all {
        for tool in &other.tools {
            if !merged.tools.contains(tool) {
                merged.tools.push(tool.clone());
            }
        }
        merged
            .tools
            .sort_by(|a, b| (&a.tool, &a.origin).cmp(&(&b.tool, &b.origin)));
        merged.dirty |= other.dirty;
        if merged.apple_sdk.is_none() {
            merged.apple_sdk = other.apple_sdk.clone();
        }
    }
    Some(merged)
}

/// An archive name from a part's manifest becomes a path: it must be a plain file name.
fn check_file_name(dir: &Path, name: &str) -> Result<()> {
    package::names::check_archive_name(name)
        .with_context(|| format!("{}/manifest.json: the part is damaged or forged", dir.display()))
}

/// The archive's size and SHA-256 must be the ones its part's manifest records.
fn verify(path: &Path, artifact: &Artifact, target: &Target) -> Result<()> {
    match artifact.check_file(path) {
        FileCheck::Matches => {}
        FileCheck::Unrecorded => bail!(
            "the manifest beside {} records no sha256 for {target}: rebuild the part",
            path.display()
        ),
        FileCheck::Unreadable(e) => {
            bail!("{e}: the archive for {target} is missing from its part: rerun its build job")
        }
        FileCheck::Differs { actual, recorded } => bail!(
            "{} ({target}) has sha256 {actual}, but its part's manifest records {recorded}: the part was altered after it was built; rerun its build job",
            path.display()
        ),
    }
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size != artifact.size {
        bail!(
            "{} ({target}) is {size} bytes, but its part's manifest records {}: rerun its build job",
            path.display(),
            artifact.size
        );
    }
    Ok(())
}

/// Each merged artifact with the part it comes from.
fn sources<'a>(parts: &'a [Part], manifest: &'a Manifest) -> Vec<(&'a Part, &'a Artifact)> {
    manifest
        .artifacts
        .iter()
        .map(|a| {
            (
                parts
                    .iter()
                    .find(|p| p.manifest.artifacts.iter().any(|b| b.name == a.name))
                    .expect("combine kept only the parts' artifacts"),
                a,
            )
        })
        .collect()
}

/// Copies an archive into the output directory and hashes the copy: what is shipped is
/// what was checked, even if the part changed in between.
fn copy_verified(from: &Path, out: &Path, artifact: &Artifact) -> Result<()> {
    let (source, dest) = (from.join(&artifact.name), out.join(&artifact.name));
    package::write_atomic(&dest, |w| {
        let mut file = std::fs::File::open(&source).with_context(|| format!("opening {}", source.display()))?;
        std::io::copy(&mut file, w).with_context(|| format!("copying {} to {}", source.display(), dest.display()))?;
        Ok(())
    })?;
    verify(&dest, artifact, &artifact.target_triples[0])?;
    // The SBOM travels with its archive, checked against the part's manifest the same way.
    if let Some(sbom) = &artifact.sbom {
        check_file_name(from, &sbom.name)?;
        let (source, dest) = (from.join(&sbom.name), out.join(&sbom.name));
        let bytes = std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        package::write_if_changed(&dest, &bytes)?;
        let actual = package::sha256_file(&dest)?;
        if actual != sbom.sha256 {
            bail!(
                "{} has sha256 {actual}, but its part's manifest records {}: the part was altered after it was built; rerun its build job",
                source.display(),
                sbom.sha256
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArchiveFormat, ArtifactKind, Route, SmokeStatus};

    const TARGETS: [&str; 3] = [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
    ];

    fn expected() -> Expected {
        Expected {
            name: "tool".into(),
            version: "1.2.3".into(),
            commit: "abc".into(),
            profile: "dist".into(),
            targets: TARGETS.iter().map(|t| t.parse().unwrap()).collect(),
        }
    }

    /// A part directory on disk holding one archive per target and its manifest.
    fn part(root: &Path, dir: &str, targets: &[&str]) -> Part {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let artifacts = targets
            .iter()
            .map(|t| {
                let name = format!("tool-1.2.3-{t}.tar.gz");
                let bytes = format!("archive for {t}");
                std::fs::write(dir.join(&name), &bytes).unwrap();
                Artifact {
                    name: name.clone(),
                    kind: ArtifactKind::ExecutableZip,
                    target_triples: vec![t.parse().unwrap()],
                    format: ArchiveFormat::TarGz,
                    route: Route::Zig,
                    apple_link: None,
                    apple_imports: None,
                    features: Default::default(),
                    size: bytes.len() as u64,
                    checksums: BTreeMap::from([("sha256".into(), package::sha256_file(&dir.join(&name)).unwrap())]),
                    smoke: SmokeStatus::NoRunner,
                    input_sha256: "0".repeat(64),
                    sbom: None,
                    assets: Vec::new(),
                    build: None,
                }
            })
            .collect();
        let manifest = Manifest {
            format_version: manifest::FORMAT_VERSION,
            dist_version: "0.1.0".into(),
            app_name: "tool".into(),
            app_version: "1.2.3".into(),
            commit: "abc".into(),
            source_date_epoch: 1_700_000_000,
            profile: "dist".into(),
            artifacts,
            failed: Vec::new(),
            installers: Vec::new(),
            provenance: None,
        };
        std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
        read_part(&dir).unwrap()
    }

    fn error(parts: &[Part]) -> String {
        format!("{:#}", combine(parts, &expected()).unwrap_err())
    }

    #[test]
    fn parts_in_any_order_merge_in_the_config_order() {
        let root = tempfile::tempdir().unwrap();
        let parts = [
            part(root.path(), "c", &[TARGETS[2]]),
            part(root.path(), "ab", &[TARGETS[1], TARGETS[0]]),
        ];
        let merged = combine(&parts, &expected()).unwrap();
        let order: Vec<&str> = merged.artifacts.iter().map(|a| a.target_triples[0].triple()).collect();
        assert_eq!(order, TARGETS);
        assert_eq!(merged.commit, "abc");
    }

    #[test]
    fn a_changed_archive_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let parts = [
            part(root.path(), "a", &TARGETS[..2]),
            part(root.path(), "c", &TARGETS[2..]),
        ];
        std::fs::write(
            root.path().join(format!("a/tool-1.2.3-{}.tar.gz", TARGETS[1])),
            "tampered",
        )
        .unwrap();
        let message = error(&parts);
        assert!(
            message.contains(TARGETS[1]) && message.contains("altered after it was built"),
            "{message}"
        );
        std::fs::remove_file(root.path().join(format!("c/tool-1.2.3-{}.tar.gz", TARGETS[2]))).unwrap();
        let message = error(&parts[1..]);
        assert!(message.contains("missing from its part"), "{message}");
    }

    #[test]
    fn duplicates_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let a = part(root.path(), "a", &TARGETS);
        let b = part(root.path(), "b", &TARGETS[..1]);
        let message = error(&[a, b]);
        assert!(message.contains("is in two parts"), "{message}");
        // The same target under another archive name is a duplicate too.
        let a = part(root.path(), "a2", &TARGETS);
        let mut b = part(root.path(), "b2", &TARGETS[..1]);
        let renamed = "renamed.tar.gz";
        std::fs::rename(
            root.path().join("b2").join(&b.manifest.artifacts[0].name),
            root.path().join("b2").join(renamed),
        )
        .unwrap();
        b.manifest.artifacts[0].name = renamed.into();
        let message = error(&[a, b]);
        assert!(message.contains("is built in two parts"), "{message}");
    }

    #[test]
    fn parts_of_other_commits_or_versions_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let a = part(root.path(), "a", &TARGETS[..2]);
        let mut c = part(root.path(), "c", &TARGETS[2..]);
        c.manifest.commit = "def".into();
        let message = error(&[a, c]);
        assert!(
            message.contains("disagree on commit") && message.contains("`abc`") && message.contains("`def`"),
            "{message}"
        );
        let mut all = part(root.path(), "all", &TARGETS);
        all.manifest.app_version = "9.9.9".into();
        let message = error(&[all]);
        assert!(
            message.contains("version `9.9.9`") && message.contains("`1.2.3`"),
            "{message}"
        );
    }

    #[test]
    fn missing_or_unexpected_targets_are_named() {
        let root = tempfile::tempdir().unwrap();
        let message = error(&[part(root.path(), "a", &TARGETS[..2])]);
        assert!(message.contains("no part holds x86_64-apple-darwin"), "{message}");
        let message = error(&[part(root.path(), "b", &["x86_64-pc-windows-msvc"])]);
        assert!(message.contains("not among the targets to merge"), "{message}");
    }

    /// A part that records a failed target: merging it names the target and the reason;
    /// merging only the targets it did build works, and the merged manifest lists no failure.
    #[test]
    fn a_part_with_a_failed_target_names_the_reason() {
        let root = tempfile::tempdir().unwrap();
        let mut a = part(root.path(), "a", &TARGETS[..2]);
        a.manifest.failed.push(manifest::Failed {
            target: TARGETS[2].parse().unwrap(),
            status: manifest::FailedStatus::Failed,
            reason: "cargo failed to build x86_64-apple-darwin (exit 101)".into(),
            log: Some("/ws/target/dist-logs/1-2/zig.log".into()),
        });
        let message = error(std::slice::from_ref(&a));
        assert!(
            message.contains("has no archive for x86_64-apple-darwin: failed in that `dist --partial` run (cargo failed to build x86_64-apple-darwin (exit 101)), log /ws/target/dist-logs/1-2/zig.log"),
            "{message}"
        );
        let two = Expected {
            targets: TARGETS[..2].iter().map(|t| t.parse().unwrap()).collect(),
            ..expected()
        };
        let merged = combine(&[a], &two).unwrap();
        assert_eq!(merged.artifacts.len(), 2);
        assert!(merged.failed.is_empty());
    }

    #[test]
    fn an_archive_name_that_is_a_path_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let mut a = part(root.path(), "a", &TARGETS);
        a.manifest.artifacts[0].name = "../../etc/passwd".into();
        assert!(error(&[a]).contains("not a plain file name"));
    }

    #[test]
    fn merging_into_a_part_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let a = part(root.path(), "a", &TARGETS);
        let err = refuse_out_in_parts(&root.path().join("a/."), std::slice::from_ref(&a)).unwrap_err();
        assert!(err.is::<UsageError>(), "{err:#}");
        assert!(refuse_out_in_parts(&root.path().join("new"), &[a]).is_ok());
    }

    #[test]
    fn a_directory_without_a_manifest_is_a_usage_error() {
        let root = tempfile::tempdir().unwrap();
        let err = read_part(root.path()).unwrap_err();
        assert!(
            err.is::<UsageError>() && err.to_string().contains("no readable manifest.json"),
            "{err:#}"
        );
        assert!(read_part(&root.path().join("nope")).unwrap_err().is::<UsageError>());
    }
}
