//! The one way this tool starts a process. Commands are data ([`Cmd`]) so the plan can hold
//! and print them; the [`Runner`] echoes them with `-v` and prints instead of running them
//! with `--dry-run`. Arguments are passed as a vector, never through a shell.
//!
//! duct is the process library (over xshell) because the build step has to stream cargo's
//! JSON messages line by line while the child runs, and duct's `reader()` gives that, and
//! kills the child if the reader is dropped early.

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A process to run: program, arguments, environment changes and working directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    /// Variables set for the child, on top of the inherited environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Inherited variables removed for the child.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_remove: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            env_remove: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn env_remove(mut self, key: impl Into<String>) -> Cmd {
        self.env_remove.push(key.into());
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    /// The command as a user would type it in a POSIX shell, quoted where needed.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if let Some(dir) = &self.cwd {
            words.push(format!("(cd {} &&", quote(&dir.to_string_lossy())));
        }
        for key in &self.env_remove {
            words.push(format!("-u {key}"));
        }
        if !self.env_remove.is_empty() {
            words.insert(words.len() - self.env_remove.len(), "env".into());
        }
        for (key, value) in &self.env {
            words.push(format!("{key}={}", quote(value)));
        }
        words.push(quote(&self.program));
        words.extend(self.args.iter().map(|a| quote(a)));
        let mut line = words.join(" ");
        if self.cwd.is_some() {
            line.push(')');
        }
        line
    }

    fn expression(&self) -> duct::Expression {
        let mut expr = duct::cmd(&self.program, &self.args);
        for key in &self.env_remove {
            expr = expr.env_remove(key);
        }
        for (key, value) in &self.env {
            expr = expr.env(key, value);
        }
        if let Some(dir) = &self.cwd {
            expr = expr.dir(dir);
        }
        // Each child leads its own process group, so an interrupt can stop cargo together
        // with every rustc and linker it started (see `interrupt`).
        expr.before_spawn(|command| {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
            Ok(())
        })
    }
}

/// Set as soon as an interrupt arrives, so the main thread does not mistake the children
/// it sees dying for a failed build.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Process groups of the children running now.
static RUNNING: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Runs a started duct expression to completion while it is registered for interrupts.
fn supervised(handle: duct::Handle) -> std::io::Result<std::process::Output> {
    let pids = handle.pids();
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).extend(&pids);
    let output = handle.into_output();
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| !pids.contains(p));
    output
}

/// On Ctrl-C (SIGINT) or SIGTERM: pass the signal to every running child's process group,
/// give them two seconds to end, kill what is left, and exit 130 — no orphaned cargo or
/// rustc keeps writing into the target directory after the tool is gone. Files being
/// written are temp files that the next run removes.
pub fn handle_interrupts() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // signal-hook's iterator delivers the signal on a thread of its own, where the handler
    // may lock, sleep and exit; the crate is built for duct (sigchld) anyway.
    let result = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map(|mut signals| {
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                on_interrupt();
            }
        })
    });
    if let Err(e) = result {
        eprintln!("warning: cannot handle Ctrl-C ({e}): an interrupt may leave cargo running");
    }
}

/// What [`handle_interrupts`] does on the first signal; never returns.
fn on_interrupt() -> ! {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    let groups: Vec<u32> = RUNNING.lock().map(|r| r.clone()).unwrap_or_default();
    let alive = |pgid: u32| unsafe { libc::kill(-(pgid as libc::pid_t), 0) } == 0;
    for &pgid in &groups {
        // SAFETY: kill(2) on a process group this process created; no memory involved.
        unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGINT) };
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while groups.iter().any(|&g| alive(g)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for &pgid in groups.iter().filter(|&&g| alive(g)) {
        // SAFETY: as above.
        unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGKILL) };
    }
    eprintln!(
        "interrupted: stopped {} running command(s); rerun to continue",
        groups.len()
    );
    std::process::exit(130);
}

/// Single-quotes a word for a POSIX shell when it holds anything but safe characters.
fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How a streamed command ended.
pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Runner {
    /// Echo every command to stderr before it runs.
    pub verbose: bool,
}

impl Runner {
    fn echo(&self, cmd: &Cmd) {
        if self.verbose {
            eprintln!("running: {}", cmd.display());
        }
    }

