//! `cargo xtask plan`: the jobs — target, route and why, the exact commands and environment —
//! printed as a table or JSON; nothing runs.

use crate::context::Context;
use crate::flags::{self, Global};
use crate::plan::Plan;
use crate::ui::short;
use anyhow::Result;

impl flags::Plan {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), self.selection.into())?;
        print_warnings(&ctx.config);
        if self.github_matrix {
            crate::commands::ci::print_github_matrix(&crate::commands::ci::matrix(&ctx));
        } else if self.github_smoke_matrix {
            crate::commands::ci::print_github_matrix(&crate::commands::ci::smoke_matrix(&ctx.plan));
        } else {
            print_plan(&ctx.plan, global.json);
        }
        Ok(())
    }
}

/// What the config warns of (a release without a commit or a date), on stderr.
pub fn print_warnings(config: &crate::config::Config) {
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
}

/// The plan for people (every command as it will run), or as JSON.
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
    for (what, toolchain) in std::iter::once(("toolchain", &plan.toolchain))
        .chain(plan.size_toolchain.as_ref().map(|t| ("size-mode toolchain", t)))
    {
        let version = toolchain
            .version
            .as_ref()
            .map(|v| format!(" (rustc {v})"))
            .unwrap_or_default();
        println!("{what} {}{version}: {}", toolchain.name, toolchain.reason);
        if let Some(cmd) = &toolchain.install {
            println!("  install: {}", cmd.display());
        }
    }
    println!("dependency list: {}", plan.dependency_list);
    if let Some(note) = &plan.profile_note {
        println!("{note}");
    }
    for p in &plan.provisions {
        let state = if p.present { "present" } else { "to provision" };
        let purpose = match p.needed_for {
            crate::tools::Need::Build => "",
            crate::tools::Need::Smoke => ", for smoke runs",
        };
        println!(
            "tool {} {} from {} ({state}{purpose}): {}",
            p.tool,
            p.version,
            p.origin,
            p.dir.display()
        );
        if !p.present {
            println!("  download: {}", p.download.display());
        }
    }
    for job in &plan.jobs {
        println!("\n{}  route {}: {}", job.target, job.route, job.route_reason);
        if !job.c_code.is_empty() {
            println!("  C code:  {}", job.c_code.join(", "));
        }
        if !job.host_os_tests.is_empty() {
            println!(
                "  host cfg: {} (a build script's cfg is the host's: this cross build can take another branch than a native build; the crate should read the CARGO_CFG_TARGET_* variables)",
                job.host_os_tests.join("; ")
            );
        }
        if !job.features.is_empty() {
            println!("  features: {}", job.features);
        }
        for cmd in &job.install {
            println!("  install: {}", cmd.display());
        }
        match job.slices.is_empty() {
            true => println!("  build:   cargo run #{} (below)", job.build + 1),
            false => println!(
                "  build:   none: merges the binaries of {} (above)",
                job.slices.iter().map(|t| t.triple()).collect::<Vec<_>>().join(" and ")
            ),
        }
        println!("  smoke:   {}", job.smoke.note);
        if let Some(apple) = &job.apple_link {
            println!("  macOS libraries: {}", apple.note());
        }
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
            build.routes_label(),
            build.targets.join(", "),
            build.cmd.display()
        );
        for step in &build.prepare {
            match step {
                crate::plan::Prepare::Link { path, to } => {
                    println!("  before:  link {} -> {}", path.display(), to.display())
                }
                // A stub's symbol list is one long line: `plan --json` has it whole.
                crate::plan::Prepare::File { path, contents } if contents.len() > 2000 => {
                    println!("  before:  write {} ({} bytes)", path.display(), contents.len());
                }
                crate::plan::Prepare::File { path, contents } => {
                    println!("  before:  write {}:", path.display());
                    for line in contents.lines() {
                        println!("             {line}");
                    }
                }
            }
        }
        if !build.tidy.is_empty() {
            let dirs: Vec<String> = build.tidy.iter().map(|d| d.display().to_string()).collect();
            println!(
                "  after:   remove the empty *detect_compiler_family.o files zig's `cc -E` for macOS left in {}",
                dirs.join(", ")
            );
        }
        if let Some(strip) = &build.restrip {
            println!(
                "  after:   {} <copy> <binary>, for each Apple binary whose indirect symbol table names local symbols (docs/APPLE.md)",
                strip.display()
            );
        }
    }
    if !plan.generated.is_empty() {
        match &plan.generator {
            None => println!("\ngenerated into every archive, by the first binary that runs on this host:"),
            Some(host) => println!(
                "\ngenerated into every archive, by a host build for {} (no target of this run runs here):\n  {}",
                host.target,
                host.build.cmd.display()
            ),
        }
        for file in &plan.generated {
            println!("  {}: {}", file.path, file.command.join(" "));
        }
    }
    println!("\nbuild logs: {}", plan.log_dir.display());
}
