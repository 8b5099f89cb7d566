//! Reading a package's own files: its native sources (a bounded walk), its build script's
//! text and the framework links its Rust code declares. The only file reading of the
//! dependency graph; what it finds is the same for every target.

use crate::apple::LinkName;
use anyhow::{Context, Result};
use cargo_metadata::{Package, TargetKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bounds on reading a package: the biggest vendored trees (libgit2, aws-lc) hold a few
/// thousand files; these stop a pathological package from stalling the plan or the audit.
const MAX_WALK_ENTRIES: usize = 50_000;
const MAX_WALK_DEPTH: usize = 16;
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// What a package's own files say; the same for every target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// The build script, relative to the package root.
    pub build_script: Option<String>,
    pub c_sources: usize,
    pub cpp_sources: usize,
    pub asm_sources: usize,
    /// Prebuilt `.a`/`.lib`/`.o` files (e.g. the Windows import libraries of windows_x86_64_gnu).
    pub prebuilt_libraries: usize,
    /// The walk hit its bound: the counts are lower bounds.
    pub walk_truncated: bool,
    /// Calls in the build script that compile code (`cc::Build::compile`, `cmake::build`, …).
    pub compile_calls: Vec<String>,
    /// Crates the build script calls to find a system library (`pkg_config`, `vcpkg`, …).
    pub system_probes: Vec<String>,
    /// How the build script asks rustc about itself (`$RUSTC`, autocfg, rustc_version).
    pub rustc_probes: Vec<String>,
    /// Environment variables the build script reads, beyond cargo's own.
    pub env_vars: Vec<String>,
    /// Libraries named literally in `cargo:rustc-link-lib=` lines.
    pub link_libs: Vec<String>,
    /// Build systems the script runs itself (jemalloc-sys runs `configure` and `make`).
    pub script_tools: Vec<String>,
    /// Apple frameworks the package declares, in its code's `#[link(name = "…", kind =
    /// "framework")]` or its build script's `cargo:rustc-link-lib=framework=…`: they exist
    /// only in a macOS SDK. objc2 and its generated objc2-* crates are not -sys packages.
    pub frameworks: Vec<String>,
    /// The `#[cfg(…)]` and `cfg!(…)` predicates of its build script that test the OS
    /// (`target_os`, `unix` …), whitespace collapsed: in a build script they are the host's
    /// answers, not the target's (deps/cfg.rs).
    pub script_os_tests: Vec<String>,
    /// Its compiled Rust code starts threads through std (`thread::spawn`, `thread::scope`,
    /// `thread::Builder`), outside comments and the `#[cfg(test)]` module tail of a file:
    /// the audit's fact for "multi-threaded" (docs/SIZE.md, the allocator).
    pub spawns_threads: bool,
    /// Its compiled Rust code implements `GlobalAlloc` (mimalloc, tikv-jemallocator …): a
    /// graph holding it ships an allocator other than the libc's malloc.
    pub global_alloc: bool,
    /// The foreign items the package's Rust declares for each macOS system library the
    /// facts know (apple.rs), as Mach-O symbols: what the library's stub must export.
    #[serde(skip)]
    pub apple_imports: BTreeMap<LinkName, BTreeSet<String>>,
}

impl Files {
    /// C, C++ and assembly files shipped in the package.
    pub fn native_sources(&self) -> usize {
        self.c_sources + self.cpp_sources + self.asm_sources
    }
}

