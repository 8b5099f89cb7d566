//! `cargo xtask audit`: sorts every package the shipped binaries need into the seed
//! document's native-code tiers, per target, from evidence rather than memory, and with
//! `--build` checks the prediction against what the dist build's scripts really compiled.
//!
//! Stages: config and each target's graph with its evidence (deps/: the walk and the
//! native-code detector the plan's routes rest on too) → the plan's jobs → [`audit_target`]
//! (pure: graph + job → report) → optional build check → printing (the `print` section at
//! the bottom; table layout from report.rs).

use crate::build;
use crate::config::{self, Overrides, Toolchain};
use crate::context::Context;
use crate::deps::{self, Evidence, Files, TargetGraph};
use crate::flags::{Audit as Args, AuditFormat, Global};
use crate::model::Bin;
use crate::model::{Family, Route, Target};
use crate::plan::{self, Job};
use crate::runner::{first_error, log_tail, Runner};
use anyhow::{Context as _, Result};
use cargo_metadata::{Message, PackageId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const ROUTES: [Route; 4] = [Route::Native, Route::RustLld, Route::Zig, Route::Msvc];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Builds with rustc alone (a build script that only probes rustc counts here).
    PureRust = 1,
    /// Compiles bundled C/C++/assembly: needs a C compiler for the target.
    Bundled = 2,
    /// Needs something from the build machine: a system library or an external tool.
    System = 3,
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

/// What a pure-Rust package's build script does, when it has one: the markdown groups the
/// tier-1 packages by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PureScript {
    PrebuiltLibraries,
    RustcProbes,
    NoNativeSources,
    Nothing,
}

impl PureScript {
    fn words(self) -> &'static str {
        match self {
            PureScript::PrebuiltLibraries => "only points the linker at prebuilt libraries it ships",
            PureScript::RustcProbes => "only probes rustc",
            PureScript::NoNativeSources => "ships no native sources for its compile calls",
            PureScript::Nothing => "compiles nothing and probes no system library",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub tier: Tier,
    pub reason: String,
    /// Tier 1 with a build script: what the script does (the reason says it, with details).
    #[serde(skip)]
    pub pure_script: Option<PureScript>,
    /// Whether the build script is expected to compile native code.
    pub compiles_native: bool,
    /// External tools the build needs beyond a C compiler (cmake, perl, nasm, pkg-config …).
    pub tools: Vec<String>,
    /// Libraries the build machine must provide, built for the target.
    pub system_libraries: Vec<String>,
    pub fix: Option<String>,
}

/// What the dist build showed for one package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    /// Object files or static archives in the build script's OUT_DIR.
    pub native_objects: usize,
    pub linked_libs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    #[serde(skip)]
    pub id: PackageId,
    pub name: String,
    pub version: String,
    pub source: String,
    /// Built only for the host (a build dependency or a proc-macro's): its native code, if
    /// any, needs the host's C compiler, not a cross compiler.
    pub host_only: bool,
    /// The chain of dependencies from a shipped package to this one.
    pub via: Vec<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The matrix routes that can build this package for the target.
    pub routes: Vec<Route>,
    pub planned_route_builds: bool,
    pub evidence: Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    pub packages: usize,
    pub tier1: usize,
    pub tier2: usize,
    pub tier3: usize,
    /// Packages the planned route builds once the named tools are installed.
    pub planned_route_builds: usize,
}

impl Score {
    /// Rounded down, so only a full share reads 100%; "<1%" is the caller's for tiny shares.
    pub fn percent(&self, n: usize) -> usize {
        (n * 100).checked_div(self.packages).unwrap_or(100)
    }
}

/// What the audit expects `cargo xtask dist` to do for one target on this machine, in a
/// form a corpus harness compares with the real result (docs/AUDIT.md, "The prediction").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub outcome: Outcome,
    /// One line: "builds", "needs the macOS SDK frameworks Foundation, IOKit", …
    pub summary: String,
    /// Every reason the build is expected to fail, most fundamental first; empty for "builds".
    pub reasons: Vec<String>,
    /// Packages built for the target whose build compiles C, C++ or assembly: the route
    /// must bring a C compiler for the target (the plan's `c_code`, the same detector).
    pub compiles_native: Vec<String>,
    /// The planned route's C compiler for the target, when `compiles_native` is not empty.
    pub c_compiler: Option<String>,
    /// Apple frameworks the target links, and the packages that declare them (Apple targets only).
    pub frameworks: Vec<String>,
    pub framework_packages: Vec<String>,
    /// Build systems the build scripts run (make, cmake, configure, …), host-only ones included.
    pub build_systems: Vec<String>,
    /// Programs the builds need beyond rustc and the route's C compiler, and those not on PATH.
    pub tools: Vec<String>,
    pub missing_tools: Vec<String>,
    /// Libraries the build machine must provide, built for the target.
    pub system_libraries: Vec<String>,
}

/// The predicted outcome, one word per cause; a harness compares `builds` with success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Builds,
    /// Links Apple frameworks and SDKROOT names no macOS SDK.
    NeedsMacosSdk,
    /// `cargo xtask dist` refuses the target for another reason (e.g. the MSVC licence).
    Blocked,
    /// A package links a library the build machine must provide for the target.
    NeedsSystemLibrary,
    /// Native code is compiled and the planned route has no C compiler for the target.
    NoCCompiler,
    /// A build script runs a program that is not on PATH.
    NeedsTool,
}

impl Outcome {
    /// The JSON's word, for the table.
    fn word(self) -> &'static str {
        match self {
            Outcome::Builds => "builds",
            Outcome::NeedsMacosSdk => "needs-macos-sdk",
            Outcome::Blocked => "blocked",
            Outcome::NeedsSystemLibrary => "needs-system-library",
            Outcome::NoCCompiler => "no-c-compiler",
            Outcome::NeedsTool => "needs-tool",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildCheck {
    pub success: bool,
    pub log: String,
    /// The first `error` line of a failed build's log: usually names the failing package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Packages whose build script left native objects in its OUT_DIR.
    pub compiled_native: Vec<String>,
    /// Packages where the prediction and the build disagree, with both sides.
    pub disagreements: Vec<String>,
    /// Packages named in the failed build's error lines: they count as not built.
    pub failed_packages: Vec<String>,
    /// Whether the outcome matched the prediction: "builds" and success, or a failure predicted.
    pub prediction_held: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub target: String,
    pub route: Route,
    pub route_reason: String,
    pub score: Score,
    /// Every tool the target's build needs, the planned route's C compiler included.
    pub tools: Vec<String>,
    pub system_libraries: Vec<String>,
    pub notes: Vec<String>,
    pub prediction: Prediction,
    pub packages: Vec<PackageReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub name: String,
    pub version: String,
    pub bins: Vec<Bin>,
    /// The feature flags the graph was resolved with, as given to cargo.
    pub feature_flags: Vec<String>,
    pub targets: Vec<TargetReport>,
}

impl Args {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        // The profile matters only to --build; without it, "release" (always defined) keeps
        // config.rs's profile check from refusing a workspace that has no [profile.dist].
        let profile = self
            .profile
            .clone()
            .or_else(|| (!self.build).then(|| "release".to_string()));
        let overrides = Overrides {
            targets: self.targets.clone(),
            profile,
            out_dir: None,
            features: self.features.features.clone(),
            all_features: self.features.all_features,
            no_default_features: self.features.no_default_features,
            ..Default::default()
        };
        let ctx = Context::load_with_graphs(global.runner(), global.manifest_path.as_deref(), overrides)?;
        let audit = audit(&ctx, &AuditOptions { build: self.build })?;
        let format = if global.json { AuditFormat::Json } else { self.format };
        print(&audit, format);
        // Each failed target with its log (the first line of `log` is the file's path).
        let build_failed: Vec<String> = audit
            .targets
            .iter()
            .filter_map(|t| t.build.as_ref().filter(|b| !b.success).map(|b| (t, b)))
            .map(|(t, b)| format!("{} (log: {})", t.target, b.log.lines().next().unwrap_or_default()))
            .collect();
        if !build_failed.is_empty() {
            anyhow::bail!(
                "the dist build failed for {}: the report above shows what the build scripts did before it stopped; the log names the cause",
                build_failed.join(", ")
            );
        }
        Ok(())
    }
}

/// What to audit beyond what the context says.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Also run the dist build per target and compare the prediction with what the build
    /// scripts really compiled.
    pub build: bool,
}

