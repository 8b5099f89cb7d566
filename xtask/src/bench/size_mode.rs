//! The figures of the size mode and of the allocator switch (issue 16, items 5 and 6). Each
//! builds through the library's own plan, as `dist` would, with the setting given as an
//! override; nothing here edits the measured workspace's Cargo.toml but the allocator
//! figure's corpus copy, which gets the two lines a user adds (`config::MIMALLOC_SNIPPET`).

use super::{missing, on_path, Figure, Harness, Unit};
use crate::corpus::{self, projects::PROJECTS};
use anyhow::{bail, Context as _, Result};
use release_orchestrator::commands::size;
use release_orchestrator::config::{Allocator, Overrides, PanicMode, SizeMode};
use release_orchestrator::context::Context;
use release_orchestrator::runner::{path_arg, Cmd};
use std::path::{Path, PathBuf};

/// The corpus project of the allocator figure: dust walks a tree on rayon's threads and
/// allocates a node per entry, with no allocator of its own (ripgrep and fd bring jemalloc
/// on musl, which would measure jemalloc, not musl's malloc).
const ALLOCATOR_PROJECT: &str = "dust";

/// dust's arguments: two threads (this machine's cores), the summary only, no progress bar.
const DUST_ARGS: [&str; 6] = ["-T", "2", "-d", "1", "-P", "-n"];

/// The tree dust walks: DIST_BENCH_TREE, else cargo's unpacked registry sources (tens of
/// thousands of small files on any machine that builds Rust).
fn tree() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DIST_BENCH_TREE") {
        return Ok(dir.into());
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set: set DIST_BENCH_TREE to a large directory")?;
    Ok(home.join("registry/src"))
}