/// Reads a package's files: counts native sources (bounded walk) and reads its build script.
pub fn scan(pkg: &Package) -> Result<Files> {
    let root = pkg
        .manifest_path
        .parent()
        .context("a manifest path without a directory")?
        .as_std_path();
    let script = pkg
        .targets
        .iter()
        .find(|t| t.is_kind(TargetKind::CustomBuild))
        .map(|t| t.src_path.as_std_path());
    // A build script in its own directory (openssl-sys's build/) may keep C files there that
    // it only preprocesses to probe headers: those are not bundled sources.
    let script_dir = script.and_then(Path::parent).filter(|d| *d != root);
    let mut files = Files::default();
    // The Rust that is compiled into the package (its lib's and bins' directories, not its
    // tests or examples) is read for framework links: any crate may declare one.
    let code_dirs: Vec<&Path> = pkg
        .targets
        .iter()
        .filter(|t| t.is_kind(TargetKind::Lib) || t.is_kind(TargetKind::RLib) || t.is_kind(TargetKind::Bin))
        .filter_map(|t| t.src_path.as_std_path().parent())
        .collect();
    let mut blocks = Vec::new();
    walk(root, script_dir, &code_dirs, &mut files, &mut blocks)
        .with_context(|| format!("reading the sources of {} in {}", pkg.name, root.display()))?;
    // Frameworks only the build script names (system-configuration-sys has no link attribute).
    let mut script_frameworks: Vec<String> = Vec::new();
    if let Some(script) = script {
        files.build_script = Some(script.strip_prefix(root).unwrap_or(script).display().to_string());
        let mut text = String::new();
        let parts = match script_dir {
            Some(dir) => {
                let mut rs: Vec<_> = std::fs::read_dir(dir)
                    .with_context(|| format!("listing the build script directory {} of {}", dir.display(), pkg.name))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                    .collect();
                rs.sort();
                rs
            }
            None => vec![script.to_path_buf()],
        };
        for part in parts {
            let len = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if len <= MAX_SCRIPT_BYTES {
                let bytes = std::fs::read(&part)
                    .with_context(|| format!("reading the build script {} of {}", part.display(), pkg.name))?;
                text.push_str(&String::from_utf8_lossy(&bytes));
                text.push('\n');
            }
        }
        let before = files.frameworks.clone();
        scan_script(&text, &mut files);
        script_frameworks = files
            .frameworks
            .iter()
            .filter(|f| !before.contains(f))
            .cloned()
            .collect();
    }
    files.apple_imports = apple_imports(&blocks, &script_frameworks);
    Ok(files)
}

