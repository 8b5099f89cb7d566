//! `cargo xtask plan` and `cargo xtask dist`: runs the stages in order for each job.

use crate::apple::AppleImports;
use crate::build::{self, Outcome};
use crate::context::Context;
use crate::flags::{self, Global};
use crate::model::{ArchiveFormat, ArtifactKind, AssetKind, Format, Target};
use crate::package::manifest::{self, Artifact, Asset, Failed, FailedStatus, FileCheck, IndexFile, Manifest};
use crate::package::{self, Entry};
use crate::plan::{self, AppleLink, Job, Plan};
use crate::policy;
use crate::report;
use crate::runner::{path_arg, Cmd, Runner};
use crate::ui::{Line, Progress};
use crate::{inspect, UsageError};
use anyhow::{bail, Context as _, Result};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a `dist` run may do beyond building, as `cargo xtask dist`'s flags say.
#[derive(Debug, Clone, Default)]
pub struct DistOptions {
    /// Go on with the other targets when one fails.
    pub keep_going: bool,
    /// The user accepts Microsoft's licence for the MSVC libraries (as the config key does).
    pub accept_msvc_license: bool,
    /// Never download tools: fail if one is missing.
    pub no_provision: bool,
    /// Fail at once when another run holds the output directory's lock.
    pub no_wait: bool,
}

/// Why a target has no archive when the run stopped before it.
const NOT_STARTED: &str = "an earlier target failed (--keep-going builds it anyway)";

/// What a `dist` run made: the manifest (already written to the output directory with the
/// archives and checksums: every target that succeeded, and every one that did not with
/// why) and each target's error.
#[derive(Debug)]
pub struct DistRun {
    pub manifest: Manifest,
    pub failures: Vec<(Target, anyhow::Error)>,
    /// Targets planned but not built, because an earlier one failed without `keep_going`.
    pub not_started: usize,
    /// This run's build logs.
    pub log_dir: PathBuf,
    /// Where the run's time went, in the order the stages ran.
    pub timings: Timings,
}

/// Wall-clock seconds per stage of a run: what a no-op rerun or a slow release spends its
/// time on, measured rather than guessed (`dist --timings FILE`, and the benchmark's notes).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Timings {
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stage {
    /// What ran: `config`, `provision`, `cargo <route>: <targets>`, `<target>: verify, run, pack`,
    /// `sboms`, `provenance`, `release files`.
    pub stage: String,
    pub seconds: f64,
}

impl Timings {
    /// Runs `f`, recording its wall-clock time under `stage`.
    pub fn time<T>(&mut self, stage: impl Into<String>, f: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let value = f();
        self.stages.push(Stage {
            stage: stage.into(),
            seconds: started.elapsed().as_secs_f64(),
        });
        value
    }

    /// One line for people: the total and the stages, grouped by kind, longest first.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<(&str, f64)> = Vec::new();
        for stage in &self.stages {
            let kind = stage.kind();
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, seconds)) => *seconds += stage.seconds,
                None => kinds.push((kind, stage.seconds)),
            }
        }
        kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = kinds.iter().map(|(_, s)| s).sum();
        let parts: Vec<String> = kinds.iter().map(|(k, s)| format!("{k} {s:.1} s")).collect();
        format!("took {total:.1} s: {}", parts.join(", "))
    }
}

impl Stage {
    /// The stage without its targets: `cargo`, `targets (verify, run, pack)`, `config`, …
    pub fn kind(&self) -> &str {
        if self.stage.starts_with("cargo ") {
            "cargo"
        } else if self.stage.ends_with(TARGET_STAGE) {
            "targets (verify, run, pack)"
        } else {
            &self.stage
        }
    }
}

/// The suffix of a target's own stage: everything after its build.
const TARGET_STAGE: &str = ": verify, run, pack";

impl DistRun {
    /// The manifest when every target succeeded, else one error naming the failed targets
    /// (each target's own error when it was the only job).
    pub fn into_result(mut self) -> Result<Manifest> {
        let jobs = self.manifest.artifacts.len() + self.failures.len() + self.not_started;
        match self.failures.len() {
            0 => Ok(self.manifest),
            1 if jobs == 1 => Err(self.failures.remove(0).1),
            n => {
                for (target, err) in &self.failures {
                    eprintln!("error: {target}: {err:#}");
                }
                let skipped = match self.not_started {
                    0 => String::new(),
                    k => format!(", {k} not started (--keep-going builds them anyway)"),
                };
                let names: Vec<&str> = self.failures.iter().map(|(t, _)| t.triple()).collect();
                bail!(
                    "{n} of {jobs} target(s) failed: {}{skipped}; this run's build logs are in {}",
                    names.join(", "),
                    self.log_dir.display()
                )
            }
        }
    }
}

