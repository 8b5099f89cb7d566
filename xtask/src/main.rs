//! `cargo xtask`: the release orchestrator. See docs/ARCHITECTURE.md for the stages:
//! config → plan → build → inspect → package → report, one module each.

mod archive;
mod audit;
mod bench;
mod build;
mod ci;
mod config;
mod dist;
mod doctor;
mod flags;
mod inspect;
mod manifest;
mod merge;
mod package;
mod plan;
mod report;
mod runner;
mod size;
mod tools;
mod triple;
mod verify;

use clap::Parser;
use std::process::ExitCode;

/// A mistake the user can fix (bad flag, bad config, bad path): exit code 2, one line.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    // Returns the anyhow::Error carrying it: every caller wants to return that directly.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(UsageError(message.into()))
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Clap's own errors span several lines; a usage mistake here is one line, like ours.
fn parse_flags() -> Result<flags::Cli, ExitCode> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    flags::Cli::try_parse().map_err(|err| {
        if matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        let rendered = err.render().to_string();
        let first = rendered
            .lines()
            .next()
            .unwrap_or("error: invalid arguments")
            .to_string();
        let suggestion = [
            ContextKind::SuggestedArg,
            ContextKind::SuggestedSubcommand,
            ContextKind::SuggestedValue,
        ]
        .into_iter()
        .find_map(|kind| match err.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) => v.first().cloned(),
            _ => None,
        });
        match suggestion {
            Some(s) => eprintln!("{first}: did you mean '{s}'? (`cargo xtask --help` lists everything)"),
            None => eprintln!("{first} (`cargo xtask --help` lists everything)"),
        }
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = match parse_flags() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    runner::handle_interrupts();
    // Past a file size limit (RLIMIT_FSIZE) a write should fail with an error the tool can
    // report, not kill the process with SIGXFSZ halfway through an archive.
    // SAFETY: setting a signal's disposition to SIG_IGN touches no memory of ours.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let runner = runner::Runner {
        verbose: cli.global.verbose,
        dry_run: false,
    };
    let result = match cli.command {
        flags::Command::Plan(args) if args.github_matrix => ci::print_matrix(&runner, &cli.global, args.selection),
        flags::Command::Plan(args) => dist::plan(&runner, &cli.global, args.selection),
        flags::Command::Dist(args) => dist::dist(&runner, &cli.global, args),
        flags::Command::Audit(args) => audit::run(&runner, &cli.global, args),
        flags::Command::Doctor(args) => doctor::doctor(&runner, &cli.global, args),
        flags::Command::Ci(args) => ci::ci(&runner, &cli.global, args),
        flags::Command::Merge(args) => merge::merge(&runner, &cli.global, args),
        flags::Command::Verify(args) => verify::verify(&runner, &cli.global, args),
        flags::Command::Bench(args) => bench::bench(&runner, &cli.global, args),
        flags::Command::Size(args) => size::size(&runner, &cli.global, args),
    };
    if runner::interrupted() {
        // The interrupt handler is stopping the children and exits 130 itself.
        std::thread::sleep(std::time::Duration::from_secs(10));
        return ExitCode::from(130);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.chain().any(|e| e.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
