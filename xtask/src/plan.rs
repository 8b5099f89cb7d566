//! Stage 2, plan: turns the config into jobs — one per target, each with its linker route,
//! the reason for that route, and the exact commands — before anything runs. The plan is
//! plain data: `cargo xtask plan` prints it, `dist --dry-run` prints it, tests assert on it.

use crate::config::{Bin, Config, Toolchain};
use crate::package::ArchiveFormat;
use crate::runner::{path_arg, Cmd};
use crate::triple::{self, Family};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a target is linked on this (x86_64 Linux) host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// The host's `cc`, with Rust's self-contained CRT objects for musl.
    Native,
    /// The `rust-lld` that ships with rustc; enough for pure-Rust static musl binaries.
    RustLld,
    /// zig as the C compiler and linker, through cargo-zigbuild.
    Zig,
    /// rust-lld in lld-link mode with the MSVC CRT and Windows SDK import libraries.
    Msvc,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Route::Native => "native",
            Route::RustLld => "rust-lld",
            Route::Zig => "zig",
            Route::Msvc => "msvc",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub target: String,
    pub route: Route,
    /// Why this route was chosen, in words for the plan's reader.
    pub route_reason: String,
    /// Commands that prepare the toolchain (e.g. `rustup target add`); empty when ready.
    pub install: Vec<Cmd>,
    pub build: Cmd,
    /// File names of the binaries cargo will produce for this target.
    pub binaries: Vec<String>,
    pub archive: String,
    pub format: ArchiveFormat,
    /// Where cargo's diagnostics go; the tail is shown when the build fails.
    pub log: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub version: String,
    pub profile: String,
    pub commit: String,
    pub source_date_epoch: u64,
    pub out_dir: PathBuf,
    pub include: Vec<PathBuf>,
    pub jobs: Vec<Job>,
}

/// Chooses the linker route for `target` built on `host`, with the reason.
pub fn route(target: &str, host: &str) -> (Route, String) {
    let host_arch = triple::arch(host);
    let arch = triple::arch(target);
    match triple::family(target) {
        Family::LinuxMusl if arch == host_arch => (
            Route::Native,
            "same CPU as the host: the host cc links it with Rust's self-contained musl CRT".into(),
        ),
        Family::LinuxMusl => (
            Route::RustLld,
            "foreign CPU, static musl: rust-lld (shipped with rustc) links pure Rust without a cross toolchain".into(),
        ),
        Family::LinuxGnu if target == host => (Route::Native, "the host's own target".into()),
        Family::WindowsMsvc => (
            Route::Msvc,
            "no MSVC link.exe on Linux: rust-lld as lld-link with the MSVC CRT and Windows SDK libraries".into(),
        ),
        Family::LinuxGnu | Family::WindowsGnu | Family::AppleDarwin => (
            Route::Zig,
            "cross C toolchain and libc needed: zig provides both, driven by cargo-zigbuild".into(),
        ),
        Family::Other => (Route::Native, "no known cross route: the host toolchain's default linker".into()),
    }
}

/// The rustflags every job gets, per target so host build scripts are not rebuilt.
fn rustflags(config: &Config, target: &str) -> Result<Vec<String>> {
    let mut flags = Vec::new();
    if matches!(triple::family(target), Family::LinuxMusl | Family::WindowsMsvc) {
        // Static C runtime: the default for musl, opt-in for MSVC; explicit for both.
        flags.extend(["-C".to_string(), "target-feature=+crt-static".to_string()]);
    }
    // Keep the build machine's paths out of panic messages and debug info.
    flags.push(format!("--remap-path-prefix={}=.", path_arg(&config.workspace_root)?));
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", path_arg(&home)?));
    }
    Ok(flags)
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// A TOML string literal, for `--config key=value` arguments.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

fn build_command(config: &Config, target: &str, route: Route) -> Result<Cmd> {
    let subcommand = if route == Route::Zig { "zigbuild" } else { "build" };
    let mut cmd = Cmd::new("cargo")
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(path_arg(&config.manifest_path)?)
        .args(["--locked", "--profile", &config.profile, "--target", target])
        .arg("--message-format=json-render-diagnostics");
    for Bin { package, name } in &config.bins {
        cmd = cmd.args(["--package", package, "--bin", name]);
    }
    let flags: Vec<String> = rustflags(config, target)?.iter().map(|f| toml_string(f)).collect();
    cmd = cmd.arg("--config").arg(format!("target.{target}.rustflags=[{}]", flags.join(", ")));
    if route == Route::RustLld {
        cmd = cmd.arg("--config").arg(format!("target.{target}.linker=\"rust-lld\""));
    }
    // RUSTFLAGS would replace the per-target flags above entirely; the plan owns them.
    Ok(cmd
        .env("DIST_PROFILE", &config.profile)
        .env("DIST_COMMIT", &config.commit)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))
}

