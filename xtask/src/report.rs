//! Stage 6, report: the only place that prints results. Progress goes to stderr (indicatif
//! bars on a terminal, plain lines otherwise, so CI logs stay readable); results go to
//! stdout as a table, or as JSON with `--json`.

use crate::manifest::Manifest;
use crate::plan::Plan;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// One progress line per target.
pub struct Progress {
    multi: MultiProgress,
    plain: bool,
}

pub struct Line {
    bar: ProgressBar,
    target: String,
    plain: bool,
    started: Instant,
}

impl Progress {
    pub fn new() -> Progress {
        let plain = !std::io::stderr().is_terminal();
        let target = if plain { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        Progress { multi: MultiProgress::with_draw_target(target), plain }
    }

    pub fn line(&self, target: &str) -> Line {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<28} {wide_msg} {elapsed:>4}")
                .expect("the template is valid"),
        );
        bar.set_prefix(target.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Line { bar, target: target.to_string(), plain: self.plain, started: Instant::now() }
    }

    /// Prints a message above the bars without tearing them.
    pub fn say(&self, message: &str) {
        if self.plain {
            eprintln!("{message}");
        } else {
            self.multi.suspend(|| eprintln!("{message}"));
        }
    }
}

impl Line {
    /// A new stage: installing / building / verifying / packing.
    pub fn stage(&self, message: &str) {
        if self.plain {
            eprintln!("[{}] {message}", self.target);
        }
        self.bar.set_message(message.to_string());
    }

    /// Updates the message within a stage; shown on terminals only, to keep logs short.
    pub fn tick(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }

    pub fn finish(&self, outcome: &str) {
        let elapsed = self.started.elapsed().as_secs_f64();
        if self.plain {
            eprintln!("[{}] {outcome} in {elapsed:.1}s", self.target);
        }
        self.bar.finish_with_message(format!("{outcome} in {elapsed:.1}s"));
    }
}

/// Left-aligned text columns separated by two spaces, with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

pub fn print_plan(plan: &Plan, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(plan).expect("the plan serialises"));
        return;
    }
    println!(
        "{} {} (profile {}, commit {}), {} target(s) in {} cargo run(s), output to {}",
        plan.name,
        plan.version,
        plan.profile,
        short(&plan.commit),
        plan.jobs.len(),
        plan.builds.len(),
        plan.out_dir.display()
    );
    if !plan.c_code.is_empty() {
        println!("C code in: {}", plan.c_code.join(", "));
    }
    for p in &plan.provisions {
        let state = if p.present { "present" } else { "to provision" };
        println!("tool {} {} ({state}): {}", p.tool, p.version, p.dir.display());
        if !p.present {
            println!("  download: {}", p.download.display());
        }
    }
    for job in &plan.jobs {
        println!("\n{}  route {}: {}", job.target, job.route, job.route_reason);
        for cmd in &job.install {
            println!("  install: {}", cmd.display());
        }
        println!("  build:   cargo run #{} (below)", job.build + 1);
        println!("  smoke:   {}", job.smoke.note);
        println!("  pack:    {} ({} + {} include file(s))", job.archive, job.binaries.join(", "), plan.include.len());
    }
    for (i, build) in plan.builds.iter().enumerate() {
        println!("\ncargo run #{} ({} route: {}):\n  {}", i + 1, build.route, build.targets.join(", "), build.cmd.display());
    }
}

/// The results of a `dist` run: one row per binary.
pub fn print_dist(manifest: &Manifest, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(manifest).expect("the manifest serialises"));
        return;
    }
    let mut rows = Vec::new();
    for artifact in &manifest.artifacts {
        for asset in artifact.assets.iter().filter(|a| a.kind == "executable") {
            let (linkage, arch) = match &asset.inspection {
                Some(i) => (i.linkage.to_string(), i.arch.clone()),
                None => ("-".into(), "-".into()),
            };
            rows.push(vec![
                artifact.target_triples.join(","),
                asset.name.clone(),
                arch,
                linkage,
                human_size(asset.size),
                artifact.name.clone(),
                human_size(artifact.size),
                short(&artifact.checksums["sha256"]).to_string(),
                artifact.smoke.clone(),
            ]);
        }
    }
    print!(
        "{}",
        table(&["target", "binary", "arch", "linkage", "size", "archive", "archive size", "sha256", "smoke run"], &rows)
    );
}

pub fn print_doctor(checks: &[crate::doctor::Check], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(checks).expect("the checks serialise"));
        return;
    }
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.target.clone(),
                c.route.to_string(),
                c.requirement.clone(),
                if c.found { "found".into() } else { "MISSING".into() },
                c.detail.clone(),
                c.fix.clone(),
            ]
        })
        .collect();
    print!("{}", table(&["target", "route", "requirement", "status", "detail", "fix"], &rows));
}

