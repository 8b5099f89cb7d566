//! `cargo xtask doctor`: per target, the route and every tool it needs — found (with its
//! version) or missing, with the exact fix. `--fix` provisions what is missing.

use crate::build;
use crate::config::Overrides;
use crate::context::Context;
use crate::flags::{self, Global};
use crate::model::{Route, Target};
use crate::runner::{Cmd, Runner};
use crate::ui::table;
use anyhow::{bail, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub target: Target,
    pub route: Route,
    pub requirement: String,
    pub found: bool,
    /// The version or location when found, why not otherwise.
    pub detail: String,
    /// The command or flag that fixes a gap; empty when found.
    pub fix: String,
}

/// The first line a tool prints for its version, or why it could not be read.
fn version(runner: &Runner, program: &str, args: &[&str]) -> String {
    match runner.query(&Cmd::new(program).args(args.iter().copied())) {
        Ok(out) => out.lines().next().unwrap_or("").trim().to_string(),
        Err(e) => format!("present, but `{program}` did not report a version: {e:#}"),
    }
}

/// Per job of `ctx`'s plan, each requirement of its route: found or missing, and the fix.
pub fn checks(ctx: &Context) -> Vec<Check> {
    let (runner, plan, toolchain) = (&ctx.runner, &ctx.plan, &ctx.toolchain);
    let mut checks = Vec::new();
    for job in &plan.jobs {
        let mut add = |requirement: &str, found: bool, detail: String, fix: &str| {
            checks.push(Check {
                target: job.target.clone(),
                route: job.route,
                requirement: requirement.into(),
                found,
                detail,
                fix: if found { String::new() } else { fix.into() },
            });
        };
        let std_found = toolchain.has_target(&job.target);
        add(
            "Rust standard library",
            std_found,
            if std_found {
                "installed".into()
            } else {
                "not installed".into()
            },
            &format!("rustup target add {} (or doctor --fix)", job.target),
        );
        match job.route {
            Route::Native => {
                let cc = crate::runner::find_on_path("cc");
                let detail = cc
                    .as_ref()
                    .map_or("not on PATH".into(), |_| version(runner, "cc", &["--version"]));
                add(
                    "host C compiler/linker (cc)",
                    cc.is_some(),
                    detail,
                    "apt-get install gcc",
                );
            }
            Route::RustLld => {
                let lld = toolchain
                    .sysroot
                    .join("lib/rustlib")
                    .join(toolchain.host.triple())
                    .join("bin/rust-lld");
                add(
                    "rust-lld",
                    lld.is_file(),
                    lld.display().to_string(),
                    "rustup component add rust-src (reinstall the toolchain: rust-lld ships with rustc)",
                );
            }
            Route::Zig | Route::Msvc => {}
        }
        let mut needs: Vec<&str> = match job.route {
            Route::Zig => vec!["zig", "cargo-zigbuild"],
            Route::Msvc if job.c_code.is_empty() => vec!["msvc-libs"],
            Route::Msvc => vec!["msvc-libs", "zig"],
            Route::Native | Route::RustLld => vec![],
        };
        // Every route's binaries carry their dependency list unless `auditable = false`.
        if plan
            .provisions
            .iter()
            .any(|p| p.tool == crate::tools::CARGO_AUDITABLE.tool)
        {
            needs.push(crate::tools::CARGO_AUDITABLE.tool);
        }
        for tool in needs {
            match plan.provisions.iter().find(|p| p.tool == tool) {
                Some(p) => {
                    let detail = match (p.present, p.program()) {
                        (true, Some(program)) if tool == "zig" => {
                            format!(
                                "{} ({})",
                                version(runner, &program.to_string_lossy(), &["version"]),
                                p.dir.display()
                            )
                        }
                        (true, _) => format!("{} {} ({})", p.tool, p.version, p.dir.display()),
                        (false, _) => format!("{} {} not in {}", p.tool, p.version, p.dir.display()),
                    };
                    let fix = if tool == "msvc-libs" {
                        "cargo xtask doctor --fix --accept-msvc-license (Microsoft's licence), or DIST_MSVC_DIR=<xwin splat dir>"
                    } else {
                        "cargo xtask doctor --fix (or any dist run provisions it)"
                    };
                    add(tool, p.present, detail, fix);
                }
                // Only msvc-libs can be absent from the provisions: DIST_MSVC_DIR replaces it.
                None => add(tool, true, "from DIST_MSVC_DIR".into(), ""),
            }
        }
        // The smoke run's emulator: on PATH, provisioned from Debian, or none to be had.
        match (&job.smoke.provision, &job.smoke.runner) {
            (Some(tool), _) => {
                let p = plan
                    .provisions
                    .iter()
                    .find(|p| &p.tool == tool)
                    .expect("the plan provisions every emulator it names");
                let detail = match p.program() {
                    Some(program) if p.present => format!(
                        "{} ({}, {})",
                        version(runner, &program.to_string_lossy(), &["--version"]),
                        p.origin,
                        p.dir.display()
                    ),
                    _ => format!("{} {} ({}) not in {}", p.tool, p.version, p.origin, p.dir.display()),
                };
                add(
                    &format!("{tool} (smoke run)"),
                    p.present,
                    detail,
                    "cargo xtask doctor --fix (or any dist run provisions it)",
                );
            }
            (None, Some(emulator)) if job.smoke.runnable => {
                let detail = format!("{} (on PATH)", version(runner, emulator, &["--version"]));
                add(&format!("{emulator} (smoke run)"), true, detail, "");
            }
            (None, Some(_)) => add(
                "smoke runner",
                false,
                job.smoke.note.clone(),
                "put the emulator on PATH (Debian: apt-get install qemu-user)",
            ),
            (None, None) if job.smoke.runnable => add("smoke runner", true, job.smoke.note.clone(), ""),
            (None, None) => {}
        }
    }
    checks
}

impl flags::Doctor {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let overrides = Overrides::for_targets(self.targets.clone());
        let mut ctx = Context::load(global.runner(), global.manifest_path.as_deref(), overrides.clone())?;
        if self.fix {
            fix(&ctx, self.accept_msvc_license)?;
            // What is installed now changes the plan: which tools are present, which
            // targets need installing.
            ctx = Context::load(global.runner(), global.manifest_path.as_deref(), overrides)?;
        }
        let checks = checks(&ctx);
        print_doctor(&checks, global.json);
        let missing: Vec<String> = checks
            .iter()
            .filter(|c| !c.found && c.requirement != "smoke runner")
            .map(|c| format!("{} for {}", c.requirement, c.target))
            .collect();
        if !missing.is_empty() {
            bail!(
                "missing: {}; `cargo xtask doctor --fix` provisions them",
                missing.join(", ")
            );
        }
        Ok(())
    }
}

/// Installs what `ctx`'s plan needs and is missing: rustup targets and the provisioned
/// tools (the MSVC libraries only with the licence accepted).
pub fn fix(ctx: &Context, accept_msvc_license: bool) -> Result<()> {
    for job in &ctx.plan.jobs {
        for cmd in &job.install {
            eprintln!("installing: {}", cmd.display());
            ctx.runner.run_to_stderr(cmd)?;
        }
    }
    build::check_provisions(&ctx.plan, accept_msvc_license, false)?;
    build::provision_all(&ctx.runner, &ctx.plan, &|m| eprintln!("{m}"))
}

/// The checks as a table, or as JSON.
pub fn print_doctor(checks: &[Check], json: bool) {
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
                c.target.to_string(),
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
