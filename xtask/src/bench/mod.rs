//! `cargo xtask bench`: measures this tool against the plain tools on the same input, in
//! the same run, and writes BENCHMARKS.md. The machines are shared and noisy, so every
//! comparison is taken in interleaved pairs (ours, theirs, ours, theirs …) and reported as
//! the median of the per-pair ratios with their min–max, next to the absolute times.
//!
//! Every process goes through the runner; times are `Instant` around it. The only system
//! tools are the comparison baselines (readelf, file, tar, gzip): when one is missing, its
//! figure says so and how to install it, and the other figures still run.

mod markdown;
mod projects;
mod size_mode;

use anyhow::{Context as _, Result};
use release_orchestrator::commands::dist::Timings as DistTimings;
use release_orchestrator::commands::size::{self, Breakdown};
use release_orchestrator::commands::verify::verify_bytes;
use release_orchestrator::config::{self, Overrides, VerifySettings};
use release_orchestrator::context::Context;
use release_orchestrator::flags::Global;
use release_orchestrator::model::{ArchiveFormat, Target};
use release_orchestrator::package::{self, Entry};
use release_orchestrator::plan::Plan;
use release_orchestrator::runner::{path_arg, Cmd, Runner};
use release_orchestrator::{inspect, UsageError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every figure, in the order they run and are written.
pub const FIGURES: [&str; 11] = [
    "verify",
    "pack",
    "size",
    "projects",
    "noop",
    "overhead",
    "matrix",
    "help",
    "size-mode",
    "allocator",
    "breakdown",
];

/// Runs per figure unless `--runs` says otherwise; the cold figures take minutes per run.
const RUNS: usize = 5;
const COLD_RUNS: usize = 3;

/// Median, minimum and maximum of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// None for no samples: a figure that did not run has no statistics.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            runs: n,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Seconds,
    Bytes,
    BytesPerSecond,
    Ratio,
    Percent,
}

/// One measured quantity of a figure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub unit: Unit,
    pub stats: Stats,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "reason")]
pub enum Verdict {
    Met,
    Missed(String),
    /// Not measured: a baseline tool is missing, or the figure was not selected.
    NotMeasured(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub title: String,
    pub goal: String,
    /// The headline: the row the goal is judged on.
    pub headline: Option<Row>,
    pub rows: Vec<Row>,
    pub verdict: Verdict,
    pub notes: Vec<String>,
}

impl Figure {
    fn new(name: &str, title: &str, goal: &str) -> Figure {
        Figure {
            name: name.into(),
            title: title.into(),
            goal: goal.into(),
            headline: None,
            rows: Vec::new(),
            verdict: Verdict::NotMeasured(String::new()),
            notes: Vec::new(),
        }
    }

    fn row(&mut self, label: impl Into<String>, unit: Unit, samples: &[f64]) -> Option<Stats> {
        let stats = Stats::of(samples)?;
        self.rows.push(Row {
            label: label.into(),
            unit,
            stats,
        });
        Some(stats)
    }

    /// Adds the headline row and judges it: `met` on its median, else `missed` says why.
    fn judge(
        &mut self,
        label: impl Into<String>,
        unit: Unit,
        samples: &[f64],
        met: impl Fn(f64) -> bool,
        missed: impl Fn(f64) -> String,
    ) {
        if let Some(stats) = Stats::of(samples) {
            let row = Row {
                label: label.into(),
                unit,
                stats,
            };
            self.verdict = if met(stats.median) {
                Verdict::Met
            } else {
                Verdict::Missed(missed(stats.median))
            };
            self.headline = Some(row);
        }
    }
}

/// What the figures were measured on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    /// /proc/loadavg's 1-minute load at the start: how busy the shared machine was.
    pub load: String,
    pub date: String,
    pub rustc: String,
    /// How the measuring xtask was compiled: `cargo xtask` runs the dev profile.
    pub xtask_build: String,
    pub commit: String,
    pub command: String,
}

/// Everything BENCHMARKS.md shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub figures: Vec<Figure>,
    pub breakdown: Vec<(String, Breakdown)>,
}

/// Reads the CPU model and core count from /proc/cpuinfo's text.
pub fn cpu_info(cpuinfo: &str) -> (String, usize) {
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    (model, cores)
}

/// The state and helpers every figure shares.
struct Harness<'a> {
    runner: &'a Runner,
    ctx: &'a Context,
    root: PathBuf,
    /// target/bench: scratch space for archives, logs and the cold builds' target dirs.
    dir: PathBuf,
    runs: usize,
    cold_runs: usize,
    accept_msvc_license: bool,
    /// The size breakdown section is written by this run (`--only breakdown` or every figure).
    breakdown: bool,
}

/// Whether `program` is on PATH, so a missing baseline is reported instead of failing.
fn on_path(program: &str) -> bool {
    release_orchestrator::runner::find_on_path(program).is_some()
}

fn missing(program: &str, package: &str) -> Verdict {
    Verdict::NotMeasured(format!(
        "`{program}` is not installed (Debian: apt-get install {package})"
    ))
}

/// A `dist --timings` file's seconds per kind of stage (config, cargo, …).
fn stage_seconds(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let timings: DistTimings = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut kinds = BTreeMap::new();
    for stage in &timings.stages {
        *kinds.entry(stage.kind().to_string()).or_insert(0.0) += stage.seconds;
    }
    Ok(kinds)
}