impl flags::Dist {
    pub(crate) fn run(mut self, global: &Global) -> Result<()> {
        // A part is written exactly as a whole run would write it, into its own directory.
        if let Some(dir) = self.partial.take() {
            self.selection.out = Some(dir);
        }
        let mut timings = Timings::default();
        let ctx = timings.time("config", || {
            Context::load(global.runner(), global.manifest_path.as_deref(), self.selection.into())
        })?;
        if self.dry_run {
            crate::commands::plan::print_warnings(&ctx.config);
            crate::commands::plan::print_plan(&ctx.plan, global.json);
            return Ok(());
        }
        let no_provision =
            self.no_provision || std::env::var_os("DIST_NO_PROVISION").is_some_and(|v| !v.is_empty() && v != "0");
        let options = DistOptions {
            keep_going: self.keep_going,
            accept_msvc_license: self.accept_msvc_license,
            no_provision,
            no_wait: self.no_wait,
        };
        let mut run = dist(&ctx, &options)?;
        timings.stages.append(&mut run.timings.stages);
        if !run.manifest.artifacts.is_empty() || !run.manifest.failed.is_empty() {
            report::print_dist(&run.manifest, global.json);
        }
        eprintln!("{}", timings.summary());
        if let Some(path) = &self.timings {
            let json = serde_json::to_string_pretty(&timings).context("serialising the timings")?;
            std::fs::write(path, format!("{json}\n")).with_context(|| {
                format!(
                    "writing the timings to {}: check that its directory exists",
                    path.display()
                )
            })?;
        }
        run.into_result().map(drop)
    }
}