impl Harness<'_> {
    /// Figure: the size mode's binaries (`-Z build-std` with optimize_for_size and
    /// `panic = "immediate-abort"`) against the release profile, per target of the config.
    pub(super) fn size_mode(&self) -> Result<Figure> {
        let mut fig = Figure::new(
            "size-mode",
            "size mode (nightly -Z build-std, optimize_for_size, immediate-abort) vs the release profile (app)",
            "≤ 0.5× on every target",
        );
        let replan = |overrides: Overrides| -> Result<_> { Ok(self.ctx.replan(overrides)?.plan) };
        let release = replan(Overrides {
            profile: Some("release".into()),
            ..Overrides::default()
        })?;
        let small = replan(Overrides {
            size_mode: Some(SizeMode::BuildStd),
            panic: Some(PanicMode::ImmediateAbort),
            ..Overrides::default()
        })?;
        eprintln!("bench size-mode: building the matrix with the release profile, then in the size mode");
        let release = size::build_plan(self.runner, &release, &[], None)?;
        let small = size::build_plan(self.runner, &small, &[], None)?;
        let mut worst = (0.0_f64, String::new());
        for (target, path) in &small {
            let (s, r) = (len(path)?, len(&release[target])?);
            fig.row(format!("{target}: size mode"), Unit::Bytes, &[s]);
            fig.row(format!("{target}: release"), Unit::Bytes, &[r]);
            fig.row(format!("{target}: size mode ÷ release"), Unit::Ratio, &[s / r]);
            if s / r > worst.0 {
                worst = (s / r, target.to_string());
            }
        }
        let worst_target = worst.1.clone();
        fig.judge(
            "largest size mode ÷ release",
            Unit::Ratio,
            &[worst.0],
            |r| r <= 0.5,
            |r| format!("{worst_target} is {r:.2}× > 0.5×"),
        );
        fig.notes.push(format!(
            "Sizes are exact (one build each); the size mode builds with {} (docs/SIZE.md).",
            self.ctx
                .config
                .size
                .as_ref()
                .map_or(release_orchestrator::toolchain::SIZE_NIGHTLY, |s| s.toolchain.as_str())
        ));
        Ok(fig)
    }

    /// Figure: a multi-threaded corpus CLI on musl's malloc, on glibc's, and on musl with
    /// the allocator switch (mimalloc): wall time under hyperfine and the peak memory
    /// (`/usr/bin/time -v`'s maximum resident set size), each as dist builds it.
    pub(super) fn allocator(&self) -> Result<Figure> {
        let mut fig = Figure::new(
            "allocator",
            "dust (rayon, 2 threads) on musl's malloc, glibc's, and mimalloc on each",
            "musl + mimalloc ≤ 1.1× the gnu build's time",
        );
        for (program, package) in [("hyperfine", "hyperfine"), ("/usr/bin/time", "time")] {
            if !on_path(program) && !Path::new(program).is_file() {
                fig.verdict = missing(program, package);
                return Ok(fig);
            }
        }
        let tree = tree()?;
        let builds = self.allocator_builds()?;
        let tree_arg = path_arg(&tree)?;
        let command = |binary: &Path| -> Result<String> {
            let binary = path_arg(binary)?;
            if binary.contains(' ') || tree_arg.contains(' ') {
                bail!("hyperfine splits its commands at spaces: {binary} or {tree_arg} has one");
            }
            Ok(format!("{binary} {} 10 {tree_arg}", DUST_ARGS.join(" ")))
        };
        let json = self.dir.join("allocator-hyperfine.json");
        let mut cmd = Cmd::new("hyperfine").args([
            "--shell=none",
            "--warmup",
            "1",
            "--runs",
            &self.runs.to_string(),
            "--export-json",
            &path_arg(&json)?,
        ]);
        for (label, binary) in &builds {
            cmd = cmd.args(["--command-name", label]).arg(command(binary)?);
        }
        self.runner.run(&cmd, Some(&self.log("allocator-hyperfine")))?;
        let times = hyperfine_times(&std::fs::read(&json).with_context(|| format!("reading {}", json.display()))?)?;
        let median = |label: &str| super::Stats::of(times.get(label).map_or(&[][..], Vec::as_slice)).map(|s| s.median);
        for (label, _) in &builds {
            fig.row(
                format!("{label}: time"),
                Unit::Seconds,
                times.get(*label).map_or(&[][..], Vec::as_slice),
            );
        }
        for (label, binary) in &builds {
            let mut rss = Vec::new();
            for _ in 0..self.runs {
                rss.push(self.max_rss(binary, &tree)?);
            }
            fig.row(format!("{label}: max RSS"), Unit::Bytes, &rss);
        }
        if let (Some(gnu), Some(musl), Some(mi), Some(gnu_mi)) =
            (median(GNU), median(MUSL), median(MUSL_MIMALLOC), median(GNU_MIMALLOC))
        {
            fig.row("musl ÷ gnu (time)", Unit::Ratio, &[musl / gnu]);
            // The same allocator on both sides leaves what musl itself costs (its libc
            // beyond malloc), which no allocator switch can remove.
            fig.row("gnu + mimalloc ÷ gnu (time)", Unit::Ratio, &[gnu_mi / gnu]);
            fig.row("musl + mimalloc ÷ gnu + mimalloc (time)", Unit::Ratio, &[mi / gnu_mi]);
            fig.judge(
                "musl + mimalloc ÷ gnu (time)",
                Unit::Ratio,
                &[mi / gnu],
                |r| r <= 1.1,
                |r| {
                    format!(
                        "musl + mimalloc takes {r:.2}× the gnu build's time; with mimalloc on both, musl still takes {:.2}× glibc's (what remains is musl's libc, not its malloc), and mimalloc changes the gnu build's time {:.2}×",
                        mi / gnu_mi,
                        gnu_mi / gnu
                    )
                },
            );
        }
        fig.notes.push(format!(
            "dust {} over {} ({}); hyperfine runs each build {} times after a warm-up, one build after the other; every binary is the dist profile's, built by the plan for its target.",
            DUST_ARGS.join(" "),
            tree.display(),
            "DIST_BENCH_TREE to change it",
            self.runs
        ));
        Ok(fig)
    }

    /// dust built four ways, each binary copied out of its target dir under its label.
    fn allocator_builds(&self) -> Result<Vec<(&'static str, PathBuf)>> {
        let project = PROJECTS
            .iter()
            .find(|p| p.name == ALLOCATOR_PROJECT)
            .context("the allocator figure's project is not in the corpus")?;
        let dir = corpus::prepare(self.runner, &corpus::corpus_dir()?, project)?;
        add_mimalloc(&dir)?;
        // Cargo.lock gains mimalloc and libmimalloc-sys (already locked versions stay).
        self.runner.run(
            &Cmd::new("cargo")
                .args(["metadata", "--format-version", "1", "--manifest-path"])
                .arg(path_arg(&dir.join("Cargo.toml"))?)
                .cwd(&dir),
            Some(&self.log("allocator-lock")),
        )?;
        let manifest = dir.join("Cargo.toml");
        let mut builds = Vec::new();
        for (label, target, allocator) in [
            (GNU, "x86_64-unknown-linux-gnu", None),
            (MUSL, "x86_64-unknown-linux-musl", None),
            (MUSL_MIMALLOC, "x86_64-unknown-linux-musl", Some(Allocator::Mimalloc)),
            (GNU_MIMALLOC, "x86_64-unknown-linux-gnu", Some(Allocator::Mimalloc)),
        ] {
            // The switch applies to musl targets only; the gnu build gets its feature directly.
            let features = match (allocator, target.contains("-gnu")) {
                (Some(Allocator::Mimalloc), true) => vec!["mimalloc".to_string()],
                _ => Vec::new(),
            };
            let ctx = Context::load(
                *self.runner,
                Some(&manifest),
                Overrides {
                    allocator: allocator.filter(|_| features.is_empty()),
                    features,
                    ..Overrides::for_targets(vec![target.into()])
                },
            )?;
            eprintln!("bench allocator: building dust for {label}");
            let built = size::build_plan(self.runner, &ctx.plan, &[], None)?;
            let binary = built.into_values().next().context("the plan built no binary")?;
            let copy = self.dir.join(format!(
                "allocator-dust-{}",
                label.replace(|c: char| !c.is_ascii_alphanumeric(), "")
            ));
            std::fs::copy(&binary, &copy)
                .with_context(|| format!("copying {} to {}", binary.display(), copy.display()))?;
            builds.push((label, copy));
        }
        Ok(builds)
    }

    /// The peak resident memory of one run, from GNU time's report.
    fn max_rss(&self, binary: &Path, tree: &Path) -> Result<f64> {
        let log = self.log("allocator-rss");
        let _ = std::fs::remove_file(&log);
        let cmd = Cmd::new("/usr/bin/time")
            .arg("-v")
            .arg(path_arg(binary)?)
            .args(DUST_ARGS)
            .arg("10")
            .arg(path_arg(tree)?);
        self.runner.run(&cmd, Some(&log))?;
        let text = std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
        max_rss_kib(&text)
            .map(|kib| kib * 1024.0)
            .with_context(|| format!("no maximum resident set size in {}", log.display()))
    }
}