/// A measured value in its unit, as BENCHMARKS.md and the summary show it.
pub fn bench_value(unit: crate::bench::Unit, value: f64) -> String {
    use crate::bench::Unit;
    match unit {
        Unit::Seconds if value.abs() < 1e-3 => format!("{:.0} µs", value * 1e6),
        Unit::Seconds if value.abs() < 1.0 => format!("{:.1} ms", value * 1e3),
        Unit::Seconds => format!("{value:.2} s"),
        Unit::Bytes => format!("{} ({} B)", human_size(value as u64), value as u64),
        Unit::BytesPerSecond => format!("{:.2} GB/s", value / 1e9),
        Unit::Ratio => format!("{value:.3}×"),
        Unit::Percent => format!("{value:.1} %"),
    }
}

fn bench_range(row: &crate::bench::Row) -> String {
    if row.stats.runs == 1 {
        "—".into()
    } else {
        format!("{} – {}", bench_value(row.unit, row.stats.min), bench_value(row.unit, row.stats.max))
    }
}

fn verdict(v: &crate::bench::Verdict) -> String {
    use crate::bench::Verdict;
    match v {
        Verdict::Met => "met".into(),
        Verdict::Missed(why) => format!("MISSED: {why}"),
        Verdict::NotMeasured(why) => format!("not measured: {why}"),
    }
}

fn headline(fig: &crate::bench::Figure) -> String {
    match &fig.headline {
        Some(row) => format!("{} {}", row.label, bench_value(row.unit, row.stats.median)),
        None => "—".into(),
    }
}

/// One figure's result as soon as it is measured, on stderr: progress for a long run.
pub fn print_figure(fig: &crate::bench::Figure) {
    eprintln!("bench {}: {} ({})", fig.name, headline(fig), verdict(&fig.verdict));
}

/// The summary of a bench run on stdout, and where the full results were written.
pub fn print_bench(results: &crate::bench::Results, out: &std::path::Path, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(results).expect("the results serialise"));
        return;
    }
    let rows: Vec<Vec<String>> =
        results.figures.iter().map(|f| vec![f.name.clone(), headline(f), f.goal.clone(), verdict(&f.verdict)]).collect();
    print!("{}", table(&["figure", "measured (median)", "goal", "verdict"], &rows));
    println!("written to {}", out.display());
}

/// Markdown table cells must not contain a bare `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// BENCHMARKS.md: the machine, a summary with verdicts, each figure's rows, the size breakdown.
pub fn benchmarks_markdown(results: &crate::bench::Results) -> String {
    let m = &results.machine;
    let mut md = String::from("# Benchmarks\n\n");
    md += "Generated by the benchmark harness; do not edit by hand. Regenerate with\n\n";
    md += &format!("    {}\n\n", m.command);
    md += "(`--only NAME` measures one figure, `--runs N` sets the runs per figure, `--quick` runs each once;\n";
    md += "partial runs write to target/bench/BENCHMARKS.md unless `--out` says otherwise.)\n\n";
    md += &format!(
        "Machine: {}, {} core(s), load {} at the start (shared machine: compare the ratios, not the absolute times). {}. {}. The measuring xtask: {}. Commit {}.\n\n",
        m.cpu, m.cores, m.load, m.date, m.rustc, m.xtask_build, short(&m.commit)
    );
    md += "Each figure is the median of its runs, with the min – max; ratios are taken per interleaved pair\n";
    md += "(ours, theirs, ours, theirs …) so that both sides of a ratio see the same load.\n\n";
    md += "## Summary\n\n| figure | measured (median) | goal | verdict |\n|---|---|---|---|\n";
    for f in &results.figures {
        md += &format!("| {} | {} | {} | {} |\n", cell(&f.title), cell(&headline(f)), cell(&f.goal), cell(&verdict(&f.verdict)));
    }
    for f in &results.figures {
        md += &format!("\n## {} (`--only {}`)\n\n| what | median | min – max | runs |\n|---|---|---|---|\n", f.title, f.name);
        for row in f.rows.iter().chain(&f.headline) {
            md += &format!(
                "| {} | {} | {} | {} |\n",
                cell(&row.label),
                bench_value(row.unit, row.stats.median),
                bench_range(row),
                row.stats.runs
            );
        }
        md += &format!("\nVerdict: {}.\n", verdict(&f.verdict));
        for note in &f.notes {
            md += &format!("\n{note}\n");
        }
    }
    if !results.breakdown.is_empty() {
        md += "\n## Size breakdown per target (`cargo xtask size`)\n\n";
        md += "The dist profile built once more with `strip = false`; the ELF symbols' sizes summed per crate\n";
        md += "(from the demangled names). The stripped binary has the same code.\n";
        md += &size_markdown(&results.breakdown, 15);
        for (target, b) in &results.breakdown {
            let backtrace: u64 = b.crates.iter().filter(|(c, _)| crate::size::BACKTRACE_CRATES.contains(&c.as_str())).map(|c| c.1).sum();
            if backtrace > 0 {
                md += &format!(
                    "\n{target}: std's backtrace printer ({}) takes {} ({:.0} %) although the profile aborts on panic; only nightly's `-Z build-std` with `panic_immediate_abort` drops it.\n",
                    crate::size::BACKTRACE_CRATES.join(", "),
                    human_size(backtrace),
                    backtrace as f64 * 100.0 / b.loaded_size.max(1) as f64
                );
            }
        }
    }
    md
}

