//! Stage 6, report: the only place that prints results. Progress goes to stderr (indicatif
//! bars on a terminal, plain lines otherwise, so CI logs stay readable); results go to
//! stdout as a table, or as JSON with `--json`.

use crate::manifest::Manifest;
use crate::plan::Plan;
use crate::verify::Row;
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
        let target = if plain {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            plain,
        }
    }

    pub fn line(&self, target: &str) -> Line {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<28} {wide_msg} {elapsed:>4}")
                .expect("the template is valid"),
        );
        bar.set_prefix(target.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Line {
            bar,
            target: target.to_string(),
            plain: self.plain,
            started: Instant::now(),
        }
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
        if let Some(reason) = &job.blocked {
            println!("  BLOCKED: {reason}");
        }
        println!(
            "  pack:    {} ({} + {} include file(s))",
            job.archive,
            job.binaries.join(", "),
            plan.include.len()
        );
    }
    for (i, build) in plan.builds.iter().enumerate() {
        println!(
            "\ncargo run #{} ({} route: {}):\n  {}",
            i + 1,
            build.route,
            build.targets.join(", "),
            build.cmd.display()
        );
    }
    if !plan.generated.is_empty() {
        println!("\ngenerated into every archive, by the first binary that runs on this host:");
        for file in &plan.generated {
            println!("  {}: {}", file.path, file.command.join(" "));
        }
    }
}

/// The results of a `dist` run: one row per binary.
pub fn print_dist(manifest: &Manifest, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(manifest).expect("the manifest serialises")
        );
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
        table(
            &[
                "target",
                "binary",
                "arch",
                "linkage",
                "size",
                "archive",
                "archive size",
                "sha256",
                "smoke run"
            ],
            &rows
        )
    );
}

pub fn print_doctor(checks: &[crate::doctor::Check], json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(checks).expect("the checks serialise")
        );
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
    print!(
        "{}",
        table(&["target", "route", "requirement", "status", "detail", "fix"], &rows)
    );
}

/// The build matrix for GitHub Actions: one line, as `$GITHUB_OUTPUT` needs it.
pub fn print_github_matrix(matrix: &crate::ci::Matrix) {
    println!("{}", serde_json::to_string(matrix).expect("the matrix serialises"));
}

/// What `cargo xtask ci` did with the workflow file.
pub enum CiOutcome {
    Written,
    UpToDate,
    /// `--check` found it stale: the changed lines, old then new.
    Stale(Vec<String>),
}

pub fn print_ci(path: &std::path::Path, outcome: &CiOutcome) {
    match outcome {
        CiOutcome::Written => println!("wrote {}", path.display()),
        CiOutcome::UpToDate => println!("{} is up to date", path.display()),
        CiOutcome::Stale(diff) => {
            println!("{} is stale; `cargo xtask ci` would change:", path.display());
            for line in diff {
                println!("  {line}");
            }
        }
    }
}

