//! The shipped binaries' dependency graph, per target, and the one native-code detector.
//!
//! For each target: `cargo metadata --filter-platform <triple>` (cargo's own answer to which
//! target-specific dependencies and features apply) → [`reachable`] from the packages that own
//! the shipped bins → each package's files read once ([`scan()`]) → [`Evidence`] →
//! [`Evidence::compiles_native`]. The plan chooses routes from [`TargetGraph::native_code`]
//! and the audit sorts the same evidence into tiers, so the two cannot disagree.

pub mod cache;
pub mod cfg;
pub mod scan;

use crate::apple::{Declared, LinkName};
use crate::model::Bin;
use crate::runner::{path_arg, Cmd, Runner};
use anyhow::{Context, Result};
pub use cache::GraphCache;
use cargo_metadata::{DependencyKind, Metadata, Package, PackageId, TargetKind};
pub use scan::{scan, Files};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

/// One target's graph: every package the shipped binaries need there, and the evidence on each.
#[derive(Debug, Clone)]
pub struct TargetGraph {
    pub target: String,
    /// `cargo metadata --filter-platform <target>`, with the feature flags it was resolved with.
    pub meta: Metadata,
    pub reached: BTreeMap<PackageId, Reached>,
    pub evidence: HashMap<PackageId, Evidence>,
}

/// What a target's graph needs beyond rustc, by package name: the plan's routes rest on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NativeCode {
    /// Packages built for the target whose build compiles native code: the route must bring a
    /// C compiler for the target (a musl target must not get the host's glibc gcc).
    pub compiled: Vec<String>,
    /// Packages built for the target that link Apple frameworks: on macOS only an SDK has them.
    pub frameworks: Vec<String>,
    /// The frameworks those packages link (Foundation, IOKit, …).
    pub framework_names: Vec<String>,
    /// The macOS system libraries the packages link that the facts know (apple.rs), each
    /// with the symbols their Rust declares from it: what the stubs are made of.
    pub apple_libraries: BTreeMap<LinkName, BTreeSet<String>>,
    /// The same declarations by symbol, each with the install name of its library and the
    /// packages that declare it: what verify holds a bind to when the facts do not know it.
    pub apple_declared: BTreeMap<String, Vec<Declared>>,
    /// Packages built for the target whose build script compiles or links native code,
    /// with the script's OS tests (scan.rs): answered for the host, they can leave out or
    /// add code a native build would not (cfg.rs).
    pub script_os_tests: BTreeMap<String, Vec<String>>,
}

impl TargetGraph {
    pub fn native_code(&self) -> NativeCode {
        let mut native = NativeCode::default();
        // Host-only packages (build dependencies, proc-macros) are compiled by the host's compiler.
        for id in self.reached.iter().filter(|(_, r)| r.for_target).map(|(id, _)| id) {
            let name = self.meta[id].name.to_string();
            let evidence = &self.evidence[id];
            if evidence.compiles_native() {
                native.compiled.push(name.clone());
            }
            let files = &evidence.files;
            for (library, symbols) in &files.apple_imports {
                native
                    .apple_libraries
                    .entry(library.clone())
                    .or_default()
                    .extend(symbols.iter().cloned());
                let Some(dylib) = library.dylib() else { continue };
                let by = BTreeSet::from([name.clone()]);
                for symbol in symbols {
                    crate::apple::declare(&mut native.apple_declared, symbol, dylib.install_name, &by);
                }
            }
            let named = files.frameworks.iter().map(|name| (name, true));
            for (name, framework) in named.chain(files.link_libs.iter().map(|name| (name, false))) {
                let library = LinkName {
                    name: name.clone(),
                    framework,
                };
                if library.dylib().is_some() {
                    native.apple_libraries.entry(library).or_default();
                }
            }
            let native_script = !files.compile_calls.is_empty() || !files.link_libs.is_empty();
            if native_script && !files.script_os_tests.is_empty() {
                native
                    .script_os_tests
                    .insert(name.clone(), files.script_os_tests.clone());
            }
            if !evidence.files.frameworks.is_empty() {
                native.frameworks.push(name);
                native.framework_names.extend(evidence.files.frameworks.iter().cloned());
            }
        }
        for names in [
            &mut native.compiled,
            &mut native.frameworks,
            &mut native.framework_names,
        ] {
            names.sort();
            names.dedup();
        }
        native
    }
}