fn size_rows(b: &crate::size::Breakdown, top: usize) -> Vec<Vec<String>> {
    let pct = |n: u64| format!("{:.1} %", n as f64 * 100.0 / b.loaded_size.max(1) as f64);
    let mut rows: Vec<Vec<String>> =
        b.crates.iter().take(top).map(|(name, n)| vec![name.clone(), human_size(*n), pct(*n)]).collect();
    let rest: u64 = b.crates.iter().skip(top).map(|c| c.1).sum();
    if b.crates.len() > top {
        rows.push(vec![format!("{} more crates", b.crates.len() - top), human_size(rest), pct(rest)]);
    }
    let other = b.loaded_size.saturating_sub(b.symbols_size);
    rows.push(vec!["(no symbol: headers, unwind and relocation tables, strings)".into(), human_size(other), pct(other)]);
    rows.push(vec!["loaded sections (≈ the stripped binary)".into(), human_size(b.loaded_size), "100.0 %".into()]);
    rows
}

fn size_markdown(found: &[(String, crate::size::Breakdown)], top: usize) -> String {
    let mut md = String::new();
    for (target, b) in found {
        md += &format!("\n### {target}\n\n| crate | size | share |\n|---|---|---|\n");
        for row in size_rows(b, top) {
            md += &format!("| {} |\n", row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
        }
    }
    md
}

/// `cargo xtask size`: per target, the crates that take the space.
pub fn print_size(found: &[(String, crate::size::Breakdown)], top: usize, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(found).expect("the breakdown serialises"));
        return;
    }
    for (target, b) in found {
        println!("{target} (unstripped file {}, of which loaded {}):", human_size(b.file_size), human_size(b.loaded_size));
        print!("{}", table(&["crate", "size", "share"], &size_rows(b, top)));
        println!();
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns() {
        let out = table(&["a", "bb"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(out, "a     bb\nlong  x\n");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(389_720), "380.6 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }

    #[test]
    fn benchmarks_markdown_shows_machine_verdicts_rows_and_breakdown() {
        use crate::bench::{Figure, Machine, Results, Row, Stats, Unit, Verdict};
        let row = |label: &str, unit, samples: &[f64]| Row { label: label.into(), unit, stats: Stats::of(samples).unwrap() };
        let figure = Figure {
            name: "noop".into(),
            title: "no-op rerun".into(),
            goal: "≤ 1.5×".into(),
            headline: Some(row("dist ÷ cargo", Unit::Ratio, &[1.2, 1.6, 1.7])),
            rows: vec![row("dist", Unit::Seconds, &[2.5, 2.0, 3.0]), row("inspect", Unit::Seconds, &[0.0012]), row("tiny", Unit::Seconds, &[0.000085])],
            verdict: Verdict::Missed("1.60× > 1.5×".into()),
            notes: vec!["why it is slow".into()],
        };
        let breakdown = crate::size::Breakdown { file_size: 4000, loaded_size: 1000, symbols_size: 900, crates: vec![("core".into(), 600), ("a|b".into(), 200), ("gimli".into(), 100)] };
        let results = Results {
            machine: Machine {
                cpu: "AMD EPYC".into(),
                cores: 2,
                load: "3.5".into(),
                date: "2026-11-25 15:00 UTC".into(),
                rustc: "rustc 1.95.0".into(),
                xtask_build: "dev profile".into(),
                commit: "0123456789abcdef".into(),
                command: "cargo xtask bench --accept-msvc-license".into(),
            },
            figures: vec![figure],
            breakdown: vec![("x86_64-unknown-linux-musl".into(), breakdown)],
        };
        let md = benchmarks_markdown(&results);
        assert!(md.contains("    cargo xtask bench --accept-msvc-license\n"), "{md}");
        assert!(md.contains("Machine: AMD EPYC, 2 core(s), load 3.5 at the start"), "{md}");
        assert!(md.contains("Commit 0123456789ab."), "{md}");
        assert!(md.contains("| no-op rerun | dist ÷ cargo 1.600× | ≤ 1.5× | MISSED: 1.60× > 1.5× |\n"), "{md}");
        assert!(md.contains("| dist | 2.50 s | 2.00 s – 3.00 s | 3 |\n"), "{md}");
        assert!(md.contains("| inspect | 1.2 ms | — | 1 |\n"), "{md}");
        assert!(md.contains("| tiny | 85 µs | — | 1 |\n"), "{md}");
        assert!(md.contains("\nwhy it is slow\n"), "{md}");
        assert!(md.contains("| core | 600 B | 60.0 % |\n| a\\|b | 200 B | 20.0 % |\n"), "{md}");
        assert!(md.contains("backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide, object) takes 100 B (10 %)"), "{md}");
        assert!(md.contains("| loaded sections (≈ the stripped binary) | 1000 B | 100.0 % |"), "{md}");
    }
}