/// Builds, verifies, smoke-runs and packs every job of `ctx`'s plan into its output
/// directory, writing SHA256SUMS, the .sha256 files, manifest.json and REPORT.md for
/// exactly what succeeded. Errors only for what stops the whole run (a locked or
/// unwritable output directory, a tool that may not be provisioned); a target's failure
/// is in the returned [`DistRun`].
pub fn dist(ctx: &Context, options: &DistOptions) -> Result<DistRun> {
    let (runner, config) = (&ctx.runner, &ctx.config);
    let offline;
    let plan = if options.no_provision {
        offline = ctx.plan.without_downloads();
        &offline
    } else {
        &ctx.plan
    };
    let mut timings = Timings::default();
    build::check_provisions(plan, options.accept_msvc_license, options.no_provision)?;
    // A wrong or unreadable signing key fails now, not after the builds.
    let signing_key = crate::sign::key_from_env(config.minisign_public_key.as_deref())?;
    prepare_out_dir(&plan.out_dir)?;
    let progress = Progress::new();
    // Held until this process ends; the OS releases it even after kill -9.
    let _lock = lock_out_dir(&plan.out_dir, options.no_wait, &progress)?;
    for leftover in package::remove_partials(&plan.out_dir)? {
        progress.say(&format!("removed {}, left by an interrupted run", leftover.display()));
    }
    let previous = previous_manifest(&plan.out_dir);
    timings.time("provision", || build::provision_all(runner, plan, &|m| progress.say(m)))?;

    for warning in &config.warnings {
        progress.say(&format!("warning: {warning}"));
    }

    let lines: Vec<Line> = plan.jobs.iter().map(|j| progress.line(j.target.triple())).collect();
    // With completions or man pages to generate, builds whose binaries run here go first:
    // they make the files that the other targets' archives reuse. Otherwise the plan's order.
    let mut order: Vec<usize> = (0..plan.builds.len()).collect();
    if !plan.generated.is_empty() {
        order.sort_by_key(|&b| !plan.jobs.iter().any(|j| j.build == b && j.runs_natively()));
    }
    let mut generated = GeneratedFiles::default();
    if let Some(host) = &plan.generator {
        generate_on_host(runner, plan, host, &progress, &mut generated);
    }
    // A failed target, with whether its build (whose log shows why) is what failed.
    let mut results: BTreeMap<Target, Result<Artifact, (anyhow::Error, bool)>> = BTreeMap::new();
    if let Some(why) = &generated.unavailable {
        // Every archive needs the generated files: building the targets would be wasted.
        for (job, line) in plan.jobs.iter().zip(&lines) {
            line.finish("FAILED");
            results.insert(job.target.clone(), Err((anyhow::anyhow!("{why}"), false)));
        }
        order.clear();
    }
    let finishing = Finishing {
        runner,
        plan,
        config,
        previous: previous.as_ref(),
    };
    // Each target's binaries once they passed, for the universal targets made from them.
    let mut passed: BTreeMap<Target, Vec<PathBuf>> = BTreeMap::new();
    for index in order {
        let group = &plan.builds[index];
        let mut jobs: Vec<(usize, &Job)> = plan
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.build == index && j.slices.is_empty())
            .collect();
        jobs.sort_by_key(|(_, j)| !j.runs_natively());
        let targets: Vec<&str> = jobs.iter().map(|(_, j)| j.target.triple()).collect();
        let outcomes = timings.time(format!("cargo {}: {}", group.routes_label(), targets.join(" ")), || {
            build_group(runner, group, &jobs, &lines)
        });
        for (i, job) in jobs {
            let built = outcomes
                .get(&job.target)
                .map(|o| o.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).cloned())
                .unwrap_or_else(|| Err(anyhow::anyhow!("{}", outcomes_error(&outcomes))))
                .map_err(|e| with_host_os_tests(job, e));
            let build_failed = built.is_err();
            let result = built.and_then(|binaries| {
                let finished = finishing.target(job, &binaries, &lines[i], &mut generated, &mut timings);
                if finished.is_ok() {
                    passed.insert(job.target.clone(), binaries);
                }
                finished
            });
            lines[i].finish(match &result {
                Ok((_, true)) => "done (archive unchanged, reused)",
                Ok((_, false)) => "done",
                Err(_) => "FAILED",
            });
            match result {
                Err(err) if err.chain().any(|e| e.is::<OutputFailed>()) => return Err(err),
                Err(err) => {
                    let err = with_size_breakdown(ctx, &job.target, err);
                    results.insert(job.target.clone(), Err((err, build_failed)));
                }
                Ok((artifact, _)) => {
                    results.insert(job.target.clone(), Ok(artifact));
                }
            }
        }
        if !options.keep_going && results.values().any(Result::is_err) {
            break;
        }
    }

    // Universal targets last: their slices are other jobs' binaries, verified already.
    for (i, job) in plan.jobs.iter().enumerate().filter(|(_, j)| !j.slices.is_empty()) {
        let stop = !options.keep_going && results.values().any(Result::is_err);
        if stop || results.contains_key(&job.target) {
            continue;
        }
        lines[i].stage("merging the slices into a universal binary");
        let result = merge_slices(config, job, &passed)
            .and_then(|binaries| finishing.target(job, &binaries, &lines[i], &mut generated, &mut timings));
        lines[i].finish(match &result {
            Ok((_, true)) => "done (archive unchanged, reused)",
            Ok((_, false)) => "done",
            Err(_) => "FAILED",
        });
        match result {
            Err(err) if err.chain().any(|e| e.is::<OutputFailed>()) => return Err(err),
            Err(err) => {
                results.insert(job.target.clone(), Err((err, false)));
            }
            Ok((artifact, _)) => {
                results.insert(job.target.clone(), Ok(artifact));
            }
        }
    }

    // What succeeded is kept and described even when a target fails; every target that
    // has no archive is listed with why.
    let mut artifacts = Vec::new();
    let mut failures = Vec::new();
    let mut failed = Vec::new();
    for (job, line) in plan.jobs.iter().zip(&lines) {
        match results.remove(&job.target) {
            Some(Ok(mut artifact)) => {
                artifact.build = Some(crate::provenance::build_record(ctx, plan, job));
                artifacts.push(artifact);
            }
            Some(Err((err, build_failed))) => {
                let log = &plan.builds[job.build].log;
                failed.push(Failed {
                    target: job.target.clone(),
                    status: FailedStatus::Failed,
                    reason: format!("{err:#}").lines().next().unwrap_or_default().to_string(),
                    log: (build_failed && log.is_file()).then(|| log.display().to_string()),
                });
                failures.push((job.target.clone(), err));
            }
            None => {
                line.finish(&format!("not started: {NOT_STARTED}"));
                failed.push(Failed {
                    target: job.target.clone(),
                    status: FailedStatus::NotStarted,
                    reason: NOT_STARTED.into(),
                    log: None,
                });
            }
        }
    }
    if !artifacts.is_empty() {
        progress.say("writing the SBOMs");
    }
    let built: Vec<&Job> = plan
        .jobs
        .iter()
        .filter(|j| artifacts.iter().any(|a| a.target_triples.contains(&j.target)))
        .collect();
    // The tools' version queries (processes) run while the SBOMs are written (in process):
    // the two stages overlap, each timed on its own.
    let (sboms, provenance) = std::thread::scope(|s| {
        let provenance = s.spawn(|| {
            let started = std::time::Instant::now();
            (crate::provenance::collect(ctx, plan, &built), started.elapsed())
        });
        let sboms = timings.time("sboms", || write_sboms(ctx, &plan.out_dir, &mut artifacts));
        (sboms, provenance.join())
    });
    sboms?;
    let (provenance, took) = provenance.map_err(|_| anyhow::anyhow!("collecting the provenance panicked"))?;
    timings.stages.push(Stage {
        stage: "provenance".into(),
        seconds: took.as_secs_f64(),
    });
    let provenance = provenance?;
    let mut manifest = Manifest {
        format_version: manifest::FORMAT_VERSION,
        dist_version: env!("CARGO_PKG_VERSION").into(),
        app_name: plan.name.clone(),
        app_version: plan.version.clone(),
        commit: plan.commit.clone(),
        source_date_epoch: plan.source_date_epoch,
        profile: plan.profile.clone(),
        artifacts,
        failed,
        installers: Vec::new(),
        provenance: Some(provenance),
    };
    // The index always describes exactly this run, even an empty one, so an old manifest
    // or SHA256SUMS never vouches for files this run did not make.
    timings.time("release files", || {
        write_release(&plan.out_dir, config, &mut manifest, signing_key.as_ref(), &|m| {
            progress.say(m)
        })
    })?;
    for stale in remove_stale(&plan.out_dir, &config.archive_prefix(), &manifest, previous.as_ref())? {
        progress.say(&format!(
            "removed {}: not made by this run (its target failed or left the matrix)",
            stale.display()
        ));
    }
    let not_started = plan.jobs.len() - manifest.artifacts.len() - failures.len();
    Ok(DistRun {
        manifest,
        failures,
        not_started,
        log_dir: plan.log_dir.clone(),
        timings,
    })
}