    /// Runs a side-effect-free query (rustc --print, git rev-parse, cargo metadata) and
    /// returns its stdout.
    pub fn query(&self, cmd: &Cmd) -> Result<String> {
        self.echo(cmd);
        let output = cmd
            .expression()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .start()
            .and_then(supervised)
            .with_context(|| format!("could not start `{}`: is it installed and on PATH?", cmd.program))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "`{}` failed ({}): {}",
                cmd.display(),
                output.status,
                last_lines(&stderr, 5)
            );
        }
        String::from_utf8(output.stdout).with_context(|| format!("`{}` printed non-UTF-8 output", cmd.display()))
    }

    /// Runs independent queries side by side, answers in the order asked. Most of a query's
    /// time is a process starting (a rustup proxy, then rustc: ~30 ms), so several take
    /// about as long as one.
    pub fn query_each(&self, cmds: &[Cmd]) -> Vec<Result<String>> {
        std::thread::scope(|s| {
            let running: Vec<_> = cmds.iter().map(|cmd| s.spawn(move || self.query(cmd))).collect();
            running
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a query's thread panicked"))))
                .collect()
        })
    }

    /// [`Runner::query_each`] for a fixed number of queries.
    pub fn query_all<const N: usize>(&self, cmds: [Cmd; N]) -> [Result<String>; N] {
        let mut answers = self.query_each(&cmds).into_iter();
        std::array::from_fn(|_| {
            answers
                .next()
                .unwrap_or_else(|| Err(anyhow!("a query went unanswered")))
        })
    }

    /// Runs a command with side effects, its output going to `log` (or to the terminal
    /// with `-v`).
    pub fn run(&self, cmd: &Cmd, log: Option<&Path>) -> Result<()> {
        self.echo(cmd);
        let mut expr = cmd.expression().stdin_null().unchecked();
        if let (Some(log), false) = (log, self.verbose) {
            // The log may be the first file under a fresh target directory.
            if let Some(dir) = log.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the log directory {}", dir.display()))?;
            }
            expr = expr.stderr_to_stdout().stdout_path(log);
        }
        let output = expr
            .start()
            .and_then(supervised)
            .with_context(|| format!("could not start `{}`", cmd.program))?;
        if !output.status.success() {
            let tail = log.map(|l| log_tail(l, 20)).unwrap_or_default();
            bail!("`{}` failed ({}){tail}", cmd.display(), output.status);
        }
        Ok(())
    }

    /// Runs a command with side effects in the open, its stdout sent to stderr so the
    /// user sees its own progress (pip's download bar) without mixing it into results.
    pub fn run_to_stderr(&self, cmd: &Cmd) -> Result<()> {
        self.echo(cmd);
        let output = cmd
            .expression()
            .stdin_null()
            .stdout_to_stderr()
            .unchecked()
            .start()
            .and_then(supervised)
            .with_context(|| format!("could not start `{}`", cmd.program))?;
        if !output.status.success() {
            bail!("`{}` failed ({})", cmd.display(), output.status);
        }
        Ok(())
    }

    /// Runs a command and hands each line of its stdout to `on_line` as it arrives; stderr
    /// goes to `log` (or the terminal with `-v`).
    pub fn stream(&self, cmd: &Cmd, log: &Path, mut on_line: impl FnMut(&str)) -> Result<Finished> {
        self.echo(cmd);
        let mut expr = cmd.expression().stdin_null().unchecked();
        if !self.verbose {
            if let Some(dir) = log.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the log directory {}", dir.display()))?;
            }
            expr = expr.stderr_path(log);
        }
        let reader = expr
            .reader()
            .with_context(|| format!("could not start `{}`", cmd.program))?;
        let pids = reader.pids();
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).extend(&pids);
        let result = read_lines(&reader, cmd, &mut on_line);
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| !pids.contains(p));
        result
    }
}

fn read_lines(reader: &duct::ReaderHandle, cmd: &Cmd, on_line: &mut impl FnMut(&str)) -> Result<Finished> {
    let mut lines = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines
            .read_line(&mut line)
            .with_context(|| format!("reading the output of `{}`", cmd.program))?;
        if n == 0 {
            break;
        }
        on_line(line.trim_end());
    }
    let output = reader
        .try_wait()
        .with_context(|| format!("waiting for `{}`", cmd.program))?
        .context("the child process did not finish after closing its output")?;
    Ok(Finished {
        success: output.status.success(),
        code: output.status.code(),
    })
}

/// The last `n` lines of a log file, indented, for error messages; empty if unreadable.
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            // With RUST_BACKTRACE set, tools like rustup end their error with a backtrace
            // that would push the error itself out of the tail.
            let text = text.split("\nStack backtrace:").next().unwrap_or_default();
            format!("\n  last lines of {}:\n{}", path.display(), indent(last_lines(text, n)))
        }
        Err(_) => String::new(),
    }
}

