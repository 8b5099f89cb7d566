//! `cargo xtask verify`: binaries, archives, or everything `dist/manifest.json` lists, each
//! inspected and held to its target's rules (policy.rs) — one row per binary, PASS or FAIL.
//! Nothing read here is trusted: archive names, checksums and contents are checked first.

use crate::config::{self, VerifySettings};
use crate::deps::GraphCache;
use crate::flags::{self, Global};
use crate::inspect::deplist::{self, DepPackage};
use crate::inspect::{self, Inspection};
use crate::model::{ArchiveFormat, Format, Target};
use crate::package;
use crate::package::manifest::{FileCheck, Manifest};
use crate::package::read;
use crate::policy::{bind_proof, check, Failure, Policy, SliceBinds};
use crate::runner::{Cmd, Runner};
use crate::ui::{human_size, table};
use crate::UsageError;
use anyhow::{bail, Result};
use serde::Serialize;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One verified binary: a file, or an entry inside an archive (`archive!entry`).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub file: String,
    pub target: Option<Target>,
    /// The target came from the file itself, not from --target or the manifest.
    pub target_guessed: bool,
    pub inspection: Option<Inspection>,
    /// The dependency list the binary carries (cargo-auditable's `.dep-v0`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<DepPackage>>,
    /// Mach-O: per slice, the imported symbols the two-level rule proved bound to the
    /// library the facts or the crates' declarations name, per library, and the rest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<SliceBinds>,
    pub failures: Vec<Failure>,
}

impl Row {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn broken(file: String, target: Option<Target>, rule: &'static str, message: String) -> Row {
        Row {
            file,
            target,
            target_guessed: false,
            inspection: None,
            dependencies: None,
            binds: Vec::new(),
            failures: vec![Failure { rule, message }],
        }
    }
}

/// The triple a binary was most likely built for, from its headers.
pub fn guess_target(found: &Inspection) -> Option<Target> {
    let universal: Target = crate::model::UNIVERSAL2.parse().expect("a well-formed triple");
    let mut archs = found.archs();
    archs.sort();
    let slice_targets = universal.slices();
    let mut slices: Vec<&str> = slice_targets.iter().map(Target::arch).collect();
    slices.sort();
    if found.macho.as_ref().is_some_and(|m| m.fat) && archs == slices {
        return Some(universal);
    }
    let arch = found.archs().first().copied()?;
    if arch.starts_with("unknown") {
        return None;
    }
    let triple = match found.format {
        Format::Elf => {
            let gnu = found.interpreter.as_deref().is_some_and(|i| i.contains("ld-linux"))
                || found.elf.as_ref().is_some_and(|e| e.glibc.is_some());
            format!("{arch}-unknown-linux-{}", if gnu { "gnu" } else { "musl" })
        }
        Format::Pe => {
            let arch = if arch == "x86" { "i686" } else { arch };
            // MinGW leaves COFF symbols or imports its runtime; MSVC writes a PDB path.
            let gnu = found.pe.as_ref().is_some_and(|p| p.pdb_path.is_none())
                && (!found.stripped
                    || found.needed.iter().any(|d| {
                        let d = d.to_ascii_lowercase();
                        d == "msvcrt.dll" || d.starts_with("libgcc_s") || d.starts_with("libwinpthread")
                    }));
            format!("{arch}-pc-windows-{}", if gnu { "gnu" } else { "msvc" })
        }
        Format::MachO => format!("{arch}-apple-darwin"),
        Format::Unknown => return None,
    };
    triple.parse().ok()
}

/// Inspects one binary's bytes and applies the policy of `target` (or of the guessed one).
pub fn verify_bytes(file: String, bytes: &[u8], target: Option<&Target>, settings: &VerifySettings) -> Row {
    let found = match inspect::inspect(bytes) {
        Ok(found) => found,
        Err(e) => return Row::broken(file, target.cloned(), "readable", e),
    };
    let (target, guessed) = match target {
        Some(t) => (t.clone(), false),
        None => match guess_target(&found) {
            Some(t) => (t, true),
            None => {
                let message = format!(
                    "cannot tell the target of a {:?} {} binary: pass --target",
                    found.format, found.arch
                );
                return Row {
                    inspection: Some(found),
                    ..Row::broken(file, None, "target", message)
                };
            }
        },
    };
    let policy = Policy::for_target(&target, &settings.per_target, settings.strip)
        .with_apple_imports(settings.apple_imports.clone());
    let mut failures = check(&found, &target, &policy);
    let binds = bind_proof(&found, &policy);
    let dependencies = match deplist::dependency_list(bytes) {
        Ok(list) => list,
        Err(message) => {
            failures.push(Failure {
                rule: "dependencies",
                message,
            });
            None
        }
    };
    Row {
        file,
        target: Some(target),
        target_guessed: guessed,
        inspection: Some(found),
        dependencies,
        binds,
        failures,
    }
}

