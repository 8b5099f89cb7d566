//! The verification rules: what an inspected binary must be for its target, per target
//! family (docs: DESIGN's "what verified means"). Each rule has a name, shown in `FAIL
//! [name]` rows and in dist's refusal, and a message that says what usually causes it. A
//! pure function of an `Inspection`, the `Target` and the `Policy` the config sets.

use crate::config::{Strip, TargetConfig};
use crate::inspect::{self, Inspection};
use crate::model::{Family, Format, GlibcVersion, Target};
use serde::Serialize;

/// manylinux2014's floor: every glibc distribution still supported has at least this.
pub const DEFAULT_GLIBC_MAX: &str = "2.17";

/// glibc's own libraries: what every glibc system has, in the version the binary asks for.
const GLIBC_LIBS: [&str; 12] = [
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libnsl.so.1",
    "libanl.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "ld-linux.so.2",
];

/// DLLs that ship with every supported Windows (lower case; api-ms-win-core-* are the
/// system's own API sets). Anything else must come with the binary, so it fails unless allowed.
const SYSTEM_DLLS: [&str; 30] = [
    "kernel32.dll",
    "ntdll.dll",
    "advapi32.dll",
    "user32.dll",
    "gdi32.dll",
    "shell32.dll",
    "ole32.dll",
    "oleaut32.dll",
    "ws2_32.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "userenv.dll",
    "crypt32.dll",
    "secur32.dll",
    "ncrypt.dll",
    "iphlpapi.dll",
    "dbghelp.dll",
    "psapi.dll",
    "version.dll",
    "winmm.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "shlwapi.dll",
    "setupapi.dll",
    "rpcrt4.dll",
    "netapi32.dll",
    "powrprof.dll",
    "synchronization.dll",
    "dwmapi.dll",
    "uxtheme.dll",
];

/// The rules for one target, from its `[workspace.metadata.dist.target.<triple>]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub glibc_max: GlibcVersion,
    pub max_size: Option<u64>,
    /// Libraries, DLLs or dylib paths allowed beyond the platform's own (`*` ends a prefix).
    pub allow: Vec<String>,
    /// What the build profile's `strip` setting promises (config::profile_strip).
    pub strip: Strip,
    /// Linux: an executable stack is allowed (`allow-exec-stack`).
    pub allow_exec_stack: bool,
    /// Linux: RPATH/RUNPATH entries allowed beyond `$ORIGIN` (`allow-rpath`, `*` ends a prefix).
    pub allow_rpath: Vec<String>,
}

impl Policy {
    pub fn new(target: &Target, settings: Option<&TargetConfig>, strip: Strip) -> Policy {
        let settings = settings.cloned().unwrap_or_default();
        let allow = match target.family() {
            Family::WindowsMsvc | Family::WindowsGnu => settings.allow_dlls,
            Family::AppleDarwin => settings.allow_dylibs,
            _ => settings.allow_libs,
        };
        Policy {
            glibc_max: settings
                .glibc_max
                .unwrap_or_else(|| DEFAULT_GLIBC_MAX.parse().expect("the default is a version")),
            max_size: settings.max_size,
            allow: allow.unwrap_or_default(),
            strip,
            allow_exec_stack: settings.allow_exec_stack.unwrap_or(false),
            allow_rpath: settings.allow_rpath.unwrap_or_default(),
        }
    }

    fn allows(&self, name: &str) -> bool {
        matches_any(&self.allow, name)
    }
}

/// `name` equals a pattern (ignoring ASCII case) or starts with one that ends in `*`.
fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|pattern| match pattern.strip_suffix('*') {
        Some(prefix) => name.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()),
        None => name.eq_ignore_ascii_case(pattern),
    })
}