/// Sets a file's mtime to now without changing its bytes, so cargo rebuilds what depends on it.
fn touch(path: &Path) -> Result<()> {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .with_context(|| format!("touching {} to force a rebuild", path.display()))
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// CPU seconds (user + system) so far of this process's threads and of the children it has
/// waited for (with their own waited-for children): a tool's share of a shared machine.
/// getrusage counts in microseconds, where /proc's ticks are 10 ms: a release tar packs in tens.
#[cfg(unix)]
fn cpu_seconds() -> Option<(f64, f64)> {
    let usage = |who| {
        // SAFETY: getrusage only writes the struct it is given.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (unsafe { libc::getrusage(who, &mut r) } == 0).then(|| s(r.ru_utime) + s(r.ru_stime))
    };
    Some((usage(libc::RUSAGE_SELF)?, usage(libc::RUSAGE_CHILDREN)?))
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<(f64, f64)> {
    None
}

/// Each pair's ours ÷ theirs: ratios within a pair cancel most of the shared machine's load.
fn ratios(pairs: &[(f64, f64)]) -> Vec<f64> {
    pairs.iter().map(|(a, b)| a / b).collect()
}

impl Harness<'_> {
    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Runs the plan's cargo commands (every route's one invocation), as `dist` would, with
    /// their output to a log; `target_dir` replaces the workspace's when given.
    fn cargo(&self, plan: &Plan, target_dir: Option<&Path>, log: &str) -> Result<f64> {
        let started = Instant::now();
        for build in &plan.builds {
            let mut cmd = build.cmd.clone();
            if let Some(dir) = target_dir {
                cmd = cmd.env("CARGO_TARGET_DIR", path_arg(dir)?);
            }
            self.runner.run(&cmd, Some(&self.log(log)))?;
        }
        Ok(seconds(started))
    }

    /// Runs this very binary's `dist` for the config's targets into target/bench/dist; its
    /// stage timings are then in [`Harness::dist_timings`].
    fn dist(&self) -> Result<f64> {
        let exe = std::env::current_exe().context("finding the running xtask binary")?;
        let mut cmd = Cmd::new(path_arg(&exe)?).args([
            "dist",
            "--manifest-path",
            &path_arg(&self.root.join("Cargo.toml"))?,
            "--out",
            &path_arg(&self.dir.join("dist"))?,
            "--timings",
            &path_arg(&self.timings_file())?,
        ]);
        if self.accept_msvc_license {
            cmd = cmd.arg("--accept-msvc-license");
        }
        let started = Instant::now();
        self.runner.run(&cmd, Some(&self.log("dist")))?;
        Ok(seconds(started))
    }

    fn timings_file(&self) -> PathBuf {
        self.dir.join("dist-timings.json")
    }

    /// The last [`Harness::dist`] run's seconds per kind of stage (config, cargo, …).
    fn dist_timings(&self) -> Result<BTreeMap<String, f64>> {
        stage_seconds(&self.timings_file())
    }

    fn main_rs(&self) -> PathBuf {
        self.root.join("app/src/main.rs")
    }

    /// Figure: re-running `dist` with nothing to do, against the plan's cargo commands alone.
    fn noop(&self, plan: &Plan) -> Result<Figure> {
        let mut fig = Figure::new(
            "noop",
            "no-op rerun of `dist`, all targets",
            "within 1 s of the plan's cargo commands' own no-op",
        );
        eprintln!("bench noop: warming up (builds the matrix if needed)");
        self.dist()?;
        let mut pairs = Vec::new();
        let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for run in 0..self.runs {
            eprintln!("bench noop: run {}/{}", run + 1, self.runs);
            let dist = self.dist()?;
            for (kind, seconds) in self.dist_timings()? {
                stages.entry(kind).or_default().push(seconds);
            }
            pairs.push((dist, self.cargo(plan, None, "noop")?));
        }
        fig.row(
            "`xtask dist` (no-op)",
            Unit::Seconds,
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            "the plan's cargo commands (no-op)",
            Unit::Seconds,
            &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.row("dist ÷ cargo", Unit::Ratio, &ratios(&pairs));
        // Its stages, longest first, as the runs' own `--timings` recorded them.
        let mut medians: Vec<(String, Stats, Vec<f64>)> = stages
            .into_iter()
            .filter_map(|(kind, samples)| Stats::of(&samples).map(|s| (kind, s, samples)))
            .collect();
        medians.sort_by(|a, b| b.1.median.total_cmp(&a.1.median));
        for (kind, _, samples) in &medians {
            fig.row(format!("`xtask dist` (no-op), stage: {kind}"), Unit::Seconds, samples);
        }
        fig.judge(
            "dist − cargo",
            Unit::Seconds,
            &pairs.iter().map(|(d, c)| d - c).collect::<Vec<_>>(),
            |extra| extra <= 1.0,
            |extra| {
                let longest: Vec<String> = medians
                    .iter()
                    .take(3)
                    .map(|(kind, s, _)| format!("{kind} {:.2} s", s.median))
                    .collect();
                format!(
                    "{extra:.2} s over cargo's no-op > 1 s; its longest stages: {}",
                    longest.join(", ")
                )
            },
        );
        fig.notes.push(
            "The stages come from each no-op run's own `dist --timings`; `cargo` there is the same commands the cargo side runs, inside dist.".into(),
        );
        Ok(fig)
    }

    /// Figure: a real release run (app's source touched) with and without the orchestrator.
    fn overhead(&self, plan: &Plan) -> Result<Figure> {
        let mut fig = Figure::new(
            "overhead",
            "orchestration overhead of `dist` (app rebuilt, all targets)",
            "≤ 3 % and ≤ 1 s of the whole run",
        );
        // The orchestrator's own work (planning, verifying, smoke runs, packing, hashing) is
        // the same whether cargo rebuilds or not, so it is measured where cargo does least:
        // no-op pairs. The rebuild pairs give the whole run it is a share of; their own
        // difference is shown too, but the load swings of a shared machine swamp it.
        let (mut rebuild, mut noop) = (Vec::new(), Vec::new());
        for run in 0..self.runs {
            eprintln!("bench overhead: run {}/{}", run + 1, self.runs);
            touch(&self.main_rs())?;
            let dist = self.dist()?;
            touch(&self.main_rs())?;
            rebuild.push((dist, self.cargo(plan, None, "overhead")?));
            noop.push((self.dist()?, self.cargo(plan, None, "overhead")?));
        }
        let column = |pairs: &[(f64, f64)], i: usize| -> Vec<f64> {
            pairs.iter().map(|p| if i == 0 { p.0 } else { p.1 }).collect()
        };
        fig.row("`xtask dist`, app rebuilt", Unit::Seconds, &column(&rebuild, 0));
        fig.row(
            "the plan's cargo commands, app rebuilt",
            Unit::Seconds,
            &column(&rebuild, 1),
        );
        fig.row(
            "dist − cargo, app rebuilt (noisy)",
            Unit::Seconds,
            &rebuild.iter().map(|(d, c)| d - c).collect::<Vec<_>>(),
        );
        fig.row("`xtask dist`, no-op", Unit::Seconds, &column(&noop, 0));
        fig.row("the plan's cargo commands, no-op", Unit::Seconds, &column(&noop, 1));
        let extra = fig.row(
            "overhead: dist − cargo, no-op",
            Unit::Seconds,
            &noop.iter().map(|(d, c)| d - c).collect::<Vec<_>>(),
        );
        let share: Vec<f64> = noop
            .iter()
            .zip(&rebuild)
            .map(|((d, c), (whole, _))| (d - c) / whole * 100.0)
            .collect();
        fig.judge(
            "overhead share of the rebuilding run",
            Unit::Percent,
            &share,
            |p| p <= 3.0 && extra.is_some_and(|e| e.median <= 1.0),
            |p| {
                format!(
                    "{p:.1} % and {:.2} s: over 3 % or 1 s",
                    extra.map_or(f64::NAN, |e| e.median)
                )
            },
        );
        fig.notes.push(
            "The overhead is what the orchestrator adds: planning queries, verification, smoke runs, packing (gzip/deflate included) and hashing.".into(),
        );
        Ok(fig)
    }

    /// Figure: the matrix built cold and warm, in the plan's cargo runs against one target per cargo run.
    fn matrix(&self, plan: &Plan) -> Result<Figure> {
        let mut fig = Figure::new(
            "matrix",
            "cold 5-target matrix, the plan's cargo runs (one per group of routes) vs one per target",
            "grouped ≤ 0.8× separate",
        );
        let singles: Vec<Plan> = plan
            .jobs
            .iter()
            .map(|j| {
                self.ctx
                    .replan(Overrides::for_targets(vec![j.target.to_string()]))
                    .map(|c| c.plan)
            })
            .collect::<Result<_>>()?;
        let grouped_dir = |run: usize| self.dir.join(format!("cold-grouped-{run}"));
        let single_dir = |run: usize, target: &str| self.dir.join(format!("cold-separate-{run}")).join(target);
        let separate = |run: usize| -> Result<f64> {
            let mut total = 0.0;
            for single in &singles {
                total += self.cargo(single, Some(&single_dir(run, single.jobs[0].target.triple())), "matrix")?;
            }
            Ok(total)
        };
        let (mut cold, mut cold_cpu) = (Vec::new(), Vec::new());
        for run in 0..self.cold_runs {
            eprintln!("bench matrix: cold run {}/{} (minutes)", run + 1, self.cold_runs);
            for dir in [grouped_dir(run), self.dir.join(format!("cold-separate-{run}"))] {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let before = children_cpu();
            let grouped = self.cargo(plan, Some(&grouped_dir(run)), "matrix")?;
            let between = children_cpu();
            cold.push((grouped, separate(run)?));
            if let (Some(a), Some(b), Some(c)) = (before, between, children_cpu()) {
                cold_cpu.push((b - a, c - b));
            }
        }
        let last = self.cold_runs - 1;
        let mut warm = Vec::new();
        for run in 0..self.runs {
            eprintln!("bench matrix: warm run {}/{}", run + 1, self.runs);
            touch(&self.main_rs())?;
            let grouped = self.cargo(plan, Some(&grouped_dir(last)), "matrix")?;
            touch(&self.main_rs())?;
            warm.push((grouped, separate(last)?));
        }
        for run in 0..self.cold_runs {
            let _ = std::fs::remove_dir_all(grouped_dir(run));
            let _ = std::fs::remove_dir_all(self.dir.join(format!("cold-separate-{run}")));
        }
        fig.row(
            "cold, grouped (the plan's cargo runs)",
            Unit::Seconds,
            &cold.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            "cold, separate (one cargo run per target, each in a fresh target dir)",
            Unit::Seconds,
            &cold.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.row(
            "warm (app/src/main.rs touched), grouped",
            Unit::Seconds,
            &warm.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            "warm (app/src/main.rs touched), separate",
            Unit::Seconds,
            &warm.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.row("warm: grouped ÷ separate", Unit::Ratio, &ratios(&warm));
        fig.row(
            "cold CPU time (user + sys), grouped",
            Unit::Seconds,
            &cold_cpu.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            "cold CPU time (user + sys), separate",
            Unit::Seconds,
            &cold_cpu.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.row(
            "cold CPU time: grouped ÷ separate (load-independent)",
            Unit::Ratio,
            &ratios(&cold_cpu),
        );
        fig.judge(
            "cold: grouped ÷ separate",
            Unit::Ratio,
            &ratios(&cold),
            |r| r <= 0.8,
            |r| format!("{r:.2}× > 0.8×"),
        );
        fig.notes.push(format!(
            "Cold means a fresh CARGO_TARGET_DIR; zig's own global cache (its compiled libc) stays warm, as it does on any machine after the first run. {} cold runs: each is minutes long.",
            self.cold_runs
        ));
        Ok(fig)
    }

    /// Figure: what `verify` does to a binary — map it, parse the headers, apply the target's
    /// rules, hash every byte — against what a release script runs for the same answer:
    /// `sha256sum`, `file`, and `readelf -d` (ELF) or `objdump -p` (PE). Per binary in
    /// process, and the whole `verify` command as a process against the script's processes.
    fn verify(&self, binaries: &[(String, Option<Target>, PathBuf)]) -> Result<Figure> {
        let mut fig = Figure::new(
            "verify",
            "verify vs a release script's `sha256sum` + `file` + `readelf -d`/`objdump -p`",
            "≤ 1.0× the script's time, per binary and for the whole command",
        );
        let tools = [
            ("sha256sum", "coreutils"),
            ("file", "file"),
            ("readelf", "binutils"),
            ("objdump", "binutils"),
        ];
        if let Some((tool, package)) = tools.iter().find(|(t, _)| !on_path(t)) {
            fig.verdict = missing(tool, package);
            return Ok(fig);
        }
        let settings = verify_settings(self.runner, &self.root)?;
        let mut slower = Vec::new();
        // The slowest binary's median ratio, the headline when no shipped binary is given.
        let mut per_binary: Vec<f64> = Vec::new();
        let mut script_tools = BTreeMap::new();
        for (label, target, path) in binaries {
            let size = std::fs::metadata(path)
                .with_context(|| format!("reading {}", path.display()))?
                .len() as f64;
            let script = script_for(path)?;
            script_tools.insert(
                label.clone(),
                script.iter().map(|c| c.program.clone()).collect::<Vec<_>>().join(" + "),
            );
            let mut pairs = Vec::new();
            for _ in 0..self.runs {
                let ours = time_verify(path, target.as_ref(), &settings)?;
                let started = Instant::now();
                for cmd in &script {
                    self.runner.query(cmd)?;
                }
                pairs.push((ours, seconds(started)));
            }
            let ours: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            fig.row(
                format!(
                    "{label} ({}): verify in process",
                    release_orchestrator::ui::human_size(size as u64)
                ),
                Unit::Seconds,
                &ours,
            );
            fig.row(
                format!("{label}: the script ({})", script_tools[label]),
                Unit::Seconds,
                &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            );
            fig.row(
                format!("{label}: verify, seconds per GB"),
                Unit::Seconds,
                &ours.iter().map(|t| t / size * 1e9).collect::<Vec<_>>(),
            );
            if let Some(r) = fig.row(format!("{label}: verify ÷ script"), Unit::Ratio, &ratios(&pairs)) {
                per_binary = vec![per_binary.first().copied().unwrap_or(0.0).max(r.median)];
                if r.median > 1.0 {
                    slower.push(format!("{label} {:.2}×", r.median));
                }
            }
        }
        // The command a user runs: one process over the shipped binaries (the workspace's
        // config read included), against the script's processes over the same files.
        let shipped: Vec<&PathBuf> = binaries.iter().filter(|b| b.1.is_some()).map(|b| &b.2).collect();
        let mut pairs = Vec::new();
        let mut config_read = Vec::new();
        if !shipped.is_empty() {
            let mut command = Cmd::new(path_arg(
                &std::env::current_exe().context("finding the running xtask")?,
            )?)
            .args(["verify", "--manifest-path", &path_arg(&self.root.join("Cargo.toml"))?]);
            let mut script = Vec::new();
            for path in &shipped {
                command = command.arg(path_arg(path)?);
                script.extend(script_for(path)?);
            }
            // The query the command starts with, alone: what reading the workspace costs
            // (its own packages only: loose files are not checked against the graph).
            let metadata = Cmd::new("cargo").args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
                &path_arg(&self.root.join("Cargo.toml"))?,
            ]);
            let pair = || -> Result<(f64, f64)> {
                let started = Instant::now();
                self.runner.query(&command)?;
                let ours = seconds(started);
                let started = Instant::now();
                for cmd in &script {
                    self.runner.query(cmd)?;
                }
                Ok((ours, seconds(started)))
            };
            // Both sides take some 50 ms, and one pair swings by a tenth with the machine's
            // load (0.93× and 1.00× in two runs of one pair each): as for short packs, each
            // run is the median, by ratio, of the back-to-back pairs that fill three seconds
            // (at most 15), sized by one unrecorded pair first.
            let probe = pair()?;
            let reps = ((3.0 / (probe.0 + probe.1)).ceil() as usize).clamp(1, 15);
            for _ in 0..self.runs {
                let mut run = (0..reps).map(|_| pair()).collect::<Result<Vec<_>>>()?;
                run.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
                pairs.push(run[reps / 2]);
                let started = Instant::now();
                self.runner.query(&metadata)?;
                config_read.push(seconds(started));
            }
            fig.notes.push(format!(
                "The whole command: each run is the median of {reps} back-to-back pairs."
            ));
            let n = shipped.len();
            fig.row(
                format!("`xtask verify` over the {n} dist binaries"),
                Unit::Seconds,
                &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            );
            fig.row(
                format!("the script over the {n} dist binaries"),
                Unit::Seconds,
                &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            );
        }
        let config_read = fig.row(
            "of the command: `cargo metadata --no-deps`, the workspace's config read, alone",
            Unit::Seconds,
            &config_read,
        );
        let script_median = Stats::of(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()).map(|s| s.median);
        // Judged on the whole command when it ran, else on the slowest binary in process.
        let headline = if pairs.is_empty() { per_binary } else { ratios(&pairs) };
        fig.judge(
            if pairs.is_empty() {
                "slowest verify ÷ script, in process".to_string()
            } else {
                format!("`xtask verify` ÷ the script, {} binaries", shipped.len())
            },
            Unit::Ratio,
            &headline,
            |r| r <= 1.0 && slower.is_empty(),
            |r| {
                let mut why = Vec::new();
                if r > 1.0 {
                    why.push(format!("{r:.2}× the script's time"));
                    if let (Some(read), Some(script)) = (config_read, script_median) {
                        why.push(format!(
                            "reading the workspace's config (`cargo metadata --no-deps`) alone takes {:.2}× the whole script",
                            read.median / script
                        ));
                    }
                }
                if !slower.is_empty() {
                    why.push(format!("in process slower than the script on {}", slower.join(", ")));
                }
                why.join("; ")
            },
        );
        fig.notes.push(format!(
            "In process: `inspect::map`, `verify_bytes` (parse and the target's rules) and the file's SHA-256, the mean of enough repetitions to last ≥ 50 ms. The script: {} per binary, each a process. The whole-command row starts the xtask, which reads the workspace's config with `cargo metadata --no-deps` while rustc prints the oldest macOS of each Apple target, before it verifies.",
            script_tools.iter().map(|(l, t)| format!("{t} for {l}")).collect::<Vec<_>>().join("; ")
        ));
        Ok(fig)
    }

    /// Figure: `package::write_archive` against `tar | <compressor>` on the same files, for
    /// each of `formats` (the bench measures [`PACK_FORMATS`]).
    fn pack(&self, inputs: &[(String, Vec<Entry>)], formats: &[PackFormat]) -> Result<Figure> {
        let mut fig = Figure::new(
            "pack",
            "packing time and size vs `tar` piped to the compressor at the level we ship",
            &format!(
                "time ≤ {}; size ≤ 1.0×",
                formats
                    .iter()
                    .map(|f| format!("{:.1}× for {}", f.time_goal, f.format.extension()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        let mut misses = Vec::new();
        let mut headline = Vec::new();
        for PackFormat {
            format,
            compressor,
            package,
            time_goal,
        } in formats
        {
            let program = compressor.split(' ').next().unwrap_or(compressor);
            if !on_path("tar") || !on_path(program) {
                let (tool, pkg) = if on_path("tar") {
                    (program, *package)
                } else {
                    ("tar", "tar")
                };
                fig.verdict = missing(tool, pkg);
                return Ok(fig);
            }
            for (label, entries) in inputs {
                let top = format!("bench-{label}");
                let stage = self.dir.join("pack-stage").join(label);
                let _ = std::fs::remove_dir_all(&stage);
                std::fs::create_dir_all(stage.join(&top)).with_context(|| format!("creating {}", stage.display()))?;
                for e in entries {
                    std::fs::copy(&e.source, stage.join(&top).join(&e.name))
                        .with_context(|| format!("copying {}", e.source.display()))?;
                }
                let ours_path = self.dir.join(format!("ours-{label}.{}", format.extension()));
                let theirs_path = self.dir.join(format!("theirs-{label}.{}", format.extension()));
                let tar = Cmd::new("tar")
                    .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0"])
                    .args([
                        "--use-compress-program",
                        compressor,
                        "-cf",
                        &path_arg(&theirs_path)?,
                        "-C",
                        &path_arg(&stage)?,
                        &top,
                    ]);
                // One pair: (ours, theirs) in wall seconds and, where getrusage answers, in
                // CPU seconds (ours: this process's threads; theirs: tar and its compressor).
                let pair = || -> Result<PackPair> {
                    let (started, before) = (Instant::now(), cpu_seconds());
                    package::write_archive(&ours_path, *format, &top, entries, 0)?;
                    let (ours, after) = (seconds(started), cpu_seconds());
                    let started = Instant::now();
                    self.runner.run(&tar, Some(&self.log("pack")))?;
                    let wall = (ours, seconds(started));
                    let cpu = match (before, after, cpu_seconds()) {
                        (Some(before), Some(after), Some(end)) => Some((after.0 - before.0, end.1 - after.1)),
                        _ => None,
                    };
                    Ok((wall, cpu))
                };
                // Packs of a tenth of a second swing with the machine's other load (the same
                // release tar.zst pair gave 0.52× and 0.62× in two runs of a second each): each
                // run is the median, by time ratio, of as many back-to-back pairs as fill three
                // seconds (at most 15), sized by one unrecorded pair first.
                let (probe, _) = pair()?;
                let reps = ((3.0 / (probe.0 + probe.1)).ceil() as usize).clamp(1, 15);
                let (mut pairs, mut cpu) = (Vec::new(), Vec::new());
                for _ in 0..self.runs {
                    let mut run = (0..reps).map(|_| pair()).collect::<Result<Vec<_>>>()?;
                    run.sort_by(|a, b| (a.0 .0 / a.0 .1).total_cmp(&(b.0 .0 / b.0 .1)));
                    let (wall, used) = run[reps / 2];
                    pairs.push(wall);
                    cpu.extend(used);
                }
                if reps > 1 {
                    fig.notes.push(format!(
                        "{label} {}: each run is the median of {reps} back-to-back pairs.",
                        format.extension()
                    ));
                }
                let sizes = |p: &Path| {
                    std::fs::metadata(p)
                        .map(|m| m.len() as f64)
                        .with_context(|| format!("reading {}", p.display()))
                };
                let (ours_size, theirs_size) = (sizes(&ours_path)?, sizes(&theirs_path)?);
                let ext = format.extension();
                fig.row(
                    format!("{label} {ext}: write_archive"),
                    Unit::Seconds,
                    &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
                );
                fig.row(
                    format!("{label} {ext}: tar | {compressor}"),
                    Unit::Seconds,
                    &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
                );
                let time = fig.row(format!("{label} {ext}: time ratio"), Unit::Ratio, &ratios(&pairs));
                let cpu_ratio = fig.row(format!("{label} {ext}: CPU time ratio"), Unit::Ratio, &ratios(&cpu));
                // The cores write_archive kept busy: its CPU time over its wall time, as `time`'s %CPU.
                let busy: Vec<f64> = cpu.iter().zip(&pairs).map(|(c, p)| 100.0 * c.0 / p.0).collect();
                let busy = fig.row(
                    format!("{label} {ext}: write_archive's CPU use (% of one core)"),
                    Unit::Percent,
                    &busy,
                );
                fig.row(format!("{label} {ext}: write_archive size"), Unit::Bytes, &[ours_size]);
                fig.row(
                    format!("{label} {ext}: tar | {compressor} size"),
                    Unit::Bytes,
                    &[theirs_size],
                );
                let size_ratio = ours_size / theirs_size;
                fig.row(format!("{label} {ext}: size ratio"), Unit::Ratio, &[size_ratio]);
                let time = time.map_or(f64::NAN, |t| t.median);
                headline.push((time / time_goal).max(size_ratio));
                if time > *time_goal {
                    let mut why = format!("{label} {ext} takes {time:.2}× tar's time > {time_goal:.1}×");
                    if let (Some(cpu_ratio), Some(busy)) = (cpu_ratio, busy) {
                        // Our CPU time spread over every core, theirs as it ran: the best
                        // time ratio this encoder could reach on an idle machine.
                        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                        let floor = cpu_ratio.median / cores as f64;
                        why.push_str(&format!(
                            " (it kept {:.1} of {cores} cores busy and took {:.2}× their CPU time: spread over all {cores} idle cores that is {floor:.2}×{})",
                            busy.median / 100.0,
                            cpu_ratio.median,
                            if floor > *time_goal { ", still over" } else { "" }
                        ));
                    }
                    if *format == ArchiveFormat::TarXz {
                        // A block keeps one core busy. One block leaves the second core idle;
                        // two of unequal work leave it idle for part of the time. Twice as many
                        // blocks fix either, and each starts with an empty dictionary: what
                        // that costs, measured at our match length.
                        let blocks = self.xz_blocks(&ours_path)?;
                        let stream = self.unpacked_stream(&ours_path, *format, program)?;
                        let block = stream_len(&stream)?.div_ceil(2 * blocks);
                        let split = format!(
                            "{compressor} --lzma2=preset=6,nice={} -T2 --block-size={block}",
                            package::XZ_NICE_LEN
                        );
                        let more = self.compress_stream(&stream, *format, &split)?;
                        fig.row(
                            format!("{label} {ext}: our tar stream through `{split}`, size"),
                            Unit::Bytes,
                            &[more],
                        );
                        why.push_str(&format!(
                            "; {}: `{split}` makes it {more} B, {:.3}× tar's size{}",
                            if blocks == 1 {
                                "a second core needs a second block".to_string()
                            } else {
                                format!("evening out the work of its {blocks} blocks takes smaller ones")
                            },
                            more / theirs_size,
                            if more > theirs_size { " > 1.0" } else { "" }
                        ));
                    }
                    if *format == ArchiveFormat::TarZst {
                        let stream = self.unpacked_stream(&ours_path, *format, program)?;
                        let len = stream_len(&stream)?;
                        if package::zstd_jobs(len as usize) == 1 {
                            // One zstd job keeps one core busy. compress.rs cuts jobs of at
                            // least 1 MiB (zstd's own minimum is 512 KiB, and below it zstd
                            // compresses on the calling thread): a second core needs a second
                            // frame, which cannot match against the first. What that costs.
                            let two = self.two_frames(&stream, compressor)?;
                            fig.row(
                                format!(
                                    "{label} {ext}: our tar stream as two `{compressor}` frames of half each, size"
                                ),
                                Unit::Bytes,
                                &[two],
                            );
                            why.push_str(&format!(
                                "; it is one zstd job ({len} B of tar; jobs are at least 1 MiB, zstd's own minimum 512 KiB), and a second core needs a second frame: two `{compressor}` frames of half the stream make it {two} B, {:.3}× tar's size{}",
                                two / theirs_size,
                                if two > theirs_size { " > 1.0" } else { "" }
                            ));
                        }
                    }
                    misses.push(why);
                }
                if size_ratio > 1.0 {
                    // Container or compressor? Our tar stream through their compressor splits
                    // the gap: same compressor, other stream; same stream, other compressor.
                    let again = self.recompress(&ours_path, *format, compressor, program)?;
                    fig.row(
                        format!("{label} {ext}: write_archive's tar stream through {compressor}, size"),
                        Unit::Bytes,
                        &[again],
                    );
                    misses.push(format!(
                        "{label} {ext} is {size_ratio:.3}× tar's size ({ours_size} B vs {theirs_size} B): the tar stream accounts for {:+} B (ours vs theirs through {compressor}), the compressor for {:+} B (ours vs {compressor} on our stream)",
                        again - theirs_size,
                        ours_size - again
                    ));
                }
            }
        }
        let met = misses.is_empty();
        let misses = misses.join("; ");
        fig.judge(
            "worst of time ÷ its goal and size ratio",
            Unit::Ratio,
            &[headline.iter().copied().fold(0.0, f64::max)],
            |_| met,
            |_| misses.clone(),
        );
        fig.notes.push("write_archive is timed in process (file reads, tar, compression, fsync and rename); tar as one process that pipes through the compressor.".into());
        Ok(fig)
    }

    /// The size of `archive`'s uncompressed stream compressed by `compressor` (e.g. "gzip -6"),
    /// whose `program` also decompresses with `-d`: gzip, xz and zstd all take `-d -f`.
    fn recompress(&self, archive: &Path, format: ArchiveFormat, compressor: &str, program: &str) -> Result<f64> {
        let stream = self.unpacked_stream(archive, format, program)?;
        self.compress_stream(&stream, format, compressor)
    }

    /// The blocks in an .xz file, as `xz --robot --list` counts them.
    fn xz_blocks(&self, archive: &Path) -> Result<u64> {
        let listed = self
            .runner
            .query(&Cmd::new("xz").args(["--robot", "--list", &path_arg(archive)?]))?;
        listed_blocks(&listed)
            .with_context(|| format!("`xz --robot --list` printed no block count for {}", archive.display()))
    }

    /// `archive`'s uncompressed tar stream, unpacked by `program -d` into a scratch directory.
    fn unpacked_stream(&self, archive: &Path, format: ArchiveFormat, program: &str) -> Result<PathBuf> {
        let dir = self.dir.join("recompress");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let copy = dir.join(format!("stream.{}", format.extension()));
        std::fs::copy(archive, &copy).with_context(|| format!("copying {}", archive.display()))?;
        self.runner.run(
            &Cmd::new(program).args(["-d", "-f", &path_arg(&copy)?]),
            Some(&self.log("recompress")),
        )?;
        Ok(dir.join("stream.tar"))
    }

    /// The size of a tar.zst `stream` cut in two halves, each compressed by `compressor`
    /// (zstd and its arguments, space-separated) as a frame of its own.
    fn two_frames(&self, stream: &Path, compressor: &str) -> Result<f64> {
        let bytes = std::fs::read(stream).with_context(|| format!("reading {}", stream.display()))?;
        let (first, second) = bytes.split_at(bytes.len().div_ceil(2));
        let words: Vec<&str> = compressor.split(' ').collect();
        let mut total = 0.0;
        for (i, half) in [first, second].into_iter().enumerate() {
            let path = stream.with_file_name(format!("half-{i}.tar"));
            std::fs::write(&path, half).with_context(|| format!("writing {}", path.display()))?;
            let cmd = Cmd::new(words[0])
                .args(words[1..].iter().copied())
                .args(["-q", "-f", &path_arg(&path)?]);
            self.runner.run(&cmd, Some(&self.log("recompress")))?;
            total += stream_len(&path.with_file_name(format!("half-{i}.tar.zst")))? as f64;
        }
        Ok(total)
    }

    /// The size `compressor` (program and arguments, space-separated) compresses `stream` to,
    /// beside it (`-f`, the stream replaced by `stream.<format's extension>`), as gzip, xz and
    /// zstd all do.
    fn compress_stream(&self, stream: &Path, format: ArchiveFormat, compressor: &str) -> Result<f64> {
        let words: Vec<&str> = compressor.split(' ').collect();
        let cmd = Cmd::new(words[0])
            .args(words[1..].iter().copied())
            .args(["-f", &path_arg(stream)?]);
        self.runner.run(&cmd, Some(&self.log("recompress")))?;
        let packed = stream.with_file_name(format!("stream.{}", format.extension()));
        Ok(std::fs::metadata(&packed)
            .with_context(|| format!("{compressor} wrote no {}", packed.display()))?
            .len() as f64)
    }

    /// Figure: dist binary size against the release profile, per target.
    fn size(&self, plan: &Plan) -> Result<Figure> {
        let mut fig = Figure::new(
            "size",
            "dist binary size vs the release profile (app)",
            "≤ 0.65× on every target",
        );
        let release = self
            .ctx
            .replan(Overrides {
                profile: Some("release".into()),
                ..Overrides::default()
            })?
            .plan;
        eprintln!("bench size: building the matrix with the release profile");
        let release = size::build_plan(self.runner, &release, &[], None)?;
        let dist = size::build_plan(self.runner, plan, &[], None)?;
        let mut worst = 0.0_f64;
        let (mut worst_target, mut worst_sizes, mut worst_elf) = (String::new(), (0.0, 0.0), false);
        let mut worst_triple = None;
        for (target, path) in &dist {
            let len = |p: &Path| {
                std::fs::metadata(p)
                    .map(|m| m.len() as f64)
                    .with_context(|| format!("reading {}", p.display()))
            };
            let (d, r) = (len(path)?, len(&release[target])?);
            fig.row(format!("{target}: dist"), Unit::Bytes, &[d]);
            fig.row(format!("{target}: release"), Unit::Bytes, &[r]);
            fig.row(format!("{target}: dist ÷ release"), Unit::Ratio, &[d / r]);
            if d / r > worst {
                (worst, worst_target, worst_sizes) = (d / r, target.to_string(), (d, r));
                worst_elf = target.format() == release_orchestrator::model::Format::Elf;
                worst_triple = Some(target.clone());
            }
        }
        // Where the goal is missed: what the profile makes of a program with no code of its
        // own on that target (std, the libc linked in, the runtime), the floor app's binary
        // cannot go under.
        let floor = match worst_triple.filter(|_| worst > 0.65) {
            Some(target) => {
                let route = plan
                    .jobs
                    .iter()
                    .find(|j| j.target == target)
                    .map(|j| j.route)
                    .context("the worst target is not in the plan")?;
                let floor = self.size_floor(&target, route)?;
                fig.row(
                    format!("{target}: an empty main under the dist profile"),
                    Unit::Bytes,
                    &[floor],
                );
                Some(floor)
            }
            None => None,
        };
        fig.judge(
            "largest dist ÷ release",
            Unit::Ratio,
            &[worst],
            |r| r <= 0.65,
            |r| {
                let (d, rel) = worst_sizes;
                // The breakdown section reads ELF symbol tables only: pointed to where it applies.
                let breakdown = match worst_elf && self.breakdown {
                    true => "; the size breakdown below splits it by crate",
                    false => "",
                };
                let floor = floor.map_or(String::new(), |f| {
                    format!(
                        "; an empty `fn main() {{}}` under the same profile is {f} B there, so app's binary cannot go under {:.2}× its release one ({} B of it are app's own code and crates){breakdown}",
                        f / rel,
                        d - f
                    )
                });
                format!("{worst_target} is {r:.2}× > 0.65× ({d} B against {rel} B){floor}")
            },
        );
        fig.notes.push("Sizes are exact (one build each); the release profile is cargo's default (no LTO, symbols kept, unwinding).".into());
        Ok(fig)
    }

    /// The dist binary of an empty `fn main() {}` for `target`: a workspace of its own with
    /// this repository's toolchain file, built through the plan with the tool's size profile
    /// and `panic-abort = true` (the settings of this repository's [profile.dist]). Its build
    /// script compiles an empty C file, as app's compiles C, so both link through the same
    /// route (`app_route`); a different one would compare unequal builds, and is refused.
    fn size_floor(&self, target: &Target, app_route: release_orchestrator::model::Route) -> Result<f64> {
        let dir = self.dir.join("size-floor");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).with_context(|| format!("writing {}", dir.join(name).display()))
        };
        write(
            "Cargo.toml",
            &format!("[package]\nname = \"floor\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\ncc = \"1\"\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"{target}\"]\npanic-abort = true\naccept-msvc-license = true\n"),
        )?;
        write("src/main.rs", "fn main() {}\n")?;
        write("empty.c", "void floor_unused(void) {}\n")?;
        write(
            "build.rs",
            "fn main() {\n    cc::Build::new().file(\"empty.c\").compile(\"floor\");\n}\n",
        )?;
        let toolchain =
            std::fs::read_to_string(self.root.join("rust-toolchain.toml")).context("reading rust-toolchain.toml")?;
        write("rust-toolchain.toml", &toolchain)?;
        let manifest = dir.join("Cargo.toml");
        self.runner.run(
            &Cmd::new("cargo")
                .args(["generate-lockfile", "--manifest-path", &path_arg(&manifest)?])
                .cwd(&dir),
            Some(&self.log("size-floor")),
        )?;
        eprintln!("bench size: building an empty main for {target}");
        let ctx = Context::load(*self.runner, Some(&manifest), Overrides::default())?;
        let route = ctx.plan.jobs.first().map(|j| j.route);
        anyhow::ensure!(
            route == Some(app_route),
            "the empty main would link through {route:?}, app through {app_route:?}: not comparable"
        );
        let built = size::build_plan(self.runner, &ctx.plan, &[], None)?;
        let binary = built.values().next().context("the empty main's plan built nothing")?;
        Ok(std::fs::metadata(binary)
            .with_context(|| format!("reading {}", binary.display()))?
            .len() as f64)
    }

    /// Figure: the first `cargo xtask --help` on a fresh clone (a fresh target dir).
    fn help(&self) -> Result<Figure> {
        let mut fig = Figure::new("help", "cold `cargo xtask --help` (fresh target dir)", "≤ 30 s");
        let (mut samples, mut cpu, mut report) = (Vec::new(), Vec::new(), None);
        for run in 0..self.cold_runs {
            eprintln!(
                "bench help: cold run {}/{} (compiles the xtask)",
                run + 1,
                self.cold_runs
            );
            let dir = self.dir.join("cold-help");
            let _ = std::fs::remove_dir_all(&dir);
            // What the `xtask` alias in .cargo/config.toml expands to.
            let cmd = Cmd::new("cargo")
                .args([
                    "run",
                    "--timings",
                    "--package",
                    "xtask",
                    "--manifest-path",
                    &path_arg(&self.root.join("Cargo.toml"))?,
                    "--",
                    "--help",
                ])
                .env("CARGO_TARGET_DIR", path_arg(&dir)?);
            let (started, cpu_before) = (Instant::now(), children_cpu());
            self.runner.run(&cmd, Some(&self.log("help")))?;
            samples.push(seconds(started));
            if let (Some(before), Some(after)) = (cpu_before, children_cpu()) {
                cpu.push(after - before);
            }
            let html = dir.join("cargo-timings").join("cargo-timing.html");
            match std::fs::read_to_string(&html).ok().and_then(|text| timings(&text)) {
                Some(read) => report = Some(read),
                None => fig
                    .notes
                    .push(format!("cargo's --timings report {} could not be read", html.display())),
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        let cpu = fig.row("CPU time of the build (user + sys, all processes)", Unit::Seconds, &cpu);
        // Where the time goes, from the last run's `cargo --timings`: units overlap on the cores.
        for (unit, secs) in report.iter().flat_map(|r| &r.slowest) {
            fig.row(
                format!("slowest units (last run, --timings): {unit}"),
                Unit::Seconds,
                &[*secs],
            );
        }
        let tail = report.as_ref().filter(|r| !r.tail.is_empty()).map(|r| {
            fig.row(
                format!("the build's last chain (last run, --timings): {}", r.tail.join(" → ")),
                Unit::Seconds,
                &[r.tail_seconds],
            );
            let waited = match r.tail.len() {
                1 => format!("which waited for {}", r.waited_for),
                _ => format!(
                    "each waiting for the one before it ({} for {})",
                    r.tail[0], r.waited_for
                ),
            };
            format!(
                "; its last {:.0} s were {}, {waited}",
                r.tail_seconds,
                r.tail.join(" then ")
            )
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        fig.judge("cold `cargo xtask --help`", Unit::Seconds, &samples, |s| s <= 30.0, |s| match cpu {
            Some(cpu) => format!(
                "{s:.0} s > 30 s; compiling the xtask and its dependencies takes {:.0} s of CPU, so even with all {cores} cores to itself the build needs ≥ {:.0} s{}",
                cpu.median,
                cpu.median / cores,
                tail.as_deref().unwrap_or("")
            ),
            None => format!("{s:.0} s > 30 s"),
        });
        fig.notes.push(format!(
            "{} runs: each compiles the xtask and its dependencies from scratch.",
            self.cold_runs
        ));
        Ok(fig)
    }
}

/// A file's length in bytes.
fn stream_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// The block count in `xz --robot --list`'s file line: "file\t<streams>\t<blocks>\t…".
fn listed_blocks(listed: &str) -> Option<u64> {
    listed
        .lines()
        .find_map(|l| l.strip_prefix("file\t")?.split('\t').nth(1)?.parse().ok())
}

/// One timing of ours and theirs: wall seconds, and CPU seconds where getrusage answers.
type PackPair = ((f64, f64), Option<(f64, f64)>);

/// One packed format and its baseline: `tar --use-compress-program <compressor>` at the level
/// package/compress.rs ships, the compressor's Debian package, and the time goal (issue #16:
/// the multi-threaded xz and zstd encoders at most 0.6× the single-threaded tools on 2 cores).
struct PackFormat {
    format: ArchiveFormat,
    compressor: &'static str,
    package: &'static str,
    time_goal: f64,
}

const PACK_FORMATS: &[PackFormat] = &[
    PackFormat {
        format: ArchiveFormat::TarGz,
        compressor: "gzip -9",
        package: "gzip",
        time_goal: 1.0,
    },
    PackFormat {
        format: ArchiveFormat::TarXz,
        compressor: "xz -6",
        package: "xz-utils",
        time_goal: 0.6,
    },
    PackFormat {
        format: ArchiveFormat::TarZst,
        compressor: "zstd -19",
        package: "zstd",
        time_goal: 0.6,
    },
];

/// What a cold build's `cargo --timings` report says about where its time went.
#[derive(Debug, PartialEq)]
struct Timings {
    /// The six longest units, with their durations (they overlap on the cores).
    slowest: Vec<(String, f64)>,
    /// The chain the build ended with: each unit waited for the one before it, its last
    /// dependency, and started when that one ended. Its seconds past the first unit ran
    /// one unit at a time: more cores shorten them only through rustc's parallel codegen.
    tail: Vec<String>,
    tail_seconds: f64,
    /// The unit the chain's first one waited for (its last dependency to end).
    waited_for: String,
}

/// Reads the unit table cargo writes into cargo-timing.html; None if it is not there.
fn timings(html: &str) -> Option<Timings> {
    #[derive(Deserialize)]
    struct Unit {
        i: u64,
        name: String,
        version: String,
        target: String,
        start: f64,
        duration: f64,
        /// The units this one's end (or, pipelined, its metadata) left with no dependency
        /// still to build.
        #[serde(default)]
        unblocked_units: Vec<u64>,
        #[serde(default)]
        unblocked_rmeta_units: Vec<u64>,
    }
    let start = html.find("const UNIT_DATA = ")? + "const UNIT_DATA = ".len();
    let end = start + html[start..].find(";\n")?;
    let mut units: Vec<Unit> = serde_json::from_str(&html[start..end]).ok()?;
    units.sort_by(|a, b| b.duration.total_cmp(&a.duration));
    let label = |u: &Unit| format!("{} {}{}", u.name, u.version, u.target);
    let slowest = units.iter().take(6).map(|u| (label(u), u.duration)).collect();
    // Back from the unit that ended last, through the unit whose end unblocked each one.
    let mut chain: Vec<&Unit> = Vec::new();
    let mut at = units
        .iter()
        .max_by(|a, b| (a.start + a.duration).total_cmp(&(b.start + b.duration)));
    while let Some(unit) = at.filter(|u| chain.len() < units.len() && !chain.iter().any(|c| c.i == u.i)) {
        chain.push(unit);
        at = units
            .iter()
            .find(|b| b.unblocked_units.contains(&unit.i) || b.unblocked_rmeta_units.contains(&unit.i));
    }
    chain.reverse();
    let tail_seconds = match (chain.get(1), chain.last()) {
        (Some(first), Some(last)) => last.start + last.duration - first.start,
        _ => 0.0,
    };
    let tail = chain.iter().skip(1).map(|u| label(u)).collect();
    let waited_for = chain.first().map(|u| label(u)).unwrap_or_default();
    Some(Timings {
        slowest,
        tail,
        tail_seconds,
        waited_for,
    })
}

/// CPU seconds (user + sys) of this process's finished, waited-for descendants; None off Unix.
/// The difference around a child run is what it used, however busy the shared machine is.
fn children_cpu() -> Option<f64> {
    cpu_seconds().map(|(_, children)| children)
}

/// The workspace's verify settings (profile, strip promise, per-target keys), as `verify` reads them.
fn verify_settings(runner: &Runner, root: &Path) -> Result<VerifySettings> {
    let meta = config::metadata(runner, Some(&root.join("Cargo.toml")))?;
    config::verify_settings(&meta)
}

/// The processes a release script runs to check one binary: its hash, its type, and its
/// dynamic section (ELF) or import table (PE); Mach-O has no reader in Debian's binutils.
fn script_for(path: &Path) -> Result<Vec<Cmd>> {
    let arg = path_arg(path)?;
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(
        &mut std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        &mut magic,
    )
    .with_context(|| format!("reading {}", path.display()))?;
    let mut script = vec![Cmd::new("sha256sum").arg(&arg), Cmd::new("file").arg(&arg)];
    match &magic {
        b"\x7fELF" => script.push(Cmd::new("readelf").args(["-d", &arg])),
        [b'M', b'Z', _, _] => script.push(Cmd::new("objdump").args(["-p", &arg])),
        _ => {}
    }
    Ok(script)
}

/// Seconds for one verification of `path` as `verify` does it: map, parse and apply the
/// rules, and hash the whole file; the mean of enough repetitions to last ≥ 50 ms, as one
/// call on a small file is near the timer's useful resolution.
fn time_verify(path: &Path, target: Option<&Target>, settings: &VerifySettings) -> Result<f64> {
    let started = Instant::now();
    let mut reps = 0;
    while reps == 0 || started.elapsed().as_secs_f64() < 0.05 {
        let bytes = inspect::map(path)?;
        let row = verify_bytes(path.display().to_string(), bytes.bytes(), target, settings);
        std::hint::black_box((row, package::sha256_file(path)?));
        reps += 1;
    }
    Ok(seconds(started) / f64::from(reps))
}

pub fn bench(global: &Global, args: crate::Bench) -> Result<()> {
    for name in &args.only {
        if !FIGURES.contains(&name.as_str()) {
            return Err(UsageError::new(format!(
                "--only {name}: no such figure; the figures are {}",
                FIGURES.join(", ")
            )));
        }
    }
    if args.runs == Some(0) {
        return Err(UsageError::new("--runs 0 measures nothing: give at least 1"));
    }
    let selected = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), Overrides::default())?;
    let (runner, config, plan) = (&ctx.runner, &ctx.config, &ctx.plan);
    let partial = args.quick || !args.only.is_empty();
    // A partial run must not overwrite the full results by accident.
    let out = args.out.clone().unwrap_or_else(|| {
        if partial {
            config.target_dir.join("bench").join("BENCHMARKS.md")
        } else {
            config.workspace_root.join("BENCHMARKS.md")
        }
    });
    let runs = if args.quick { 1 } else { args.runs.unwrap_or(RUNS) };
    let bench = Harness {
        runner,
        ctx: &ctx,
        root: config.workspace_root.clone(),
        dir: config.target_dir.join("bench"),
        runs,
        cold_runs: if args.quick {
            1
        } else {
            args.runs.unwrap_or(COLD_RUNS).min(runs)
        },
        accept_msvc_license: args.accept_msvc_license,
        breakdown: selected("breakdown"),
    };
    std::fs::create_dir_all(&bench.dir).with_context(|| format!("creating {}", bench.dir.display()))?;
    let machine = machine(runner, plan, &args)?;

    let mut figures = Vec::new();
    // The shipped binaries of every target, and this (debug, unstripped) xtask as a large input.
    let dist_binaries = if selected("verify") || selected("pack") {
        eprintln!("bench: building the matrix with the dist profile (no-op when built)");
        size::build_plan(runner, plan, &[], None)?
    } else {
        BTreeMap::new()
    };
    let host_target = plan
        .jobs
        .iter()
        .find(|j| j.smoke.runnable && j.smoke.runner.is_none())
        .map(|j| j.target.clone());
    let small = host_target.as_ref().and_then(|t| dist_binaries.get(t).cloned());
    let large = std::env::current_exe().context("finding the running xtask binary")?;
    let mut binaries: Vec<(String, Option<Target>, PathBuf)> = dist_binaries
        .iter()
        .map(|(target, path)| (format!("app {target}"), Some(target.clone()), path.clone()))
        .collect();
    binaries.push(("xtask (debug, unstripped)".into(), None, large.clone()));
    // A figure that fails is written down as not measured, with why, and the others still
    // run: an hour's run is not lost to one broken figure (the command exits 1 after).
    let mut failed = Vec::new();
    // "breakdown" is not a figure but a section of its own.
    for name in FIGURES.into_iter().filter(|n| selected(n) && *n != "breakdown") {
        let measured = (|| -> Result<Figure> {
            Ok(match name {
                "verify" => bench.verify(&binaries)?,
                "pack" => {
                    let mut inputs = Vec::new();
                    if let Some(path) = &small {
                        let mut entries = vec![Entry::new("app", path, true)?];
                        for include in &plan.include {
                            entries.push(Entry::include(include)?);
                        }
                        inputs.push(("release".to_string(), entries));
                    }
                    inputs.push(("large".to_string(), vec![Entry::new("xtask", &large, true)?]));
                    bench.pack(&inputs, PACK_FORMATS)?
                }
                "size" => bench.size(plan)?,
                "projects" => bench.projects(&projects::PROJECTS)?,
                "noop" => bench.noop(plan)?,
                "overhead" => bench.overhead(plan)?,
                "matrix" => bench.matrix(plan)?,
                "help" => bench.help()?,
                "size-mode" => bench.size_mode()?,
                "allocator" => bench.allocator()?,
                other => anyhow::bail!("no figure is called {other}"),
            })
        })();
        let figure = measured.unwrap_or_else(|e| {
            eprintln!("bench {name}: failed: {e:#}");
            failed.push(name);
            let mut figure = Figure::new(name, name, "—");
            figure.verdict = Verdict::NotMeasured(format!("the figure's run failed: {e:#}"));
            figure
        });
        markdown::print_figure(&figure);
        figures.push(figure);
    }
    let breakdown = if selected("breakdown") {
        size::measure(&ctx, Vec::new())?
    } else {
        Vec::new()
    };
    let results = Results {
        machine,
        figures,
        breakdown,
    };
    let markdown = markdown::benchmarks_markdown(&results);
    package::write_atomic(&out, |w| {
        use std::io::Write;
        Ok(w.write_all(markdown.as_bytes())?)
    })?;
    markdown::print_bench(&results, &out, global.json);
    if !failed.is_empty() {
        anyhow::bail!(
            "{} figure(s) failed to run: {} (written as not measured, with why)",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn machine(runner: &Runner, plan: &Plan, args: &crate::Bench) -> Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let (cpu, cores) = cpu_info(&cpuinfo);
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or("?")
        .to_string();
    let mut command = vec!["cargo xtask bench".to_string()];
    if args.quick {
        command.push("--quick".into());
    }
    if let Some(n) = args.runs {
        command.push(format!("--runs {n}"));
    }
    command.extend(args.only.iter().map(|o| format!("--only {o}")));
    if args.accept_msvc_license {
        command.push("--accept-msvc-license".into());
    }
    Ok(Machine {
        cpu,
        cores,
        load,
        date: runner
            .query(&Cmd::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?
            .trim()
            .to_string(),
        rustc: runner.query(&Cmd::new("rustc").arg("-V"))?.trim().to_string(),
        xtask_build: if cfg!(debug_assertions) {
            "dev profile, as `cargo xtask` builds it".into()
        } else {
            "optimised".into()
        },
        commit: plan.commit.clone(),
        command: command.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xz_lists_its_blocks_on_the_file_line() {
        // `xz --robot --list` of a two-block archive (xz 5.4).
        let listed = "name\t/tmp/t.tar.xz\nfile\t1\t2\t6223804\t57251840\t0.109\tCRC64\t0\ntotals\t1\t2\t6223804\t57251840\t0.109\tCRC64\t0\t1\n";
        assert_eq!(listed_blocks(listed), Some(2));
        assert_eq!(listed_blocks("totals\t1\t3\n"), None);
    }

    #[test]
    fn median_min_max() {
        assert_eq!(
            Stats::of(&[3.0, 1.0, 2.0]),
            Some(Stats {
                median: 2.0,
                min: 1.0,
                max: 3.0,
                runs: 3
            })
        );
        assert_eq!(
            Stats::of(&[4.0, 1.0, 2.0, 10.0]),
            Some(Stats {
                median: 3.0,
                min: 1.0,
                max: 10.0,
                runs: 4
            })
        );
        assert_eq!(
            Stats::of(&[7.5]).map(|s| (s.median, s.min, s.max)),
            Some((7.5, 7.5, 7.5))
        );
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn cpu_seconds_count_own_threads_and_finished_children() {
        // RUSAGE_CHILDREN is the whole process's: tests on other threads that run tools would
        // add to it, so the measurement runs alone in a fresh copy of this test binary.
        const ALONE: &str = "XTASK_TEST_CPU_ALONE";
        if std::env::var_os(ALONE).is_none() {
            let name = "bench::tests::cpu_seconds_count_own_threads_and_finished_children";
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([name, "--exact", "--test-threads=1", "--nocapture"])
                .env(ALONE, "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("1 passed"),
                "the measurement alone failed:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        let before = children_cpu().expect("getrusage works on Unix");
        let busy = Cmd::new("sh").args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"]);
        Runner::default().run(&busy, None).unwrap();
        let used = children_cpu().unwrap() - before;
        assert!(used > 0.05, "the busy loop used {used} s of CPU");
        // This process's own threads count apart from its children's.
        let (own, children) = cpu_seconds().unwrap();
        // Spin until 50 ms of CPU show up, however loaded the machine; 30 s is far beyond that.
        let started = Instant::now();
        let mut x = 0u64;
        let mut now = (own, children);
        while now.0 - own < 0.05 && started.elapsed().as_secs() < 30 {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            now = cpu_seconds().unwrap();
        }
        let (own_after, children_after) = now;
        assert!(
            own_after - own >= 0.05,
            "30 s of spinning showed {} s of CPU",
            own_after - own
        );
        assert_eq!(children_after, children, "no child ran");
    }

    #[test]
    fn timings_give_the_slowest_units_and_the_chain_the_build_ended_with() {
        // zstd-sys's build script unblocks its library, whose metadata unblocks the orchestrator;
        // goblin ran beside them and unblocked nothing that ended last.
        let html = "<script>\nconst UNIT_DATA = [{\"i\":0,\"name\":\"zstd-sys\",\"version\":\"2.1.3\",\"target\":\" build-script (run)\",\"start\":1.0,\"duration\":47.3,\"unblocked_units\":[2]},{\"i\":1,\"name\":\"goblin\",\"version\":\"0.10.7\",\"target\":\"\",\"start\":0.5,\"duration\":21.0,\"unblocked_units\":[]},{\"i\":2,\"name\":\"zstd-sys\",\"version\":\"2.1.3\",\"target\":\"\",\"start\":48.5,\"duration\":0.5,\"unblocked_units\":[],\"unblocked_rmeta_units\":[3]},{\"i\":3,\"name\":\"release-orchestrator\",\"version\":\"0.1.0\",\"target\":\"\",\"start\":49.0,\"duration\":17.0,\"unblocked_units\":[]}];\nconst CONCURRENCY_DATA = [];\n</script>";
        let read = timings(html).unwrap();
        assert_eq!(
            read.slowest,
            vec![
                ("zstd-sys 2.1.3 build-script (run)".to_string(), 47.3),
                ("goblin 0.10.7".to_string(), 21.0),
                ("release-orchestrator 0.1.0".to_string(), 17.0),
                ("zstd-sys 2.1.3".to_string(), 0.5),
            ]
        );
        // The first unit of the chain started on its own: the chain's time is what followed it.
        assert_eq!(read.tail, ["zstd-sys 2.1.3", "release-orchestrator 0.1.0"]);
        assert_eq!(read.tail_seconds, 66.0 - 48.5);
        assert_eq!(read.waited_for, "zstd-sys 2.1.3 build-script (run)");
        assert_eq!(timings("<html>no table</html>"), None);
    }

    #[test]
    fn cpu_model_and_cores_from_cpuinfo() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_info(text), ("AMD EPYC 7B13".to_string(), 2));
        assert_eq!(cpu_info(""), ("unknown CPU".to_string(), 0));
    }

    #[test]
    fn a_figure_is_judged_on_its_headline_median() {
        let mut fig = Figure::new("noop", "t", "≤ 1.5×");
        fig.judge(
            "ratio",
            Unit::Ratio,
            &[1.2, 2.0, 1.4],
            |r| r <= 1.5,
            |r| format!("{r:.2}× > 1.5×"),
        );
        assert_eq!(fig.verdict, Verdict::Met);
        fig.judge(
            "ratio",
            Unit::Ratio,
            &[1.6, 2.0, 1.4],
            |r| r <= 1.5,
            |r| format!("{r:.2}× > 1.5×"),
        );
        assert_eq!(fig.verdict, Verdict::Missed("1.60× > 1.5×".into()));
    }

    #[test]
    fn verify_and_pack_figures_measure_the_test_binary() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::load(Runner::default(), None, Overrides::default()).unwrap();
        let root = dir.path().to_path_buf();
        let bench = Harness {
            runner: &ctx.runner,
            ctx: &ctx,
            dir: root,
            root: ctx.config.workspace_root.clone(),
            runs: 2,
            cold_runs: 1,
            accept_msvc_license: false,
            breakdown: false,
        };
        let exe = std::env::current_exe().unwrap();
        let fig = bench.verify(&[("test".into(), None, exe.clone())]).unwrap();
        let labels: Vec<&str> = fig.rows.iter().map(|r| r.label.as_str()).collect();
        let tools = [
            ("sha256sum", "coreutils"),
            ("file", "file"),
            ("readelf", "binutils"),
            ("objdump", "binutils"),
        ];
        match tools.iter().find(|(t, _)| !on_path(t)) {
            // A missing baseline must be named in the verdict, never pass as a measurement.
            Some((tool, package)) => assert_eq!(fig.verdict, missing(tool, package)),
            None => {
                assert!(
                    labels.contains(&"test: the script (sha256sum + file + readelf)")
                        && labels.contains(&"test: verify ÷ script")
                        && labels.contains(&"test: verify, seconds per GB"),
                    "{labels:?}"
                );
                assert!(
                    fig.rows.iter().all(|r| r.stats.runs == 2 && r.stats.median > 0.0),
                    "{:?}",
                    fig.rows
                );
                // verify hashes every byte, so it never beats hashing alone (the old inspect
                // figure timed a map and a header parse and claimed 733 GB/s).
                let hash = (0..3)
                    .map(|_| {
                        let started = Instant::now();
                        package::sha256_file(&exe).unwrap();
                        seconds(started)
                    })
                    .fold(f64::INFINITY, f64::min);
                let ours = fig.rows.iter().find(|r| r.label.starts_with("test (")).unwrap();
                assert!(
                    ours.stats.median > 0.8 * hash,
                    "{ours:?} against hashing alone {hash} s"
                );
                assert!(
                    matches!(fig.verdict, Verdict::Met | Verdict::Missed(_)),
                    "{:?}",
                    fig.verdict
                );
            }
        }

        // The first MiB of the binary: real machine code, small enough to pack quickly in a debug build.
        let part = dir.path().join("part");
        std::fs::write(&part, &std::fs::read(&exe).unwrap()[..1 << 20]).unwrap();
        let sha256 = package::sha256_file(&part).unwrap();
        let entries = vec![Entry {
            name: "t".into(),
            source: part,
            executable: true,
            sha256,
        }];
        // tar.gz only: the tar and gzip programs are on every Linux, xz and zstd are not (the
        // bench itself needs them; `cargo test` must not).
        let fig = bench.pack(&[("test".into(), entries)], &PACK_FORMATS[..1]).unwrap();
        let size = |label: &str| fig.rows.iter().find(|r| r.label == label).unwrap().stats.median;
        // Both archives hold the same file at the same level: sizes within a few percent.
        let ratio = size("test tar.gz: write_archive size") / size("test tar.gz: tar | gzip -9 size");
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
        assert!(fig.headline.is_some(), "{fig:?}");
    }
}