/// How a binary's embedded dependency list differs from the packages its root package
/// needs in `graph` (`cargo metadata --filter-platform <target>` with the build's features,
/// which Cargo.lock pins): the same packages (name and version), and none the graph compiles
/// into the binary listed as a build-time one. None when they agree.
///
/// The list may call a build-time package runtime, never the reverse: cargo-auditable takes
/// a proc-macro for one only when it is the package's sole target, so a proc-macro with a
/// build script (defmt-macros) and everything under it are listed as runtime. Over-reporting
/// only makes an audit stricter; a compiled-in package listed as build-time would hide it.
pub fn dependencies_differ(list: &[DepPackage], graph: &cargo_metadata::Metadata) -> Option<String> {
    let Some(root) = list.iter().find(|p| p.root) else {
        return Some("the dependency list names no root package".into());
    };
    let bin = crate::model::Bin {
        package: root.name.clone(),
        name: root.name.clone(),
    };
    let reached = match crate::deps::reachable(graph, std::slice::from_ref(&bin)) {
        Ok(reached) => reached,
        Err(e) => return Some(format!("{e:#}")),
    };
    if reached.is_empty() {
        return Some(format!(
            "its root package {} is not a package of this workspace",
            root.name
        ));
    }
    // (name, version) → compiled into the binary.
    let expected: BTreeMap<(String, String), bool> = reached
        .iter()
        .map(|(id, r)| {
            (
                (graph[id].name.to_string(), graph[id].version.to_string()),
                r.for_target,
            )
        })
        .collect();
    let embedded: BTreeMap<(String, String), bool> = list
        .iter()
        .map(|p| ((p.name.clone(), p.version.clone()), p.kind == "runtime"))
        .collect();
    let show = |set: Vec<&(String, String)>| {
        let mut names: Vec<String> = set.iter().take(6).map(|(n, v)| format!("{n} {v}")).collect();
        if set.len() > 6 {
            names.push(format!("{} more", set.len() - 6));
        }
        names.join(", ")
    };
    let extra: Vec<_> = embedded.keys().filter(|k| !expected.contains_key(*k)).collect();
    let missing: Vec<_> = expected.keys().filter(|k| !embedded.contains_key(*k)).collect();
    let hidden: Vec<_> = expected
        .iter()
        .filter(|(k, &runtime)| runtime && embedded.get(*k) == Some(&false))
        .map(|(k, _)| k)
        .collect();
    let mut problems = Vec::new();
    if !extra.is_empty() {
        problems.push(format!(
            "lists what Cargo.lock's graph for it does not: {}",
            show(extra)
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("lacks what Cargo.lock's graph for it has: {}", show(missing)));
    }
    if !hidden.is_empty() {
        problems.push(format!(
            "calls build-time what the graph compiles into the binary: {}",
            show(hidden)
        ));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "the embedded dependency list {}: built from another Cargo.lock or with other features",
            problems.join("; ")
        )
    })
}

/// Whether bytes start like an executable this tool reads; other archive members are skipped.
fn looks_like_binary(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(
            b"\x7fELF"
                | [b'M', b'Z', _, _]
                | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
                | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
                | [0xca, 0xfe, 0xba, 0xbe]
        )
    )
}

