//! `cargo xtask plan` and `cargo xtask dist`: runs the stages in order for each job.

use crate::config::{self, Config, Overrides, Toolchain};
use crate::flags::{Dist, Global, Selection};
use crate::manifest::{self, Artifact, Asset, Manifest};
use crate::package::{self, Entry};
use crate::plan::{self, Job, Plan, Route};
use crate::report::{self, Line, Progress};
use crate::runner::Runner;
use crate::{build, inspect, verify, UsageError};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

fn load_plan(runner: &Runner, global: &Global, selection: Selection) -> Result<(Config, Plan)> {
    let toolchain = Toolchain::detect(runner)?;
    let overrides = Overrides { targets: selection.targets, profile: selection.profile, out_dir: selection.out };
    let config = config::load(runner, global.manifest_path.as_deref(), &toolchain, overrides)?;
    let plan = plan::plan(&config, &toolchain)?;
    Ok((config, plan))
}

pub fn plan(runner: &Runner, global: &Global, selection: Selection) -> Result<()> {
    let (_, plan) = load_plan(runner, global, selection)?;
    report::print_plan(&plan, global.json);
    Ok(())
}

pub fn dist(runner: &Runner, global: &Global, args: Dist) -> Result<()> {
    let (config, plan) = load_plan(runner, global, args.selection)?;
    if args.dry_run {
        report::print_plan(&plan, global.json);
        return Ok(());
    }
    prepare_out_dir(&plan.out_dir)?;
    let progress = Progress::new();
    let mut artifacts = Vec::new();
    let mut failures: Vec<(String, anyhow::Error)> = Vec::new();
    for job in &plan.jobs {
        let line = progress.line(&job.target);
        let policy = verify::Policy::new(&job.target, config.per_target.get(&job.target), strips(&plan.profile));
        match run_job(runner, &plan, job, &policy, &line) {
            Ok(artifact) => {
                line.finish("done");
                artifacts.push(artifact);
            }
            Err(err) => {
                line.finish("FAILED");
                failures.push((job.target.clone(), err));
                if !args.keep_going {
                    break;
                }
            }
        }
    }
    // What succeeded is kept and described even when a later target fails.
    let manifest = Manifest {
        format_version: manifest::FORMAT_VERSION,
        dist_version: env!("CARGO_PKG_VERSION").into(),
        app_name: plan.name.clone(),
        app_version: plan.version.clone(),
        commit: plan.commit.clone(),
        source_date_epoch: plan.source_date_epoch,
        profile: plan.profile.clone(),
        artifacts,
    };
    if !manifest.artifacts.is_empty() {
        write_index(&plan.out_dir, &manifest)?;
        report::print_dist(&manifest, global.json);
    }
    match failures.len() {
        0 => Ok(()),
        1 if plan.jobs.len() == 1 => Err(failures.remove(0).1),
        n => {
            for (target, err) in &failures {
                progress.say(&format!("error: {target}: {err:#}"));
            }
            let skipped = plan.jobs.len() - manifest.artifacts.len() - n;
            let skipped = if skipped > 0 { format!(", {skipped} not started (use --keep-going to build them anyway)") } else { String::new() };
            let names: Vec<&str> = failures.iter().map(|(t, _)| t.as_str()).collect();
            bail!("{n} of {} target(s) failed: {}{skipped}", plan.jobs.len(), names.join(", "))
        }
    }
}

/// The output directory must be a writable directory before hours of building start.
fn prepare_out_dir(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(UsageError::new(format!("the output directory {} is a file: remove it or pass --out DIR", out.display())));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| UsageError::new(format!("cannot create the output directory {}: {e}: pass --out DIR", out.display())))?;
    let probe = out.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| UsageError::new(format!("cannot write to the output directory {}: {e}: fix its permissions or pass --out DIR", out.display())))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// The route's external tools must exist before cargo runs, with the fix named.
fn preflight(job: &Job) -> Result<()> {
    match job.route {
        Route::Native | Route::RustLld => Ok(()),
        Route::Zig => {
            let on_path = |tool: &str| {
                std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            };
            if on_path("cargo-zigbuild") && (on_path("zig") || on_path("python-zig")) {
                Ok(())
            } else {
                Err(UsageError::new(format!(
                    "{} uses the zig route, which needs `zig` and `cargo-zigbuild` on PATH: `pip install ziglang cargo-zigbuild`, or choose other targets with --target",
                    job.target
                )))
            }
        }
        Route::Msvc => Err(UsageError::new(format!(
            "{} uses the msvc route, which needs the MSVC CRT and Windows SDK libraries; this version cannot provision them yet: choose other targets with --target",
            job.target
        ))),
    }
}

