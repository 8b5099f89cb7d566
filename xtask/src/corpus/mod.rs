//! `cargo xtask corpus`: runs the tool on real open-source projects, as a new user would,
//! and writes docs/CORPUS.md. Each project is a pinned .crate from crates.io (fetched into
//! the cache, checked against its SHA-256, unpacked into a fresh directory with its own
//! Cargo.lock), made a git checkout (as a user's project is), audited for a prediction,
//! then built with `cargo xtask dist --target T` once per target, so every cell has its own
//! time, log and result. The xtask runs itself (`current_exe`): the cells see exactly what a
//! user's `cargo xtask dist --manifest-path …` does, and one cell's crash cannot stop the
//! others.

mod markdown;
pub(crate) mod projects;

use anyhow::{bail, Context as _, Result};
use projects::{Crate, Project, PROJECTS};
use release_orchestrator::flags::Global;
use release_orchestrator::model::{AssetKind, Family, SmokeStatus, Target, DEFAULT_TARGETS};
use release_orchestrator::package::manifest::Manifest;
use release_orchestrator::runner::{path_arg, Cmd, Runner};
use release_orchestrator::{package, tools, UsageError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `cargo xtask corpus` was asked to do.
pub struct Options {
    pub projects: Vec<String>,
    pub targets: Vec<String>,
    pub ci: bool,
    pub out: Option<PathBuf>,
    pub require_apple: bool,
    /// Replace only these projects' rows in the last whole table (corpus.json).
    pub update: bool,
}

/// One project × target: what happened when `dist` ran, and what the audit predicted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub project: String,
    pub target: String,
    pub built: bool,
    pub verified: bool,
    /// How the smoke run went: "natively", "under qemu-aarch64", or why it did not run.
    pub ran: String,
    /// The shipped binary's size in bytes.
    pub binary_size: Option<u64>,
    pub seconds: f64,
    /// The first error the run printed, when it failed.
    pub failure: Option<String>,
    /// What `audit` said before the build: "builds", or what it expected to fail.
    pub predicted: String,
    /// Where the run's output is kept.
    pub log: PathBuf,
    /// The run it comes from ("<date> at <commit>"); absent in tables written before cells
    /// carried it, whose project rows said it.
    #[serde(default)]
    pub run: String,
}

impl Cell {
    pub fn passed(&self) -> bool {
        self.built && self.verified && self.failure.is_none()
    }

    /// The audit said it builds exactly when it did.
    pub fn prediction_held(&self) -> bool {
        (self.predicted == PREDICTED_BUILDS) == self.built
    }
}

const PREDICTED_BUILDS: &str = "builds";

/// What the run was made with, for the document's header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub date: String,
    pub host: String,
    /// This repository's commit that ran (with "+changes" when the checkout had edits).
    pub tool_commit: String,
    pub cells: Vec<Cell>,
    pub projects: Vec<ProjectRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectRow {
    pub name: String,
    pub krate: String,
    pub version: String,
    pub features: Vec<String>,
    pub toolchain: String,
    pub covers: String,
    /// When and with which commit of this repository its cells were made (empty in a table
    /// written before rows had it: then the table's own).
    #[serde(default)]
    pub run: String,
}

