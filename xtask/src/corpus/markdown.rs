//! docs/CORPUS.md from one corpus run: every line is computed from the cells.

use super::{Cell, Run};
use std::fmt::Write as _;

pub fn render(run: &Run) -> String {
    let mut out = String::from("# Corpus: real projects, every target\n\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask corpus` on {} ({}), this repository at commit {}; each \
         project's row names the run its cells come from (`--update` reruns some projects, or some of their targets). Each project is a pinned .crate from crates.io \
         with its own Cargo.lock, unpacked fresh and committed to a new git repository, then built \
         with `cargo xtask dist --manifest-path … --target T` once per target (cold: the previous \
         run's copy and target directory are removed). Nothing of the projects is edited; a \
         workspace is laid out as its repository lays it out (the members' published crates under \
         their directories, joined by a `[workspace]` and a `[patch.crates-io]` table).\n",
        run.date, run.host, run.tool_commit
    );
    let non_apple: Vec<&Cell> = run.cells.iter().filter(|c| !super::is_apple(&c.target)).collect();
    let apple: Vec<&Cell> = run.cells.iter().filter(|c| super::is_apple(&c.target)).collect();
    let passed = |cells: &[&Cell]| cells.iter().filter(|c| c.passed()).count();
    let held = run.cells.iter().filter(|c| c.prediction_held()).count();
    let _ = writeln!(
        out,
        "**Summary:** non-Apple cells built and verified: {} of {}; Apple cells: {} of {}; \
         audit's prediction held in {} of {} cells.\n",
        passed(&non_apple),
        non_apple.len(),
        passed(&apple),
        apple.len(),
        held,
        run.cells.len()
    );
    out.push_str("## Projects\n\n| project | crate | features | toolchain (chosen by the plan) | what it covers | run |\n|---|---|---|---|---|---|\n");
    for p in &run.projects {
        let features = if p.features.is_empty() {
            "default".to_string()
        } else {
            p.features.join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {} |",
            p.name,
            p.krate,
            p.version,
            features,
            cell_text(&p.toolchain),
            cell_text(&p.covers),
            p.run
        );
    }
    out.push_str(
        "\n## Cells\n\n`ran`: the smoke run (`--version`) natively, under qemu, or why not. `time`: wall-clock \
        of that target's `dist` run, in matrix order, so a project's first target also pays its shared host \
        build (build scripts, proc macros). `audit said`: the prediction `cargo xtask audit` made before \
        any build; **miss** marks a cell where it was wrong.\n\n",
    );
    out.push_str("| project | target | built | verified | ran | binary | time | audit said | result |\n|---|---|---|---|---|---|---|---|---|\n");
    for c in &run.cells {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let size = c.binary_size.map(human).unwrap_or_else(|| "—".into());
        let predicted = if c.prediction_held() {
            cell_text(&c.predicted)
        } else {
            format!("**miss**: {}", cell_text(&c.predicted))
        };
        let result = match &c.failure {
            None => "PASS".to_string(),
            Some(f) => format!("FAIL: {}", cell_text(f)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.0} s | {} | {} |",
            c.project,
            c.target,
            yes(c.built),
            yes(c.verified),
            c.ran,
            size,
            c.seconds,
            predicted,
            result
        );
    }
    out
}

/// Text safe inside a Markdown table cell: one line, no column breaks, bounded.
fn cell_text(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ").replace('|', "\\|");
    match one_line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Cell, ProjectRow};

    fn cell(target: &str, failure: Option<&str>, predicted: &str) -> Cell {
        Cell {
            project: "p".into(),
            target: target.into(),
            built: failure.is_none(),
            verified: failure.is_none(),
            ran: "natively".into(),
            binary_size: failure.is_none().then_some(3 << 20),
            seconds: 12.4,
            failure: failure.map(str::to_string),
            predicted: predicted.into(),
            log: "/logs/p.log".into(),
            run: String::new(),
        }
    }

    #[test]
    fn the_table_counts_cells_marks_misses_and_keeps_reasons_in_their_cell() {
        let run = Run {
            date: "2026-11-26".into(),
            host: "Linux x86_64, 2 cores".into(),
            tool_commit: "abc".into(),
            projects: vec![ProjectRow {
                name: "p".into(),
                krate: "p".into(),
                version: "1.0.0".into(),
                features: vec![],
                toolchain: "stable: newest".into(),
                covers: "C | asm".into(),
                run: "2026-11-26 at abc".into(),
            }],
            cells: vec![
                cell("x86_64-unknown-linux-musl", None, "builds"),
                cell("x86_64-pc-windows-msvc", Some("link failed:\n a | b"), "builds"),
                cell(
                    "aarch64-apple-darwin",
                    Some("needs an SDK"),
                    "needs-macos-sdk: Foundation",
                ),
            ],
        };
        let text = render(&run);
        assert!(
            text.contains("non-Apple cells built and verified: 1 of 2; Apple cells: 0 of 1; audit's prediction held in 2 of 3 cells"),
            "{text}"
        );
        let msvc = text
            .lines()
            .find(|l| l.starts_with("| p | x86_64-pc-windows-msvc"))
            .unwrap();
        assert!(
            msvc.contains("**miss**: builds") && msvc.contains("FAIL: link failed:  a \\| b"),
            "{msvc}"
        );
        assert_eq!(msvc.matches(" | ").count(), 8, "one row of nine columns: {msvc}");
        let musl = text
            .lines()
            .find(|l| l.starts_with("| p | x86_64-unknown-linux-musl"))
            .unwrap();
        assert!(musl.ends_with("| 3.0 MiB | 12 s | builds | PASS |"), "{musl}");
        assert!(text.contains("| C \\| asm | 2026-11-26 at abc |"), "{text}");
    }
}