/// Whether anything the shipped bins may need, on any platform, compiles native code or
/// links Apple frameworks, read from the whole workspace's metadata (no `--filter-platform`).
/// Each target's graph is part of that one, with no more features on, so `false` answers for
/// every target at once.
/// `cache`: the scans kept between runs (a pure-Rust project's answer reads every package,
/// the windows and libc crates' thousands of files included).
pub fn native_anywhere(meta: &Metadata, bins: &[Bin], cache: Option<&GraphCache>) -> Result<bool> {
    let mut scans = cache.map(GraphCache::scans);
    let mut found = false;
    for (id, reached) in reachable(meta, bins)? {
        if !reached.for_target {
            continue;
        }
        let files = match &mut scans {
            Some(scans) => scans.scan(&meta[&id]),
            None => scan(&meta[&id]),
        };
        let files = files.context("reading the packages the shipped binaries need")?;
        let evidence = evidence(meta, &id, &files);
        if evidence.compiles_native() || !evidence.files.frameworks.is_empty() {
            found = true;
            break;
        }
    }
    if let Some(scans) = scans {
        scans.save();
    }
    Ok(found)
}

/// Resolves the graph of every target and reads each reached package's files once.
/// `cargo` is the cargo command as the workspace's toolchain starts it.
pub fn load(
    runner: &Runner,
    cargo: &Cmd,
    manifest: &Path,
    targets: &[String],
    bins: &[Bin],
    feature_flags: &[String],
    cache: Option<&GraphCache>,
) -> Result<Vec<TargetGraph>> {
    let mut files: HashMap<PackageId, Files> = HashMap::new();
    let mut scans = cache.map(GraphCache::scans);
    let mut graphs = Vec::new();
    // Each target's graph is a `cargo metadata` (or its cached JSON) parsed apart from the
    // others: resolved side by side, in the targets' order.
    let resolved: Vec<Result<Metadata>> = std::thread::scope(|s| {
        let running: Vec<_> = targets
            .iter()
            .map(|target| s.spawn(move || resolve(runner, cargo, manifest, target, feature_flags, cache)))
            .collect();
        running
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("resolving a target's graph panicked")))
            })
            .collect()
    });
    for (target, meta) in targets.iter().zip(resolved) {
        let meta = meta?;
        let reached = reachable(&meta, bins)?;
        let mut evidence = HashMap::new();
        for id in reached.keys() {
            if !files.contains_key(id) {
                let read = match &mut scans {
                    Some(scans) => scans.scan(&meta[id]),
                    None => scan(&meta[id]),
                };
                files.insert(
                    id.clone(),
                    read.with_context(|| format!("reading the packages {target} needs"))?,
                );
            }
            evidence.insert(id.clone(), self::evidence(&meta, id, &files[id]));
        }
        graphs.push(TargetGraph {
            target: target.clone(),
            meta,
            reached,
            evidence,
        });
    }
    if let Some(scans) = scans {
        scans.save();
    }
    Ok(graphs)
}

/// The resolved graph as the dist build for `target` sees it: from `cache` when the same
/// inputs resolved it before, else from cargo (and then stored there).
pub fn resolve(
    runner: &Runner,
    cargo: &Cmd,
    manifest: &Path,
    target: &str,
    feature_flags: &[String],
    cache: Option<&GraphCache>,
) -> Result<Metadata> {
    if let Some(json) = cache.and_then(|c| c.get(target, feature_flags)) {
        if let Ok(meta) = cargo_metadata::MetadataCommand::parse(json) {
            return Ok(meta);
        }
    }
    let mut cmd = crate::config::metadata_cmd(cargo.clone())
        .args(["--filter-platform", target, "--manifest-path"])
        .arg(path_arg(manifest)?)
        .args(feature_flags.iter().cloned());
    // From the workspace's directory, as the build runs: its .cargo/config.toml applies.
    if let Some(dir) = manifest.parent().filter(|d| d.is_dir()) {
        cmd = cmd.cwd(dir);
    }
    let check = if feature_flags.is_empty() {
        ""
    } else {
        "the --features flags and "
    };
    let json = runner.query(&cmd).map_err(|e| {
        crate::UsageError::new(format!(
            "cannot resolve the dependency graph of {} for {target}: {e:#}: check {check}that the lock file is current",
            manifest.display()
        ))
    })?;
    let meta = cargo_metadata::MetadataCommand::parse(&json)
        .with_context(|| format!("cargo metadata for {target} printed JSON this tool cannot read"))?;
    if let Some(cache) = cache {
        cache.put(target, feature_flags, &json);
    }
    Ok(meta)
}

