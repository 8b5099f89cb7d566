//! What every xtask binary built on this library does around its commands: one-line usage
//! errors, interrupt handling, and the exit codes (0 success, 1 failed build or check,
//! 2 usage or config mistake, 130 interrupted).

use crate::{runner, UsageError};
use std::process::ExitCode;

/// Parses the command line; on a mistake prints one line (with clap's suggestion, if any)
/// and returns exit code 2. Clap's own errors span several lines. Started as `mt.exe` (by
/// lld-link, through the link the windows-msvc route puts on PATH) it merges manifests
/// instead and returns that exit code: see `mt`.
pub fn parse<T: clap::Parser>() -> Result<T, ExitCode> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if let Some(code) = crate::mt::run_if_called_as_mt() {
        return Err(code);
    }
    T::try_parse().map_err(|err| {
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

/// Runs `command` with Ctrl-C handling in place and maps its result to the exit code,
/// printing the error chain on stderr.
pub fn main(command: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    runner::handle_interrupts();
    // Past a file size limit (RLIMIT_FSIZE) a write should fail with an error the tool can
    // report, not kill the process with SIGXFSZ halfway through an archive.
    // SAFETY: setting a signal's disposition to SIG_IGN touches no memory of ours.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let result = command();
    if runner::interrupted() {
        // The interrupt handler is stopping the children and exits 130 itself.
        std::thread::sleep(std::time::Duration::from_secs(10));
        return ExitCode::from(130);
    }
    exit_code(result)
}

/// The exit code for a command's result: a [`UsageError`] anywhere in the chain is 2.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
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