/// Verifies a binary or every binary inside an archive, appending rows.
fn verify_path(path: &Path, target: Option<&Target>, settings: &VerifySettings, rows: &mut Vec<Row>) -> Result<()> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| UsageError::new(format!("cannot read {shown}: {e}: check the path")))?;
    if meta.is_dir() {
        return Err(UsageError::new(format!(
            "{shown} is a directory: name the binaries or archives inside it"
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(format) = ArchiveFormat::from_name(&name) {
        let target = target.cloned().or_else(|| Target::find_in(&name));
        let start = rows.len();
        let result = read::read(path, format, |entry, bytes| {
            if looks_like_binary(bytes) {
                rows.push(verify_bytes(
                    format!("{shown}!{entry}"),
                    bytes,
                    target.as_ref(),
                    settings,
                ));
            }
        });
        match result {
            Err(e) => {
                rows.truncate(start);
                rows.push(Row::broken(shown, target, "archive", format!("{e:#}")));
            }
            Ok(()) if rows.len() == start => {
                rows.push(Row::broken(shown, target, "archive", "holds no executable".into()));
            }
            Ok(()) => {}
        }
        return Ok(());
    }
    if meta.len() > inspect::MAX_INPUT {
        rows.push(Row::broken(
            shown,
            target.cloned(),
            "readable",
            format!("{} bytes is larger than any release binary", meta.len()),
        ));
        return Ok(());
    }
    std::fs::File::open(path)
        .map_err(|e| UsageError::new(format!("cannot open {shown}: {e}: check its permissions")))?;
    let mapped = inspect::map(path)?;
    rows.push(verify_bytes(shown, mapped.bytes(), target, settings));
    Ok(())
}

/// How an archive's files differ from the assets its manifest entry lists (path under the
/// top directory and SHA-256 of each), or None when they match.
fn contents_differ(file: &Path, artifact: &crate::package::manifest::Artifact) -> Option<String> {
    let format = ArchiveFormat::from_name(&file.file_name()?.to_string_lossy())?;
    let mut found: Vec<(String, String)> = Vec::new();
    if let Err(e) = read::read(file, format, |name, bytes| {
        let inside = name.split_once('/').map_or(name, |(_, rest)| rest).to_string();
        let sha: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        found.push((inside, sha));
    }) {
        return Some(format!("{e:#}"));
    }
    let listed: Vec<(String, String)> = artifact
        .assets
        .iter()
        .map(|a| (a.path.clone(), a.sha256.clone()))
        .collect();
    let extra: Vec<&str> = found
        .iter()
        .filter(|f| !listed.iter().any(|l| l.0 == f.0))
        .map(|f| f.0.as_str())
        .collect();
    let missing: Vec<&str> = listed
        .iter()
        .filter(|l| !found.iter().any(|f| f.0 == l.0))
        .map(|l| l.0.as_str())
        .collect();
    let changed: Vec<&str> = found
        .iter()
        .filter(|f| listed.iter().any(|l| l.0 == f.0 && l.1 != f.1))
        .map(|f| f.0.as_str())
        .collect();
    let mut problems = Vec::new();
    if !extra.is_empty() {
        problems.push(format!("holds files the manifest does not list ({})", extra.join(", ")));
    }
    if !missing.is_empty() {
        problems.push(format!("lacks files the manifest lists ({})", missing.join(", ")));
    }
    if !changed.is_empty() {
        problems.push(format!(
            "has files whose SHA-256 differs from the manifest ({})",
            changed.join(", ")
        ));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "the archive {}: it was repacked after dist wrote it",
            problems.join("; ")
        )
    })
}

/// Everything dist/manifest.json lists: each archive's checksum, then the binaries inside.
fn verify_manifest(
    out_dir: &Path,
    settings: &VerifySettings,
    target: Option<&Target>,
    public_key: Option<&str>,
    lock: Option<(&Runner, &Path, Option<&GraphCache>)>,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let path = out_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UsageError::new(format!(
            "cannot read {}: {e}: run `cargo xtask dist` first, or name the files to verify",
            path.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "{} is not a manifest this version reads: {e}: run `cargo xtask dist` again",
            path.display()
        ))
    })?;
    let settings = settings.for_profile(&manifest.profile)?;
    let embedded = manifest.provenance.as_ref().and_then(|p| p.dependency_list.as_ref());
    let mut graphs: BTreeMap<(Target, Vec<String>), Result<cargo_metadata::Metadata, String>> = BTreeMap::new();
    for artifact in &manifest.artifacts {
        let start = rows.len();
        let file = out_dir.join(&artifact.name);
        let triple = target.cloned().or_else(|| artifact.target_triples.first().cloned());
        if let Err(e) = package::names::check_archive_name(&artifact.name) {
            rows.push(Row::broken(
                artifact.name.clone(),
                triple,
                "manifest",
                format!("{e:#}: the manifest was edited"),
            ));
            continue;
        }
        let shown = file.display().to_string();
        match artifact.check_file(&file) {
            FileCheck::Matches => match contents_differ(&file, artifact) {
                Some(why) => rows.push(Row::broken(shown, triple, "contents", why)),
                None => {
                    let settings = VerifySettings {
                        apple_imports: artifact.apple_imports.clone(),
                        ..settings.clone()
                    };
                    verify_path(&file, triple.as_ref(), &settings, rows)?
                }
            },
            FileCheck::Differs { actual, recorded } => rows.push(Row::broken(
                shown,
                triple,
                "checksum",
                format!("sha256 is {actual}, the manifest says {recorded}: the archive changed after dist wrote it"),
            )),
            FileCheck::Unrecorded => rows.push(Row::broken(
                shown,
                triple,
                "checksum",
                "the manifest records no sha256 for it: the manifest was edited".into(),
            )),
            FileCheck::Unreadable(e) => rows.push(Row::broken(
                shown,
                triple,
                "checksum",
                format!("{e}: the archive the manifest lists is missing"),
            )),
        }
        // The dependency lists: present when the manifest says they were embedded, and
        // the same packages as the workspace's Cargo.lock gives this target and features.
        for row in rows[start..].iter_mut().filter(|r| r.inspection.is_some()) {
            let Some(list) = &row.dependencies else {
                if let Some(how) = embedded {
                    row.failures.push(Failure {
                        rule: "dependencies",
                        message: format!("carries no dependency list ({}), though the manifest says {how} embedded one: it was rebuilt or stripped after dist", deplist::SECTION),
                    });
                }
                continue;
            };
            let (Some((runner, manifest_path, cache)), Some(triple)) = (lock, artifact.target_triples.first()) else {
                continue;
            };
            // A universal binary's list is its first slice's (deplist.rs), checked against
            // that slice's graph.
            let triple = &match triple.is_universal() {
                true => triple.slices().swap_remove(0),
                false => triple.clone(),
            };
            let flags = artifact.features.cargo_flags();
            let graph = graphs.entry((triple.clone(), flags.clone())).or_insert_with(|| {
                crate::deps::resolve(
                    runner,
                    &Cmd::new("cargo"),
                    manifest_path,
                    triple.triple(),
                    &flags,
                    cache,
                )
                .map_err(|e| format!("{e:#}"))
            });
            let differs = match graph {
                Ok(graph) => dependencies_differ(list, graph),
                Err(e) => Some(format!(
                    "cannot resolve the workspace's graph to check the dependency list against: {e}"
                )),
            };
            if let Some(message) = differs {
                row.failures.push(Failure {
                    rule: "dependencies",
                    message,
                });
            }
        }
        if let Some(sbom) = &artifact.sbom {
            check_listed(out_dir, sbom, "sbom", artifact.target_triples.first(), rows);
        }
    }
    for installer in &manifest.installers {
        check_listed(out_dir, installer, "installer", None, rows);
    }
    if let Some(public) = public_key {
        let file = out_dir.join(crate::sign::SIGNATURE_FILE).display().to_string();
        rows.push(match crate::sign::verify_sums(out_dir, public) {
            Ok(()) => Row {
                file,
                target: None,
                target_guessed: false,
                inspection: None,
                dependencies: None,
                binds: Vec::new(),
                failures: Vec::new(),
            },
            Err(e) => Row::broken(file, None, "signature", format!("{e:#}")),
        });
    }
    Ok(())
}