fn is_proc_macro(pkg: &Package) -> bool {
    pkg.targets.iter().any(|t| t.is_kind(TargetKind::ProcMacro))
}

/// A reached package: whether any path builds it for the target (rather than only for the
/// host, through build dependencies and proc-macros), and the first path that reached it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    pub for_target: bool,
    pub via: Vec<String>,
}

/// Every package the shipped binaries' packages need, through normal and build edges;
/// dev-dependencies are never shipped.
pub fn reachable(meta: &Metadata, bins: &[Bin]) -> Result<BTreeMap<PackageId, Reached>> {
    let resolve = meta
        .resolve
        .as_ref()
        .context("cargo metadata returned no resolve graph")?;
    let nodes: HashMap<&PackageId, &cargo_metadata::Node> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let mut reached: BTreeMap<PackageId, Reached> = BTreeMap::new();
    let mut queue: VecDeque<(PackageId, bool, Vec<String>)> = VecDeque::new();
    for pkg in meta.workspace_packages() {
        if bins.iter().any(|b| b.package == pkg.name.as_str()) {
            queue.push_back((pkg.id.clone(), false, Vec::new()));
        }
    }
    let mut seen: BTreeSet<(PackageId, bool)> = BTreeSet::new();
    while let Some((id, host, via)) = queue.pop_front() {
        if !seen.insert((id.clone(), host)) {
            continue;
        }
        let entry = reached.entry(id.clone()).or_insert_with(|| Reached {
            for_target: false,
            via: via.clone(),
        });
        entry.for_target |= !host;
        let node = nodes
            .get(&id)
            .with_context(|| format!("{id} is missing from cargo metadata's resolve graph"))?;
        let mut next_via = via;
        next_via.push(meta[&id].name.to_string());
        for dep in &node.deps {
            let kinds = || dep.dep_kinds.iter().map(|k| k.kind);
            if kinds().any(|k| k == DependencyKind::Normal) {
                let dep_host = host || is_proc_macro(&meta[&dep.pkg]);
                queue.push_back((dep.pkg.clone(), dep_host, next_via.clone()));
            }
            if kinds().any(|k| k == DependencyKind::Build) {
                queue.push_back((dep.pkg.clone(), true, next_via.clone()));
            }
        }
    }
    Ok(reached)
}

/// Everything the verdict rests on, for one package on one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub files: Files,
    pub links: Option<String>,
    /// Build dependencies in the resolved graph (optional ones only when activated).
    pub build_dependencies: Vec<String>,
    /// Enabled features whose names switch bundling or system lookup.
    pub bundling_features: Vec<String>,
    /// Such features the package has but which are off.
    pub bundling_features_off: Vec<String>,
}

impl Evidence {
    /// The `-src` crate whose build compiles the bundled library (openssl-src, luajit-src).
    pub fn src_crate(&self) -> Option<&str> {
        self.build_dependencies
            .iter()
            .find(|d| d.ends_with("-src"))
            .map(String::as_str)
    }

    /// The native-code detector: whether building the package compiles C, C++ or assembly —
    /// a build script and sources for it to compile, with a compile call (cc, cmake, a `-src`
    /// crate, or configure and make run by hand, as tikv-jemalloc-sys does) or a `links` key
    /// (a -sys package that builds its sources some way this reading does not know). A `cc`
    /// build-dependency is no answer either way: a script that runs make needs none, and
    /// openssl-sys declares one yet compiles nothing without its `vendored` feature.
    pub fn compiles_native(&self) -> bool {
        let f = &self.files;
        // A builder's `.compile(` needs its crate: in a script without resolved build
        // dependencies it sits behind a feature that is off (signal-hook's optional cc).
        let call = f
            .compile_calls
            .iter()
            .any(|c| !c.starts_with("cc::Build::") || !self.build_dependencies.is_empty());
        f.build_script.is_some()
            && (call || self.links.is_some())
            && (f.native_sources() > 0 || self.src_crate().is_some())
    }