/// Sorts every package the shipped binaries need into native-code tiers, per target of
/// `ctx`'s plan, against the route `cargo xtask dist` would take. `ctx` must come from
/// [`Context::load_with_graphs`]: the audit reports on the graphs the routes came from.
pub fn audit(ctx: &Context, options: &AuditOptions) -> Result<AuditReport> {
    let (runner, config, plan, toolchain, host) = (&ctx.runner, &ctx.config, &ctx.plan, &ctx.toolchain, &ctx.host);
    let feature_flags = ctx.feature_flags.clone();
    let mut targets = Vec::new();
    // A universal target's code is its slices', audited as their own targets.
    for job in plan.jobs.iter().filter(|j| j.slices.is_empty()) {
        let target = &job.target;
        let graph = ctx
            .graphs
            .iter()
            .find(|g| g.target == target.triple())
            .with_context(|| {
                format!(
                    "no dependency graph was resolved for {target}: load the context with Context::load_with_graphs"
                )
            })?;
        let sdkroot = ctx.host.sdkroot.as_deref().or(config.macos_sdk.as_deref());
        let machine = Machine {
            // With an SDK, what it has; without, what the stubs cover (the facts' frameworks,
            // plan::apple_link). A framework named at build time cannot be looked up.
            sdk_has: &|framework| {
                framework.starts_with('(')
                    || match sdkroot {
                        Some(sdk) => sdk
                            .join("System/Library/Frameworks")
                            .join(format!("{framework}.framework"))
                            .is_dir(),
                        None => crate::apple::LinkName {
                            name: framework.to_string(),
                            framework: true,
                        }
                        .dylib()
                        .is_some(),
                    }
            },
            on_path: &|program| crate::runner::find_on_path(program).is_some(),
        };
        let mut report = audit_target(graph, &toolchain.host, job, &machine);
        if let Some(blocked) = &job.blocked {
            report
                .notes
                .push(format!("`cargo xtask dist` refuses this target here: {blocked}"));
        }
        if options.build {
            let observed = build_and_observe(runner, config, toolchain, host, target)?;
            check_build(&mut report, observed);
        }
        targets.push(report);
    }
    let audit = AuditReport {
        name: config.name.clone(),
        version: config.version.clone(),
        bins: config.bins.clone(),
        feature_flags,
        targets,
    };
    Ok(audit)
}

/// Tools an activated build dependency brings in, beyond the C compiler.
fn tools_of_build_dep(name: &str) -> &'static [&'static str] {
    match name {
        "cmake" => &["cmake"],
        "nasm-rs" => &["nasm"],
        "autotools" => &["autoconf", "automake", "make"],
        // openssl-src runs OpenSSL's own Configure script.
        "openssl-src" => &["perl", "make"],
        "bindgen" => &["libclang"],
        _ => &[],
    }
}

/// The tier and its reason, from the evidence alone.
pub fn classify(name: &str, e: &Evidence) -> Verdict {
    let f = &e.files;
    let has_dep = |n: &str| e.build_dependencies.iter().any(|d| d == n);
    let src_crate = e.src_crate();
    // The plan's routes rest on the same answer (deps/).
    let compiles_native = e.compiles_native();
    let mut tools: Vec<String> = e
        .build_dependencies
        .iter()
        .flat_map(|d| tools_of_build_dep(d))
        .map(|t| t.to_string())
        .collect();
    tools.extend(f.script_tools.iter().cloned());
    // A probe only counts when its crate is in the resolved graph (optional ones may be off).
    let mut probes: Vec<String> = f
        .system_probes
        .iter()
        .filter(|p| has_dep(&p.replace('_', "-")))
        .cloned()
        .collect();
    let pkg_config = probes.iter().any(|p| p != "vcpkg");
    // A directory variable points at a native library only in a package that links one
    // (icu_properties_data's ICU4X_DATA_DIR points at data).
    if e.links.is_some() {
        probes.extend(
            f.env_vars
                .iter()
                .filter(|v| v.ends_with("_DIR") || v.contains("LIB_DIR"))
                .cloned(),
        );
    }
    tools.sort();
    tools.dedup();
    let probe_words = probes.join(", ");
    let sources = source_summary(f);
    let library = e
        .links
        .clone()
        .unwrap_or_else(|| name.trim_end_matches("-sys").to_string());
    let switch_off: Vec<&String> = e
        .bundling_features_off
        .iter()
        .filter(|f| ["vendor", "bundle", "static"].iter().any(|w| f.contains(w)))
        .collect();
    let feature_fix = switch_off
        .first()
        .map(|feat| format!("enable the `{feat}` feature of {name} (builds the bundled copy)"));

    if compiles_native {
        let how = match src_crate {
            Some(s) => format!("builds the library from the {s} crate's sources"),
            None if f.compile_calls.is_empty() => {
                format!("compiles {sources} some way this audit cannot name (a `links` package that ships them)")
            }
            None => format!("compiles {sources} with {}", f.compile_calls.join(", ")),
        };
        let mut reason = format!("build script {how}");
        if !probes.is_empty() {
            reason += &format!("; looks for a system copy first ({probe_words})");
        }
        if tools.is_empty() {
            let fix = if probes.is_empty() {
                None
            } else {
                feature_fix.map(|f| format!("{f} so the build never picks up the build machine's copy"))
            };
            return Verdict {
                tier: Tier::Bundled,
                reason,
                pure_script: None,
                compiles_native,
                tools,
                system_libraries: Vec::new(),
                fix,
            };
        }
        let fix = Some(format!("install {} on the build machine", tools.join(" and ")));
        return Verdict {
            tier: Tier::System,
            reason: format!("{reason}; needs {}", tools.join(", ")),
            pure_script: None,
            compiles_native,
            tools,
            system_libraries: Vec::new(),
            fix,
        };
    }
    let unbuilt_link = f.prebuilt_libraries == 0 && e.links.is_some() && !f.link_libs.is_empty();
    if !probes.is_empty() || unbuilt_link {
        let reason = if probes.is_empty() {
            format!(
                "build script links `{}` and builds no copy of it",
                f.link_libs.join(", ")
            )
        } else {
            format!("build script looks for the system's {library} ({probe_words}) and builds no copy of it")
        };
        // pkg-config is needed only where no bundled copy is the fallback.
        if pkg_config {
            tools.push("pkg-config".into());
            tools.sort();
        }
        let mut fix = feature_fix.unwrap_or_else(|| format!("provide {library} built for the target (for pkg-config: PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_ALLOW_CROSS=1)"));
        if library == "openssl" {
            fix += ", or switch the crate that pulls it in to rustls";
        }
        return Verdict {
            tier: Tier::System,
            reason,
            pure_script: None,
            compiles_native,
            tools,
            system_libraries: vec![library],
            fix: Some(fix),
        };
    }
    if !tools.is_empty() {
        return Verdict {
            tier: Tier::System,
            reason: format!("build script needs {}", tools.join(", ")),
            pure_script: None,
            compiles_native,
            fix: Some(format!("install {} on the build machine", tools.join(" and "))),
            tools,
            system_libraries: Vec::new(),
        };
    }
    let pure_script = f.build_script.as_ref().map(|_| {
        if f.prebuilt_libraries > 0 {
            (PureScript::PrebuiltLibraries, format!("{} files", f.prebuilt_libraries))
        } else if !f.rustc_probes.is_empty() {
            (PureScript::RustcProbes, f.rustc_probes.join(", "))
        } else if !f.compile_calls.is_empty() {
            (PureScript::NoNativeSources, f.compile_calls.join(", "))
        } else {
            (PureScript::Nothing, String::new())
        }
    });
    let reason = match &pure_script {
        None => "no build script".to_string(),
        Some((script, details)) if details.is_empty() => format!("build script {}", script.words()),
        Some((script, details)) => format!("build script {} ({details})", script.words()),
    };
    Verdict {
        tier: Tier::PureRust,
        reason,
        pure_script: pure_script.map(|(script, _)| script),
        compiles_native,
        tools,
        system_libraries: Vec::new(),
        fix: None,
    }
}