/// A file beside the archives that the manifest lists (an SBOM, an install script): a
/// plain name, present, with the recorded SHA-256; a row only when it is not.
fn check_listed(
    out_dir: &Path,
    listed: &crate::package::manifest::IndexFile,
    rule: &'static str,
    target: Option<&Target>,
    rows: &mut Vec<Row>,
) {
    let path = out_dir.join(&listed.name);
    let shown = path.display().to_string();
    let problem = match package::names::check_archive_name(&listed.name) {
        Err(e) => Some(format!("{e:#}: the manifest was edited")),
        Ok(()) => match package::sha256_file(&path) {
            Err(e) => Some(format!("{e:#}: the file the manifest lists is missing")),
            Ok(actual) if actual != listed.sha256 => Some(format!(
                "sha256 is {actual}, the manifest says {}: the file changed after dist wrote it",
                listed.sha256
            )),
            Ok(_) => None,
        },
    };
    if let Some(why) = problem {
        rows.push(Row::broken(shown, target.cloned(), rule, why));
    }
}

impl flags::Verify {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let options = VerifyOptions {
            paths: self.paths,
            target: self.target,
            out_dir: self.out,
            public_key: self.public_key,
        };
        let rows = verify(&global.runner(), global.manifest_path.as_deref(), &options)?;
        print_verify(&rows, global.json);
        let failed = rows.iter().filter(|r| !r.passed()).count();
        if failed > 0 {
            bail!("{failed} of {} binaries failed verification", rows.len());
        }
        Ok(())
    }
}