    /// The build systems the package's build runs (make, cmake, configure, …): each must be
    /// on the build machine, or be the package's own script.
    pub fn build_systems(&self) -> Vec<String> {
        let mut systems: Vec<String> = self
            .files
            .compile_calls
            .iter()
            .filter_map(|call| match call.as_str() {
                "configure" | "make" | "ninja" | "meson" => Some(call.clone()),
                "cmake::Config" | "cmake::build" => Some("cmake".into()),
                "autotools" => Some("autotools".into()),
                _ => None,
            })
            .collect();
        if self.build_dependencies.iter().any(|d| d == "cmake") {
            systems.push("cmake".into());
        }
        systems.sort();
        systems.dedup();
        systems
    }
}

/// Feature names that usually switch between a bundled copy and the system's.
fn is_bundling_feature(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "vendor",
        "bundle",
        "static",
        "system",
        "pkg-config",
        "pkg_config",
        "dynamic",
        "shared",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The evidence for one package on one target: its files plus what the resolve activated.
pub fn evidence(meta: &Metadata, id: &PackageId, files: &Files) -> Evidence {
    let pkg = &meta[id];
    let node = meta.resolve.as_ref().and_then(|r| r.nodes.iter().find(|n| &n.id == id));
    let mut build_dependencies: Vec<String> = node
        .map(|n| {
            n.deps
                .iter()
                .filter(|d| d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Build))
                .map(|d| meta[&d.pkg].name.to_string())
                .collect()
        })
        .unwrap_or_default();
    build_dependencies.sort();
    build_dependencies.dedup();
    let enabled: BTreeSet<String> = node
        .map(|n| n.features.iter().map(|f| f.to_string()).collect())
        .unwrap_or_default();
    let bundling_features = enabled.iter().filter(|f| is_bundling_feature(f)).cloned().collect();
    let bundling_features_off = pkg
        .features
        .keys()
        .filter(|f| is_bundling_feature(f) && !enabled.contains(*f))
        .cloned()
        .collect();
    Evidence {
        files: files.clone(),
        links: pkg.links.clone(),
        build_dependencies,
        bundling_features,
        bundling_features_off,
    }
}

/// A workspace on disk whose native code differs per target, for the tests of every stage
/// that reads it. Nothing in it is built, so it needs no crates.io packages.
#[cfg(test)]
pub(crate) mod fixture {
    use std::path::Path;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn package(root: &Path, name: &str, extra: &str, build_rs: Option<&str>) {
        write(
            root,
            &format!("{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"),
        );
        write(root, &format!("{name}/src/lib.rs"), "");
        if let Some(script) = build_rs {
            write(root, &format!("{name}/build.rs"), script);
            write(root, &format!("{name}/csrc/lib.c"), "int f(void) { return 1; }\n");
        }
    }

    /// jemalloc's way: `sh configure`, then make; no cc anywhere.
    const CONFIGURE_AND_MAKE: &str = "use std::process::Command;\nfn main() {\n    \
        let configure = [\"configure\"];\n    \
        Command::new(\"sh\").arg(configure[0]).current_dir(\"csrc\").status().unwrap();\n    \
        Command::new(\"make\").current_dir(\"csrc\").status().unwrap();\n}\n";

    /// objc2-foundation's way of linking a framework: no -sys name, no build script, the
    /// attribute in generated code. A doc comment and an integration test that name another
    /// framework are no declaration.
    const FRAMEWORK_LINK: &str = "#[cfg_attr(\n    target_vendor = \"apple\",\n    \
        link(kind = \"framework\", name = \"Foundation\")\n)]\nextern \"C\" {}\n";