fn source_summary(f: &Files) -> String {
    let parts: Vec<String> = [(f.c_sources, "C"), (f.cpp_sources, "C++"), (f.asm_sources, "assembly")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, kind)| format!("{n} {kind}"))
        .collect();
    if parts.is_empty() {
        "no shipped native sources".into()
    } else {
        format!("{} file(s)", parts.join(", "))
    }
}

/// The C compiler a route gives a target on this host, if any.
pub fn c_compiler(route: Route, target: &Target, host: &Target) -> Option<String> {
    let family = target.family();
    let linux = family.is_linux();
    match route {
        // cc-rs looks for `x86_64-linux-musl-gcc` for a musl target and does not fall back
        // to the host gcc, which compiles self-contained C for its own CPU well enough:
        // name the variable that points cc-rs at it (found by building the test fixture).
        Route::Native if family == Family::LinuxMusl && target.arch() == host.arch() => Some(format!(
            "gcc (set CC_{}=gcc) or musl-gcc (Debian musl-tools)",
            target.triple().replace('-', "_")
        )),
        Route::Native if linux && target == host => Some("gcc".into()),
        Route::Native | Route::RustLld => None,
        Route::Zig if linux || matches!(family, Family::AppleDarwin | Family::WindowsGnu) => {
            Some("zig cc (cargo-zigbuild)".into())
        }
        // The plan points CC at `zig cc -target <arch>-windows-msvc` with the MSVC headers.
        Route::Msvc if family == Family::WindowsMsvc => Some("zig cc for the MSVC target".into()),
        Route::Zig | Route::Msvc => None,
    }
}

/// What the prediction reads from the machine: whether the link finds a framework (in the
/// SDK that SDKROOT names, `System/Library/Frameworks/<name>.framework`; without SDKROOT,
/// among the stubs the facts allow), and whether a program is on PATH.
pub struct Machine<'a> {
    pub sdk_has: &'a dyn Fn(&str) -> bool,
    pub on_path: &'a dyn Fn(&str) -> bool,
}