/// What `verify` checks.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Binaries or archives; none: everything the output directory's manifest.json lists.
    pub paths: Vec<PathBuf>,
    /// The triple the files were built for (default: from the manifest, the archive's name
    /// or the file's headers).
    pub target: Option<String>,
    /// The directory holding manifest.json (default: dist/ at the workspace root).
    pub out_dir: Option<PathBuf>,
    /// The minisign public key SHA256SUMS.minisig must verify with (default: the config's
    /// `minisign-public-key`; neither: the signature is not checked).
    pub public_key: Option<String>,
}

/// Checks binaries and archives against their targets' rules, with the settings of the
/// workspace at `manifest_path` when there is one: one row per binary, PASS or FAIL.
pub fn verify(runner: &Runner, manifest_path: Option<&Path>, args: &VerifyOptions) -> Result<Vec<Row>> {
    let manifest_path = crate::context::absolute(manifest_path)?;
    let manifest_path = manifest_path.as_deref();
    let target = match &args.target {
        Some(text) => match Target::parse(text) {
            Ok(target) if target.format() != Format::Unknown => Some(target),
            _ => {
                return Err(UsageError::new(format!(
                    "--target {text} is not a linux, windows or apple-darwin triple this tool can verify"
                )))
            }
        },
        None => None,
    };
    // The oldest macOS rustc supports, for the Apple targets a file is likely verified as,
    // asked while cargo reads the workspace: the two queries are most of the command's time.
    let likely_apple = crate::toolchain::likely_apple_targets(target.clone());
    // Only a manifest's archives are checked against the workspace's graphs, which need
    // cargo's full resolve; loose files need only the config.
    let with_deps = args.paths.is_empty();
    let (read, mut lowest) =
        crate::toolchain::beside_deployment_targets(runner, &Cmd::new("rustc"), likely_apple.clone(), || {
            config::metadata_with_json(runner, manifest_path, with_deps)
        });
    // The workspace's settings apply when there is one; loose files outside any workspace
    // are checked with the defaults.
    let (meta, json) = match read {
        Ok((meta, json)) => (Some(meta), json),
        Err(e) if manifest_path.is_some() || args.paths.is_empty() => return Err(e),
        Err(_) => (None, String::new()),
    };
    let mut settings = match &meta {
        Some(meta) => config::verify_settings(meta)?,
        // Outside a workspace there is no profile to read: hold the files to the profile
        // `init` writes (`dist`, strip = true).
        None => VerifySettings {
            profile: "dist".into(),
            strip: config::Strip::Symbols,
            ..VerifySettings::default()
        },
    };
    // The macOS minimum of every Apple target a file may be verified as (the two a Mach-O's
    // architecture is guessed as, --target, the configured ones). Unset, it is the oldest
    // the running rustc supports: verify does not choose the workspace's toolchain, and
    // that minimum moves seldom (10.7 to 10.12 for x86_64 in rustc 1.74).
    let apple: Vec<Target> = likely_apple
        .iter()
        .chain(settings.per_target.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let workspace_min = settings.macos_min;
    config::resolve_macos_min(&mut settings.per_target, workspace_min, &apple, |t| {
        match lowest.remove(t) {
            Some(found) => found,
            None => crate::toolchain::deployment_target(runner, Cmd::new("rustc"), t),
        }
    })?;
    let mut rows = Vec::new();
    if args.paths.is_empty() {
        let out_dir = match (&args.out_dir, &meta) {
            (Some(dir), _) => dir.clone(),
            (None, Some(meta)) => meta.workspace_root.join("dist").into_std_path_buf(),
            (None, None) => PathBuf::from("dist"),
        };
        let public_key = match &args.public_key {
            Some(key) => Some(public_key_arg(key)?),
            None => settings.minisign_public_key.clone(),
        };
        let manifest = meta
            .as_ref()
            .map(|m| m.workspace_root.join("Cargo.toml").into_std_path_buf());
        // Only a manifest's archives are checked against the workspace's graphs.
        let graph_cache = meta
            .as_ref()
            .map(|m| config::graph_cache(runner, manifest_path, m, &json));
        let lock = manifest.as_deref().map(|m| (runner, m, graph_cache.as_ref()));
        verify_manifest(
            &out_dir,
            &settings,
            target.as_ref(),
            public_key.as_deref(),
            lock,
            &mut rows,
        )?;
    } else {
        for path in &args.paths {
            verify_path(path, target.as_ref(), &settings, &mut rows)?;
        }
    }
    Ok(rows)
}

/// `--public-key`: the `RW…` line, or the path of a minisign.pub file.
fn public_key_arg(text: &str) -> Result<String> {
    let from_file = Path::new(text)
        .is_file()
        .then(|| std::fs::read_to_string(text))
        .transpose()?;
    let key = crate::sign::public_key(from_file.as_deref().unwrap_or(text))
        .map_err(|e| UsageError::new(format!("--public-key: {e:#}")))?;
    Ok(key.to_base64())
}

/// The results of `verify`: one row per binary, PASS or FAIL with every broken rule.
pub fn print_verify(rows: &[Row], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(rows).expect("the rows serialise"));
        return;
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut target = row.target.as_ref().map_or_else(|| "-".into(), Target::to_string);
            if row.target_guessed {
                target += " (guessed)";
            }
            let (format, arch, linkage, needs, stripped, size) = match &row.inspection {
                Some(i) => (
                    format!("{:?}", i.format).to_lowercase(),
                    i.arch.clone(),
                    i.linkage.to_string(),
                    if i.needed.is_empty() {
                        "-".into()
                    } else {
                        i.needed.join(" ")
                    },
                    if i.stripped { "yes" } else { "no" }.to_string(),
                    human_size(i.size),
                ),
                None => Default::default(),
            };
            let slices = row.target.as_ref().map(Target::slices).unwrap_or_default();
            let result = if row.passed() && !slices.is_empty() {
                let slices: Vec<&str> = slices.iter().map(Target::triple).collect();
                format!("PASS (each slice by its own target's rules: {})", slices.join(", "))
            } else if row.passed() {
                "PASS".to_string()
            } else {
                let reasons: Vec<String> = row.failures.iter().map(|f| f.to_string()).collect();
                format!("FAIL {}", reasons.join("; "))
            };
            let mut notes = vec![row.inspection.as_ref().map(notes).unwrap_or_default()];
            if let Some(list) = &row.dependencies {
                let root = list.iter().find(|p| p.root).map_or("?", |p| p.name.as_str());
                notes.push(format!(
                    "{} packages listed ({root}'s {})",
                    list.len(),
                    deplist::SECTION
                ));
            }
            notes.extend(row.binds.iter().map(binds_note));
            let notes = notes
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                row.file.clone(),
                target,
                format,
                arch,
                linkage,
                needs,
                stripped,
                size,
                notes,
                result,
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["file", "target", "format", "arch", "linkage", "needs", "stripped", "size", "notes", "result"],
            &table_rows
        )
    );
}