pub fn corpus(global: &Global, options: Options) -> Result<()> {
    let selected = select(&options)?;
    let targets: Vec<String> = if options.targets.is_empty() {
        DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        options.targets.clone()
    };
    for t in &targets {
        if let Err(e) = Target::parse(t) {
            return Err(UsageError::new(format!("--target {t}: {e}")));
        }
    }
    let runner = global.runner();
    let tool_commit = tool_commit(&runner);
    let date = today(&runner)?;
    let root = corpus_dir()?;
    let exe = std::env::current_exe().context("finding this xtask's own executable")?;
    let mut cells = Vec::new();
    let mut rows = Vec::new();
    for project in &selected {
        eprintln!("== {} {}", project.krate.name, project.krate.version);
        let dir = prepare(&runner, &root, project)
            .with_context(|| format!("preparing the corpus project {}", project.name))?;
        let manifest_path = dir.join("Cargo.toml");
        let logs = root.join("logs").join(project.name);
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        let predictions = predict(&runner, &exe, project, &manifest_path, &targets, &logs);
        rows.push(ProjectRow {
            name: project.name.into(),
            krate: project.krate.name.into(),
            version: project.krate.version.into(),
            features: project.features.iter().map(|f| f.to_string()).collect(),
            toolchain: predictions.toolchain.clone(),
            covers: project.covers.into(),
            run: format!("{date} at {}", tool_commit.get(..12).unwrap_or(&tool_commit)),
        });
        for target in &targets {
            let predicted = predictions.for_target(target);
            let mut cell = build_cell(&runner, &exe, project, &dir, target, predicted, &logs)?;
            cell.run = rows.last().map(|r: &ProjectRow| r.run.clone()).unwrap_or_default();
            eprintln!(
                "   {target}: {} in {:.0} s{}",
                if cell.passed() { "PASS" } else { "FAIL" },
                cell.seconds,
                cell.failure.as_deref().map(|f| format!(" — {f}")).unwrap_or_default()
            );
            cells.push(cell);
        }
    }
    let failed: Vec<String> = cells
        .iter()
        .filter(|c| !c.passed() && (options.require_apple || !is_apple(&c.target)))
        .map(|c| format!("{} {}", c.project, c.target))
        .collect();
    let json = root.join("corpus.json");
    let (cells, rows) = if options.update {
        merge_into_last(&json, &selected, &targets, cells, rows)?
    } else {
        (cells, rows)
    };
    let run = Run {
        date,
        host: host_line(&runner),
        tool_commit,
        cells,
        projects: rows,
    };
    let whole = options.update || (selected.len() == PROJECTS.len() && targets.len() == DEFAULT_TARGETS.len());
    let out = match (&options.out, whole) {
        (Some(out), _) => out.clone(),
        (None, true) => workspace_root().join("docs/CORPUS.md"),
        (None, false) => root.join("CORPUS.md"),
    };
    write_atomically(&out, markdown::render(&run).as_bytes())?;
    // corpus.json is the last whole table that --update merges into: a partial run (--ci,
    // some projects or targets) must not replace it.
    if whole {
        write_atomically(&json, serde_json::to_string_pretty(&run)?.as_bytes())?;
        eprintln!("wrote {} and {}", out.display(), json.display());
    } else {
        eprintln!(
            "wrote {} (a partial run: {} keeps the last whole table)",
            out.display(),
            json.display()
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} cell(s) failed: {} (reasons in {}, logs under {})",
            failed.len(),
            failed.join(", "),
            out.display(),
            root.join("logs").display()
        );
    }
    Ok(())
}

/// The last whole table with this run's cells replaced (each rerun project's cells for the
/// rerun targets), in the corpus's order; projects no longer in the corpus are dropped. A
/// project rerun for some of its targets names both runs in its row.
fn merge_into_last(
    json: &Path,
    selected: &[Project],
    targets: &[String],
    cells: Vec<Cell>,
    rows: Vec<ProjectRow>,
) -> Result<(Vec<Cell>, Vec<ProjectRow>)> {
    let bytes = std::fs::read(json).with_context(|| {
        format!(
            "--update needs the last run's {}: run the whole corpus first",
            json.display()
        )
    })?;
    let last: Run = serde_json::from_slice(&bytes).with_context(|| format!("reading {}", json.display()))?;
    let rerun = |name: &str| selected.iter().any(|p| p.name == name);
    let replaced = |c: &Cell| rerun(&c.project) && targets.contains(&c.target);
    let last_run = format!(
        "{} at {}",
        last.date,
        last.tool_commit.get(..12).unwrap_or(&last.tool_commit)
    );
    let last_rows: Vec<ProjectRow> = last.projects;
    // A cell of an older table takes its run from its project's row.
    let kept: Vec<Cell> = last
        .cells
        .into_iter()
        .filter(|c| !replaced(c))
        .map(|mut c| {
            if c.run.is_empty() {
                let row = last_rows.iter().find(|r| r.name == c.project).map(|r| r.run.as_str());
                c.run = legacy_run(row.unwrap_or_default(), &c.target).unwrap_or_else(|| last_run.clone());
            }
            c
        })
        .collect();
    let mut all_rows: Vec<ProjectRow> = last_rows
        .iter()
        .filter(|r| !rerun(&r.name))
        .cloned()
        .chain(rows)
        .collect();
    let mut all_cells: Vec<Cell> = kept.into_iter().chain(cells).collect();
    let order = |name: &str| PROJECTS.iter().position(|p| p.name == name);
    let target_order = |target: &str| DEFAULT_TARGETS.iter().position(|t| *t == target);
    all_rows.retain(|r| order(&r.name).is_some());
    all_cells.retain(|c| order(&c.project).is_some());
    all_rows.sort_by_key(|r| order(&r.name));
    // Each project's cells in matrix order (stable: targets off the matrix keep theirs).
    all_cells.sort_by_key(|c| (order(&c.project), target_order(&c.target)));
    for row in &mut all_rows {
        row.run = runs_of(all_cells.iter().filter(|c| c.project == row.name));
    }
    Ok((all_cells, all_rows))
}