/// The report for one target: a pure function of its graph, the job the plan made for it
/// and what the machine offers.
pub fn audit_target(graph: &TargetGraph, host: &Target, job: &Job, machine: &Machine) -> TargetReport {
    let (target, route) = (&job.target, job.route);
    let mut packages = Vec::new();
    for (id, reached) in &graph.reached {
        let pkg = &graph.meta[id];
        let evidence = graph.evidence[id].clone();
        let mut verdict = classify(pkg.name.as_str(), &evidence);
        // As the plan's SDK check: a host-only package is linked into the host's build tools.
        let apple = target.family() == Family::AppleDarwin;
        if apple && reached.for_target && !evidence.files.frameworks.is_empty() {
            verdict = Verdict {
                tier: Tier::System,
                reason: format!(
                    "links the Apple framework(s) {}, which only a macOS SDK has",
                    evidence.files.frameworks.join(", ")
                ),
                pure_script: None,
                compiles_native: verdict.compiles_native,
                tools: verdict.tools,
                system_libraries: vec!["macOS SDK".into()],
                fix: Some("set SDKROOT to a MacOSX.sdk directory".into()),
            };
        }
        let needs_cc = verdict.compiles_native && verdict.system_libraries.is_empty();
        let host_only = !reached.for_target;
        // With an SDK that holds its frameworks, a framework package is built like any other.
        let sdk_provides =
            verdict.system_libraries == ["macOS SDK"] && evidence.files.frameworks.iter().all(|f| (machine.sdk_has)(f));
        let routes: Vec<Route> = match verdict.tier {
            Tier::PureRust => ROUTES.to_vec(),
            _ if !verdict.system_libraries.is_empty() && !sdk_provides => Vec::new(),
            _ if host_only || !needs_cc => ROUTES.to_vec(),
            _ => ROUTES
                .iter()
                .copied()
                .filter(|r| c_compiler(*r, target, host).is_some())
                .collect(),
        };
        packages.push(PackageReport {
            id: id.clone(),
            name: pkg.name.to_string(),
            version: pkg.version.to_string(),
            source: match &pkg.source {
                None => "path".into(),
                Some(s) if s.is_crates_io() => "crates.io".into(),
                Some(s) => s.repr.clone(),
            },
            host_only,
            via: reached.via.clone(),
            planned_route_builds: routes.contains(&route),
            routes,
            verdict,
            evidence,
            observed: None,
        });
    }
    packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));

    let mut score = Score {
        packages: packages.len(),
        ..Score::default()
    };
    let mut tools = BTreeSet::new();
    let mut system_libraries = BTreeSet::new();
    let mut notes = Vec::new();
    for p in &packages {
        match p.verdict.tier {
            Tier::PureRust => score.tier1 += 1,
            Tier::Bundled => score.tier2 += 1,
            Tier::System => score.tier3 += 1,
        }
        score.planned_route_builds += usize::from(p.planned_route_builds);
        tools.extend(p.verdict.tools.iter().cloned());
        system_libraries.extend(p.verdict.system_libraries.iter().cloned());
    }
    if packages.iter().any(|p| p.verdict.compiles_native && p.host_only) {
        tools.insert("gcc (host, for build-time native code)".into());
    }
    // The packages the plan chose the route for: the same detector on the same graph.
    if !job.c_code.is_empty() {
        match c_compiler(route, target, host) {
            Some(cc) => {
                tools.insert(cc);
            }
            None => {
                let others: Vec<String> = ROUTES
                    .iter()
                    .filter(|r| c_compiler(**r, target, host).is_some())
                    .map(|r| r.to_string())
                    .collect();
                let instead = if others.is_empty() {
                    "no matrix route has one".to_string()
                } else {
                    format!("use the {} route instead", others.join(" or "))
                };
                notes.push(format!(
                    "the planned route `{route}` has no C compiler for {target}, which these packages need: {}; {instead}",
                    job.c_code.join(", ")
                ));
                tools.insert(format!("a C compiler for {target}"));
            }
        }
    }
    if !system_libraries.is_empty() {
        notes.push(format!(
            "no route provides the system libraries ({}) for {target}: see each package's fix",
            system_libraries.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(note) = musl_malloc_note(&packages, target) {
        notes.push(note);
    }
    // The plan's reading of build scripts that decide with the host's cfg (deps/cfg.rs).
    if !job.host_os_tests.is_empty() {
        notes.push(format!(
            "build scripts that decide with cfg tests answering otherwise on this host than on {target} (a build script's cfg is the host's): {}; a cross build can take another branch than a native one, and code left out shows as undefined symbols at link time",
            job.host_os_tests.join("; ")
        ));
    }
    let prediction = predict(&packages, job, host, machine);
    TargetReport {
        target: target.to_string(),
        route,
        route_reason: job.route_reason.clone(),
        score,
        tools: tools.into_iter().collect(),
        system_libraries: system_libraries.into_iter().collect(),
        notes,
        prediction,
        packages,
        build: None,
    }
}

/// The warning for a multi-threaded musl binary that keeps musl's malloc, which serialises
/// threads on one lock (users report 1.2× to 90× slower). "Multi-threaded": a package built
/// for the target starts threads through std (scan.rs reads its code); "keeps the
/// default": no package of the graph, resolved with the target's features, implements
/// GlobalAlloc.
fn musl_malloc_note(packages: &[PackageReport], target: &Target) -> Option<String> {
    if target.family() != Family::LinuxMusl {
        return None;
    }
    let shipped = packages.iter().filter(|p| !p.host_only);
    if shipped.clone().any(|p| p.evidence.files.global_alloc) {
        return None;
    }
    let threaded: Vec<&str> = shipped
        .filter(|p| p.evidence.files.spawns_threads)
        .map(|p| p.name.as_str())
        .collect();
    (!threaded.is_empty()).then(|| {
        format!(
            "multi-threaded ({} start threads) and on musl's malloc, which is slow under threads: set allocator = \"mimalloc\" in [workspace.metadata.dist] (docs/SIZE.md) after adding, {}",
            threaded.join(", "),
            crate::config::MIMALLOC_SNIPPET
        )
    })
}

/// The outcome the packages' verdicts add up to for the planned job on this machine.
fn predict(packages: &[PackageReport], job: &Job, host: &Target, machine: &Machine) -> Prediction {
    let target = &job.target;
    let apple = target.family() == Family::AppleDarwin;
    let mut frameworks = BTreeSet::new();
    let mut framework_packages = BTreeSet::new();
    let mut build_systems = BTreeSet::new();
    let mut tools = BTreeSet::new();
    let mut system_libraries = BTreeSet::new();
    for p in packages {
        build_systems.extend(p.evidence.build_systems());
        // Tools run on the build machine whoever the package is built for.
        tools.extend(p.verdict.tools.iter().cloned());
        if p.host_only {
            // Host-only packages are built with the host's libraries and compiler.
            if p.verdict.compiles_native {
                tools.insert("cc".to_string());
            }
            continue;
        }
        if apple && !p.evidence.files.frameworks.is_empty() {
            frameworks.extend(p.evidence.files.frameworks.iter().cloned());
            framework_packages.insert(p.name.clone());
        }
        system_libraries.extend(
            p.verdict
                .system_libraries
                .iter()
                .filter(|l| l.as_str() != "macOS SDK")
                .cloned(),
        );
    }
    // libclang is a library bindgen finds its own ways (LIBCLANG_PATH, llvm-config): not on PATH.
    let missing_tools: Vec<String> = tools
        .iter()
        .filter(|t| t.as_str() != "libclang" && !(machine.on_path)(t))
        .cloned()
        .collect();
    let c_compiler = (!job.c_code.is_empty())
        .then(|| c_compiler(job.route, target, host))
        .flatten();
    let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut reasons: Vec<(Outcome, String)> = Vec::new();
    let missing_frameworks: BTreeSet<String> = frameworks.iter().filter(|f| !(machine.sdk_has)(f)).cloned().collect();
    if !missing_frameworks.is_empty() {
        reasons.push((
            Outcome::NeedsMacosSdk,
            format!(
                "needs the macOS SDK frameworks {} (linked by {}): no stub covers them (orchestrator/facts/macos-dylibs.txt) and SDKROOT names no SDK that has them",
                list(&missing_frameworks),
                list(&framework_packages)
            ),
        ));
    }
    if let Some(blocked) = &job.blocked {
        if reasons.is_empty() {
            reasons.push((Outcome::Blocked, format!("refused before building: {blocked}")));
        }
    }
    if !system_libraries.is_empty() {
        reasons.push((
            Outcome::NeedsSystemLibrary,
            format!(
                "needs the system libraries {} built for {target}",
                list(&system_libraries)
            ),
        ));
    }
    if !job.c_code.is_empty() && c_compiler.is_none() {
        reasons.push((
            Outcome::NoCCompiler,
            format!(
                "compiles native code ({}) and the route `{}` has no C compiler for {target}",
                job.c_code.join(", "),
                job.route
            ),
        ));
    }
    if !missing_tools.is_empty() {
        reasons.push((
            Outcome::NeedsTool,
            format!("needs {} on PATH", missing_tools.join(", ")),
        ));
    }
    let (outcome, summary) = reasons
        .first()
        .cloned()
        .unwrap_or((Outcome::Builds, "builds".to_string()));
    Prediction {
        outcome,
        summary,
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
        compiles_native: job.c_code.clone(),
        c_compiler,
        frameworks: frameworks.into_iter().collect(),
        framework_packages: framework_packages.into_iter().collect(),
        build_systems: build_systems.into_iter().collect(),
        tools: tools.into_iter().collect(),
        missing_tools,
        system_libraries: system_libraries.into_iter().collect(),
    }
}

/// What the dist build's scripts did, per package id.
pub struct BuildObservation {
    pub success: bool,
    pub log: String,
    pub first_error: Option<String>,
    /// Packages the build log's error lines name (see [`failed_packages`]).
    pub failed_packages: Vec<String>,
    pub scripts: BTreeMap<PackageId, Observed>,
}

/// Runs the dist build for `target` exactly as `cargo xtask dist` plans it (plus the audit's
/// feature flags) and records, per build script, what it left in its OUT_DIR.
fn build_and_observe(
    runner: &Runner,
    config: &config::Config,
    toolchain: &Toolchain,
    host: &plan::Host,
    target: &Target,
) -> Result<BuildObservation> {
    let one = config::Config {
        targets: vec![target.clone()],
        ..config.clone()
    };
    let plan = plan::plan(&one, toolchain, host)?;
    let job = &plan.jobs[0];
    let build = &plan.builds[job.build];
    if let Some(blocked) = &job.blocked {
        return Ok(BuildObservation {
            success: false,
            log: format!("not built: {blocked}"),
            first_error: Some(blocked.clone()),
            failed_packages: Vec::new(),
            scripts: BTreeMap::new(),
        });
    }
    let no_provision = std::env::var_os("DIST_NO_PROVISION").is_some_and(|v| !v.is_empty() && v != "0");
    build::check_provisions(&plan, false, no_provision)?;
    let say = |message: &str| eprintln!("[{target}] {message}");
    build::provision_build_tools(runner, &plan, &say)
        .with_context(|| format!("provisioning the tools for {target}"))?;
    if let Some(dir) = build.log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the log directory {}", dir.display()))?;
    }
    build::install(runner, job, &build.log, say).with_context(|| format!("preparing the toolchain for {target}"))?;
    // The plan's command selects the target's features already.
    let cmd = build.cmd.clone();
    say(&format!("building with route {} to check the prediction", job.route));
    let mut scripts: BTreeMap<PackageId, Observed> = BTreeMap::new();
    let mut walk_error = None;
    let finished = runner.stream(&cmd, &build.log, |line| {
        // Lines that are not cargo messages (a build script's stray output) are skipped.
        if let Ok(Message::BuildScriptExecuted(script)) = serde_json::from_str::<Message>(line) {
            let seen = scripts.entry(script.package_id.clone()).or_default();
            match deps::scan::native_objects(script.out_dir.as_std_path()) {
                Ok(n) => seen.native_objects += n,
                Err(e) => walk_error = Some(e),
            }
            seen.linked_libs
                .extend(script.linked_libs.iter().map(|l| l.to_string()));
        }
    })?;
    if let Some(e) = walk_error {
        return Err(e.context(format!("reading a build script's OUT_DIR for {target}")));
    }
    let success = finished.success;
    let log = if success {
        build.log.display().to_string()
    } else {
        format!("{}{}", build.log.display(), log_tail(&build.log, 40))
    };
    let text = if success {
        String::new()
    } else {
        std::fs::read_to_string(&build.log).unwrap_or_default()
    };
    let first_error = if success { None } else { first_error(&build.log) };
    Ok(BuildObservation {
        success,
        log,
        first_error,
        failed_packages: failed_packages(&text),
        scripts,
    })
}

/// The packages cargo's error lines name: "failed to run custom build command for `x v1`",
/// "could not compile `x` (lib)". With --keep-going there may be several.
pub fn failed_packages(log: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in log.lines().filter(|l| l.starts_with("error")) {
        let quoted = line
            .split('`')
            .nth(1)
            .filter(|_| line.contains("failed to run custom build command for") || line.contains("could not compile"));
        if let Some(name) = quoted.and_then(|q| q.split_whitespace().next()) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Marks what each build script really did and lists where the prediction was wrong. A
/// package the failed build names counts as not built by the planned route.
pub fn check_build(report: &mut TargetReport, observation: BuildObservation) {
    let mut compiled_native = Vec::new();
    let mut disagreements = Vec::new();
    for p in &mut report.packages {
        if observation.failed_packages.contains(&p.name) && p.planned_route_builds {
            p.planned_route_builds = false;
            report.score.planned_route_builds -= 1;
        }
        let observed = observation.scripts.get(&p.id);
        let compiled = observed.is_some_and(|o| o.native_objects > 0);
        if compiled {
            compiled_native.push(p.name.clone());
        }
        // A failed build stops early: only scripts that ran can contradict the prediction.
        let ran = observed.is_some() || observation.success;
        if ran && compiled != p.verdict.compiles_native && p.evidence.files.build_script.is_some() {
            disagreements.push(format!(
                "{} {}: predicted {} native code (tier {}), the build {}",
                p.name,
                p.version,
                if p.verdict.compiles_native { "compiled" } else { "no" },
                p.verdict.tier as u8,
                if compiled {
                    "left object files in OUT_DIR"
                } else {
                    "compiled none"
                }
            ));
        }
        p.observed = observed.cloned();
    }
    let prediction_held = (report.prediction.outcome == Outcome::Builds) == observation.success;
    report.build = Some(BuildCheck {
        success: observation.success,
        log: observation.log,
        first_error: observation.first_error,
        compiled_native,
        disagreements,
        failed_packages: observation.failed_packages,
        prediction_held,
    });
}

// ---- printing: the only output of this command ----

fn print(audit: &AuditReport, format: AuditFormat) {
    match format {
        AuditFormat::Json => println!("{}", serde_json::to_string_pretty(audit).expect("the audit serialises")),
        AuditFormat::Markdown => print!("{}", markdown(audit)),
        AuditFormat::Table => print!("{}", table(audit)),
    }
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::PureRust => "pure Rust",
        Tier::Bundled => "bundled native code",
        Tier::System => "needs a system library or tool",
    }
}

fn share(score: &Score, n: usize) -> String {
    match score.percent(n) {
        0 if n > 0 => "<1%".into(),
        p => format!("{p}%"),
    }
}

fn counts(score: &Score, n: usize) -> String {
    format!("{n} ({})", share(score, n))
}

/// A short list of the evidence, for a table cell.
fn evidence_words(p: &PackageReport) -> String {
    let e = &p.evidence;
    let mut words = Vec::new();
    if let Some(script) = &e.files.build_script {
        words.push(format!("build script {script}"));
    }
    if !e.build_dependencies.is_empty() {
        words.push(format!("build-deps {}", e.build_dependencies.join(", ")));
    }
    if let Some(links) = &e.links {
        words.push(format!("links `{links}`"));
    }
    if e.files.native_sources() > 0 {
        words.push(source_summary(&e.files));
    }
    if !e.bundling_features.is_empty() {
        words.push(format!("features on: {}", e.bundling_features.join(", ")));
    }
    if !e.bundling_features_off.is_empty() {
        words.push(format!("off: {}", e.bundling_features_off.join(", ")));
    }
    if !e.files.env_vars.is_empty() {
        words.push(format!("env {}", e.files.env_vars.join(", ")));
    }
    if let Some(o) = &p.observed {
        words.push(format!("build: {} object file(s)", o.native_objects));
    }
    words.join("; ")
}

fn routes_words(p: &PackageReport, planned: Route) -> String {
    if p.host_only {
        return "any (built for the host)".into();
    }
    if p.routes.is_empty() {
        return "none".into();
    }
    p.routes
        .iter()
        .map(|r| {
            if *r == planned {
                format!("{r} (planned)")
            } else {
                r.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn markdown(audit: &AuditReport) -> String {
    let mut out = format!("# Native-code audit: {} {}\n\n", audit.name, audit.version);
    let bins: Vec<&str> = audit.bins.iter().map(|b| b.name.as_str()).collect();
    let features = if audit.feature_flags.is_empty() {
        "default features".to_string()
    } else {
        format!("`{}`", audit.feature_flags.join(" "))
    };
    out += &format!(
        "Generated by `cargo xtask audit` from the resolved dependency graph of the shipped binaries ({}), {features}, \
         one graph per target (`cargo metadata --filter-platform`); dev-dependencies excluded.\n\n\
         Tiers: **1** pure Rust (a build script that only probes rustc counts here); **2** native code built from \
         bundled sources, needs a C compiler for the target; **3** needs a system library or an external tool.\n\n",
        bins.join(", ")
    );
    out += "## Summary\n\n| target | planned route | packages | tier 1 | tier 2 | tier 3 | planned route builds | prediction | tools needed |\n|---|---|---|---|---|---|---|---|---|\n";
    for t in &audit.targets {
        let s = &t.score;
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            t.target,
            t.route,
            s.packages,
            counts(s, s.tier1),
            counts(s, s.tier2),
            counts(s, s.tier3),
            route_builds(t),
            t.prediction.summary,
            if t.tools.is_empty() {
                "none".into()
            } else {
                t.tools.join(", ")
            }
        );
    }
    for t in &audit.targets {
        out += &format!("\n## {}\n\nRoute `{}`: {}.\n\n", t.target, t.route, t.route_reason);
        out += &format!(
            "**Score**: {} pure Rust, {} bundled native code, {} needs the build machine; the planned route builds {} of {} packages.\n\n",
            share(&t.score, t.score.tier1), share(&t.score, t.score.tier2), share(&t.score, t.score.tier3), t.score.planned_route_builds, t.score.packages
        );
        out += &format!(
            "**Tools**: {}. **System libraries**: {}.\n\n**Prediction**: {}.\n\n",
            list_or_none(&t.tools),
            list_or_none(&t.system_libraries),
            if t.prediction.reasons.is_empty() {
                "builds".to_string()
            } else {
                t.prediction.reasons.join("; ")
            }
        );
        for note in &t.notes {
            out += &format!("- {note}\n");
        }
        if !t.notes.is_empty() {
            out += "\n";
        }
        for tier in [Tier::Bundled, Tier::System] {
            let rows: Vec<&PackageReport> = t.packages.iter().filter(|p| p.verdict.tier == tier).collect();
            if rows.is_empty() {
                continue;
            }
            out += &format!("### Tier {}: {} ({})\n\n| package | why | evidence | routes that build it | fix | pulled in by |\n|---|---|---|---|---|---|\n", tier as u8, tier_name(tier), rows.len());
            for p in rows {
                out += &format!(
                    "| {} {} | {} | {} | {} | {} | {} |\n",
                    p.name,
                    p.version,
                    p.verdict.reason,
                    evidence_words(p),
                    routes_words(p, t.route),
                    p.verdict.fix.as_deref().unwrap_or("-"),
                    p.via.join(" → ")
                );
            }
            out += "\n";
        }
        let pure: Vec<&PackageReport> = t.packages.iter().filter(|p| p.verdict.tier == Tier::PureRust).collect();
        out += &format!("### Tier 1: pure Rust ({})\n\n", pure.len());
        // Grouped by what the build script does, details in the JSON.
        let mut scripted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for p in &pure {
            let Some(script) = p.verdict.pure_script else {
                continue;
            };
            let what = script.words();
            let names = scripted.entry(what).or_default();
            if names.last() != Some(&p.name.as_str()) {
                names.push(p.name.as_str());
            }
        }
        for (what, names) in scripted {
            out += &format!("Build script {what}: {}.\n\n", names.join(", "));
        }
        // Packages are sorted by name: two versions of one crate are named once here.
        let mut plain: Vec<&str> = pure
            .iter()
            .filter(|p| p.evidence.files.build_script.is_none())
            .map(|p| p.name.as_str())
            .collect();
        plain.dedup();
        out += &format!(
            "No build script: {}.\n",
            if plain.is_empty() {
                "none".into()
            } else {
                plain.join(", ")
            }
        );
        if let Some(b) = &t.build {
            out += &format!(
                "\n### Build check\n\nThe dist build {} (log: {}). Build scripts that compiled native code: {}.\n\n",
                if b.success { "succeeded" } else { "FAILED" },
                b.log.lines().next().unwrap_or(""),
                list_or_none(&b.compiled_native)
            );
            if let Some(error) = &b.first_error {
                // Double backticks: cargo's error lines quote package names in backticks.
                out += &format!("It stopped at: `` {error} ``\n\n");
            }
            if b.disagreements.is_empty() {
                out += if b.success {
                    "The prediction matches the build for every package.\n"
                } else {
                    "The prediction matches the build for every build script that ran.\n"
                };
            } else {
                out += "Disagreements between the prediction and the build:\n\n";
                for d in &b.disagreements {
                    out += &format!("- {d}\n");
                }
            }
        }
    }
    out
}

/// The "planned route builds" cell: a failed build check says so beside the count.
fn route_builds(t: &TargetReport) -> String {
    let count = counts(&t.score, t.score.planned_route_builds);
    match &t.build {
        Some(b) if !b.success => format!("{count}, build FAILED"),
        _ => count,
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn table(audit: &AuditReport) -> String {
    let rows: Vec<Vec<String>> = audit
        .targets
        .iter()
        .map(|t| {
            let s = &t.score;
            vec![
                t.target.clone(),
                t.route.to_string(),
                s.packages.to_string(),
                counts(s, s.tier1),
                counts(s, s.tier2),
                counts(s, s.tier3),
                route_builds(t),
                t.prediction.outcome.word().to_string(),
                list_or_none(&t.tools),
            ]
        })
        .collect();
    let mut out = crate::ui::table(
        &[
            "target",
            "route",
            "packages",
            "tier 1",
            "tier 2",
            "tier 3",
            "route builds",
            "prediction",
            "tools",
        ],
        &rows,
    );
    for t in &audit.targets {
        let native: Vec<Vec<String>> = t
            .packages
            .iter()
            .filter(|p| p.verdict.tier != Tier::PureRust)
            .map(|p| {
                vec![
                    (p.verdict.tier as u8).to_string(),
                    format!("{} {}", p.name, p.version),
                    routes_words(p, t.route),
                    p.verdict.reason.clone(),
                ]
            })
            .collect();
        if native.is_empty() && t.notes.is_empty() && t.build.is_none() && t.prediction.reasons.is_empty() {
            continue;
        }
        out += &format!("\n{} (route {}):\n", t.target, t.route);
        for reason in &t.prediction.reasons {
            out += &format!("prediction: {reason}\n");
        }
        if !native.is_empty() {
            out += &crate::ui::table(&["tier", "package", "routes", "why"], &native);
        }
        for note in &t.notes {
            out += &format!("note: {note}\n");
        }
        if let Some(b) = &t.build {
            out += &format!(
                "build {}: compiled native code: {}\n",
                if b.success { "ok" } else { "FAILED" },
                list_or_none(&b.compiled_native)
            );
            if let Some(error) = &b.first_error {
                out += &format!("stopped at: {error}\n");
            }
            for d in &b.disagreements {
                out += &format!("disagreement: {d}\n");
            }
            if !b.prediction_held {
                out += &format!("the prediction ({}) did not hold\n", t.prediction.summary);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deps::scan::script_files as files_from;

    #[test]
    fn a_script_that_runs_make_compiles_and_needs_make() {
        // jemalloc-sys, in short.
        let files = Files { c_sources: 100, ..files_from("let make = \"make\";\nlet c = cc::Build::new().get_compiler();\nrun(Command::new(make).arg(\"install\"));") };
        let v = classify("jemalloc-sys", &evidence(files, Some("jemalloc"), &["cc"], &[]));
        assert_eq!((v.tier, v.compiles_native), (Tier::System, true));
        assert_eq!(v.tools, ["make"]);
    }

    fn evidence(files: Files, links: Option<&str>, build_deps: &[&str], off: &[&str]) -> Evidence {
        Evidence {
            files,
            links: links.map(str::to_string),
            build_dependencies: build_deps.iter().map(|s| s.to_string()).collect(),
            bundling_features: Vec::new(),
            bundling_features_off: off.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn plan_and_audit_both_see_c_built_by_configure_and_make() {
        // conf-sys builds its C as tikv-jemalloc-sys does, without cc: the plan must give
        // the musl target zig (the host's glibc gcc would build it against glibc) and the
        // audit must call it native code that needs make.
        let dir = deps::fixture::workspace();
        let toolchain = deps::fixture::toolchain();
        let overrides = Overrides {
            targets: vec!["x86_64-unknown-linux-musl".into()],
            ..Overrides::default()
        };
        let manifest = dir.path().join("Cargo.toml");
        let (config, graphs) =
            config::load_with_graphs(&Runner::default(), Some(&manifest), &toolchain, overrides).unwrap();
        let plan = plan::plan(&config, &toolchain, &plan::Host::default()).unwrap();
        let job = &plan.jobs[0];
        assert_eq!(
            (job.route, job.c_code.as_slice()),
            (Route::Zig, &["conf-sys".to_string()][..])
        );
        let everything = Machine {
            sdk_has: &|_| false,
            on_path: &|_| true,
        };
        let report = audit_target(&graphs[0], &toolchain.host, job, &everything);
        let conf = report.packages.iter().find(|p| p.name == "conf-sys").unwrap();
        assert!(conf.verdict.compiles_native, "{:?}", conf.verdict);
        assert_eq!(
            (conf.verdict.tier, conf.verdict.tools.as_slice()),
            (Tier::System, &["make".to_string()][..])
        );
        assert!(conf.planned_route_builds);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        assert!(
            report.tools.contains(&"zig cc (cargo-zigbuild)".to_string()),
            "{:?}",
            report.tools
        );
        let p = &report.prediction;
        assert_eq!((p.outcome, p.summary.as_str()), (Outcome::Builds, "builds"));
        assert_eq!(p.compiles_native, ["conf-sys"]);
        assert_eq!(p.c_compiler.as_deref(), Some("zig cc (cargo-zigbuild)"));
        // hostc-sys (host-only) runs configure and make too: its build systems count.
        assert_eq!(p.build_systems, ["configure", "make"]);
        let no_make = Machine {
            sdk_has: &|_| false,
            on_path: &|program| program != "make",
        };
        let p = audit_target(&graphs[0], &toolchain.host, job, &no_make).prediction;
        assert_eq!(
            (p.outcome, p.missing_tools.as_slice()),
            (Outcome::NeedsTool, &["make".to_string()][..])
        );
    }

    #[test]
    fn apple_targets_predict_the_sdk_frameworks_that_non_sys_crates_declare() {
        // apple-fw declares Foundation as objc2-foundation does: generated code, no -sys name.
        let dir = deps::fixture::workspace();
        let toolchain = deps::fixture::toolchain();
        let overrides = Overrides {
            targets: vec!["aarch64-apple-darwin".into(), "x86_64-pc-windows-msvc".into()],
            ..Overrides::default()
        };
        let manifest = dir.path().join("Cargo.toml");
        let (config, graphs) =
            config::load_with_graphs(&Runner::default(), Some(&manifest), &toolchain, overrides).unwrap();
        let everything = Machine {
            sdk_has: &|_| false,
            on_path: &|_| true,
        };
        let plan = plan::plan(&config, &toolchain, &plan::Host::default()).unwrap();
        let apple = audit_target(&graphs[0], &toolchain.host, &plan.jobs[0], &everything);
        let p = &apple.prediction;
        assert_eq!(p.outcome, Outcome::NeedsMacosSdk, "{p:?}");
        assert_eq!(
            (p.frameworks.as_slice(), p.framework_packages.as_slice()),
            (&["Foundation".to_string()][..], &["apple-fw".to_string()][..])
        );
        assert!(p.summary.contains("Foundation"), "{}", p.summary);
        // The stubs cover Foundation: dist builds it (the audit's machine here has none).
        assert!(plan.jobs[0].blocked.is_none(), "{:?}", plan.jobs[0].blocked);
        // Windows: winc-sys compiles C there, and no framework is Windows's concern.
        let windows = audit_target(&graphs[1], &toolchain.host, &plan.jobs[1], &everything).prediction;
        assert_eq!(
            (windows.compiles_native.as_slice(), windows.frameworks.len()),
            (&["winc-sys".to_string()][..], 0)
        );
        // With an SDK the same graph is predicted to build.
        let with_sdk = plan::Host {
            sdkroot: Some("/sdk".into()),
            ..plan::Host::default()
        };
        let plan = plan::plan(&config, &toolchain, &with_sdk).unwrap();
        let sdk = Machine {
            sdk_has: &|framework| framework == "Foundation",
            on_path: &|_| true,
        };
        let report = audit_target(&graphs[0], &toolchain.host, &plan.jobs[0], &sdk);
        let p = &report.prediction;
        assert_eq!(
            (p.outcome, p.frameworks.as_slice()),
            (Outcome::Builds, &["Foundation".to_string()][..])
        );
        assert_eq!(
            report.score.planned_route_builds, report.score.packages,
            "the SDK provides it"
        );
        // An SDKROOT without the framework: the link would fail, and the prediction says so.
        let other_sdk = Machine {
            sdk_has: &|framework| framework == "AppKit",
            on_path: &|_| true,
        };
        let p = audit_target(&graphs[0], &toolchain.host, &plan.jobs[0], &other_sdk).prediction;
        assert_eq!(p.outcome, Outcome::NeedsMacosSdk, "{p:?}");
    }

    #[test]
    fn a_failed_build_check_counts_the_failing_package_as_not_built() {
        let log = "warning: unused\nerror: failed to run custom build command for `tikv-jemalloc-sys v0.7.1+5.3.1`\n\
                   error[E0425]: cannot find value `x`\nerror: could not compile `fd-find` (bin \"fd\") due to 1 previous error\n";
        assert_eq!(failed_packages(log), ["tikv-jemalloc-sys", "fd-find"]);
        let dir = deps::fixture::workspace();
        let toolchain = deps::fixture::toolchain();
        let overrides = Overrides {
            targets: vec!["x86_64-unknown-linux-musl".into()],
            ..Overrides::default()
        };
        let manifest = dir.path().join("Cargo.toml");
        let (config, graphs) =
            config::load_with_graphs(&Runner::default(), Some(&manifest), &toolchain, overrides).unwrap();
        let plan = plan::plan(&config, &toolchain, &plan::Host::default()).unwrap();
        let everything = Machine {
            sdk_has: &|_| false,
            on_path: &|_| true,
        };
        let mut report = audit_target(&graphs[0], &toolchain.host, &plan.jobs[0], &everything);
        assert_eq!(report.score.planned_route_builds, report.score.packages);
        check_build(
            &mut report,
            BuildObservation {
                success: false,
                log: "musl.log".into(),
                first_error: Some("error: failed to run custom build command for `conf-sys v0.1.0`".into()),
                failed_packages: vec!["conf-sys".into()],
                scripts: BTreeMap::new(),
            },
        );
        assert_eq!(report.score.planned_route_builds, report.score.packages - 1);
        let build = report.build.as_ref().unwrap();
        assert!(!build.prediction_held, "builds was predicted");
        let audit = AuditReport {
            name: "app".into(),
            version: "0.1.0".into(),
            bins: Vec::new(),
            feature_flags: Vec::new(),
            targets: vec![report],
        };
        for text in [table(&audit), markdown(&audit)] {
            assert!(text.contains("build FAILED"), "{text}");
            assert!(!text.contains("(100%), build"), "{text}");
        }
    }

    #[test]
    fn openssl_without_vendored_needs_the_system_library() {
        // openssl-sys's own build script, in short: it preprocesses build/expando.c (not
        // counted: it sits beside the script) and compiles only on its bindgen path.
        let files = Files {
            c_sources: 0,
            ..files_from(
                "let d = env(\"OPENSSL_LIB_DIR\");\npkg_config::Config::new();\ncc::Build::new().compile(\"w\");",
            )
        };
        let v = classify(
            "openssl-sys",
            &evidence(files, Some("openssl"), &["cc", "pkg-config"], &["vendored"]),
        );
        assert_eq!(v.tier, Tier::System);
        assert_eq!(v.system_libraries, ["openssl"]);
        assert_eq!(v.tools, ["pkg-config"]);
        let fix = v.fix.unwrap();
        assert!(fix.contains("`vendored`") && fix.contains("rustls"), "{fix}");
    }

    #[test]
    fn openssl_vendored_needs_perl_and_make() {
        let files = files_from("openssl_src::Build::new().build();");
        let v = classify(
            "openssl-sys",
            &evidence(files, Some("openssl"), &["cc", "openssl-src"], &[]),
        );
        assert_eq!(v.tier, Tier::System);
        assert!(v.compiles_native);
        assert_eq!(v.tools, ["make", "perl"]);
    }

    #[test]
    fn bundled_with_a_system_first_probe_stays_tier_2_with_a_fix() {
        let files = Files {
            c_sources: 40,
            ..files_from("pkg_config::probe_library(\"libgit2\");\ncc::Build::new().compile(\"git2\");")
        };
        let v = classify(
            "libgit2-sys",
            &evidence(files, Some("git2"), &["cc", "pkg-config"], &["vendored"]),
        );
        assert_eq!(v.tier, Tier::Bundled);
        assert!(v.reason.contains("looks for a system copy first"), "{}", v.reason);
        assert!(v.fix.unwrap().contains("`vendored`"));
    }

    #[test]
    fn an_unresolved_optional_probe_is_no_evidence() {
        // zstd-sys mentions pkg_config, but its pkg-config build dependency is optional.
        let files = Files {
            c_sources: 30,
            ..files_from("#[cfg(feature = \"pkg-config\")] pkg_config::probe();\ncc::Build::new().compile(\"zstd\");")
        };
        let v = classify("zstd-sys", &evidence(files, Some("zstd"), &["cc"], &[]));
        assert_eq!(v.tier, Tier::Bundled);
        assert!(v.fix.is_none() && v.tools.is_empty(), "{v:?}");
    }

    #[test]
    fn routes_give_c_compilers_where_the_matrix_says() {
        let host: Target = "x86_64-unknown-linux-gnu".parse().unwrap();
        let c_compiler = |route, target: &str| c_compiler(route, &target.parse().unwrap(), &host);
        let musl_cc = c_compiler(Route::Native, "x86_64-unknown-linux-musl").unwrap();
        assert!(musl_cc.contains("CC_x86_64_unknown_linux_musl=gcc"), "{musl_cc}");
        assert_eq!(c_compiler(Route::Native, host.triple()).as_deref(), Some("gcc"));
        assert_eq!(c_compiler(Route::Native, "aarch64-unknown-linux-musl"), None);
        assert_eq!(c_compiler(Route::RustLld, "aarch64-unknown-linux-musl"), None);
        assert!(c_compiler(Route::Zig, "aarch64-apple-darwin").is_some());
        assert!(c_compiler(Route::Zig, "x86_64-pc-windows-msvc").is_none());
        assert!(c_compiler(Route::Msvc, "x86_64-pc-windows-msvc").is_some());
    }

    #[test]
    fn percentages_round_down_and_survive_an_empty_graph() {
        let score = Score {
            packages: 232,
            ..Score::default()
        };
        assert_eq!((score.percent(231), score.percent(232)), (99, 100), "only all is 100%");
        assert_eq!(counts(&score, 1), "1 (<1%)");
        assert_eq!(Score::default().percent(0), 100);
    }
}
