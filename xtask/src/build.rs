//! Stage 3, build: prepares the toolchain for a job and runs its cargo command. Output
//! paths come from cargo's JSON artifact messages, never from guessing
//! `target/<triple>/<profile>/` (custom profiles and target dirs break such guesses).

use crate::plan::Job;
use crate::runner::{log_tail, Runner};
use anyhow::{bail, Result};
use cargo_metadata::Message;
use std::path::PathBuf;

/// Runs the job's install commands (e.g. `rustup target add`), telling `say` about each.
pub fn install(runner: &Runner, job: &Job, mut say: impl FnMut(&str)) -> Result<()> {
    for cmd in &job.install {
        say(&format!("installing: {}", cmd.display()));
        runner.run(cmd, Some(&job.log))?;
    }
    Ok(())
}

/// Builds the job; returns the paths of its binaries, in the order of `job.binaries`.
/// `on_artifact` hears the number of compiled units so far, for progress.
pub fn build(runner: &Runner, job: &Job, mut on_artifact: impl FnMut(usize)) -> Result<Vec<PathBuf>> {
    if let Some(dir) = job.log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating the log directory {}: {e}", dir.display()))?;
    }
    let mut compiled = 0;
    let mut found: Vec<Option<PathBuf>> = vec![None; job.binaries.len()];
    let finished = runner.stream(&job.build, &job.log, |line| {
        // Lines that are not cargo messages (a build script's stray output) are skipped.
        if let Ok(Message::CompilerArtifact(artifact)) = serde_json::from_str::<Message>(line) {
            compiled += 1;
            on_artifact(compiled);
            if let (true, Some(exe)) = (artifact.target.is_bin(), artifact.executable) {
                let file = exe.file_name().unwrap_or_default();
                if let Some(i) = job.binaries.iter().position(|b| b == file) {
                    found[i] = Some(exe.into_std_path_buf());
                }
            }
        }
    })?;
    let Some(finished) = finished else {
        return Ok(Vec::new()); // dry run
    };
    if !finished.success {
        bail!(
            "cargo failed to build {} (exit {}){}",
            job.target,
            finished.code.map_or("by signal".into(), |c| c.to_string()),
            log_tail(&job.log, 15)
        );
    }
    found
        .into_iter()
        .zip(&job.binaries)
        .map(|(path, name)| match path {
            Some(path) => Ok(path),
            None => bail!("cargo finished but reported no binary `{name}` for {}: is it a [[bin]] target?", job.target),
        })
        .collect()
}