/// A project row's run column from its cells: the one run, or each run with its targets.
fn runs_of<'a>(cells: impl Iterator<Item = &'a Cell>) -> String {
    let mut runs: Vec<(&str, Vec<&str>)> = Vec::new();
    for cell in cells {
        match runs.iter_mut().find(|(run, _)| *run == cell.run) {
            Some((_, targets)) => targets.push(&cell.target),
            None => runs.push((&cell.run, vec![&cell.target])),
        }
    }
    match runs.as_slice() {
        [(run, _)] => run.to_string(),
        _ => runs
            .iter()
            .map(|(run, targets)| format!("{run} ({})", targets.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The run a row of an older table gave `target`: the whole column, or the part naming the
/// target among "<run> (<targets>); <run> (the other targets)".
fn legacy_run(row: &str, target: &str) -> Option<String> {
    if row.is_empty() {
        return None;
    }
    if !row.contains("; ") {
        return Some(row.to_string());
    }
    let parts: Vec<(&str, &str)> = row
        .split("; ")
        .filter_map(|part| part.trim_end_matches(')').split_once(" ("))
        .collect();
    parts
        .iter()
        .find(|(_, targets)| targets.split(", ").any(|t| t == target))
        .or_else(|| {
            parts
                .iter()
                .find(|(_, targets)| targets.starts_with("the other targets"))
        })
        .map(|(run, _)| run.to_string())
}

fn select(options: &Options) -> Result<Vec<Project>> {
    if options.projects.is_empty() {
        return Ok(PROJECTS.iter().filter(|p| !options.ci || p.ci).copied().collect());
    }
    options
        .projects
        .iter()
        .map(|name| {
            PROJECTS.iter().find(|p| p.name == name).copied().ok_or_else(|| {
                let known: Vec<&str> = PROJECTS.iter().map(|p| p.name).collect();
                UsageError::new(format!(
                    "no corpus project `{name}`; the corpus has: {}",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

fn is_apple(target: &str) -> bool {
    Target::parse(target).is_ok_and(|t| t.family() == Family::AppleDarwin)
}

/// Everything the corpus keeps: downloads, unpacked projects, logs, results.
pub(crate) fn corpus_dir() -> Result<PathBuf> {
    let tools = tools::cache_dir()?;
    Ok(tools.parent().unwrap_or(&tools).join("corpus"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The .crate in the cache, downloaded when missing; its SHA-256 must be the pinned one.
fn fetch(runner: &Runner, downloads: &Path, krate: &Crate) -> Result<PathBuf> {
    let path = downloads.join(krate.file_name());
    if path.is_file() && package::sha256_file(&path)? == krate.sha256 {
        return Ok(path);
    }
    std::fs::create_dir_all(downloads).with_context(|| format!("creating {}", downloads.display()))?;
    let partial = downloads.join(format!(".{}.partial-{}", krate.file_name(), std::process::id()));
    eprintln!("   downloading {}", krate.url());
    runner
        .run_to_stderr(&tools::download(&krate.url(), &partial)?)
        .with_context(|| format!("downloading {}: is crates.io reachable?", krate.url()))?;
    let actual = package::sha256_file(&partial)?;
    if actual != krate.sha256 {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "{} has SHA-256 {actual}, but the corpus pins {}: crates.io served another file",
            krate.url(),
            krate.sha256
        );
    }
    std::fs::rename(&partial, &path).with_context(|| format!("moving {} into place", path.display()))?;
    Ok(path)
}

/// Unpacks a .crate (a tar.gz whose one top directory is `name-version/`) as `dest`. The
/// tar crate's `unpack` refuses entries that would land outside its directory.
fn unpack(archive: &Path, krate: &Crate, dest: &Path) -> Result<()> {
    let staging = dest.with_extension("unpacking");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    let file = std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(&staging)
        .with_context(|| format!("unpacking {}", archive.display()))?;
    let top = staging.join(format!("{}-{}", krate.name, krate.version));
    if !top.join("Cargo.toml").is_file() {
        bail!(
            "{} has no {}-{}/Cargo.toml",
            archive.display(),
            krate.name,
            krate.version
        );
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::rename(&top, dest).with_context(|| format!("moving {} to {}", top.display(), dest.display()))?;
    std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))
}

/// The pinned project called `name`, prepared fresh (see [`prepare`]): for the benchmarks.
pub(crate) fn prepare_named(runner: &Runner, name: &str) -> Result<(&'static Project, PathBuf)> {
    let project = PROJECTS
        .iter()
        .find(|p| p.name == name)
        .with_context(|| format!("{name} is not a corpus project (xtask/src/corpus/projects.rs)"))?;
    Ok((project, prepare(runner, &corpus_dir()?, project)?))
}

/// A fresh copy of the project: unpacked, its workspace members laid out, and committed to
/// a new git repository (a user's project is a checkout; the commit and its date reach the
/// manifest). The previous run's copy, target directory included, is removed first, so
/// every cell's time includes its share of a cold build.
pub(crate) fn prepare(runner: &Runner, root: &Path, project: &Project) -> Result<PathBuf> {
    let downloads = root.join("crates");
    let dir = root.join("work").join(project.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing the previous run's {}", dir.display()))?;
    }
    unpack(&fetch(runner, &downloads, &project.krate)?, &project.krate, &dir)?;
    if !project.members.is_empty() {
        let mut members = String::from("\n[workspace]\nmembers = [");
        let mut patch = String::from("\n[patch.crates-io]\n");
        for (path, krate) in project.members {
            unpack(&fetch(runner, &downloads, krate)?, krate, &dir.join(path))?;
            members.push_str(&format!("\"{path}\", "));
            patch.push_str(&format!("{} = {{ path = \"{path}\" }}\n", krate.name));
        }
        members.push_str("]\n");
        // The published root manifest is the repository's, less its [workspace] table and
        // with the members as registry dependencies: the patch points them back at the paths.
        let manifest = dir.join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
        text.push_str(&members);
        text.push_str(&patch);
        std::fs::write(&manifest, text).with_context(|| format!("writing {}", manifest.display()))?;
        // The lock file names the members as registry packages; cargo rewrites those entries
        // to path sources (same versions) so that dist's `--locked` build accepts it.
        runner.query(
            &Cmd::new("cargo")
                .args(["metadata", "--format-version", "1", "--manifest-path"])
                .arg(path_arg(&manifest)?)
                .cwd(&dir),
        )?;
    }
    let git = |args: &[&str]| {
        Cmd::new("git")
            .args(args.iter().copied())
            .cwd(&dir)
            .env("GIT_AUTHOR_NAME", "corpus")
            .env("GIT_AUTHOR_EMAIL", "corpus@localhost")
            .env("GIT_COMMITTER_NAME", "corpus")
            .env("GIT_COMMITTER_EMAIL", "corpus@localhost")
            // A fixed date: the source date (and so the archives) is the same on every run.
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    };
    for args in [
        &["init", "--quiet"][..],
        &["add", "--all"],
        &["commit", "--quiet", "--no-gpg-sign", "-m", "corpus"],
    ] {
        runner.query(&git(args))?;
    }
    Ok(dir)
}

/// What `cargo xtask audit` predicted per target, and which toolchain the plan chose.
struct Predictions {
    toolchain: String,
    targets: Vec<(String, String)>,
    error: Option<String>,
}

impl Predictions {
    fn for_target(&self, target: &str) -> String {
        if let Some(error) = &self.error {
            return format!("audit failed: {error}");
        }
        self.targets
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| "not audited".into())
    }
}

pub(crate) fn feature_args(project: &Project) -> Vec<String> {
    match project.features {
        [] => vec![],
        features => vec!["--features".into(), features.join(",")],
    }
}

fn predict(
    runner: &Runner,
    exe: &Path,
    project: &Project,
    manifest: &Path,
    targets: &[String],
    logs: &Path,
) -> Predictions {
    let result = (|| -> Result<(String, Vec<(String, String)>)> {
        let mut audit = Cmd::new(path_arg(exe)?)
            .args(["--manifest-path", &path_arg(manifest)?, "audit", "--format", "json"])
            .args(feature_args(project));
        let mut plan = Cmd::new(path_arg(exe)?)
            .args(["--manifest-path", &path_arg(manifest)?, "--json", "plan"])
            .args(feature_args(project));
        for t in targets {
            audit = audit.args(["--target", t]);
            plan = plan.args(["--target", t]);
        }
        let report: serde_json::Value = serde_json::from_str(&run_logged(runner, &audit, &logs.join("audit.log"))?)
            .context("reading the audit's JSON")?;
        let plan: serde_json::Value = serde_json::from_str(&run_logged(runner, &plan, &logs.join("plan.log"))?)
            .context("reading the plan's JSON")?;
        let toolchain = format!(
            "{}: {}",
            plan["toolchain"]["name"].as_str().unwrap_or("the rustc on PATH"),
            plan["toolchain"]["reason"].as_str().unwrap_or_default()
        );
        let per_target = report["targets"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .map(|t| (t["target"].as_str().unwrap_or("?").to_string(), prediction(t)))
                    .collect()
            })
            .unwrap_or_default();
        Ok((toolchain, per_target))
    })();
    match result {
        Ok((toolchain, targets)) => Predictions {
            toolchain,
            targets,
            error: None,
        },
        Err(e) => Predictions {
            toolchain: "?".into(),
            targets: vec![],
            error: Some(first_line(&format!("{e:#}"))),
        },
    }
}

/// The audit's verdict for one target (docs/AUDIT.md, "The prediction"): "builds", or its
/// first reason in one line.
fn prediction(target: &serde_json::Value) -> String {
    let prediction = &target["prediction"];
    match (prediction["outcome"].as_str(), prediction["summary"].as_str()) {
        (Some(PREDICTED_BUILDS), _) => PREDICTED_BUILDS.into(),
        (Some(outcome), Some(summary)) => format!("{outcome}: {summary}"),
        (Some(outcome), None) => outcome.into(),
        (None, _) => "no prediction in the audit's JSON".into(),
    }
}

/// Runs a command that prints JSON on stdout, its stderr to `log`.
fn run_logged(runner: &Runner, cmd: &Cmd, log: &Path) -> Result<String> {
    let mut stdout = String::new();
    let finished = runner.stream(cmd, log, |line| {
        stdout.push_str(line);
        stdout.push('\n');
    })?;
    if !finished.success {
        bail!(
            "`{}` failed: {}",
            cmd.display(),
            first_error(log).unwrap_or_else(|| "see the log".into())
        );
    }
    Ok(stdout)
}

/// One `cargo xtask dist --target T`, timed, into its own output directory.
fn build_cell(
    runner: &Runner,
    exe: &Path,
    project: &Project,
    dir: &Path,
    target: &str,
    predicted: String,
    logs: &Path,
) -> Result<Cell> {
    let out = dir.join("dist").join(target);
    let log = logs.join(format!("{target}.log"));
    let cmd = Cmd::new(path_arg(exe)?)
        .args(["--manifest-path", &path_arg(&dir.join("Cargo.toml"))?, "--json", "dist"])
        .args(["--target", target, "--out", &path_arg(&out)?, "--accept-msvc-license"])
        .args(feature_args(project))
        .cwd(dir);
    let started = Instant::now();
    let finished = runner.stream(&cmd, &log, |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let manifest: Option<Manifest> = std::fs::read(out.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let artifact = manifest.as_ref().and_then(|m| {
        m.artifacts
            .iter()
            .find(|a| a.target_triples.iter().any(|t| t.triple() == target))
    });
    // The manifest records why a target left no archive; a run that stopped before writing
    // one (a config error, a refused target) says it on stderr.
    let recorded = manifest
        .as_ref()
        .and_then(|m| m.failed.iter().find(|f| f.target.triple() == target))
        .map(|f| f.reason.clone());
    let mut failure = (!finished.success).then(|| {
        recorded
            .or_else(|| first_error(&log))
            .unwrap_or_else(|| format!("dist exited with {:?}", finished.code))
    });
    // What a release engineer runs afterwards: `verify` of the whole output directory
    // (checksums, the embedded dependency lists against Cargo.lock, the binaries' rules).
    if failure.is_none() && artifact.is_some() {
        let verify_log = logs.join(format!("{target}.verify.log"));
        let verify = Cmd::new(path_arg(exe)?)
            .args(["--manifest-path", &path_arg(&dir.join("Cargo.toml"))?, "verify"])
            .args(["--out", &path_arg(&out)?])
            .cwd(dir);
        if !runner.stream(&verify, &verify_log, |_| {})?.success {
            failure = Some(format!(
                "`verify` of the output fails: {}",
                failed_rule(&verify_log).unwrap_or_else(|| format!("see {}", verify_log.display()))
            ));
        }
    }
    let stage_failed = |needle: &str| failure.as_deref().is_some_and(|f| f.contains(needle));
    let built = artifact.is_some() || stage_failed("fails verification") || stage_failed("smoke run");
    let verified = artifact.is_some() || (built && !stage_failed("fails verification"));
    let ran = match (artifact.map(|a| &a.smoke), stage_failed("smoke run")) {
        (_, true) => "failed".to_string(),
        (Some(SmokeStatus::Passed { emulator: None }), _) => "natively".into(),
        (Some(SmokeStatus::Passed { emulator: Some(e) }), _) => format!("under {e}"),
        (Some(SmokeStatus::EmulatorMissing(e)), _) => format!("no ({e} missing)"),
        (Some(SmokeStatus::NoRunner), _) => "no runner here".into(),
        (None, false) => "—".into(),
    };
    let binary_size = artifact
        .and_then(|a| a.assets.iter().find(|x| x.kind == AssetKind::Executable))
        .map(|x| x.size);
    Ok(Cell {
        project: project.name.into(),
        target: target.into(),
        built,
        verified: verified && failure.is_none(),
        ran,
        binary_size,
        seconds,
        failure,
        predicted,
        log,
        // The caller names the run, as it does in the project's row.
        run: String::new(),
    })
}

/// The first failed rule of a `verify` table (`FAIL [rule] why`), cut to one line.
fn failed_rule(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text
        .lines()
        .find_map(|l| l.split_once("FAIL [").map(|(_, rest)| rest))?;
    Some(format!("[{}", line.chars().take(300).collect::<String>()))
}

/// The first `error` line of a log, without its `error: ` prefix.
fn first_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("error: ")
                .or_else(|| l.trim_start().strip_prefix("error:"))
        })
        .map(|l| l.trim().to_string())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// Which code the run measured, read before the first cell (the checkout may change while a
/// long run goes on; the running xtask does not).
fn tool_commit(runner: &Runner) -> String {
    let git = |args: &[&str]| runner.query(&Cmd::new("git").args(args.iter().copied()).cwd(workspace_root()));
    match (
        git(&["rev-parse", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Ok(head), Ok(status)) if status.trim().is_empty() => head.trim().to_string(),
        (Ok(head), Ok(_)) => format!("{}+changes", head.trim()),
        _ => "unknown (not a git checkout)".into(),
    }
}

fn today(runner: &Runner) -> Result<String> {
    Ok(runner
        .query(&Cmd::new("date").args(["-u", "+%Y-%m-%d"]))?
        .trim()
        .to_string())
}

/// The host and the tool versions every cell shared.
fn host_line(runner: &Runner) -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let uname = runner.query(&Cmd::new("uname").args(["-srm"])).unwrap_or_default();
    format!("{}, {cores} cores", uname.trim())
}

/// The library's atomic write (temporary file and rename), after making the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    package::write_atomic(path, |out| {
        use std::io::Write as _;
        out.write_all(bytes)
            .with_context(|| format!("writing {}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(project: &str, target: &str, built: bool) -> Cell {
        Cell {
            project: project.into(),
            target: target.into(),
            built,
            verified: built,
            ran: "no runner here".into(),
            binary_size: None,
            seconds: 1.0,
            failure: None,
            predicted: PREDICTED_BUILDS.into(),
            log: PathBuf::new(),
            run: String::new(),
        }
    }

    fn row(name: &str, run: &str) -> ProjectRow {
        ProjectRow {
            name: name.into(),
            krate: name.into(),
            version: "1.0.0".into(),
            features: Vec::new(),
            toolchain: String::new(),
            covers: String::new(),
            run: run.into(),
        }
    }

    #[test]
    fn an_update_of_some_targets_replaces_only_their_cells() {
        let (musl, apple) = ("x86_64-unknown-linux-musl", "aarch64-apple-darwin");
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("corpus.json");
        let last = Run {
            date: "old".into(),
            host: String::new(),
            tool_commit: "aaaaaaaaaaaaaaaa".into(),
            cells: vec![
                cell("hexyl", musl, true),
                cell("hexyl", apple, false),
                cell("fd", apple, false),
            ],
            projects: vec![row("hexyl", "old at aaaaaaaaaaaa"), row("fd", "old at aaaaaaaaaaaa")],
        };
        std::fs::write(&json, serde_json::to_string(&last).unwrap()).unwrap();
        let hexyl: Vec<Project> = PROJECTS.iter().filter(|p| p.name == "hexyl").copied().collect();
        let mut fresh = cell("hexyl", apple, true);
        fresh.run = "new at bbbbbbbbbbbb".into();
        let (cells, rows) = merge_into_last(
            &json,
            &hexyl,
            &[apple.to_string()],
            vec![fresh],
            vec![row("hexyl", "new at bbbbbbbbbbbb")],
        )
        .unwrap();
        let got: Vec<(&str, &str, bool)> = cells
            .iter()
            .map(|c| (c.project.as_str(), c.target.as_str(), c.built))
            .collect();
        assert_eq!(
            got,
            [("hexyl", musl, true), ("hexyl", apple, true), ("fd", apple, false)]
        );
        assert_eq!(
            rows[0].run,
            "old at aaaaaaaaaaaa (x86_64-unknown-linux-musl); new at bbbbbbbbbbbb (aarch64-apple-darwin)"
        );
        assert_eq!(rows[1].run, "old at aaaaaaaaaaaa");
        // A second update of the same target replaces its run; nothing piles up.
        let (json_cells, json_rows) = (cells, rows);
        let again = Run {
            date: "new".into(),
            host: String::new(),
            tool_commit: "bbbbbbbbbbbbbbbb".into(),
            cells: json_cells,
            projects: json_rows,
        };
        std::fs::write(&json, serde_json::to_string(&again).unwrap()).unwrap();
        let mut newer = cell("hexyl", apple, true);
        newer.run = "newer at cccccccccccc".into();
        let (_, rows) = merge_into_last(
            &json,
            &hexyl,
            &[apple.to_string()],
            vec![newer],
            vec![row("hexyl", "newer at cccccccccccc")],
        )
        .unwrap();
        assert_eq!(
            rows[0].run,
            "old at aaaaaaaaaaaa (x86_64-unknown-linux-musl); newer at cccccccccccc (aarch64-apple-darwin)"
        );
        // The piled-up column older tables wrote still names each target's run.
        assert_eq!(
            legacy_run("b at 2 (aarch64-apple-darwin); a at 1 (the other targets)", apple).as_deref(),
            Some("b at 2")
        );
        assert_eq!(
            legacy_run(
                "b at 2 (aarch64-apple-darwin); a at 1 (the other targets) (the other targets)",
                musl
            )
            .as_deref(),
            Some("a at 1")
        );
    }
}