    /// `app` ships one bin. conf-sys (configure + make) is linked on x86_64 Linux only,
    /// winc-sys (cc) on Windows only; hostc-sys compiles C for app's build script, on the host;
    /// apple-fw links the Foundation framework, on Apple targets only.
    pub fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\n",
        );
        write(
            root,
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [target.'cfg(all(target_os = \"linux\", target_arch = \"x86_64\"))'.dependencies]\n\
             conf-sys = { path = \"../conf-sys\" }\n\n\
             [target.'cfg(windows)'.dependencies]\nwinc-sys = { path = \"../winc-sys\" }\n\n\
             [target.'cfg(target_vendor = \"apple\")'.dependencies]\napple-fw = { path = \"../apple-fw\" }\n\n\
             [build-dependencies]\nhostc-sys = { path = \"../hostc-sys\" }\n",
        );
        write(root, "app/src/main.rs", "fn main() {}\n");
        write(root, "app/build.rs", "fn main() {}\n");
        package(root, "conf-sys", "links = \"conf\"\n", Some(CONFIGURE_AND_MAKE));
        write(root, "conf-sys/csrc/configure", "#!/bin/sh\n");
        // The links key makes it native without its cc build dependency (kept off crates.io).
        package(
            root,
            "winc-sys",
            "links = \"winc\"\n",
            Some("fn main() {\n    cc::Build::new().file(\"csrc/lib.c\").compile(\"winc\");\n}\n"),
        );
        package(root, "hostc-sys", "", Some(CONFIGURE_AND_MAKE));
        package(root, "apple-fw", "", None);
        write(
            root,
            "apple-fw/src/lib.rs",
            "//! Declared as `#[link(name = \"AppKit\", kind = \"framework\")]` would be: not here.\nmod generated;\n",
        );
        write(root, "apple-fw/src/generated/mod.rs", FRAMEWORK_LINK);
        write(
            root,
            "apple-fw/tests/link.rs",
            "#[link(name = \"XCTest\", kind = \"framework\")]\nextern \"C\" {}\n",
        );
        dir
    }

    pub fn toolchain() -> crate::config::Toolchain {
        crate::config::Toolchain::fixed(
            "x86_64-unknown-linux-gnu".parse().unwrap(),
            "/nonexistent".into(),
            crate::model::DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_has_its_own_native_code() {
        let dir = fixture::workspace();
        let targets: Vec<String> = [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-pc-windows-msvc",
        ]
        .map(String::from)
        .to_vec();
        let bins = [Bin {
            package: "app".into(),
            name: "app".into(),
        }];
        let graphs = load(
            &Runner::default(),
            &Cmd::new("cargo"),
            &dir.path().join("Cargo.toml"),
            &targets,
            &bins,
            &[],
            None,
        )
        .unwrap();
        let compiled: Vec<Vec<String>> = graphs.iter().map(|g| g.native_code().compiled).collect();
        assert_eq!(
            compiled,
            [vec!["conf-sys".to_string()], vec![], vec!["winc-sys".to_string()]],
            "target-specific dependencies count only on their targets: the musl-only C is not Windows's"
        );
        // Through the graph cache: stored on the first load, read back the same on the second.
        let manifest = dir.path().join("Cargo.toml");
        let (_, json) = crate::config::metadata_with_json(&Runner::default(), Some(&manifest), true).unwrap();
        // The test's own cache directory: a CARGO_TARGET_DIR shared with other runs would
        // hold their entries too.
        let cache_dir = dir.path().join("graphs");
        let cache = GraphCache::new(cache_dir.clone(), &json, &Cmd::new("cargo"), &manifest, "rustc 1.0.0");
        for _ in 0..2 {
            let cached = load(
                &Runner::default(),
                &Cmd::new("cargo"),
                &manifest,
                &targets,
                &bins,
                &[],
                Some(&cache),
            )
            .unwrap();
            let names =
                |g: &[TargetGraph]| -> Vec<Vec<String>> { g.iter().map(|g| g.native_code().compiled).collect() };
            assert_eq!(names(&cached), compiled);
        }
        let stored = std::fs::read_dir(&cache_dir).unwrap().count();
        assert_eq!(stored, targets.len());

        // A scan is kept only for a package whose files cannot change: a registry's is
        // served from the scan cache after its files changed, a path package is read again.
        let whole = crate::config::metadata(&Runner::default(), Some(&manifest)).unwrap();
        let path_pkg = whole
            .packages
            .iter()
            .find(|p| p.name.as_str() == "winc-sys")
            .unwrap()
            .clone();
        let mut registry_pkg = path_pkg.clone();
        registry_pkg.source = Some(cargo_metadata::Source {
            repr: "registry+https://github.com/rust-lang/crates.io-index".into(),
        });
        let mut apple_pkg = whole
            .packages
            .iter()
            .find(|p| p.name.as_str() == "apple-fw")
            .unwrap()
            .clone();
        apple_pkg.source = registry_pkg.source.clone();
        let mut scans = cache.scans();
        let before = scans.scan(&registry_pkg).unwrap();
        assert_eq!(before.c_sources, 1);
        let apple = scans.scan(&apple_pkg).unwrap();
        assert_eq!(apple.frameworks, ["Foundation"]);
        scans.save();
        assert_eq!(
            cache.scans().scan(&apple_pkg).unwrap(),
            apple,
            "frameworks and Apple imports kept"
        );
        std::fs::write(dir.path().join("winc-sys/csrc/two.c"), "int g(void) { return 2; }\n").unwrap();
        let mut scans = cache.scans();
        assert_eq!(
            scans.scan(&registry_pkg).unwrap(),
            before,
            "stored, and read back whole"
        );
        assert_eq!(
            scans.scan(&path_pkg).unwrap().c_sources,
            2,
            "a path package is read every time"
        );
        let whole = crate::config::metadata(&Runner::default(), Some(&dir.path().join("Cargo.toml"))).unwrap();
        assert!(
            native_anywhere(&whole, &bins, None).unwrap(),
            "the whole graph holds every target's"
        );
        // hostc-sys compiles C, but for the host: no target's route needs a C compiler for it.
        let host_c = graphs[1]
            .reached
            .iter()
            .find(|(id, _)| graphs[1].meta[*id].name.as_str() == "hostc-sys")
            .unwrap();
        assert!(!host_c.1.for_target);
        assert!(graphs[1].evidence[host_c.0].compiles_native());
    }

    #[test]
    fn a_framework_declared_in_any_crates_code_is_found_on_apple_targets() {
        let dir = fixture::workspace();
        let targets: Vec<String> = ["aarch64-apple-darwin", "x86_64-unknown-linux-musl"]
            .map(String::from)
            .to_vec();
        let bins = [Bin {
            package: "app".into(),
            name: "app".into(),
        }];
        let graphs = load(
            &Runner::default(),
            &Cmd::new("cargo"),
            &dir.path().join("Cargo.toml"),
            &targets,
            &bins,
            &[],
            None,
        )
        .unwrap();
        let apple = graphs[0].native_code();
        assert_eq!(
            (apple.frameworks, apple.framework_names),
            (vec!["apple-fw".to_string()], vec!["Foundation".to_string()]),
            "a non-sys crate's generated code; not its doc comment (AppKit) or its tests (XCTest)"
        );
        let linux = graphs[1].native_code();
        assert!(
            linux.frameworks.is_empty() && linux.framework_names.is_empty(),
            "Linux does not link apple-fw: {linux:?}"
        );
    }

    #[test]
    fn the_detector_needs_a_compile_call_and_something_to_compile() {
        let make = Evidence {
            files: Files {
                c_sources: 1,
                ..scan::script_files("Command::new(\"make\").status();")
            },
            ..Evidence::default()
        };
        assert!(make.compiles_native(), "make without cc: {make:?}");
        let no_sources = Evidence {
            files: Files {
                c_sources: 0,
                ..make.files.clone()
            },
            ..Evidence::default()
        };
        assert!(!no_sources.compiles_native());
        let src_crate = Evidence {
            build_dependencies: vec!["cc".into(), "openssl-src".into()],
            ..no_sources.clone()
        };
        assert!(src_crate.compiles_native(), "openssl-src brings the sources");
        // A cc build-dependency with nothing compiled: openssl-sys without `vendored`.
        let probe_only = Evidence {
            files: scan::script_files("pkg_config::Config::new().probe(\"openssl\");"),
            build_dependencies: vec!["cc".into(), "pkg-config".into()],
            ..Evidence::default()
        };
        assert!(!probe_only.compiles_native());
        // A -sys package that ships C and builds it some way no call names.
        let links = Evidence {
            files: Files {
                c_sources: 3,
                ..scan::script_files("fn main() { my_builder::go(\"csrc\"); }")
            },
            links: Some("foo".into()),
            ..Evidence::default()
        };
        assert!(links.compiles_native(), "{links:?}");
        assert!(
            !Evidence { links: None, ..links }.compiles_native(),
            "without the key, nothing says it builds the sources"
        );
        // signal-hook 0.3: `cc::Build::new().compile` under a feature whose optional cc is off.
        let cc_off = Evidence {
            files: Files {
                c_sources: 1,
                ..scan::script_files(
                    "#[cfg(feature = \"x\")]\nfn main() { cc::Build::new().file(\"a.c\").compile(\"a\"); }",
                )
            },
            ..Evidence::default()
        };
        assert!(!cc_off.compiles_native());
        let cc_on = Evidence {
            build_dependencies: vec!["cc".into()],
            ..cc_off
        };
        assert!(cc_on.compiles_native());
    }
}
