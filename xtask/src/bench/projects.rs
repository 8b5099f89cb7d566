//! The `projects` figure: real crates.io projects from the corpus, not the fixture app. Per
//! project, side by side in one run: a cold `dist` of every target that builds against the
//! sum of one cargo run per target with the same profile and routes (each in a fresh target
//! dir), a no-op rerun against cargo's own no-op, and the dist binary's size against the
//! project's own release profile.

use super::{children_cpu, ratios, seconds, Figure, Harness, Unit};
use crate::corpus;
use anyhow::{Context as _, Result};
use release_orchestrator::commands::size;
use release_orchestrator::config::Overrides;
use release_orchestrator::context::Context;
use release_orchestrator::model::{AssetKind, Target};
use release_orchestrator::package::manifest::Manifest;
use release_orchestrator::runner::{path_arg, Cmd};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Cold pairs per project at most: one pair of git-absorb's takes six minutes.
const PROJECT_COLD_RUNS: usize = 2;

/// The corpus projects measured: one pure Rust, one that compiles C (libgit2) for every target.
pub const PROJECTS: [&str; 2] = ["hexyl", "git-absorb"];

/// What one project's measurements gave, for the verdict.
struct Measured {
    name: String,
    /// dist ÷ the per-target cargo runs, cold: the median of the pairs.
    cold_ratio: f64,
    /// The same for the CPU time both sides used.
    cold_cpu_ratio: f64,
    /// dist − cargo on a no-op rerun, median seconds.
    noop_extra: f64,
    /// Where a no-op dist's time went, from its stages' medians.
    noop_stages: String,
}