pub fn plan(config: &Config, toolchain: &Toolchain) -> Result<Plan> {
    let mut jobs = Vec::new();
    for target in &config.targets {
        let (route, route_reason) = route(target, &toolchain.host);
        let install = if toolchain.has_target(target) {
            Vec::new()
        } else {
            vec![Cmd::new("rustup").args(["target", "add", target])]
        };
        let format = ArchiveFormat::default_for(target);
        jobs.push(Job {
            target: target.clone(),
            route,
            route_reason,
            install,
            build: build_command(config, target, route)?,
            binaries: config.bins.iter().map(|b| format!("{}{}", b.name, triple::exe_suffix(target))).collect(),
            archive: format!("{}-{}-{target}.{}", config.name, config.version, format.extension()),
            format,
            log: config.target_dir.join("dist-logs").join(format!("{target}.log")),
        });
    }
    Ok(Plan {
        name: config.name.clone(),
        version: config.version.clone(),
        profile: config.profile.clone(),
        commit: config.commit.clone(),
        source_date_epoch: config.source_date_epoch,
        out_dir: config.out_dir.clone(),
        include: config.include.clone(),
        jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(targets: &[&str]) -> Config {
        Config {
            manifest_path: "/ws/Cargo.toml".into(),
            workspace_root: "/ws".into(),
            target_dir: "/ws/target".into(),
            out_dir: "/ws/dist".into(),
            name: "app".into(),
            version: "1.0.0".into(),
            profile: "dist".into(),
            targets: targets.iter().map(|s| s.to_string()).collect(),
            include: vec!["/ws/README.md".into()],
            bins: vec![Bin { package: "app".into(), name: "app".into() }],
            commit: "abc123".into(),
            source_date_epoch: 1_700_000_000,
            per_target: Default::default(),
        }
    }

    fn toolchain(installed_sysroot: &std::path::Path) -> Toolchain {
        Toolchain {
            host: "x86_64-unknown-linux-gnu".into(),
            sysroot: installed_sysroot.into(),
            known_targets: triple::DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn routes_for_the_seed_matrix() {
        let host = "x86_64-unknown-linux-gnu";
        let routes: Vec<Route> = triple::DEFAULT_TARGETS.iter().map(|t| route(t, host).0).collect();
        assert_eq!(routes, [Route::Native, Route::RustLld, Route::Msvc, Route::Zig, Route::Zig]);
        assert_eq!(route("x86_64-unknown-linux-gnu", host).0, Route::Native);
        assert_eq!(route("aarch64-unknown-linux-gnu", host).0, Route::Zig);
    }

    #[test]
    fn a_musl_job_builds_the_dist_profile_for_its_target_only() {
        let sysroot = tempfile::tempdir().unwrap();
        let plan = plan(&config(&["x86_64-unknown-linux-musl"]), &toolchain(sysroot.path())).unwrap();
        let job = &plan.jobs[0];
        assert_eq!(job.archive, "app-1.0.0-x86_64-unknown-linux-musl.tar.gz");
        assert_eq!(job.binaries, ["app"]);
        let line = job.build.display();
        assert!(line.starts_with("env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS DIST_COMMIT=abc123 DIST_PROFILE=dist cargo build --manifest-path /ws/Cargo.toml --locked --profile dist --target x86_64-unknown-linux-musl --message-format=json-render-diagnostics --package app --bin app"), "{line}");
        let flags = job.build.args.iter().find(|a| a.starts_with("target.x86_64-unknown-linux-musl.rustflags=")).unwrap();
        assert!(flags.contains(r#""-C", "target-feature=+crt-static", "--remap-path-prefix=/ws=.""#), "{flags}");
        // The sysroot has no musl std: the job installs it first, said as a command.
        assert_eq!(job.install[0].display(), "rustup target add x86_64-unknown-linux-musl");
    }

    #[test]
    fn an_installed_target_needs_no_install_step() {
        let sysroot = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sysroot.path().join("lib/rustlib/aarch64-unknown-linux-musl/lib")).unwrap();
        let plan = plan(&config(&["aarch64-unknown-linux-musl"]), &toolchain(sysroot.path())).unwrap();
        assert!(plan.jobs[0].install.is_empty());
        assert!(plan.jobs[0].build.args.contains(&"target.aarch64-unknown-linux-musl.linker=\"rust-lld\"".to_string()));
    }

    #[test]
    fn windows_gets_zip_and_exe_apple_gets_zigbuild() {
        let sysroot = tempfile::tempdir().unwrap();
        let plan = plan(&config(&["x86_64-pc-windows-msvc", "aarch64-apple-darwin"]), &toolchain(sysroot.path())).unwrap();
        assert_eq!(plan.jobs[0].binaries, ["app.exe"]);
        assert_eq!(plan.jobs[0].archive, "app-1.0.0-x86_64-pc-windows-msvc.zip");
        assert_eq!(plan.jobs[1].build.args[0], "zigbuild");
    }
}