/// Takes `<out>/.lock` so two runs never write the same directory at once. The second run
/// waits (and says for whom), or fails with `--no-wait`. std's `File::lock` (flock on
/// Linux, stable since Rust 1.89) needs no crate, and the lock dies with its process.
pub fn lock_out_dir(out: &Path, no_wait: bool, progress: &Progress) -> Result<File> {
    let path = out.join(".lock");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            if no_wait {
                bail!(
                    "{} is in use by another `cargo xtask dist` ({holder}): wait for it to finish, or run without --no-wait to queue behind it",
                    out.display()
                );
            }
            progress.say(&format!(
                "waiting for another `cargo xtask dist` ({holder}) to finish with {}",
                out.display()
            ));
            file.lock()
                .with_context(|| format!("waiting for the lock on {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
    }
    // Who holds it, for the message a waiting run prints.
    file.set_len(0)
        .and_then(|()| writeln!(file, "process {}", std::process::id()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(file)
}

/// The last run's manifest: what its archives were made from. Unreadable means no reuse.
fn previous_manifest(out: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(out.join("manifest.json")).ok()?;
    serde_json::from_str::<Manifest>(&text)
        .ok()
        .filter(|m| m.format_version == manifest::FORMAT_VERSION)
}

/// Removes this app's archives (and their .sha256) that this run did not make: ones the
/// previous manifest listed, and any archive whose name starts with `prefix` (the start of
/// `archive-name` before the version, e.g. `<app>-`; none when empty). Removing beats
/// reporting: a release upload of `dist/*` must not ship an archive of another commit or a
/// dropped target. Other files are left alone (`--out` may point at a directory with the
/// user's own files).
fn remove_stale(out: &Path, prefix: &str, manifest: &Manifest, previous: Option<&Manifest>) -> Result<Vec<PathBuf>> {
    let current = released_files(manifest);
    let listed = previous.map(released_files).unwrap_or_default();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(out).with_context(|| format!("listing {}", out.display()))? {
        let path = entry.with_context(|| format!("listing {}", out.display()))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let archive = name.strip_suffix(".sha256").unwrap_or(&name);
        let ours = listed.contains(&archive)
            || (!prefix.is_empty()
                && archive.starts_with(prefix)
                && (archive.ends_with(".cdx.json")
                    || ArchiveFormat::ALL
                        .iter()
                        .any(|f| archive.ends_with(&format!(".{}", f.extension())))));
        if ours && !current.contains(&archive) && path.is_file() {
            std::fs::remove_file(&path).with_context(|| format!("removing the stale {}", path.display()))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// Completions and man pages made so far in this run (they do not depend on the target),
/// and why they could not be made when no binary that runs here made them.
#[derive(Default)]
struct GeneratedFiles {
    made: BTreeMap<String, PathBuf>,
    unavailable: Option<String>,
}

/// Runs each generating command with `binaries` (file names `names`, as `Job::binaries`),
/// built for `target`, which runs on this machine.
fn run_generators(
    runner: &Runner,
    plan: &Plan,
    target: &Target,
    names: &[String],
    binaries: &[PathBuf],
    generated: &mut GeneratedFiles,
) -> Result<()> {
    for file in &plan.generated {
        let i = names
            .iter()
            .position(|b| b.strip_suffix(target.exe_suffix()) == Some(&file.bin));
        let bin = path_arg(&binaries[i.context("a generated file names a bin this build did not make")?])?;
        let mut args = file.command.iter().map(|a| a.replace("{bin}", &bin));
        let cmd = Cmd::new(args.next().context("an empty generating command")?).args(args);
        let text = runner.query(&cmd).with_context(|| {
            format!(
                "generating {} with the binary for {target}: fix `completions` / `man` in [workspace.metadata.dist]",
                file.path
            )
        })?;
        let dest = plan.generated_dir.join(target.triple()).join(&file.path);
        std::fs::create_dir_all(dest.parent().context("a generated path has no parent")?)
            .with_context(|| format!("creating the directory of {}", dest.display()))?;
        package::write_if_changed(&dest, text.as_bytes())?;
        generated.made.insert(file.path.clone(), dest);
    }
    Ok(())
}

/// No target of this run runs here: builds the shipped bins for this host and makes the
/// generated files with them. A failure is kept, and fails every job (nothing is packed
/// without the files the config asks for).
fn generate_on_host(
    runner: &Runner,
    plan: &Plan,
    host: &plan::HostBuild,
    progress: &Progress,
    generated: &mut GeneratedFiles,
) {
    let line = progress.line(&format!("{} (host)", host.target));
    line.stage("building for this host: completions and man pages come from a binary that runs here, and no target of this run does");
    let wanted = [(&host.target, host.binaries.as_slice())];
    let made = build::build(runner, &host.build, &wanted, |n| {
        line.tick(&format!("building ({n} compiled)"))
    })
    .and_then(|mut outcomes| outcomes.remove(&host.target).context("the host build reported nothing"))
    .and_then(|binaries| binaries)
    .and_then(|binaries| {
        line.stage("generating completions and man pages");
        run_generators(runner, plan, &host.target, &host.binaries, &binaries, generated)
    });
    match made {
        Ok(()) => line.finish("done"),
        Err(e) => {
            line.finish("FAILED");
            generated.unavailable = Some(format!(
                "no binary that runs here made the completions and man pages: the host build for {} failed (log {}): {e:#}",
                host.target,
                host.build.log.display()
            ));
        }
    }
}

/// The generated files for `job`'s archive: made with its own binaries when they run here,
/// else the ones an earlier binary made; an error saying why when there are none.
fn generate(
    runner: &Runner,
    plan: &Plan,
    job: &Job,
    binaries: &[PathBuf],
    generated: &mut GeneratedFiles,
) -> Result<Vec<Entry>> {
    if job.runs_natively() {
        run_generators(runner, plan, &job.target, &job.binaries, binaries, generated)?;
    }
    let mut entries = Vec::new();
    for file in &plan.generated {
        let Some(source) = generated.made.get(&file.path) else {
            let natives: Vec<&str> = plan
                .jobs
                .iter()
                .filter(|j| j.runs_natively())
                .map(|j| j.target.triple())
                .collect();
            let why = generated.unavailable.clone().unwrap_or_else(|| {
                format!(
                    "{} comes from the binary of {}, which runs here, and that target failed: fix it, or build {} alone (a host build then makes the files)",
                    file.path,
                    natives.join(", "),
                    job.target
                )
            });
            bail!("{} cannot be packed for {}: {why}", file.path, job.target);
        };
        entries.push(Entry::new(file.path.clone(), source, false)?);
    }
    Ok(entries)
}

/// Writing into the output directory failed (disk full, quota, file size limit): the run
/// stops at once and leaves the previous index and archives as they were, instead of
/// going on to describe a half-written directory.
#[derive(Debug)]
struct OutputFailed(String);

impl std::fmt::Display for OutputFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the previous contents of the output directory were left as they were",
            self.0
        )
    }
}

impl std::error::Error for OutputFailed {}

/// A binary over its `max-size` budget fails together with the crates that take the space
/// (from an unstripped build of the same target; ELF targets, whose symbols size.rs reads).
fn with_size_breakdown(ctx: &Context, target: &Target, err: anyhow::Error) -> anyhow::Error {
    let over_budget = err
        .downcast_ref::<VerifyFailed>()
        .is_some_and(|v| v.failures.iter().any(|f| f.rule == "max-size"));
    if !over_budget || target.format() != Format::Elf {
        return err;
    }
    match crate::commands::size::measure(ctx, vec![target.to_string()]) {
        Ok(found) => {
            let largest: Vec<String> = found
                .iter()
                .flat_map(|(_, b)| b.crates.iter().take(8))
                .map(|(name, bytes)| format!("{name} {}", crate::ui::human_size(*bytes)))
                .collect();
            err.context(format!(
                "over the size budget; largest crates (unstripped symbols): {}",
                largest.join(", ")
            ))
        }
        Err(e) => err.context(format!("over the size budget (no breakdown: {e:#})")),
    }
}

/// A failed build's error, with the build-script OS tests that answered otherwise on this
/// host (plan.rs): a likely cause a linker's "undefined symbol" does not name.
fn with_host_os_tests(job: &Job, err: anyhow::Error) -> anyhow::Error {
    match job.host_os_tests.is_empty() {
        true => err,
        false => anyhow::anyhow!(
            "{err:#}\nnote: these build scripts decide with cfg tests that answer otherwise on this host than on {}: {} — a cross build then takes another branch than a native build (missing C objects show as undefined symbols); the crate should read the CARGO_CFG_TARGET_* variables",
            job.target,
            job.host_os_tests.join("; ")
        ),
    }
}

/// The error that stopped a whole group before cargo reported per target.
fn outcomes_error(outcomes: &BTreeMap<Target, Outcome>) -> String {
    outcomes
        .values()
        .find_map(|o| o.as_ref().err().map(|e| format!("{e:#}")))
        .unwrap_or_else(|| "the build did not run".into())
}

/// Installs the group's rustup targets and runs its one cargo invocation.
fn build_group(
    runner: &Runner,
    group: &plan::Build,
    jobs: &[(usize, &Job)],
    lines: &[Line],
) -> BTreeMap<Target, Outcome> {
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
                outcomes.insert(
                    job.target.clone(),
                    Err(e.context(format!("preparing the toolchain for {}", job.target))),
                );
            }
        }
    }
    let ready: Vec<&Job> = jobs
        .iter()
        .map(|&(_, j)| j)
        .filter(|j| !outcomes.contains_key(&j.target))
        .collect();
    if ready.is_empty() {
        return outcomes;
    }
    for &(i, job) in jobs {
        if ready.iter().any(|r| r.target == job.target) {
            lines[i].stage(&format!(
                "building ({} route, {} target(s) in one cargo run)",
                group.routes_label(),
                ready.len()
            ));
        }
    }
    let wanted: Vec<(&Target, &[String])> = ready.iter().map(|j| (&j.target, j.binaries.as_slice())).collect();
    let result = build::build(runner, group, &wanted, |n| {
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
        return Err(UsageError::new(format!(
            "the output directory {} is a file: remove it or pass --out DIR",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| {
        UsageError::new(format!(
            "cannot create the output directory {}: {e}: pass --out DIR",
            out.display()
        ))
    })?;
    let probe = out.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        UsageError::new(format!(
            "cannot write to the output directory {}: {e}: fix its permissions or pass --out DIR",
            out.display()
        ))
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// What finishing a target needs besides the target: the same for every target of a run.
struct Finishing<'a> {
    runner: &'a Runner,
    plan: &'a Plan,
    config: &'a crate::config::Config,
    previous: Option<&'a Manifest>,
}

impl Finishing<'_> {
    /// [`finish_job`] under the target's policy, timed as the target's stage.
    fn target(
        &self,
        job: &Job,
        binaries: &[PathBuf],
        line: &Line,
        generated: &mut GeneratedFiles,
        timings: &mut Timings,
    ) -> Result<(Artifact, bool)> {
        let policy = policy::Policy::for_target(&job.target, &self.config.target_config, self.config.strip)
            .with_apple_imports(apple_imports(self.config, self.plan, job));
        timings.time(format!("{}{TARGET_STAGE}", job.target), || {
            finish_job(
                self.runner,
                self.plan,
                job,
                &policy,
                binaries,
                line,
                generated,
                self.previous,
            )
        })
    }
}

/// Verifies, smoke-runs and packs one target's binaries; true beside the artifact when
/// its archive was already there with the same input and was kept.
#[allow(clippy::too_many_arguments)] // one call site (Finishing::target), which names them all
fn finish_job(
    runner: &Runner,
    plan: &Plan,
    job: &Job,
    policy: &policy::Policy,
    binaries: &[PathBuf],
    line: &Line,
    generated: &mut GeneratedFiles,
    previous: Option<&Manifest>,
) -> Result<(Artifact, bool)> {
    line.stage("verifying");
    let mut assets = Vec::new();
    let mut entries = Vec::new();
    for (path, name) in binaries.iter().zip(&job.binaries) {
        let inspection = verify_binary(path, &job.target, policy)?;
        let entry = Entry::new(name.clone(), path, true)?;
        assets.push(Asset {
            name: name.clone(),
            path: name.clone(),
            kind: AssetKind::Executable,
            size: inspection.size,
            sha256: entry.sha256.clone(),
            inspection: Some(inspection),
        });
        entries.push(entry);
    }
    if job.smoke.runnable {
        line.stage(&format!("smoke run ({})", job.smoke.note));
        for path in binaries {
            smoke_run(runner, plan, job, path)?;
        }
    }
    let smoke = job.smoke.status();
    for include in &plan.include {
        let entry = Entry::include(include)?;
        if entries.iter().any(|e| e.name == entry.name) {
            return Err(UsageError::new(format!(
                "the include file {} has the same name as a binary: rename or drop it",
                include.display()
            )));
        }
        entries.push(entry);
    }
    if !plan.generated.is_empty() {
        line.stage("generating completions and man pages");
        entries.extend(generate(runner, plan, job, binaries, generated)?);
    }
    for entry in entries.iter().filter(|e| !e.executable) {
        let size = std::fs::metadata(&entry.source)
            .with_context(|| format!("reading {}", entry.source.display()))?
            .len();
        let kind = match plan.generated.iter().find(|g| g.path == entry.name) {
            Some(generated) => generated.kind,
            None => AssetKind::of_include(&entry.name),
        };
        assets.push(Asset {
            name: entry.name.rsplit('/').next().unwrap_or(&entry.name).to_string(),
            path: entry.name.clone(),
            kind,
            size,
            sha256: entry.sha256.clone(),
            inspection: None,
        });
    }

    let archive = plan.out_dir.join(&job.archive);
    let top = job.archive.trim_end_matches(&format!(".{}", job.format.extension()));
    let input_sha256 = package::input_sha256(job.format, top, &entries, plan.source_date_epoch);
    // The previous run's archive is kept when it was packed from the same input and is
    // still the file that run wrote (its checksum is checked, not trusted).
    let reusable = previous
        .and_then(|m| {
            m.artifacts
                .iter()
                .find(|a| a.name == job.archive && a.input_sha256 == input_sha256)
        })
        .filter(|a| a.check_file(&archive) == FileCheck::Matches);
    let reused = reusable.is_some();
    let sha256 = if let Some(previous) = reusable {
        previous.sha256().unwrap_or_default().to_string()
    } else {
        line.stage(&format!("packing {}", job.format));
        package::write_archive(&archive, job.format, top, &entries, plan.source_date_epoch)
            .map_err(|e| anyhow::Error::new(OutputFailed(format!("{e:#}"))))?;
        package::sha256_file(&archive)?
    };
    let size = std::fs::metadata(&archive)
        .with_context(|| format!("reading {}", archive.display()))?
        .len();
    assets.sort_by(|a, b| a.path.cmp(&b.path));
    let artifact = Artifact {
        name: job.archive.clone(),
        kind: ArtifactKind::ExecutableZip,
        target_triples: vec![job.target.clone()],
        format: job.format,
        route: job.route,
        apple_link: job.apple_link.as_ref().map(|a| a.note()),
        apple_imports: policy.apple_imports.as_ref().map(|imports| {
            let slices = assets.iter().filter_map(|a| a.inspection.as_ref()?.macho.as_ref());
            imports.imported_by(
                slices
                    .flat_map(|m| &m.slices)
                    .flat_map(|s| &s.binds)
                    .map(|b| b.symbol.as_str()),
            )
        }),
        features: job.features.clone(),
        size,
        checksums: BTreeMap::from([("sha256".to_string(), sha256)]),
        smoke,
        input_sha256,
        assets,
        sbom: None,
        build: None,
    };
    Ok((artifact, reused))
}

/// What verify holds an Apple job's binds to beyond the facts: its link route and the
/// crates' declarations. A universal job's are its slices' together (their graphs differ
/// by a cfg at most), linked through stubs only if every slice was.
fn apple_imports(config: &crate::config::Config, plan: &Plan, job: &Job) -> Option<AppleImports> {
    let jobs: Vec<&Job> = match job.slices.is_empty() {
        true => vec![job],
        false => plan.jobs.iter().filter(|j| job.slices.contains(&j.target)).collect(),
    };
    let mut imports: Option<AppleImports> = None;
    for job in jobs {
        let Some(link) = &job.apple_link else { continue };
        let into = imports.get_or_insert_with(|| AppleImports {
            stubs: true,
            ..AppleImports::default()
        });
        into.stubs &= matches!(link, AppleLink::Stubs { .. });
        for (symbol, declared) in &config.native_code(&job.target).apple_declared {
            for d in declared {
                crate::apple::declare(&mut into.declared, symbol, &d.library, &d.crates);
            }
        }
    }
    imports
}

/// Merges each binary of a universal job's slices into one fat Mach-O under
/// `<target-dir>/dist-universal/<target>/`, in the order of `Job::binaries`.
fn merge_slices(
    config: &crate::config::Config,
    job: &Job,
    passed: &BTreeMap<Target, Vec<PathBuf>>,
) -> Result<Vec<PathBuf>> {
    let mut per_slice = Vec::new();
    for slice in &job.slices {
        let binaries = passed.get(slice).with_context(|| {
            format!(
                "{}: its slice {slice} failed or was not built, see that target's error",
                job.target
            )
        })?;
        per_slice.push(binaries);
    }
    let dir = config.target_dir.join("dist-universal").join(job.target.triple());
    let mut merged = Vec::new();
    for (index, name) in job.binaries.iter().enumerate() {
        let slices: Vec<&Path> = per_slice.iter().map(|b| b[index].as_path()).collect();
        let out = dir.join(name);
        crate::lipo::merge(&slices, &out).with_context(|| format!("making the {} binary {name}", job.target))?;
        merged.push(out);
    }
    Ok(merged)
}

/// Runs a built binary once (natively or under qemu) and checks what it prints.
fn smoke_run(runner: &Runner, plan: &Plan, job: &Job, binary: &Path) -> Result<()> {
    let exe = crate::runner::path_arg(binary)?;
    let cmd = match &job.smoke.runner {
        Some(emulator) => Cmd::new(emulator).arg(exe),
        None => Cmd::new(exe),
    }
    .args(plan.smoke_args.iter().cloned());
    let output = runner.query(&cmd).with_context(|| {
        format!(
            "the smoke run of {} for {} failed: the binary does not run on its own target",
            binary.display(),
            job.target
        )
    })?;
    if let Some(expect) = &plan.smoke_expect {
        let expect = expect.replace("{target}", job.target.triple());
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

/// Reads a built binary and applies the target's rules; a failure names each broken rule
/// and its usual cause, and nothing is packed.
fn verify_binary(path: &Path, target: &Target, policy: &policy::Policy) -> Result<inspect::Inspection> {
    let inspection = inspect::inspect_file(path)?;
    let failures = policy::check(&inspection, target, policy);
    if !failures.is_empty() {
        return Err(anyhow::Error::new(VerifyFailed {
            path: path.to_path_buf(),
            target: target.to_string(),
            failures,
        }));
    }
    Ok(inspection)
}

/// A built binary broke its target's rules; nothing of it was packed.
#[derive(Debug)]
struct VerifyFailed {
    path: PathBuf,
    target: String,
    failures: Vec<policy::Failure>,
}

impl std::fmt::Display for VerifyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failures: Vec<String> = self.failures.iter().map(|f| f.to_string()).collect();
        write!(
            f,
            "{} fails verification for {}, not packed: {}",
            self.path.display(),
            self.target,
            failures.join("; ")
        )
    }
}

impl std::error::Error for VerifyFailed {}

/// The files a manifest vouches for: archives, SBOMs and install scripts.
fn released_files(manifest: &Manifest) -> Vec<&str> {
    let sboms = manifest.artifacts.iter().filter_map(|a| a.sbom.as_ref());
    manifest
        .artifacts
        .iter()
        .map(|a| a.name.as_str())
        .chain(sboms.chain(&manifest.installers).map(|f| f.name.as_str()))
        .collect()
}

/// Writes each artifact's CycloneDX SBOM beside its archive, from its target's dependency
/// graph (the one the config stage resolved, with the target's features) and the
/// workspace's Cargo.lock.
pub fn write_sboms(ctx: &Context, out: &Path, artifacts: &mut [Artifact]) -> Result<()> {
    let config = &ctx.config;
    let manifest_path = ctx
        .manifest_path
        .clone()
        .unwrap_or_else(|| config.manifest_path.clone());
    let lock_path = config.workspace_root.join("Cargo.lock");
    let lock = package::sbom::lock_checksums(&std::fs::read_to_string(&lock_path).unwrap_or_default());
    for artifact in artifacts {
        let Some(target) = artifact.target_triples.first() else {
            continue;
        };
        // A universal binary holds its slices' code: its SBOM is the union of their graphs.
        let graph_targets = match target.is_universal() {
            true => target.slices(),
            false => vec![target.clone()],
        };
        // The graphs the config stage resolved, with the same features, where it did; the
        // others (a universal target's slices outside the matrix, or none resolved) now.
        let features = config.features_for(target);
        let reusable =
            |t: &Target| config.features_for(t) == features && ctx.graphs.iter().any(|g| g.target == t.triple());
        let missing: Vec<String> = graph_targets
            .iter()
            .filter(|t| !reusable(t))
            .map(|t| t.triple().to_string())
            .collect();
        let resolved = crate::deps::load(
            &ctx.runner,
            &ctx.toolchain.query_cmd("cargo"),
            &manifest_path,
            &missing,
            &config.bins,
            &features.cargo_flags(),
            config.graph_cache.as_ref(),
        )
        .with_context(|| format!("resolving the dependency graph of {target} for its SBOM"))?;
        let graphs: Vec<&crate::deps::TargetGraph> = graph_targets
            .iter()
            .filter_map(|t| match reusable(t) {
                true => ctx.graphs.iter().find(|g| g.target == t.triple()),
                false => resolved.iter().find(|g| g.target == t.triple()),
            })
            .collect();
        let subject = package::sbom::Subject {
            app_name: &config.name,
            app_version: &config.version,
            target: target.triple(),
            archive: &artifact.name,
            archive_sha256: artifact.sha256().unwrap_or_default(),
            commit: &config.commit,
            source_date_epoch: config.source_date_epoch,
            bins: &config.bins,
        };
        let boms = graphs
            .iter()
            .map(|graph| package::sbom::bom(graph, &subject, &lock, env!("CARGO_PKG_VERSION")))
            .collect::<Result<Vec<_>>>()?;
        let bom = package::sbom::union(boms)?;
        let name = package::sbom::file_name(&artifact.name, artifact.format.extension());
        package::sbom::write(&out.join(&name), &bom).map_err(|e| anyhow::Error::new(OutputFailed(format!("{e:#}"))))?;
        artifact.sbom = Some(IndexFile::hash(out, &name)?);
    }
    Ok(())
}

/// Everything beside the archives: the install scripts (listed in the manifest), SHA256SUMS,
/// the .sha256 files, manifest.json, REPORT.md, and the signature of SHA256SUMS when a
/// signing key is given. Without one, a signature that no longer matches is removed rather
/// than left to vouch for other checksums.
pub fn write_release(
    out: &Path,
    config: &crate::config::Config,
    manifest: &mut Manifest,
    key: Option<&crate::sign::SigningKey>,
    say: &dyn Fn(&str),
) -> Result<()> {
    let settings = package::installer::Settings {
        base_url: config.installer_base_url.as_deref(),
        public_key: config.minisign_public_key.as_deref(),
    };
    manifest.installers.clear();
    for (name, text) in [
        (package::installer::SH, package::installer::sh(manifest, &settings)?),
        (package::installer::PS1, package::installer::ps1(manifest, &settings)?),
    ] {
        if let Some(text) = text {
            package::write_if_changed(&out.join(name), text.as_bytes())?;
            manifest.installers.push(IndexFile::hash(out, name)?);
        }
    }
    let sums_before = std::fs::read(out.join("SHA256SUMS")).ok();
    write_index(out, manifest)?;
    let sig = out.join(crate::sign::SIGNATURE_FILE);
    let release = format!("{} {}", manifest.app_name, manifest.app_version);
    match (key, &config.minisign_public_key) {
        (Some(key), _) => crate::sign::sign_sums(out, key, &release)?,
        (None, Some(public)) => {
            if crate::sign::verify_sums(out, public).is_err() {
                remove_if_present(&sig)?;
                say(&format!(
                    "warning: SHA256SUMS is not signed: set ${} (the secret key's text) or ${} (its path) to sign it with the key of minisign-public-key",
                    crate::sign::KEY_ENV,
                    crate::sign::KEY_FILE_ENV
                ));
            }
        }
        (None, None) => {
            if sums_before != std::fs::read(out.join("SHA256SUMS")).ok() {
                remove_if_present(&sig)?;
            }
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing the stale {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// SHA256SUMS, the .sha256 files and manifest.json for exactly this run's archives (and
/// its SBOMs and install scripts, in SHA256SUMS).
pub fn write_index(out: &Path, manifest: &Manifest) -> Result<()> {
    let sums: Vec<(String, String)> = manifest
        .artifacts
        .iter()
        .map(|a| (a.name.clone(), a.checksums["sha256"].clone()))
        .collect();
    let others: Vec<(String, String)> = manifest
        .artifacts
        .iter()
        .filter_map(|a| a.sbom.as_ref())
        .chain(&manifest.installers)
        .map(|f| (f.name.clone(), f.sha256.clone()))
        .collect();
    package::write_checksums(out, &sums, &others)?;
    let json = serde_json::to_string_pretty(manifest).context("serialising the manifest")?;
    package::write_if_changed(&out.join("manifest.json"), format!("{json}\n").as_bytes())?;
    package::write_if_changed(&out.join("REPORT.md"), report::release_notes(manifest).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_sum_up_by_kind_longest_first() {
        let stage = |stage: &str, seconds: f64| Stage {
            stage: stage.into(),
            seconds,
        };
        let timings = Timings {
            stages: vec![
                stage("config", 0.5),
                stage("cargo zig: x86_64-unknown-linux-musl aarch64-apple-darwin", 1.0),
                stage("x86_64-unknown-linux-musl: verify, run, pack", 0.25),
                stage("cargo msvc: x86_64-pc-windows-msvc", 0.5),
                stage("aarch64-apple-darwin: verify, run, pack", 0.5),
                stage("sboms", 0.25),
            ],
        };
        assert_eq!(
            timings.summary(),
            "took 3.0 s: cargo 1.5 s, targets (verify, run, pack) 0.8 s, config 0.5 s, sboms 0.2 s"
        );
        let mut recorded = Timings::default();
        let value = recorded.time("provision", || 7);
        assert_eq!((value, recorded.stages[0].stage.as_str()), (7, "provision"));
    }
}