/// An RPATH/RUNPATH entry the dynamic loader resolves next to the binary, wherever it is
/// installed: `$ORIGIN` or `${ORIGIN}`, alone or followed by a path. Anything else (an
/// absolute build-machine directory, a relative path, which is taken from the current
/// directory, or an empty entry, which means the current directory) points outside.
fn is_origin_relative(entry: &str) -> bool {
    ["$ORIGIN", "${ORIGIN}"].iter().any(|o| {
        entry
            .strip_prefix(o)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A CodeView PDB path that names a directory: the build machine's layout leaked into the
/// binary. The linker writes the PDB's full path unless told otherwise; this repository's
/// msvc builds pass /PDBALTPATH:%_PDB% (just the file name) and the stripped release links
/// with /DEBUG:NONE (no PDB path at all).
fn pdb_leaks_a_directory(path: &str) -> bool {
    path.contains(['/', '\\']) || path.as_bytes().get(1) == Some(&b':')
}

/// A broken rule: its name and what happened, with the usual cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

/// Checks an inspection against what `target` must be. Empty means the binary passes.
pub fn check(found: &Inspection, target: &Target, policy: &Policy) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut fail = |rule, message: String| failures.push(Failure { rule, message });
    let format = target.format();
    if format != Format::Unknown && found.format != format {
        fail(
            "format",
            format!(
                "the file is {:?}, {target} needs {format:?}: a binary of another target was packed",
                found.format
            ),
        );
    }
    let arch = target.arch();
    if !found.archs().contains(&arch) {
        fail("arch", format!("architecture is {}, {target} needs {arch}: the binary was built for another target (was --target passed to cargo?)", found.arch));
    }
    if matches!(target.family(), Family::LinuxMusl | Family::LinuxGnu) {
        if let Some(elf) = &found.elf {
            if elf.executable_stack == Some(true) && !policy.allow_exec_stack {
                fail("exec-stack", "asks for an executable stack (PT_GNU_STACK has PF_X): an object without a .note.GNU-stack section, usually hand-written assembly in a -sys crate, was linked in; mark it (-Wa,--noexecstack), or set allow-exec-stack = true".into());
            }
            let outside: Vec<&str> = elf
                .rpath
                .iter()
                .chain(&elf.runpath)
                .flat_map(|list| list.split(':'))
                .filter(|entry| !is_origin_relative(entry) && !matches_any(&policy.allow_rpath, entry))
                .collect();
            if !outside.is_empty() {
                let shown: Vec<String> = outside.iter().map(|e| format!("`{e}`")).collect();
                fail("rpath", format!("has RPATH/RUNPATH entries outside $ORIGIN ({}): the loader searches those directories on the user's machine, which may not exist or may hold other libraries; drop the -rpath link argument (a build script's cargo:rustc-link-arg), or list them in allow-rpath", shown.join(", ")));
            }
        }
    }
    if let Some(pdb) = found.pe.as_ref().and_then(|pe| pe.pdb_path.as_deref()) {
        if pdb_leaks_a_directory(pdb) {
            fail("pdb-path", format!("names its PDB by a build-machine path ({pdb}): link with /PDBALTPATH:%_PDB% (only the file name) or /DEBUG:NONE (no PDB)"));
        }
    }
    match target.family() {
        Family::LinuxMusl => {
            if let Some(interp) = &found.interpreter {
                fail("musl-static", format!("has a dynamic loader ({interp}): musl binaries must be static; was it linked by the host's glibc toolchain?"));
            }
            if !found.needed.is_empty() {
                fail("musl-static", format!("needs shared libraries ({}): musl binaries must be static; a -sys crate probably linked a system library dynamically", found.needed.join(", ")));
            }
        }
        Family::LinuxGnu => {
            let foreign: Vec<&str> = found
                .needed
                .iter()
                .map(String::as_str)
                .filter(|l| !GLIBC_LIBS.contains(l) && !policy.allows(l))
                .collect();
            if !foreign.is_empty() {
                fail("glibc-only", format!("needs libraries that are not glibc's ({}): they may be missing on the user's system; link them statically, or list them in allow-libs (libgcc_s.so.1 comes from Rust's unwinder and is on every glibc system)", foreign.join(", ")));
            }
            let needed = found.elf.as_ref().and_then(|e| e.glibc.as_ref());
            if let Some(needed) = needed.filter(|v| **v > policy.glibc_max) {
                let max = &policy.glibc_max;
                fail("glibc-max", format!("requires GLIBC_{needed}, above the ceiling {max}: it was linked against a newer glibc than its users have; build with zig (cargo zigbuild --target {target}.{max}) or raise glibc-max"));
            }
        }
        Family::WindowsMsvc => {
            let crt: Vec<&str> = found
                .needed
                .iter()
                .map(String::as_str)
                .filter(|d| inspect::is_crt_dll(d) && !policy.allows(d))
                .collect();
            if !crt.is_empty() {
                fail("static-crt", format!("imports the C runtime ({}): users without the VC++ redistributable cannot start it; build with -C target-feature=+crt-static", crt.join(", ")));
            }
            let other: Vec<&str> = found
                .needed
                .iter()
                .map(String::as_str)
                .filter(|d| !inspect::is_crt_dll(d) && !is_system_dll(d) && !policy.allows(d))
                .collect();
            if !other.is_empty() {
                fail("system-dlls", format!("imports DLLs that are not part of Windows ({}): ship them or link statically, or list them in allow-dlls", other.join(", ")));
            }
        }
        Family::WindowsGnu => {
            let runtime: Vec<&str> = found
                .needed
                .iter()
                .map(String::as_str)
                .filter(|d| {
                    let d = d.to_ascii_lowercase();
                    ["libgcc_s", "libwinpthread", "libstdc++"]
                        .iter()
                        .any(|p| d.starts_with(p))
                })
                .filter(|d| !policy.allows(d))
                .collect();
            if !runtime.is_empty() {
                fail("gnu-runtime-dlls", format!("imports MinGW runtime DLLs ({}): users do not have them; link with -static (zig does), or ship them", runtime.join(", ")));
            }
        }
        Family::AppleDarwin => {
            let foreign: Vec<&str> = found
                .needed
                .iter()
                .map(String::as_str)
                .filter(|p| !is_system_dylib(p) && !policy.allows(p))
                .collect();
            if !foreign.is_empty() {
                fail("system-dylibs", format!("loads dylibs from outside the system ({}): Homebrew or @rpath libraries are missing on users' Macs; link them statically, or list them in allow-dylibs", foreign.join(", ")));
            }
            for slice in found.macho.iter().flat_map(|m| &m.slices) {
                let bad: Vec<&str> = slice
                    .rpaths
                    .iter()
                    .map(String::as_str)
                    .filter(|p| p.starts_with("/usr/local") || p.starts_with("/opt/homebrew"))
                    .collect();
                if !bad.is_empty() {
                    fail("system-dylibs", format!("the {} slice has an LC_RPATH into {}: a build machine's library directory leaked into the binary", slice.arch, bad.join(", ")));
                }
                if slice.arch == "aarch64" && !slice.code_signature {
                    fail("code-signature", "the aarch64 slice has no code signature: macOS kills unsigned arm64 binaries at launch; sign it ad hoc (`codesign -s -`, or `rcodesign sign`)".into());
                }
            }
        }
        Family::Other => {}
    }
    match policy.strip {
        Strip::Symbols if !found.stripped => {
            let debug = found.debug_info();
            let what = if debug.is_empty() {
                "a symbol table".to_string()
            } else {
                format!("a symbol table or debug info ({})", debug.join(", "))
            };
            fail("stripped", format!("has {what} although the profile sets strip = true: the strip step did not run for this target (rustc needs a strip tool for some targets; link with -s), or the binary comes from another profile"));
        }
        Strip::DebugInfo if !found.debug_info().is_empty() => {
            fail("stripped", format!("has debug info ({}) although the profile sets strip = \"debuginfo\": the strip step did not run for this target, or the binary comes from another profile", found.debug_info().join(", ")));
        }
        _ => {}
    }
    if let Some(max) = policy.max_size.filter(|&max| found.size > max) {
        fail(
            "max-size",
            format!(
                "is {} bytes, over max-size {max}: check for debug info, lto = false or a new heavy dependency",
                found.size
            ),
        );
    }
    failures
}

fn is_system_dll(dll: &str) -> bool {
    let dll = dll.to_ascii_lowercase();
    SYSTEM_DLLS.contains(&dll.as_str()) || dll.starts_with("api-ms-win-core-") || dll.starts_with("ext-ms-win-")
}

/// /usr/lib and the system frameworks ship with macOS; /usr/local/lib is Homebrew's on Intel.
fn is_system_dylib(path: &str) -> bool {
    (path.starts_with("/usr/lib/") || path.starts_with("/System/Library/Frameworks/")) && !path.contains("/../")
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::inspect::tests::inspected as fixture;

    fn target(triple: &str) -> Target {
        triple.parse().unwrap()
    }

    fn rules(found: &Inspection, triple: &str, policy: &Policy) -> Vec<&'static str> {
        check(found, &target(triple), policy)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    fn policy(triple: &str, toml: TargetConfig) -> Policy {
        Policy::new(&target(triple), Some(&toml), Strip::None)
    }

    const MUSL: &str = "x86_64-unknown-linux-musl";
    const GNU: &str = "x86_64-unknown-linux-gnu";
    const MSVC: &str = "x86_64-pc-windows-msvc";
    const MINGW: &str = "x86_64-pc-windows-gnu";
    const MAC_ARM: &str = "aarch64-apple-darwin";

    #[test]
    fn real_fixtures_pass_their_own_target() {
        let none = TargetConfig::default();
        assert!(rules(&fixture("hello-x86_64-linux-musl"), MUSL, &policy(MUSL, none.clone())).is_empty());
        assert!(rules(
            &fixture("hello-aarch64-linux-musl"),
            "aarch64-unknown-linux-musl",
            &policy(MUSL, none.clone())
        )
        .is_empty());
        assert!(rules(&fixture("hello-x86_64-linux-gnu-2.17"), GNU, &policy(GNU, none.clone())).is_empty());
        assert!(rules(
            &fixture("hello-x86_64-windows-gnu.exe"),
            MINGW,
            &policy(MINGW, none.clone())
        )
        .is_empty());
        assert!(rules(&fixture("hello-aarch64-macos"), MAC_ARM, &policy(MAC_ARM, none)).is_empty());
    }

    #[test]
    fn format_and_arch_must_match_the_triple() {
        let musl = fixture("hello-x86_64-linux-musl");
        assert_eq!(
            rules(
                &musl,
                "aarch64-unknown-linux-musl",
                &policy(MUSL, TargetConfig::default())
            ),
            ["arch"]
        );
        assert_eq!(
            rules(&musl, MAC_ARM, &policy(MAC_ARM, TargetConfig::default())),
            ["format", "arch"]
        );
    }

    #[test]
    fn musl_fails_with_a_loader_or_a_library() {
        let gnu = fixture("hello-x86_64-linux-gnu-2.17");
        let failures = check(&gnu, &target(MUSL), &policy(MUSL, TargetConfig::default()));
        assert_eq!(
            failures.iter().map(|f| f.rule).collect::<Vec<_>>(),
            ["musl-static", "musl-static"]
        );
        assert!(
            failures[0].message.contains("/lib64/ld-linux-x86-64.so.2"),
            "{}",
            failures[0]
        );
    }

    #[test]
    fn gnu_fails_above_the_glibc_ceiling_and_on_foreign_libraries() {
        let mut found = fixture("hello-x86_64-linux-gnu-2.17");
        let strict = TargetConfig {
            glibc_max: Some("2.2".parse().unwrap()),
            ..TargetConfig::default()
        };
        assert_eq!(rules(&found, GNU, &policy(GNU, strict)), ["glibc-max"]);
        found.elf.as_mut().unwrap().glibc = Some("2.34".parse().unwrap());
        assert_eq!(
            rules(&found, GNU, &policy(GNU, TargetConfig::default())),
            ["glibc-max"],
            "default ceiling is 2.17"
        );
        let raised = TargetConfig {
            glibc_max: Some("2.39".parse().unwrap()),
            ..TargetConfig::default()
        };
        assert!(rules(&found, GNU, &policy(GNU, raised)).is_empty());

        found.needed.push("libgcc_s.so.1".into());
        found.needed.push("libssl.so.3".into());
        let failures = check(
            &found,
            &target(GNU),
            &policy(
                GNU,
                TargetConfig {
                    glibc_max: Some("2.39".parse().unwrap()),
                    ..TargetConfig::default()
                },
            ),
        );
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].rule == "glibc-only" && failures[0].message.contains("libgcc_s.so.1, libssl.so.3"),
            "{}",
            failures[0]
        );
        let allowed = TargetConfig {
            glibc_max: Some("2.39".parse().unwrap()),
            allow_libs: Some(vec!["libgcc_s.so.1".into(), "libssl*".into()]),
            ..TargetConfig::default()
        };
        assert!(rules(&found, GNU, &policy(GNU, allowed)).is_empty());
    }

    #[test]
    fn msvc_fails_on_a_dynamic_crt_and_on_foreign_dlls() {
        // zig's mingw output imports the UCRT: exactly what a missing +crt-static looks like.
        let mut found = fixture("hello-x86_64-windows-gnu.exe");
        let failures = check(&found, &target(MSVC), &policy(MSVC, TargetConfig::default()));
        assert_eq!(failures.iter().map(|f| f.rule).collect::<Vec<_>>(), ["static-crt"]);
        assert!(
            failures[0].message.contains("api-ms-win-crt-heap-l1-1-0.dll")
                && failures[0].message.contains("+crt-static")
        );

        found.needed = vec![
            "KERNEL32.dll".into(),
            "VCRUNTIME140.dll".into(),
            "ucrtbase.dll".into(),
            "msvcp140.dll".into(),
            "libssl-3-x64.dll".into(),
        ];
        let failures = check(&found, &target(MSVC), &policy(MSVC, TargetConfig::default()));
        assert_eq!(
            failures.iter().map(|f| f.rule).collect::<Vec<_>>(),
            ["static-crt", "system-dlls"]
        );
        assert!(
            failures[0]
                .message
                .contains("VCRUNTIME140.dll, ucrtbase.dll, msvcp140.dll"),
            "{}",
            failures[0]
        );
        assert!(failures[1].message.contains("libssl-3-x64.dll"));
        found.needed = vec![
            "kernel32.dll".into(),
            "api-ms-win-core-synch-l1-2-0.dll".into(),
            "libssl-3-x64.dll".into(),
        ];
        let allowed = TargetConfig {
            allow_dlls: Some(vec!["LIBSSL-3-X64.DLL".into()]),
            ..TargetConfig::default()
        };
        assert!(rules(&found, MSVC, &policy(MSVC, allowed)).is_empty());
    }

    #[test]
    fn mingw_fails_on_its_runtime_dlls() {
        let mut found = fixture("hello-x86_64-windows-gnu.exe");
        found.needed.extend([
            "libgcc_s_seh-1.dll".into(),
            "libwinpthread-1.dll".into(),
            "libstdc++-6.dll".into(),
        ]);
        let failures = check(&found, &target(MINGW), &policy(MINGW, TargetConfig::default()));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].rule, "gnu-runtime-dlls");
        assert!(failures[0]
            .message
            .contains("libgcc_s_seh-1.dll, libwinpthread-1.dll, libstdc++-6.dll"));
    }

    #[test]
    fn darwin_fails_on_foreign_dylibs_rpaths_and_a_missing_signature() {
        let mut found = fixture("hello-aarch64-macos");
        found.needed.push("/opt/homebrew/lib/libssl.3.dylib".into());
        found.needed.push("@rpath/libfoo.dylib".into());
        found.needed.push("/usr/lib/../local/lib/libz.dylib".into());
        let slice = &mut found.macho.as_mut().unwrap().slices[0];
        slice.rpaths.push("/usr/local/lib".into());
        slice.code_signature = false;
        let failures = check(&found, &target(MAC_ARM), &policy(MAC_ARM, TargetConfig::default()));
        assert_eq!(
            failures.iter().map(|f| f.rule).collect::<Vec<_>>(),
            ["system-dylibs", "system-dylibs", "code-signature"]
        );
        assert!(
            failures[0]
                .message
                .contains("/opt/homebrew/lib/libssl.3.dylib, @rpath/libfoo.dylib, /usr/lib/../local/lib/libz.dylib"),
            "{}",
            failures[0]
        );
        // An unsigned x86_64 binary is fine: only arm64 macOS refuses to start one.
        let mut x86 = fixture("hello-x86_64-macos");
        x86.macho.as_mut().unwrap().slices[0].code_signature = false;
        assert!(rules(&x86, "x86_64-apple-darwin", &policy(MAC_ARM, TargetConfig::default())).is_empty());
    }

    #[test]
    fn a_universal_binary_serves_both_apple_targets_and_each_slice_is_checked() {
        let read = |name: &str| {
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
        };
        let (x86, arm) = (read("hello-x86_64-macos"), read("hello-aarch64-macos"));
        let mut found = inspect::inspect(&inspect::tests::fat(&[&x86, &arm])).unwrap();
        for target in ["x86_64-apple-darwin", MAC_ARM] {
            assert!(
                rules(&found, target, &policy(target, TargetConfig::default())).is_empty(),
                "{target}"
            );
        }
        assert_eq!(
            rules(
                &found,
                "x86_64-unknown-linux-musl",
                &policy(MUSL, TargetConfig::default())
            ),
            ["format", "musl-static"]
        );
        found.macho.as_mut().unwrap().slices[1].code_signature = false;
        assert_eq!(
            rules(&found, "x86_64-apple-darwin", &policy(MAC_ARM, TargetConfig::default())),
            ["code-signature"]
        );
        let thin_x86 = inspect::inspect(&inspect::tests::fat(&[&x86])).unwrap();
        assert_eq!(
            rules(&thin_x86, MAC_ARM, &policy(MAC_ARM, TargetConfig::default())),
            ["arch"]
        );
    }

    #[test]
    fn stripped_and_max_size_apply_to_every_target() {
        let found = fixture("hello-x86_64-macos");
        let mut policy = Policy::new(&target("x86_64-apple-darwin"), None, Strip::Symbols);
        assert_eq!(rules(&found, "x86_64-apple-darwin", &policy), ["stripped"]);
        policy.strip = Strip::None;
        policy.max_size = Some(1000);
        let failures = check(&found, &target("x86_64-apple-darwin"), &policy);
        assert_eq!(failures[0].rule, "max-size");
        assert!(failures[0].message.contains("16685 bytes, over max-size 1000"));
    }

    /// A real binary from the host's C compiler (glibc, so held to the -gnu rules with a
    /// ceiling the host's glibc is under).
    fn cc(flags: &[&str]) -> Inspection {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hello.c");
        let out = dir.path().join("hello");
        let status = std::process::Command::new("cc")
            .args(flags)
            .arg(&source)
            .arg("-o")
            .arg(&out)
            .status()
            .expect("cc runs");
        assert!(status.success(), "cc {flags:?}");
        inspect::inspect(&std::fs::read(out).unwrap()).unwrap()
    }

    fn host_gnu(extra: TargetConfig) -> Policy {
        policy(
            GNU,
            TargetConfig {
                glibc_max: Some("2.99".parse().unwrap()),
                ..extra
            },
        )
    }

    #[test]
    fn an_executable_stack_fails_on_linux_unless_allowed() {
        let plain = cc(&["-s"]);
        assert!(rules(&plain, GNU, &host_gnu(TargetConfig::default())).is_empty());
        let exec = cc(&["-s", "-z", "execstack"]);
        let failures = check(&exec, &target(GNU), &host_gnu(TargetConfig::default()));
        assert_eq!(failures.iter().map(|f| f.rule).collect::<Vec<_>>(), ["exec-stack"]);
        assert!(failures[0].message.contains("PT_GNU_STACK"), "{}", failures[0]);
        // The same binary held to musl: the rule is the family's, not glibc's.
        assert!(rules(&exec, MUSL, &policy(MUSL, TargetConfig::default())).contains(&"exec-stack"));
        let allowed = TargetConfig {
            allow_exec_stack: Some(true),
            ..TargetConfig::default()
        };
        assert!(rules(&exec, GNU, &host_gnu(allowed)).is_empty());
        // Only Linux runs the ELF rules: a flag set on a PE-target policy changes nothing.
        assert!(rules(&exec, MINGW, &policy(MINGW, TargetConfig::default())).contains(&"format"));
    }

    #[test]
    fn rpath_and_runpath_outside_origin_fail_on_linux_unless_allowed() {
        for (flags, outside) in [
            (
                &["-s", "-Wl,-rpath,/home/ci/build/lib"][..],
                vec!["`/home/ci/build/lib`"],
            ),
            (
                &["-s", "-Wl,--disable-new-dtags,-rpath,/opt/x:$ORIGIN/../lib"][..],
                vec!["`/opt/x`"],
            ),
            (&["-s", "-Wl,-rpath,lib"][..], vec!["`lib`"]),
            (&["-s", "-Wl,-rpath,$ORIGINAL/lib"][..], vec!["`$ORIGINAL/lib`"]),
        ] {
            let found = cc(flags);
            let failures = check(&found, &target(GNU), &host_gnu(TargetConfig::default()));
            assert_eq!(
                failures.iter().map(|f| f.rule).collect::<Vec<_>>(),
                ["rpath"],
                "{flags:?}"
            );
            for entry in outside {
                assert!(failures[0].message.contains(entry), "{flags:?}: {}", failures[0]);
            }
            assert!(!failures[0].message.contains("$ORIGIN/"), "{}", failures[0]);
        }
        for origin in ["$ORIGIN", "$ORIGIN/../lib", "${ORIGIN}/lib"] {
            let found = cc(&["-s", &format!("-Wl,-rpath,{origin}")]);
            let elf = found.elf.as_ref().unwrap();
            assert_eq!(elf.runpath, [origin], "cc wrote the entry");
            assert!(
                rules(&found, GNU, &host_gnu(TargetConfig::default())).is_empty(),
                "{origin}"
            );
        }
        let found = cc(&["-s", "-Wl,-rpath,/opt/vendor/lib:/opt/other"]);
        let allowed = TargetConfig {
            allow_rpath: Some(vec!["/opt/vendor/*".into(), "/OPT/OTHER".into()]),
            ..TargetConfig::default()
        };
        assert!(rules(&found, GNU, &host_gnu(allowed)).is_empty());
        let partly = TargetConfig {
            allow_rpath: Some(vec!["/opt/vendor/*".into()]),
            ..TargetConfig::default()
        };
        assert_eq!(rules(&found, GNU, &host_gnu(partly)), ["rpath"]);
    }

    #[test]
    fn a_pdb_path_that_names_a_build_directory_fails() {
        // Built from hello-nostd.rs with rust-lld (fixtures/README.md): the file name only
        // (rustc's default /PDBALTPATH:%_PDB%, and this repository's msvc release builds), no
        // PDB at all (/DEBUG:NONE, its dist builds), and a full build path.
        for name in ["pdb-name-only.exe", "pdb-none.exe", "hello-pdb.exe"] {
            let triple = if name == "hello-pdb.exe" { MINGW } else { MSVC };
            let found = fixture(name);
            assert!(
                rules(&found, triple, &Policy::new(&target(triple), None, Strip::None)).is_empty(),
                "{name}: {:?}",
                found.pe
            );
        }
        assert_eq!(fixture("pdb-none.exe").pe.unwrap().pdb_path, None);
        assert_eq!(
            fixture("pdb-name-only.exe").pe.unwrap().pdb_path.as_deref(),
            Some("pdb-name-only.pdb")
        );
        let leaked = fixture("pdb-absolute.exe");
        let failures = check(
            &leaked,
            &target(MSVC),
            &Policy::new(&target(MSVC), None, Strip::Symbols),
        );
        assert_eq!(failures.iter().map(|f| f.rule).collect::<Vec<_>>(), ["pdb-path"]);
        assert!(
            failures[0]
                .message
                .contains("/home/ci/work/app/target/release/deps/app.pdb")
                && failures[0].message.contains("/PDBALTPATH:%_PDB%"),
            "{}",
            failures[0]
        );
        for path in [
            r"C:\build\app.pdb",
            r"\\server\share\app.pdb",
            "target/app.pdb",
            "c:app.pdb",
        ] {
            assert!(pdb_leaks_a_directory(path), "{path}");
        }
        assert!(!pdb_leaks_a_directory("app.pdb"));
    }

    #[test]
    fn the_strip_rule_holds_a_binary_to_what_the_profile_says() {
        // Unstripped and with debug info, stripped of debug info only, fully stripped.
        let debug = cc(&["-g"]);
        let symbols_only = cc(&["-g", "-Wl,--strip-debug"]);
        let stripped = cc(&["-g", "-s"]);
        assert!(symbols_only.debug_info().is_empty() && symbols_only.elf.as_ref().unwrap().symtab);
        let with = |strip| {
            let mut policy = host_gnu(TargetConfig::default());
            policy.strip = strip;
            policy
        };
        for (found, strip, expect) in [
            (&debug, Strip::None, &[][..]),
            (&debug, Strip::DebugInfo, &["stripped"][..]),
            (&debug, Strip::Symbols, &["stripped"][..]),
            (&symbols_only, Strip::None, &[][..]),
            (&symbols_only, Strip::DebugInfo, &[][..]),
            (&symbols_only, Strip::Symbols, &["stripped"][..]),
            (&stripped, Strip::DebugInfo, &[][..]),
            (&stripped, Strip::Symbols, &[][..]),
        ] {
            assert_eq!(rules(found, GNU, &with(strip)), expect, "{strip:?}");
        }
        // Mach-O keeps its debug info as stabs in the symbol table: zig's -g output has them,
        // the -s one only local symbols.
        let mac = "x86_64-apple-darwin";
        let mac_policy = |strip| Policy::new(&target(mac), None, strip);
        let mac_debug = fixture("hello-x86_64-macos-debug");
        assert_eq!(rules(&mac_debug, mac, &mac_policy(Strip::DebugInfo)), ["stripped"]);
        assert_eq!(mac_debug.debug_info(), ["the x86_64 slice's debug symbols"]);
        assert!(rules(&fixture("hello-x86_64-macos"), mac, &mac_policy(Strip::DebugInfo)).is_empty());
        assert_eq!(
            rules(&fixture("hello-x86_64-macos"), mac, &mac_policy(Strip::Symbols)),
            ["stripped"]
        );

        let failure = &check(&debug, &target(GNU), &with(Strip::DebugInfo))[0];
        assert!(
            failure.message.contains(".debug_info") && failure.message.contains("strip = \"debuginfo\""),
            "{failure}"
        );
    }
}