fn walk(
    root: &Path,
    skip: Option<&Path>,
    code_dirs: &[&Path],
    files: &mut Files,
    blocks: &mut Vec<ForeignBlock>,
) -> Result<()> {
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut entries = 0;
    while let Some((dir, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            entries += 1;
            if entries > MAX_WALK_ENTRIES {
                files.walk_truncated = true;
                return Ok(());
            }
            let path = entry.path();
            // file_type() does not follow symlinks: a link loop cannot trap the walk.
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                let name = entry.file_name();
                if name == ".git" || name == "target" || Some(path.as_path()) == skip {
                    continue;
                }
                if depth + 1 < MAX_WALK_DEPTH {
                    stack.push((path, depth + 1));
                } else {
                    files.walk_truncated = true;
                }
            } else if kind.is_file() {
                match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
                    "c" => files.c_sources += 1,
                    "cc" | "cpp" | "cxx" | "c++" => files.cpp_sources += 1,
                    "s" | "S" | "asm" => files.asm_sources += 1,
                    "a" | "lib" | "o" | "obj" => files.prebuilt_libraries += 1,
                    "rs" if code_dirs.iter().any(|d| path.starts_with(d))
                        && entry.metadata().is_ok_and(|m| m.len() <= MAX_SCRIPT_BYTES) =>
                    {
                        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                        let text = String::from_utf8_lossy(&text);
                        let (threads, alloc) = threads_and_allocator(&text);
                        files.spawns_threads |= threads;
                        files.global_alloc |= alloc;
                        if text.contains("extern") {
                            blocks.extend(foreign_blocks(&without_line_comments(&text)));
                        }
                        for name in framework_links(&text) {
                            if !files.frameworks.contains(&name) {
                                files.frameworks.push(name);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Whether Rust source `text` starts threads through std, and whether it implements
/// `GlobalAlloc`. Comment lines are skipped, and a file is read only up to its first
/// `#[cfg(test)]`, where tests (which start threads freely) usually sit.
fn threads_and_allocator(text: &str) -> (bool, bool) {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let (mut threads, mut alloc) = (false, false);
    for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        threads |= ["thread::spawn(", "thread::scope(", "thread::Builder::new("]
            .iter()
            .any(|call| line.contains(call));
        alloc |= line.contains("GlobalAlloc for ");
    }
    (threads, alloc)
}

/// The names in `link(…)` attributes whose kind is "framework", whatever the order of the
/// keys, the spacing or the `cfg_attr` around them; line comments (docs) are no declaration.
fn framework_links(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    // Cheap test first: every .rs file of the graph passes through here.
    if !text.contains("framework") {
        return names;
    }
    let code: String = text
        .lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    for (i, _) in code.match_indices("link(") {
        let word_start = !code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let args = &code[i + "link(".len()..];
        let Some(end) = args.find(')') else { continue };
        let pairs = key_values(&args[..end]);
        let value = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        if let (true, Some("framework"), Some(name)) = (word_start, value("kind"), value("name")) {
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

fn without_line_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An `extern "ABI" { … }` block: the libraries its own `link(…)` attributes name (dylib,
/// the default kind, or framework) and the symbols of its foreign items.
#[derive(Debug, PartialEq)]
struct ForeignBlock {
    links: Vec<LinkName>,
    symbols: Vec<String>,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The extern blocks of comment-free Rust text, read without a parser: `extern`, an
/// optional ABI string, `{`; the attributes since the previous item; the body's items
/// (`fn name`, `static [mut] name`, renamed by `#[link_name = "…"]`).
fn foreign_blocks(code: &str) -> Vec<ForeignBlock> {
    let mut blocks = Vec::new();
    for (i, _) in code.match_indices("extern") {
        if code[..i].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let mut rest = code[i + "extern".len()..].trim_start();
        if let Some(abi) = rest.strip_prefix('"') {
            let Some(end) = abi.find('"') else { continue };
            rest = abi[end + 1..].trim_start();
        }
        let Some(body) = rest.strip_prefix('{') else { continue };
        let mut depth = 1usize;
        let Some(end) = body.find(|c| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            depth == 0
        }) else {
            continue;
        };
        let body = &body[..end];
        let attrs_start = code[..i].rfind([';', '}', '{']).map_or(0, |p| p + 1);
        let links = link_attributes(&code[attrs_start..i]);
        let mut symbols = Vec::new();
        for item in body.split(';') {
            let renamed = item.find("link_name").and_then(|at| {
                let value = item[at + "link_name".len()..]
                    .trim_start()
                    .strip_prefix('=')?
                    .trim_start();
                let value = value.strip_prefix('"')?;
                Some(value[..value.find('"')?].to_string())
            });
            let declared = [" fn ", "\nfn ", " static ", "\nstatic "].iter().find_map(|kw| {
                let at = item.find(kw)?;
                let after = item[at + kw.len()..].trim_start();
                let after = after.strip_prefix("mut ").unwrap_or(after).trim_start();
                let name: String = after.chars().take_while(|c| is_word(*c)).collect();
                (!name.is_empty()).then_some(name)
            });
            let item_start = item.trim_start();
            let declared = declared.or_else(|| {
                let after = item_start
                    .strip_prefix("fn ")
                    .or_else(|| item_start.strip_prefix("static "))?;
                let name: String = after.trim_start().chars().take_while(|c| is_word(*c)).collect();
                (!name.is_empty()).then_some(name)
            });
            if let Some(name) = renamed.or(declared) {
                if declared_item(item) {
                    // Mach-O C symbols carry a leading underscore; "\u{1}" asks for none.
                    symbols.push(match name.strip_prefix('\u{1}') {
                        Some(raw) => raw.to_string(),
                        None => format!("_{name}"),
                    });
                }
            }
        }
        blocks.push(ForeignBlock { links, symbols });
    }
    blocks
}

/// A foreign item declares a function or a static (not a type or a macro call).
fn declared_item(item: &str) -> bool {
    item.split(|c: char| !is_word(c)).any(|w| w == "fn" || w == "static")
}

/// The libraries named by the `link(…)` attributes in a stretch of text, with their kind
/// (dylib unless it says framework; static and raw-dylib links are no system library).
fn link_attributes(text: &str) -> Vec<LinkName> {
    let mut links = Vec::new();
    for (i, _) in text.match_indices("link(") {
        if text[..i].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let args = &text[i + "link(".len()..];
        let Some(end) = args.find(')') else { continue };
        let pairs = key_values(&args[..end]);
        let value = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let framework = match value("kind") {
            None | Some("dylib") => false,
            Some("framework") => true,
            Some(_) => continue,
        };
        if let Some(name) = value("name").filter(|n| !n.is_empty()) {
            links.push(LinkName {
                name: name.to_string(),
                framework,
            });
        }
    }
    links
}

/// Each block's symbols, by the system library they come from: the block's own link
/// attribute if it names one the facts know, else the crate's, when all of its link
/// attributes name that one library (-sys crates put it on an empty block) or it has none
/// and its build script names one framework. Symbols of other blocks are not the stubs'
/// business (libSystem, a bundled library, another OS): libc names iconv for iconv's block
/// beside c and System, so its other blocks are no library's here.
fn apple_imports(blocks: &[ForeignBlock], script_frameworks: &[String]) -> BTreeMap<LinkName, BTreeSet<String>> {
    let named: BTreeSet<&LinkName> = blocks.iter().flat_map(|b| &b.links).collect();
    let system: Vec<&LinkName> = named.iter().copied().filter(|l| l.dylib().is_some()).collect();
    let from_script: Vec<LinkName> = script_frameworks
        .iter()
        .map(|name| LinkName {
            name: name.clone(),
            framework: true,
        })
        .filter(|l| l.dylib().is_some())
        .collect();
    let crate_library = match (&named.iter().collect::<Vec<_>>()[..], &from_script[..]) {
        ([only], _) if only.dylib().is_some() => Some(**only),
        ([], [only]) => Some(only),
        _ => None,
    };
    // Every library named gets a stub, if only with the facts' symbols: objc2 names libobjc
    // on an empty block and declares its functions in others.
    let mut imports: BTreeMap<LinkName, BTreeSet<String>> =
        system.iter().map(|l| ((*l).clone(), BTreeSet::new())).collect();
    for block in blocks.iter().filter(|b| !b.symbols.is_empty()) {
        let own = block.links.iter().find(|l| l.dylib().is_some());
        let library = match (own, block.links.is_empty()) {
            (Some(own), _) => own,
            (None, true) => match crate_library {
                Some(l) => l,
                None => continue,
            },
            // A block linking something else (libSystem, a bundled library).
            (None, false) => continue,
        };
        imports
            .entry(library.clone())
            .or_default()
            .extend(block.symbols.iter().cloned());
    }
    imports
}

/// `key = "value"` pairs, separated by commas (an attribute's arguments).
fn key_values(args: &str) -> Vec<(&str, &str)> {
    args.split(',')
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
            Some((key.trim(), value))
        })
        .collect()
}

/// Whether `"name"` stands in the text other than as the right side of a comparison
/// (aws-lc-sys asks `generator != "ninja"` and runs cmake, not ninja).
fn names_program(text: &str, name: &str) -> bool {
    text.match_indices(&format!("\"{name}\"")).any(|(i, _)| {
        let before = text[..i].trim_end();
        !(before.ends_with("==") || before.ends_with("!="))
    })
}

/// Variables every build script may read that say nothing about native code.
const CARGO_VARS: [&str; 10] = [
    "OUT_DIR",
    "TARGET",
    "HOST",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_LINKER",
];

/// Reads the build script's text for the calls and variables that give its purpose away.
pub fn scan_script(text: &str, files: &mut Files) {
    let add = |list: &mut Vec<String>, item: &str| {
        if !list.iter().any(|x| x == item) {
            list.push(item.to_string());
        }
    };
    for (needle, label) in [
        (".compile(", "cc::Build::compile"),
        (".compile_intermediates(", "cc::Build::compile_intermediates"),
        (".try_compile(", "cc::Build::try_compile"),
        ("cmake::Config", "cmake::Config"),
        ("cmake::build", "cmake::build"),
        ("cxx_build::", "cxx_build"),
        ("nasm_rs::", "nasm_rs"),
        ("autotools::", "autotools"),
    ] {
        if text.contains(needle) {
            add(&mut files.compile_calls, label);
        }
    }
    // A script that runs programs may drive a build system by hand, whatever else it calls:
    // tikv-jemalloc-sys runs jemalloc's `configure` and make on every target beside a cc
    // compile call for Android only. Only build systems are taken from the text: ring names
    // nasm and perl on paths that a crates.io package never takes.
    if text.contains("Command::new(") {
        if text.contains("\"configure\"") {
            // The package's own script, run by sh: no tool to install.
            add(&mut files.compile_calls, "configure");
        }
        // gmake is make's name on the BSDs: one tool, not two.
        for tool in ["make", "ninja", "meson"] {
            let named = names_program(text, tool) || (tool == "make" && names_program(text, "gmake"));
            if named {
                add(&mut files.compile_calls, tool);
                add(&mut files.script_tools, tool);
            }
        }
    }
    // `openssl_src::Build`, `luajit_src::Build`: a -src crate builds the bundled library.
    for (i, _) in text.match_indices("_src::Build") {
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |s| s + 1);
        add(&mut files.compile_calls, &format!("{}_src::Build", &text[start..i]));
    }
    for (needle, label) in [
        ("pkg_config::", "pkg_config"),
        ("vcpkg::", "vcpkg"),
        ("system_deps::", "system_deps"),
        ("metadeps::", "metadeps"),
    ] {
        if text.contains(needle) {
            add(&mut files.system_probes, label);
        }
    }
    for (needle, label) in [
        ("autocfg", "autocfg"),
        ("rustc_version", "rustc_version"),
        ("version_check", "version_check"),
        ("\"RUSTC\"", "$RUSTC"),
    ] {
        if text.contains(needle) {
            add(&mut files.rustc_probes, label);
        }
    }
    for (i, _) in text.match_indices("rustc-link-lib=") {
        let rest = &text[i + "rustc-link-lib=".len()..];
        let value = &rest[..rest.find(['"', '{', '\n']).unwrap_or(rest.len())];
        let lib = value.rsplit('=').next().unwrap_or(value);
        if let Some(framework) = value.strip_prefix("framework=") {
            // `framework={}`: the name is made at build time; the link still needs an SDK.
            let name = if framework.is_empty() {
                "(named at build time)"
            } else {
                framework
            };
            add(&mut files.frameworks, name);
        } else if !lib.is_empty() {
            add(&mut files.link_libs, lib);
        }
    }
    for test in os_tests(&without_line_comments(text)) {
        add(&mut files.script_os_tests, &test);
    }
    // Variables the script asks cargo to watch.
    for (i, _) in text.match_indices("rerun-if-env-changed=") {
        let rest = &text[i + "rerun-if-env-changed=".len()..];
        let var = &rest[..rest.find(['"', '\n']).unwrap_or(rest.len())];
        if looks_like_var(var) {
            add(&mut files.env_vars, var);
        }
    }
    // Names read through env::var / env::var_os or a script's own `env("…")` helper.
    for opener in ["var(\"", "var_os(\"", "env(\""] {
        for (i, _) in text.match_indices(opener) {
            let rest = &text[i + opener.len()..];
            let var = &rest[..rest.find('"').unwrap_or(0)];
            if looks_like_var(var) {
                add(&mut files.env_vars, var);
            }
        }
    }
}

/// The predicates of comment-free Rust's `#[cfg(…)]` attributes and `cfg!(…)` calls that
/// test the OS, whitespace collapsed, each once.
fn os_tests(code: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for opener in ["#[cfg(", "cfg!("] {
        for (i, _) in code.match_indices(opener) {
            let rest = &code[i + opener.len()..];
            let mut depth = 1;
            let close = rest.char_indices().find_map(|(j, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                (depth == 0).then_some(j)
            });
            let Some(close) = close else { continue };
            let test = rest[..close]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("( ", "(")
                .replace(" )", ")");
            if super::cfg::tests_os(&test) && !found.contains(&test) {
                found.push(test);
            }
        }
    }
    found
}

/// A literal environment variable name that is not one of cargo's own (format strings like
/// `{}_NO_VENDOR` are skipped: their name is not in the text).
fn looks_like_var(var: &str) -> bool {
    var.len() >= 3
        && var.starts_with(|c: char| c.is_ascii_uppercase())
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !CARGO_VARS.contains(&var)
        && !["CARGO_", "DEP_", "RUST"].iter().any(|p| var.starts_with(p))
}

/// Object files and static archives under a build script's OUT_DIR: what compiling C leaves.
pub fn native_objects(out_dir: &Path) -> Result<usize> {
    if !out_dir.is_dir() {
        return Ok(0);
    }
    let mut files = Files::default();
    walk(out_dir, None, &[], &mut files, &mut Vec::new())?;
    Ok(files.prebuilt_libraries)
}

/// The files of a package whose build script is `text` and that ships nothing else.
#[cfg(test)]
pub(crate) fn script_files(text: &str) -> Files {
    let mut files = Files {
        build_script: Some("build.rs".into()),
        ..Files::default()
    };
    scan_script(text, &mut files);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_scripts_os_tests_are_read_across_lines_and_outside_comments() {
        // network-interface 1.1.4's build.rs, shortened; then the tests it must not take.
        let script = r#"fn main() {
    #[cfg(any(
        target_os = "macos",
        target_os = "ios"
    ))]
    {
        cc::Build::new().file("src/lladdr.c").compile("ffi");
    }
    // #[cfg(windows)] in a comment
    if cfg!(feature = "static") && cfg!(windows) { println!("x"); }
    #[cfg(test)]
    mod tests {}
}
"#;
        let files = script_files(script);
        assert_eq!(
            files.script_os_tests,
            [r#"any(target_os = "macos", target_os = "ios")"#, "windows"]
        );
        assert_eq!(files.compile_calls, ["cc::Build::compile"]);
    }

    #[test]
    fn a_cc_build_script_is_read_for_calls_and_variables() {
        let files = script_files(
            r#"fn main() {
                println!("cargo:rerun-if-env-changed=LIBZ_SYS_STATIC");
                if pkg_config::probe_library("zlib").is_ok() { return; }
                let dir = env::var("OUT_DIR").unwrap();
                cc::Build::new().file("src/zlib/adler32.c").compile("z");
                println!("cargo:rustc-link-lib=static=z");
            }"#,
        );
        assert_eq!(files.compile_calls, ["cc::Build::compile"]);
        assert_eq!(files.system_probes, ["pkg_config"]);
        assert_eq!(
            files.env_vars,
            ["LIBZ_SYS_STATIC"],
            "cargo's own OUT_DIR is no evidence"
        );
        assert_eq!(files.link_libs, ["z"]);
        // system-configuration-sys links its framework from the build script.
        let files = script_files("println!(\"cargo:rustc-link-lib=framework=SystemConfiguration\");");
        assert_eq!(
            (files.frameworks, files.link_libs),
            (vec!["SystemConfiguration".to_string()], vec![])
        );
    }

    #[test]
    fn a_src_crate_and_rustc_probes_are_named() {
        let files = script_files(
            "let artifacts = openssl_src::Build::new().build();\nlet v = env::var(\"RUSTC\");\nautocfg::new();",
        );
        assert_eq!(files.compile_calls, ["openssl_src::Build"]);
        assert_eq!(files.rustc_probes, ["autocfg", "$RUSTC"]);
    }

    #[test]
    fn a_script_that_runs_configure_drives_make_beside_a_compile_call() {
        // tikv-jemalloc-sys 0.6, in short: configure and make always, cc on Android only.
        let files = script_files(
            "let compiler = cc::Build::new().get_compiler();\nlet config_files = [\"configure\"];\n\
             let mut cmd = Command::new(\"sh\");\nlet make = \"make\";\nrun(Command::new(make).arg(\"install_lib_static\"));\n\
             if target.contains(\"android\") { cc::Build::new().file(\"src/pthread_atfork.c\").compile(\"pthread_atfork\"); }",
        );
        assert_eq!(files.compile_calls, ["cc::Build::compile", "configure", "make"]);
        assert_eq!(files.script_tools, ["make"], "configure is the package's own script");
        // make beside a compile call, with no configure script: still make.
        let files = script_files("cc::Build::new().compile(\"x\");\nCommand::new(\"make\").arg(\"-C\").status();");
        assert_eq!(files.script_tools, ["make"]);
        // ring names nasm and perl on paths a crates.io package never takes: no build system.
        let files = script_files(
            "let nasm = Command::new(\"nasm\");\nlet perl = Command::new(\"perl\");\ncc::Build::new().compile(\"ring\");",
        );
        assert!(files.script_tools.is_empty(), "{files:?}");
        // aws-lc-sys compares a generator name with "ninja" and runs cmake: no ninja.
        let files = script_files(
            "if generator.to_lowercase() != \"ninja\" { Command::new(cmake); }\ncc::Build::new().compile(\"x\");",
        );
        assert!(files.script_tools.is_empty(), "{files:?}");
    }

    #[test]
    fn threads_and_allocators_are_read_from_code_not_comments_or_tests() {
        assert_eq!(
            threads_and_allocator("fn f() { std::thread::spawn(|| ()); }"),
            (true, false)
        );
        assert_eq!(
            threads_and_allocator("let b = thread::Builder::new().name(n);\nthread::scope(|s| ());"),
            (true, false)
        );
        assert_eq!(
            threads_and_allocator("unsafe impl GlobalAlloc for MiMalloc {}"),
            (false, true)
        );
        assert_eq!(
            threads_and_allocator("/// thread::spawn(|| ()) in a doc\n// thread::spawn(\n"),
            (false, false)
        );
        assert_eq!(
            threads_and_allocator("fn f() {}\n#[cfg(test)]\nmod tests { fn t() { std::thread::spawn(|| ()); } }"),
            (false, false)
        );
    }

    #[test]
    fn foreign_items_belong_to_their_blocks_library_or_the_crates_only_one() {
        let lib = without_line_comments(
            "#[cfg_attr(target_os = \"macos\", link(name = \"CoreFoundation\", kind = \"framework\"))]\n\
             extern \"C\" {}\n\
             extern \"C\" fn callback() {}\n\
             pub mod string {\n  extern \"C\" {\n    pub fn CFStringGetLength(s: Ref) -> isize; // fn not_this()\n\
                 pub static kCFAllocatorDefault: Ref;\n    #[link_name = \"CFRetain\"] fn retain(x: Ref);\n  }\n}\n\
             #[link(name = \"objc\", kind = \"dylib\")]\nunsafe extern \"C\" { pub fn objc_autoreleasePoolPush() -> *mut u8; }\n\
             #[link(name = \"c\")]\nextern { fn malloc(n: usize) -> *mut u8; }\n",
        );
        let blocks = foreign_blocks(&lib);
        assert_eq!(blocks.len(), 4, "{blocks:?}");
        assert_eq!(
            blocks[1].symbols,
            ["_CFStringGetLength", "_kCFAllocatorDefault", "_CFRetain"]
        );
        let imports = apple_imports(&blocks, &[]);
        let keys: Vec<(&str, bool)> = imports.keys().map(|l| (l.name.as_str(), l.framework)).collect();
        // objc and CoreFoundation both named: the unannotated block has no library of its own.
        assert_eq!(keys, [("CoreFoundation", true), ("objc", false)]);
        assert!(imports[&LinkName {
            name: "CoreFoundation".into(),
            framework: true
        }]
            .is_empty());
        // Without the objc block the crate names one library, and its blocks are that one's.
        let imports = apple_imports(
            &foreign_blocks(&lib[..lib.find("#[link(name = \"objc\"").unwrap()]),
            &[],
        );
        assert_eq!(
            imports.values().next().unwrap().iter().collect::<Vec<_>>(),
            ["_CFRetain", "_CFStringGetLength", "_kCFAllocatorDefault"]
        );
        // libc: iconv's block is iconv's; the rest, beside `link(name = "c")`, is no stub's.
        let libc = foreign_blocks(
            "#[link(name = \"iconv\")]\nextern \"C\" { pub fn iconv_open(); }\n\
             #[link(name = \"c\")]\nextern {}\nextern \"C\" { pub fn malloc(); }\n",
        );
        let imports = apple_imports(&libc, &[]);
        assert_eq!(imports.values().flatten().collect::<Vec<_>>(), ["_iconv_open"]);
        // system-configuration-sys: no attribute; its build script names the framework.
        let sc = foreign_blocks("extern \"C\" { pub fn SCDynamicStoreCreate(); }");
        let imports = apple_imports(&sc, &["SystemConfiguration".into()]);
        assert_eq!(
            imports.values().flatten().collect::<Vec<_>>(),
            ["_SCDynamicStoreCreate"]
        );
    }

    #[test]
    fn framework_links_are_named() {
        let text = "#[cfg_attr(feature = \"link\", link(name = \"CoreFoundation\", kind = \"framework\"))]\n#[link(name = \"c\")]";
        assert_eq!(framework_links(text), ["CoreFoundation"]);
        // objc2-core-foundation 0.3's layout; the keys in either order, with any spacing.
        let text = "#[cfg_attr(\n    target_vendor = \"apple\",\n    link(name = \"CoreFoundation\", kind = \"framework\")\n)]\nextern \"C\" {}\n\
                    #[link(kind=\"framework\",name=\"IOKit\")]\n#[link(name = \"objc\", kind = \"dylib\")]";
        assert_eq!(framework_links(text), ["CoreFoundation", "IOKit"]);
        // Docs and a similarly named attribute are no link.
        let text =
            "/// #[link(name = \"AppKit\", kind = \"framework\")]\n#[unlink(name = \"Metal\", kind = \"framework\")]";
        assert!(framework_links(text).is_empty());
        // A build script that names its framework at build time still needs the SDK.
        let files = script_files("println!(\"cargo:rustc-link-lib=framework={}\", name);");
        assert_eq!(files.frameworks, ["(named at build time)"]);
    }

    /// The real crates, where a registry holds them (CI starts with an empty one, so each
    /// missing crate is skipped; the fixtures in deps/ cover the same shapes).
    #[test]
    fn real_crates_declare_their_frameworks_as_read() {
        let Some(registry) = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")))
            .map(|home| home.join("registry/src"))
            .and_then(|src| std::fs::read_dir(src).ok()?.filter_map(|e| e.ok()).next())
            .map(|e| e.path())
        else {
            return;
        };
        for (krate, file, framework) in [
            ("objc2-0.6.5", "src/lib.rs", "Foundation"),
            ("objc2-foundation-0.3.2", "src/generated/mod.rs", "Foundation"),
            ("objc2-core-foundation-0.3.2", "src/generated/mod.rs", "CoreFoundation"),
            ("objc2-io-kit-0.3.2", "src/generated/mod.rs", "IOKit"),
            ("core-foundation-sys-0.8.7", "src/lib.rs", "CoreFoundation"),
            ("sysinfo-0.39.6", "src/unix/apple/macos/ffi.rs", "IOKit"),
        ] {
            let Ok(text) = std::fs::read_to_string(registry.join(krate).join(file)) else {
                continue;
            };
            assert!(
                framework_links(&text).contains(&framework.to_string()),
                "{krate}/{file}"
            );
        }
        let jemalloc = std::fs::read_dir(&registry)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with("tikv-jemalloc-sys-0.7"));
        if let Some(dir) = jemalloc {
            let files = script_files(&std::fs::read_to_string(dir.path().join("build.rs")).unwrap());
            assert_eq!(files.script_tools, ["make"], "{files:?}");
            assert!(files.compile_calls.contains(&"configure".to_string()));
        }
    }

    #[test]
    fn native_objects_count_what_compiling_leaves() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(native_objects(&dir.path().join("missing")).unwrap(), 0);
        std::fs::create_dir_all(dir.path().join("build/lib")).unwrap();
        for file in [
            "build/m_add.o",
            "build/lib/libm_add.a",
            "build/config.log",
            "build/m_add.c",
        ] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        assert_eq!(native_objects(dir.path()).unwrap(), 2);
    }
}