/// The two-level rule's proof of a slice's imports: how many symbols it proved bound to
/// each library (by the facts or a crate's #[link]), and how many it could not.
fn binds_note(binds: &SliceBinds) -> String {
    let proven: Vec<String> = binds
        .proven
        .iter()
        .map(|(lib, n)| format!("{n} {}", lib.rsplit('/').next().unwrap_or(lib)))
        .collect();
    let proven = match proven.is_empty() {
        true => "none".to_string(),
        false => proven.join(" "),
    };
    format!(
        "{} imports proven: {proven}; {} not proven by facts or declaration",
        binds.arch, binds.not_proven
    )
}

/// What a reader should see without --json: the glibc floor, min OS, search paths, an
/// executable stack and a PDB path (which shows the build machine's directory).
fn notes(found: &crate::inspect::Inspection) -> String {
    let mut notes = Vec::new();
    if let Some(elf) = &found.elf {
        notes.extend(elf.glibc.as_ref().map(|v| format!("glibc {v}")));
        notes.extend(elf.glibcxx.as_ref().map(|v| format!("glibcxx {v}")));
        notes.extend(elf.rpath.iter().chain(&elf.runpath).map(|p| format!("rpath {p}")));
        if elf.executable_stack == Some(true) {
            notes.push("executable stack".into());
        }
    }
    if let Some(pdb) = found.pe.as_ref().and_then(|pe| pe.pdb_path.as_ref()) {
        notes.push(format!("pdb {pdb}"));
    }
    if let Some(manifest) = found.pe.as_ref().and_then(|pe| pe.manifest.as_ref()) {
        notes.push(format!("manifest embedded ({} bytes)", manifest.len()));
    }
    for slice in found.macho.iter().flat_map(|m| &m.slices) {
        notes.extend(
            (slice.fat_entry.iter()).map(|e| format!("{} slice at {} (2^{} aligned)", slice.arch, e.offset, e.align)),
        );
        notes.extend(slice.min_os.as_ref().map(|v| format!("{} macOS {v}", slice.arch)));
        notes.extend(slice.rpaths.iter().map(|p| format!("rpath {p}")));
        notes.push(format!("{} {}", slice.arch, slice.signature.note()));
    }
    notes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::inspect::tests::inspected as fixture;

    fn target(triple: &str) -> Target {
        triple.parse().unwrap()
    }

    /// A bin with a runtime library, a proc-macro that has a build script, and a build
    /// dependency, all path packages, through a real `cargo metadata`.
    #[test]
    fn an_embedded_list_may_over_report_build_time_packages_but_not_hide_runtime_ones() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"tool\", \"lib\", \"mac\", \"bld\"]\nresolver = \"2\"\n",
        );
        let package = |name: &str, extra: &str| {
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}")
        };
        write(
            "tool/Cargo.toml",
            &package("tool", "[dependencies]\nlib = { path = \"../lib\" }\nmac = { path = \"../mac\" }\n[build-dependencies]\nbld = { path = \"../bld\" }\n"),
        );
        write("tool/src/main.rs", "fn main() {}\n");
        write("lib/Cargo.toml", &package("lib", ""));
        write("lib/src/lib.rs", "");
        write("mac/Cargo.toml", &package("mac", "[lib]\nproc-macro = true\n"));
        write("mac/src/lib.rs", "");
        write("mac/build.rs", "fn main() {}\n");
        write("bld/Cargo.toml", &package("bld", ""));
        write("bld/src/lib.rs", "");
        let graph = config::metadata(&Runner::default(), Some(&dir.path().join("Cargo.toml"))).unwrap();
        let dep = |name: &str, kind: &str| DepPackage {
            name: name.into(),
            version: "0.1.0".into(),
            source: "local".into(),
            kind: kind.into(),
            root: name == "tool",
        };
        let list = |kinds: [&str; 3]| {
            vec![
                dep("tool", "runtime"),
                dep("lib", kinds[0]),
                dep("mac", kinds[1]),
                dep("bld", kinds[2]),
            ]
        };
        assert_eq!(dependencies_differ(&list(["runtime", "build", "build"]), &graph), None);
        // cargo-auditable's reading of a proc-macro with a build script.
        assert_eq!(
            dependencies_differ(&list(["runtime", "runtime", "build"]), &graph),
            None
        );
        let hidden = dependencies_differ(&list(["build", "build", "build"]), &graph).unwrap();
        assert!(
            hidden.contains("calls build-time what the graph compiles into the binary: lib 0.1.0"),
            "{hidden}"
        );
        let mut short = list(["runtime", "build", "build"]);
        short.retain(|p| p.name != "bld");
        let missing = dependencies_differ(&short, &graph).unwrap();
        assert!(
            missing.contains("lacks what Cargo.lock's graph for it has: bld 0.1.0"),
            "{missing}"
        );
        let mut long = list(["runtime", "build", "build"]);
        long.push(dep("other", "runtime"));
        let extra = dependencies_differ(&long, &graph).unwrap();
        assert!(
            extra.contains("lists what Cargo.lock's graph for it does not: other 0.1.0"),
            "{extra}"
        );
    }

    const MUSL: &str = "x86_64-unknown-linux-musl";
    const GNU: &str = "x86_64-unknown-linux-gnu";
    const MSVC: &str = "x86_64-pc-windows-msvc";
    const MAC_ARM: &str = "aarch64-apple-darwin";

    #[test]
    fn an_unknown_architecture_needs_an_explicit_target() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hello-x86_64-linux-musl");
        let mut bytes = std::fs::read(path).unwrap();
        bytes[18..20].copy_from_slice(&43u16.to_le_bytes()); // e_machine = EM_SPARCV9
        let row = verify_bytes("sparc".into(), &bytes, None, &VerifySettings::default());
        assert_eq!(row.failures.iter().map(|f| f.rule).collect::<Vec<_>>(), ["target"]);
        assert_eq!(row.inspection.unwrap().arch, "unknown(0x2b)");
        let row = verify_bytes("sparc".into(), &bytes, Some(&target(MUSL)), &VerifySettings::default());
        assert_eq!(row.failures.iter().map(|f| f.rule).collect::<Vec<_>>(), ["arch"]);
    }

    /// RELIABILITY.md: a goblin panic becomes a FAIL row ([readable]), not a crash. The
    /// panic is goblin's own (the pre-check that prevents it is off on this thread).
    #[test]
    fn a_goblin_panic_becomes_a_readable_fail_row() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(inspect::tests::GOBLIN_PANIC);
        let bytes = std::fs::read(path).unwrap();
        let row = inspect::tests::without_precheck(|| {
            verify_bytes(
                "crash".into(),
                &bytes,
                Some(&target(MAC_ARM)),
                &VerifySettings::default(),
            )
        });
        assert!(!row.passed());
        assert_eq!(
            row.failures,
            [Failure {
                rule: "readable",
                message: "malformed binary: the parser gave up on its headers".into()
            }]
        );
    }

    /// A file over the inspector's bound is a FAIL row, read no further.
    #[test]
    fn a_file_over_one_gib_is_a_readable_fail_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(inspect::MAX_INPUT + 1)
            .unwrap();
        let mut rows = Vec::new();
        verify_path(&path, Some(&target(MUSL)), &VerifySettings::default(), &mut rows).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].failures[0].rule, "readable");
        assert!(rows[0].failures[0].message.contains("larger than any release binary"));
    }

    #[test]
    fn targets_are_guessed_from_the_headers() {
        let guess = |name: &str| guess_target(&fixture(name)).map(|t| t.to_string());
        assert_eq!(guess("hello-x86_64-linux-musl").as_deref(), Some(MUSL));
        assert_eq!(
            guess("hello-aarch64-linux-musl").as_deref(),
            Some("aarch64-unknown-linux-musl")
        );
        assert_eq!(guess("hello-x86_64-linux-gnu-2.17").as_deref(), Some(GNU));
        assert_eq!(guess("hello-aarch64-macos").as_deref(), Some(MAC_ARM));
        assert_eq!(guess("hello-pdb.exe").as_deref(), Some(MSVC));
    }

    #[test]
    fn notes_show_the_pdb_path_min_os_and_glibc_floor() {
        let read = |name: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name);
            crate::inspect::inspect(&std::fs::read(path).unwrap()).unwrap()
        };
        assert_eq!(notes(&read("hello-pdb.exe")), "pdb hello-pdb2.pdb");
        assert_eq!(
            notes(&read("hello-aarch64-macos")),
            "aarch64 macOS 15.0, aarch64 signature valid"
        );
        assert_eq!(notes(&read("hello-x86_64-linux-gnu-2.17")), "glibc 2.2.5");
    }

    #[test]
    fn a_macho_row_counts_the_imports_the_two_level_rule_proved() {
        let bytes =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hello-aarch64-macos")).unwrap();
        let row = verify_bytes(
            "hello".into(),
            &bytes,
            Some(&target(MAC_ARM)),
            &VerifySettings::default(),
        );
        assert!(row.passed(), "{:?}", row.failures);
        assert_eq!(
            row.binds.iter().map(binds_note).collect::<Vec<_>>(),
            ["aarch64 imports proven: 1 libSystem.B.dylib; 1 not proven by facts or declaration"]
        );
        let none = SliceBinds {
            arch: "x86_64".into(),
            proven: BTreeMap::new(),
            not_proven: 0,
        };
        assert_eq!(
            binds_note(&none),
            "x86_64 imports proven: none; 0 not proven by facts or declaration"
        );
    }
}