impl Harness<'_> {
    pub(super) fn projects(&self, names: &[&str]) -> Result<Figure> {
        let mut fig = Figure::new(
            "projects",
            "real projects (corpus): cold dist vs per-target cargo runs, no-op rerun, size vs their release profile",
            "cold dist ≤ 1.0× the per-target runs' sum; no-op within 1 s of cargo's",
        );
        let mut measured = Vec::new();
        for name in names {
            measured.push(self.project(&mut fig, name)?);
        }
        let worst = measured.iter().map(|m| m.cold_ratio).fold(0.0, f64::max);
        let mut misses = Vec::new();
        for m in &measured {
            if m.cold_ratio > 1.0 {
                misses.push(format!(
                    "{}: cold dist {:.2}× the per-target runs, using {:.2}× their CPU time",
                    m.name, m.cold_ratio, m.cold_cpu_ratio
                ));
            }
            if m.noop_extra > 1.0 {
                misses.push(format!(
                    "{}: no-op dist {:.2} s over cargo's ({})",
                    m.name, m.noop_extra, m.noop_stages
                ));
            }
        }
        let met = misses.is_empty();
        fig.judge(
            "worst cold dist ÷ per-target runs",
            Unit::Ratio,
            &[worst],
            |_| met,
            |_| misses.join("; "),
        );
        Ok(fig)
    }

    fn project(&self, fig: &mut Figure, name: &str) -> Result<Measured> {
        let (project, dir) = corpus::prepare_named(self.runner, name)?;
        let manifest_path = dir.join("Cargo.toml");
        let features = corpus::feature_args(project);
        let out = self.dir.join(format!("projects-{name}"));
        let log = self.log(&format!("projects-{name}"));
        let timings_file = self.dir.join(format!("projects-{name}-timings.json"));
        let dist = |targets: &[Target]| -> Result<(f64, bool)> {
            let mut cmd = Cmd::new(path_arg(
                &std::env::current_exe().context("finding the running xtask")?,
            )?)
            .args(["--manifest-path", &path_arg(&manifest_path)?, "dist", "--keep-going"])
            .args(["--accept-msvc-license", "--out", &path_arg(&out)?])
            .args(["--timings", &path_arg(&timings_file)?])
            .args(features.iter().cloned())
            .cwd(&dir);
            for target in targets {
                cmd = cmd.args(["--target", target.triple()]);
            }
            let started = Instant::now();
            let finished = self.runner.stream(&cmd, &log, |_| {})?;
            Ok((seconds(started), finished.success))
        };
        eprintln!("bench projects: {name}: cold dist of every target (minutes)");
        let before = children_cpu();
        let (seconds_first, all_built) = dist(&[])?;
        let cpu_first = before.zip(children_cpu()).map(|(a, b)| b - a);
        let built = shipped(&out.join("manifest.json"))?;
        let targets: Vec<Target> = built.keys().cloned().collect();
        let mut first_dist = Some((seconds_first, cpu_first));
        if !all_built {
            // A target that failed cost the run less than a build would: the judged runs are
            // of the targets that build.
            let failed: Vec<String> = failed(&out.join("manifest.json"))?;
            fig.notes.push(format!(
                "{name}: {} did not build here and are left out of its figures",
                failed.join(", ")
            ));
            first_dist = None;
        }
        let overrides = |profile: Option<&str>, target: Option<&Target>| Overrides {
            targets: match target {
                Some(t) => vec![t.to_string()],
                None => targets.iter().map(Target::to_string).collect(),
            },
            profile: profile.map(str::to_string),
            features: project.features.iter().map(|f| f.to_string()).collect(),
            ..Overrides::default()
        };
        let ctx = Context::load(*self.runner, Some(&manifest_path), overrides(None, None))?;
        let scratch = self.dir.join(format!("projects-{name}-separate"));
        // One target's cargo run in a fresh target dir; its seconds and binary.
        let alone = |profile: Option<&str>, target: &Target| -> Result<(f64, Option<std::path::PathBuf>)> {
            let _ = std::fs::remove_dir_all(&scratch);
            let plan = ctx.replan(overrides(profile, Some(target)))?.plan;
            let started = Instant::now();
            let mut binaries = size::build_plan(self.runner, &plan, &[], Some(&scratch))?;
            Ok((seconds(started), binaries.remove(target)))
        };
        // A cold run swings by tens of seconds with the machine (hexyl's dist took 70 s in one
        // session and 90 s in another): dist and the per-target runs alternate, pair by pair,
        // and the CPU both sides used is kept beside the wall time.
        let (mut cold, mut cold_cpu) = (Vec::new(), Vec::new());
        for run in 0..self.cold_runs.min(PROJECT_COLD_RUNS) {
            let (ours, ours_cpu) = match first_dist.take() {
                Some(first) => first,
                None => {
                    let before = children_cpu();
                    let _ = std::fs::remove_dir_all(dir.join("target"));
                    eprintln!(
                        "bench projects: {name}: cold dist of the {} targets that build, pair {}",
                        targets.len(),
                        run + 1
                    );
                    let seconds = dist(&targets)?.0;
                    (seconds, before.zip(children_cpu()).map(|(a, b)| b - a))
                }
            };
            let between = children_cpu();
            let mut separate = 0.0;
            for target in &targets {
                eprintln!("bench projects: {name}: {target} alone, cold, pair {}", run + 1);
                separate += alone(None, target)?.0;
            }
            cold.push((ours, separate));
            if let (Some(ours), Some(a), Some(b)) = (ours_cpu, between, children_cpu()) {
                cold_cpu.push((ours, b - a));
            }
        }
        let (mut release, mut release_sizes) = (0.0, BTreeMap::new());
        for target in &targets {
            eprintln!("bench projects: {name}: {target} alone, release profile (cold)");
            let (seconds, binary) = alone(Some("release"), target)?;
            release += seconds;
            if let Some(path) = binary {
                let len = std::fs::metadata(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .len();
                release_sizes.insert(target.clone(), len as f64);
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let n = targets.len();
        fig.row(
            format!("{name}: cold `dist`, {n} targets"),
            Unit::Seconds,
            &cold.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            format!("{name}: cold, one cargo run per target, same profile, summed"),
            Unit::Seconds,
            &cold.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.row(
            format!("{name}: cold, plain `--release` per target, summed (cheaper profile: no LTO)"),
            Unit::Seconds,
            &[release],
        );
        let cold_ratio = fig.row(
            format!("{name}: cold dist ÷ per-target runs"),
            Unit::Ratio,
            &ratios(&cold),
        );
        fig.row(
            format!("{name}: cold CPU time (user + sys), dist"),
            Unit::Seconds,
            &cold_cpu.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        fig.row(
            format!("{name}: cold CPU time (user + sys), per-target runs"),
            Unit::Seconds,
            &cold_cpu.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        fig.notes.push(format!(
            "{name}: {} cold pairs, each a dist then the per-target runs",
            cold.len()
        ));
        let cold_cpu_ratio = fig.row(
            format!("{name}: cold CPU time: dist ÷ per-target runs (load-independent)"),
            Unit::Ratio,
            &ratios(&cold_cpu),
        );

        let mut pairs = Vec::new();
        let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        // A no-op pair takes seconds and swings with the machine's load by tenths of one, the
        // size of the goal's margin: at least five pairs, interleaved.
        let noop_runs = self.runs.max(5);
        for run in 0..noop_runs {
            eprintln!("bench projects: {name}: no-op run {}/{noop_runs}", run + 1);
            let ours = dist(&targets)?.0;
            for (kind, seconds) in super::stage_seconds(&timings_file)? {
                stages.entry(kind).or_default().push(seconds);
            }
            let started = Instant::now();
            for build in &ctx.plan.builds {
                self.runner.run(&build.cmd, Some(&log))?;
            }
            pairs.push((ours, seconds(started)));
        }
        fig.row(
            format!("{name}: no-op `dist`"),
            Unit::Seconds,
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        );
        let bare = fig.row(
            format!("{name}: the plan's cargo commands, no-op"),
            Unit::Seconds,
            &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        );
        let extra = fig.row(
            format!("{name}: no-op dist − cargo"),
            Unit::Seconds,
            &pairs.iter().map(|(d, c)| d - c).collect::<Vec<_>>(),
        );
        fig.row(format!("{name}: no-op dist ÷ cargo"), Unit::Ratio, &ratios(&pairs));
        let mut stage = BTreeMap::new();
        for (kind, samples) in &stages {
            if let Some(s) = fig.row(format!("{name}: no-op `dist`, stage: {kind}"), Unit::Seconds, samples) {
                stage.insert(kind.as_str(), s.median);
            }
        }
        let seconds = |s: Option<f64>| s.map_or("?".to_string(), |s| format!("{s:.2} s"));
        let noop_stages = format!(
            "inside dist its cargo runs took {} against {} run bare; config {}",
            seconds(stage.get("cargo").copied()),
            seconds(bare.map(|b| b.median)),
            seconds(stage.get("config").copied())
        );
        for (target, dist_size) in &built {
            if let Some(release_size) = release_sizes.get(target) {
                fig.row(
                    format!("{name} {target}: dist binary ÷ its release profile's ({dist_size} B vs {release_size} B)"),
                    Unit::Ratio,
                    &[dist_size / release_size],
                );
            }
        }
        Ok(Measured {
            name: name.to_string(),
            cold_ratio: cold_ratio.map_or(f64::NAN, |s| s.median),
            cold_cpu_ratio: cold_cpu_ratio.map_or(f64::NAN, |s| s.median),
            noop_extra: extra.map_or(f64::NAN, |s| s.median),
            noop_stages,
        })
    }
}

/// Each shipped target's executable size, from a dist run's manifest.
fn shipped(manifest: &Path) -> Result<BTreeMap<Target, f64>> {
    let manifest = read(manifest)?;
    let mut sizes = BTreeMap::new();
    for artifact in &manifest.artifacts {
        let exe = artifact.assets.iter().find(|a| a.kind == AssetKind::Executable);
        for target in &artifact.target_triples {
            if let Some(exe) = exe {
                sizes.insert(target.clone(), exe.size as f64);
            }
        }
    }
    Ok(sizes)
}

fn failed(manifest: &Path) -> Result<Vec<String>> {
    Ok(read(manifest)?.failed.iter().map(|f| f.target.to_string()).collect())
}

fn read(manifest: &Path) -> Result<Manifest> {
    let bytes = std::fs::read(manifest).with_context(|| format!("reading {}: did dist run?", manifest.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", manifest.display()))
}
