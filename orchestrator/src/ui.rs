//! Leaf helpers for everything a person reads: progress lines on stderr (indicatif bars on a
//! terminal, plain lines otherwise, so CI logs stay readable), text tables and units.

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
    /// When this target's own work began (its first stage): its time is its own, not the
    /// time since the run started, while earlier targets were being built.
    started: std::sync::OnceLock<Instant>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
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
            started: std::sync::OnceLock::new(),
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
        if self.started.set(Instant::now()).is_ok() {
            self.bar.reset_elapsed();
        }
        if self.plain {
            eprintln!("[{}] {message}", self.target);
        }
        self.bar.set_message(message.to_string());
    }

    /// Updates the message within a stage; shown on terminals only, to keep logs short.
    pub fn tick(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }

    /// Ends the line with `outcome`, and the time since its first stage when it had one.
    pub fn finish(&self, outcome: &str) {
        let text = match self.elapsed() {
            Some(elapsed) => format!("{outcome} in {:.1}s", elapsed.as_secs_f64()),
            None => outcome.to_string(),
        };
        if self.plain {
            eprintln!("[{}] {text}", self.target);
        }
        self.bar.finish_with_message(text);
    }

    /// The time since this line's first stage; None before it has one.
    fn elapsed(&self) -> Option<Duration> {
        self.started.get().map(Instant::elapsed)
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

/// The first 12 hex digits of a commit or checksum: enough to tell them apart in a table.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Markdown table cells must not contain a bare `|`.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Prints a value as pretty JSON on stdout (`--json`); every result type here serialises.
pub fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("results serialise"));
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
    fn a_target_is_timed_from_its_own_first_stage() {
        let progress = Progress::new();
        let line = progress.line("x86_64-unknown-linux-musl");
        assert_eq!(line.elapsed(), None, "a target that has not started has no time");
        line.stage("building");
        let first = line.started.get().copied();
        line.stage("verifying");
        assert!(line.elapsed().is_some());
        assert_eq!(
            line.started.get().copied(),
            first,
            "later stages do not restart the clock"
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(389_720), "380.6 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