/// The error a failed cargo run's log opens with, and the tool's own error under it: cargo's
/// first `error…` line, then the first compiler or linker error line (a build script's C
/// compiler reports through `warning: pkg@version: …`, after which cargo's own lines say only
/// that the script failed). With `--keep-going` the last lines are other crates compiling, so
/// a log's tail alone does not say why.
pub fn first_error(log: &Path) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(log).ok()?).into_owned();
    let headline = text.lines().map(str::trim).find(|l| l.starts_with("error"))?;
    let cause = text
        .lines()
        .map(|l| {
            let l = l.trim();
            // `warning: libz-sys@1.1.16: src/zconf.h:446:14: fatal error: …` → the message.
            match l.strip_prefix("warning: ").and_then(|rest| rest.split_once(": ")) {
                Some((package, message)) if package.contains('@') => message.trim(),
                _ => l,
            }
        })
        .find(|l| {
            *l != headline && (l.contains("fatal error:") || l.contains(": error:") || l.contains("undefined symbol"))
        });
    let bounded = |l: &str| match l.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &l[..cut]),
        None => l.to_string(),
    };
    Some(match cause {
        Some(cause) => format!("{} — {}", bounded(headline), bounded(cause)),
        None => bounded(headline),
    })
}

fn last_lines(text: &str, n: usize) -> &str {
    let trimmed = text.trim_end();
    let start = trimmed
        .char_indices()
        .filter(|&(_, c)| c == '\n')
        .map(|(i, _)| i + 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .nth(n.saturating_sub(1))
        .unwrap_or(0);
    &trimmed[start..]
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Where `program` is on PATH, if it is: what decides whether a process can start at all.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Converts a path to the string a command line needs, refusing paths that are not UTF-8
/// (cargo and rustc flags are strings; a lossy conversion would name another file).
pub fn path_arg(path: &Path) -> Result<String> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        crate::UsageError::new(format!(
            "the path {} is not valid UTF-8: cargo and rustc flags need UTF-8, so move or rename it",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {

    /// Lines of a real failed msvc build (git-absorb 0.9.0, libz-sys without the CRT headers).
    #[test]
    fn first_error_names_the_failed_script_and_the_compiler_error_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("msvc.log");
        std::fs::write(
            &log,
            "   Compiling libz-sys v1.1.16
warning: libz-sys@1.1.16: error: unknown command: --version
warning: libz-sys@1.1.16: In file included from src/zlib/zlib.h:34:
warning: libz-sys@1.1.16: src/zlib/zconf.h:446:14: fatal error: 'sys/types.h' file not found
warning: libz-sys@1.1.16: 1 error generated.
error: failed to run custom build command for `libz-sys v1.1.16`

Caused by:
  process didn't exit successfully: `build-script-build` (exit status: 1)
   Compiling memchr v2.7.1
",
        )
        .unwrap();
        assert_eq!(
            first_error(&log).unwrap(),
            "error: failed to run custom build command for `libz-sys v1.1.16` — src/zlib/zconf.h:446:14: fatal error: 'sys/types.h' file not found"
        );
        std::fs::write(&log, "   Compiling memchr v2.7.1\n").unwrap();
        assert_eq!(first_error(&log), None, "a log without an error line");
        assert_eq!(first_error(&dir.path().join("missing.log")), None);
    }

    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let cmd = Cmd::new("cargo")
            .args(["build", "--config", "target.x.rustflags=[\"-C\"]"])
            .env("A", "b c")
            .env_remove("RUSTFLAGS");
        assert_eq!(
            cmd.display(),
            r#"env -u RUSTFLAGS A='b c' cargo build --config 'target.x.rustflags=["-C"]'"#
        );
    }

    #[test]
    fn last_lines_takes_the_tail() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 3), "a");
        assert_eq!(last_lines("", 3), "");
    }

    #[test]
    fn query_reports_a_failing_command() {
        let err = Runner::default()
            .query(&Cmd::new("sh").args(["-c", "echo boom >&2; exit 3"]))
            .unwrap_err();
        assert!(format!("{err:#}").contains("boom"), "{err:#}");
    }

    #[test]
    fn a_log_in_a_fresh_target_directory_is_created() {
        // The first command of a run on a fresh clone (rustup target add) logs into a
        // target directory that does not exist yet.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("target/dist-logs/native.log");
        Runner::default()
            .run(&Cmd::new("sh").args(["-c", "echo installed >&2"]), Some(&log))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "installed\n");
        let streamed = dir.path().join("fresh/dist-logs/zig.log");
        Runner::default().stream(&Cmd::new("true"), &streamed, |_| {}).unwrap();
        assert!(streamed.is_file());
    }
}