const GNU: &str = "gnu (glibc malloc)";
const MUSL: &str = "musl (musl malloc)";
const MUSL_MIMALLOC: &str = "musl + mimalloc";
const GNU_MIMALLOC: &str = "gnu + mimalloc";

fn len(path: &Path) -> Result<f64> {
    std::fs::metadata(path)
        .map(|m| m.len() as f64)
        .with_context(|| format!("reading {}", path.display()))
}

/// Adds what `allocator = "mimalloc"` asks of a package: the optional dependency, and the
/// `#[global_allocator]` behind its feature at the top of the bin's main.rs.
fn add_mimalloc(dir: &Path) -> Result<()> {
    let manifest = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    text.push_str("\n[dependencies.mimalloc]\nversion = \"0.1\"\noptional = true\n");
    std::fs::write(&manifest, text).with_context(|| format!("writing {}", manifest.display()))?;
    let main = dir.join("src/main.rs");
    let code = std::fs::read_to_string(&main).with_context(|| format!("reading {}", main.display()))?;
    let line = "#[cfg(feature = \"mimalloc\")]\n#[global_allocator]\nstatic GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;\n\n";
    std::fs::write(&main, format!("{line}{code}")).with_context(|| format!("writing {}", main.display()))
}

/// Each command's run times in seconds from hyperfine's `--export-json`, by command name.
fn hyperfine_times(json: &[u8]) -> Result<std::collections::BTreeMap<String, Vec<f64>>> {
    let value: serde_json::Value = serde_json::from_slice(json).context("hyperfine's JSON")?;
    let results = value["results"].as_array().context("hyperfine's JSON has no results")?;
    Ok(results
        .iter()
        .filter_map(|r| {
            let name = r["command"].as_str()?.to_string();
            let times = r["times"].as_array()?.iter().filter_map(|t| t.as_f64()).collect();
            Some((name, times))
        })
        .collect())
}

/// "Maximum resident set size (kbytes): 5120" in `/usr/bin/time -v`'s report.
fn max_rss_kib(report: &str) -> Option<f64> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_times_report_and_hyperfine_json_are_read() {
        let report = "\tCommand being timed: \"dust\"\n\tMaximum resident set size (kbytes): 5120\n\tExit status: 0\n";
        assert_eq!(max_rss_kib(report), Some(5120.0));
        assert_eq!(max_rss_kib("nothing"), None);
        let json = br#"{"results":[{"command":"musl + mimalloc","mean":0.2,"times":[0.1,0.3]}]}"#;
        assert_eq!(hyperfine_times(json).unwrap()["musl + mimalloc"], [0.1, 0.3]);
    }
}