/// dist/REPORT.md: a Markdown table to paste into release notes, one row per archive.
pub fn release_notes(manifest: &Manifest) -> String {
    let mut out = format!(
        "## {} {}\n\nBuilt from commit `{}` with profile `{}`. Verify downloads with `sha256sum -c SHA256SUMS`.\n\n",
        manifest.app_name,
        manifest.app_version,
        short(&manifest.commit),
        manifest.profile
    );
    out += "| target | archive | size | linkage | sha256 |\n|---|---|---:|---|---|\n";
    for artifact in &manifest.artifacts {
        let mut linkage: Vec<String> = artifact
            .assets
            .iter()
            .filter_map(|a| a.inspection.as_ref())
            .map(|i| match i.needed.is_empty() {
                true => i.linkage.to_string(),
                false => format!("{} ({})", i.linkage, i.needed.join(", ")),
            })
            .collect();
        linkage.dedup();
        out += &format!(
            "| {} | [{name}]({name}) | {} | {} | `{}` |\n",
            artifact.target_triples.join(", "),
            human_size(artifact.size),
            linkage.join("; "),
            short(&artifact.checksums["sha256"]),
            name = artifact.name,
        );
    }
    out
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
            let mut target = row.target.clone().unwrap_or_else(|| "-".into());
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
            let result = if row.passed() {
                "PASS".to_string()
            } else {
                let reasons: Vec<String> = row.failures.iter().map(|f| f.to_string()).collect();
                format!("FAIL {}", reasons.join("; "))
            };
            let notes = row.inspection.as_ref().map(notes).unwrap_or_default();
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
    for slice in found.macho.iter().flat_map(|m| &m.slices) {
        notes.extend(slice.min_os.as_ref().map(|v| format!("{} macOS {v}", slice.arch)));
        notes.extend(slice.rpaths.iter().map(|p| format!("rpath {p}")));
        if slice.code_signature {
            notes.push(format!("{} signed", slice.arch));
        }
    }
    notes.join(", ")
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
        format!(
            "{} – {}",
            bench_value(row.unit, row.stats.min),
            bench_value(row.unit, row.stats.max)
        )
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
        println!(
            "{}",
            serde_json::to_string_pretty(results).expect("the results serialise")
        );
        return;
    }
    let rows: Vec<Vec<String>> = results
        .figures
        .iter()
        .map(|f| vec![f.name.clone(), headline(f), f.goal.clone(), verdict(&f.verdict)])
        .collect();
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
        md += &format!(
            "| {} | {} | {} | {} |\n",
            cell(&f.title),
            cell(&headline(f)),
            cell(&f.goal),
            cell(&verdict(&f.verdict))
        );
    }
    for f in &results.figures {
        md += &format!(
            "\n## {} (`--only {}`)\n\n| what | median | min – max | runs |\n|---|---|---|---|\n",
            f.title, f.name
        );
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
            let backtrace: u64 = b
                .crates
                .iter()
                .filter(|(c, _)| crate::size::BACKTRACE_CRATES.contains(&c.as_str()))
                .map(|c| c.1)
                .sum();
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
    let mut rows: Vec<Vec<String>> = b
        .crates
        .iter()
        .take(top)
        .map(|(name, n)| vec![name.clone(), human_size(*n), pct(*n)])
        .collect();
    let rest: u64 = b.crates.iter().skip(top).map(|c| c.1).sum();
    if b.crates.len() > top {
        rows.push(vec![
            format!("{} more crates", b.crates.len() - top),
            human_size(rest),
            pct(rest),
        ]);
    }
    let other = b.loaded_size.saturating_sub(b.symbols_size);
    rows.push(vec![
        "(no symbol: headers, unwind and relocation tables, strings)".into(),
        human_size(other),
        pct(other),
    ]);
    rows.push(vec![
        "loaded sections (≈ the stripped binary)".into(),
        human_size(b.loaded_size),
        "100.0 %".into(),
    ]);
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
        println!(
            "{}",
            serde_json::to_string_pretty(found).expect("the breakdown serialises")
        );
        return;
    }
    for (target, b) in found {
        println!(
            "{target} (unstripped file {}, of which loaded {}):",
            human_size(b.file_size),
            human_size(b.loaded_size)
        );
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
    fn release_notes_have_one_row_per_archive() {
        let json = r#"{"format_version":1,"dist_version":"0.1.0","app_name":"app","app_version":"1.0.0",
            "commit":"0123456789abcdef","source_date_epoch":1,"profile":"dist","artifacts":[{
            "name":"app-1.0.0-x86_64-pc-windows-msvc.zip","kind":"executable-zip",
            "target_triples":["x86_64-pc-windows-msvc"],"format":"zip","route":"msvc","size":204800,
            "checksums":{"sha256":"a4c7692e32462345db198e904e45a4e4"},"input_sha256":"x","smoke":"not run","assets":[
            {"name":"app.exe","path":"app.exe","kind":"executable","size":1,"sha256":"y","inspection":{
            "format":"pe","arch":"x86_64","linkage":"dynamic","interpreter":null,
            "needed":["KERNEL32.dll","ntdll.dll"],"stripped":true,"size":1}}]}]}"#;
        let manifest: Manifest = serde_json::from_str(json).unwrap();
        let notes = release_notes(&manifest);
        assert!(
            notes.starts_with("## app 1.0.0\n\nBuilt from commit `0123456789ab`"),
            "{notes}"
        );
        assert!(notes.ends_with(
            "| x86_64-pc-windows-msvc | [app-1.0.0-x86_64-pc-windows-msvc.zip](app-1.0.0-x86_64-pc-windows-msvc.zip) | 200.0 KiB | dynamic (KERNEL32.dll, ntdll.dll) | `a4c7692e3246` |\n"
        ), "{notes}");
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
            "aarch64 macOS 15.0, aarch64 signed"
        );
        assert_eq!(notes(&read("hello-x86_64-linux-gnu-2.17")), "glibc 2.2.5");
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
        let row = |label: &str, unit, samples: &[f64]| Row {
            label: label.into(),
            unit,
            stats: Stats::of(samples).unwrap(),
        };
        let figure = Figure {
            name: "noop".into(),
            title: "no-op rerun".into(),
            goal: "≤ 1.5×".into(),
            headline: Some(row("dist ÷ cargo", Unit::Ratio, &[1.2, 1.6, 1.7])),
            rows: vec![
                row("dist", Unit::Seconds, &[2.5, 2.0, 3.0]),
                row("inspect", Unit::Seconds, &[0.0012]),
                row("tiny", Unit::Seconds, &[0.000085]),
            ],
            verdict: Verdict::Missed("1.60× > 1.5×".into()),
            notes: vec!["why it is slow".into()],
        };
        let breakdown = crate::size::Breakdown {
            file_size: 4000,
            loaded_size: 1000,
            symbols_size: 900,
            crates: vec![("core".into(), 600), ("a|b".into(), 200), ("gimli".into(), 100)],
        };
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
        assert!(
            md.contains("Machine: AMD EPYC, 2 core(s), load 3.5 at the start"),
            "{md}"
        );
        assert!(md.contains("Commit 0123456789ab."), "{md}");
        assert!(
            md.contains("| no-op rerun | dist ÷ cargo 1.600× | ≤ 1.5× | MISSED: 1.60× > 1.5× |\n"),
            "{md}"
        );
        assert!(md.contains("| dist | 2.50 s | 2.00 s – 3.00 s | 3 |\n"), "{md}");
        assert!(md.contains("| inspect | 1.2 ms | — | 1 |\n"), "{md}");
        assert!(md.contains("| tiny | 85 µs | — | 1 |\n"), "{md}");
        assert!(md.contains("\nwhy it is slow\n"), "{md}");
        assert!(
            md.contains("| core | 600 B | 60.0 % |\n| a\\|b | 200 B | 20.0 % |\n"),
            "{md}"
        );
        assert!(
            md.contains("backtrace printer (gimli, addr2line, rustc_demangle, miniz_oxide, object) takes 100 B (10 %)"),
            "{md}"
        );
        assert!(
            md.contains("| loaded sections (≈ the stripped binary) | 1000 B | 100.0 % |"),
            "{md}"
        );
    }
}