fn run_job(runner: &Runner, plan: &Plan, job: &Job, policy: &verify::Policy, line: &Line) -> Result<Artifact> {
    preflight(job)?;
    if !job.install.is_empty() {
        line.stage("installing");
        build::install(runner, job, |message| line.stage(message))
            .with_context(|| format!("preparing the toolchain for {}", job.target))?;
    }
    line.stage("building");
    let binaries = build::build(runner, job, |n| line.tick(&format!("building ({n} compiled)")))?;

    line.stage("verifying");
    let mut assets = Vec::new();
    let mut entries = Vec::new();
    for (path, name) in binaries.iter().zip(&job.binaries) {
        let inspection = verify_binary(path, &job.target, policy)?;
        assets.push(Asset {
            name: name.clone(),
            path: name.clone(),
            kind: "executable".into(),
            size: inspection.size,
            sha256: package::sha256_file(path)?,
            inspection: Some(inspection),
        });
        entries.push(Entry { name: name.clone(), source: path.clone(), executable: true });
    }
    for include in &plan.include {
        let name = include.file_name().context("an include path has no file name")?.to_string_lossy().to_string();
        if entries.iter().any(|e| e.name == name) {
            return Err(UsageError::new(format!("the include file {} has the same name as a binary: rename or drop it", include.display())));
        }
        let size = std::fs::metadata(include).with_context(|| format!("reading {}", include.display()))?.len();
        assets.push(Asset {
            kind: manifest::include_kind(&name).into(),
            path: name.clone(),
            name: name.clone(),
            size,
            sha256: package::sha256_file(include)?,
            inspection: None,
        });
        entries.push(Entry { name, source: include.clone(), executable: false });
    }

    line.stage("packing");
    let archive = plan.out_dir.join(&job.archive);
    let top = job.archive.trim_end_matches(&format!(".{}", job.format.extension()));
    package::write_archive(&archive, job.format, top, &entries, plan.source_date_epoch)?;
    let sha256 = package::sha256_file(&archive)?;
    let size = std::fs::metadata(&archive).with_context(|| format!("reading {}", archive.display()))?.len();
    assets.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Artifact {
        name: job.archive.clone(),
        kind: "executable-zip".into(),
        target_triples: vec![job.target.clone()],
        format: job.format,
        route: job.route,
        size,
        checksums: BTreeMap::from([("sha256".to_string(), sha256)]),
        assets,
    })
}

/// The dist profile strips; other profiles are the user's choice.
fn strips(profile: &str) -> bool {
    profile == "dist"
}

/// Reads a built binary and applies the target's rules; a failure names each broken rule
/// and its usual cause, and nothing is packed.
fn verify_binary(path: &Path, target: &str, policy: &verify::Policy) -> Result<inspect::Inspection> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > inspect::MAX_INPUT {
        bail!("{} is {size} bytes, larger than any release binary should be", path.display());
    }
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = verify::map(&file, size).with_context(|| format!("mapping {}", path.display()))?;
    let inspection = inspect::inspect(bytes.as_deref().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let failures = verify::check(&inspection, target, policy);
    if !failures.is_empty() {
        let failures: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        bail!("{} fails verification for {target}, not packed: {}", path.display(), failures.join("; "));
    }
    Ok(inspection)
}

/// SHA256SUMS, the .sha256 files and manifest.json for exactly this run's archives.
fn write_index(out: &Path, manifest: &Manifest) -> Result<()> {
    let sums: Vec<(String, String)> =
        manifest.artifacts.iter().map(|a| (a.name.clone(), a.checksums["sha256"].clone())).collect();
    package::write_checksums(out, &sums)?;
    let json = serde_json::to_string_pretty(manifest).context("serialising the manifest")?;
    package::write_atomic(&out.join("manifest.json"), |w| {
        use std::io::Write;
        Ok(writeln!(w, "{json}")?)
    })
}
