//! Stage 4, inspect: what a binary links against, read from its own headers with goblin.
//! A pure function over bytes: nothing is executed, no process is spawned, and no input
//! makes it panic (goblin has panicked and run out of memory on malformed files —
//! goblin#120, #459 — so the input size is bounded here and parsing runs under
//! `catch_unwind`). One file per format: elf.rs, pe.rs, macho.rs (codesign.rs checks a Mach-O
//! signature's page hashes); file.rs maps a file.

pub mod binds;
mod codesign;
pub mod deplist;
mod elf;
mod file;
mod macho;
mod pe;

pub use file::{inspect_file, map, Mapped};
pub use pe::{is_crt_dll, is_ucrt_dll};

use crate::model::{Format, GlibcVersion, MacosVersion};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Inputs larger than this are refused unread: no release binary is that big, and the parser
/// must never be handed an unbounded input.
pub const MAX_INPUT: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// No dynamic section at all (a plain static ET_EXEC).
    Static,
    /// Position-independent and self-relocating, yet needs no loader or library.
    StaticPie,
    /// Needs a loader or shared libraries / DLLs / dylibs at run time.
    Dynamic,
}

impl std::fmt::Display for Linkage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Linkage::Static => "static",
            Linkage::StaticPie => "static-pie",
            Linkage::Dynamic => "dynamic",
        })
    }
}

/// What a binary's headers say about it. The common fields first; the per-format details
/// below, exactly one of them set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub format: Format,
    /// Normalised like a triple's first component: x86_64, aarch64, x86, arm, …; for a
    /// universal Mach-O the slices' architectures joined with `+`.
    pub arch: String,
    pub linkage: Linkage,
    /// ELF PT_INTERP: the dynamic loader the kernel would start.
    pub interpreter: Option<String>,
    /// DT_NEEDED libraries, PE DLL imports or Mach-O LC_LOAD_DYLIB paths (all slices).
    pub needed: Vec<String>,
    /// No symbol table or debug info left in the file.
    pub stripped: bool,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf: Option<ElfDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe: Option<PeDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macho: Option<MachODetails>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfDetails {
    /// 32 or 64.
    pub class: u8,
    pub e_machine: u16,
    /// "exec" (ET_EXEC), "dyn" (ET_DYN) or the raw number.
    pub e_type: String,
    /// DT_FLAGS_1 has DF_1_PIE.
    pub pie: bool,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    pub symtab: bool,
    /// Names of the .debug_* / .zdebug_* sections.
    pub debug_sections: Vec<String>,
    /// PT_GNU_STACK asks for an executable stack; None when there is no PT_GNU_STACK (the
    /// kernel then decides, executable on older x86).
    pub executable_stack: Option<bool>,
    /// Highest GLIBC_x.y the binary requires (.gnu.version_r), e.g. "2.17".
    pub glibc: Option<GlibcVersion>,
    /// Highest GLIBCXX_x.y.z the binary requires.
    pub glibcxx: Option<GlibcVersion>,
    /// Every symbol version the binary requires (.gnu.version_r), by library:
    /// `libgcc_s.so.1` → [`GCC_3.0`, `GCC_4.2.0`], as auditwheel reads them.
    #[serde(default)]
    pub versions: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeDetails {
    pub machine: u16,
    /// "console", "windows", "efi-application", … or the raw number.
    pub subsystem: String,
    /// The CodeView PDB path the linker wrote: it shows the build machine's directory.
    pub pdb_path: Option<String>,
    /// No vcruntime*, msvcp*, api-ms-win-crt-* or ucrtbase import: the C runtime is inside.
    pub static_crt: bool,
    /// Names of the .debug_* sections (DWARF that MinGW linkers leave in the image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debug_sections: Vec<String>,
    /// The embedded application manifest (the RT_MANIFEST resource), as text: what
    /// Windows reads for long paths, the code page, UAC and supported OS versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachODetails {
    /// A universal binary (fat header), even with one slice.
    pub fat: bool,
    pub slices: Vec<MachOSlice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachOSlice {
    pub arch: String,
    pub cputype: u32,
    /// LC_LOAD_DYLIB (and weak / re-export / lazy) paths.
    pub dylibs: Vec<String>,
    pub rpaths: Vec<String>,
    /// From LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX, e.g. "11.0".
    pub min_os: Option<MacosVersion>,
    /// It has an LC_CODE_SIGNATURE (whether it matches is `signature`'s).
    pub code_signature: bool,
    /// The LC_CODE_SIGNATURE's CodeDirectory checked against the pages it hashes.
    #[serde(default = "Signature::unchecked")]
    pub signature: Signature,
    pub stripped: bool,
    /// Debug info is left: debugging (N_STAB) symbols, or a __DWARF segment.
    #[serde(default, skip_serializing_if = "is_false")]
    pub debug_info: bool,
    /// Where a universal binary's fat header places this slice; None in a thin file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fat_entry: Option<FatEntry>,
    /// MH_TWOLEVEL: each import names the library it comes from.
    #[serde(default = "yes")]
    pub two_level: bool,
    /// The loaded libraries (LC_LOAD_DYLIB, weak, re-export, upward, lazy) in load-command
    /// order, so library ordinal n is `libraries[n - 1]`, with the versions they require.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libraries: Vec<LoadedDylib>,
    /// Every imported symbol and the library ordinal it binds through (binds.rs); not in
    /// the manifest, where thousands of names would say nothing the rules do not.
    #[serde(skip)]
    pub binds: Vec<binds::Bind>,
    /// Why the bind information could not be read, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds_unreadable: Option<String>,
}

/// A slice's entry in the fat header, as written (what the loader trusts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FatEntry {
    /// The CPU type the header claims, which must be the slice's own.
    pub cputype: u32,
    pub offset: u64,
    pub size: u64,
    /// The slice's alignment as a power of two (14: 16 KiB).
    pub align: u32,
}

fn yes() -> bool {
    true
}

/// A library a Mach-O slice loads: its install name and the versions it was linked against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedDylib {
    pub name: String,
    /// The compatibility version the library must have at least, e.g. "150.0.0".
    pub compatibility: MacosVersion,
    pub current: MacosVersion,
}

/// What a Mach-O slice's code signature is worth: macOS on Apple silicon kills an arm64
/// binary at launch unless every page hashes as its CodeDirectory says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Signature {
    /// No LC_CODE_SIGNATURE.
    Missing,
    /// Every CodeDirectory's page hashes match the file.
    Valid {
        /// "sha256", "sha256-truncated" or "sha384", one per CodeDirectory.
        hashes: Vec<String>,
        pages: u64,
    },
    /// The signature does not match the file, or cannot be read: what is wrong, and the
    /// first page (of `page_size` bytes from the slice's start) whose hash differs.
    Invalid {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_bad_page: Option<u64>,
    },
    /// A well-formed signature this tool cannot check (SHA-1 only, an unknown hash type).
    Unsupported { reason: String },
}

impl Signature {
    /// What a manifest written before signatures were checked says.
    fn unchecked() -> Signature {
        Signature::Unsupported {
            reason: "not checked: written by a version that did not check signatures".into(),
        }
    }

    /// A word or two for the verify table's notes.
    pub fn note(&self) -> String {
        match self {
            Signature::Missing => "unsigned".into(),
            Signature::Valid { .. } => "signature valid".into(),
            Signature::Invalid {
                first_bad_page: Some(page),
                ..
            } => format!("signature invalid at page {page}"),
            Signature::Invalid { .. } => "signature invalid".into(),
            Signature::Unsupported { .. } => "signature unchecked".into(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

impl Inspection {
    /// The architectures present: one, or each slice of a universal Mach-O.
    pub fn archs(&self) -> Vec<&str> {
        match &self.macho {
            Some(m) => m.slices.iter().map(|s| s.arch.as_str()).collect(),
            None => vec![self.arch.as_str()],
        }
    }

    /// Where debug info is left in the file (debug sections, or Mach-O stabs per slice);
    /// empty when there is none.
    pub fn debug_info(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Some(elf) = &self.elf {
            found.extend(elf.debug_sections.iter().cloned());
        }
        if let Some(pe) = &self.pe {
            found.extend(pe.debug_sections.iter().cloned());
        }
        for slice in self.macho.iter().flat_map(|m| &m.slices) {
            if slice.debug_info {
                found.push(format!("the {} slice's debug symbols", slice.arch));
            }
        }
        found
    }
}

/// Reads the headers of an executable. Errors are one line for a person to read.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, String> {
    if bytes.len() as u64 > MAX_INPUT {
        return Err(format!(
            "{} bytes is larger than the {MAX_INPUT}-byte limit for a release binary",
            bytes.len()
        ));
    }
    match std::panic::catch_unwind(|| parse(bytes)) {
        Ok(result) => result,
        Err(_) => Err("malformed binary: the parser gave up on its headers".into()),
    }
}

fn parse(bytes: &[u8]) -> Result<Inspection, String> {
    let not_binary = |e: goblin::error::Error| format!("malformed or not an executable: {e}");
    match bytes.get(..4) {
        Some(b"\x7fELF") => elf::parse(bytes).map_err(not_binary),
        Some([b'M', b'Z', ..]) => pe::parse(bytes).map_err(not_binary),
        Some(magic) => match u32::from_be_bytes(magic.try_into().unwrap_or_default()) {
            // Thin Mach-O in either byte order, 32 or 64 bit, and the fat header.
            0xfeedface | 0xfeedfacf | 0xcefaedfe | 0xcffaedfe | 0xcafebabe | 0xbebafeca => {
                macho::parse(bytes).map_err(not_binary)
            }
            _ => Err("not an executable: no ELF, PE or Mach-O header".into()),
        },
        None => Err("not an executable: shorter than any header".into()),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Runs `f` over every file of a committed fuzz corpus (fuzz/regression/<name>, minimised
    /// with `cargo fuzz cmin`) and fails if any input panicked, even where inspect's
    /// catch_unwind would have hidden the panic, as libFuzzer's hook does.
    pub fn replay_corpus(name: &str, f: impl Fn(&[u8])) {
        // The panic hook is process-wide: one replay at a time installs and removes it.
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regression")
            .join(name);
        let mut inputs: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        inputs.sort();
        assert!(
            inputs.len() > 100,
            "{} holds only {} inputs",
            dir.display(),
            inputs.len()
        );
        let this_thread = std::thread::current().id();
        let panicked = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let seen = panicked.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == this_thread {
                seen.lock().unwrap().get_or_insert_with(|| info.to_string());
            } else {
                previous(info);
            }
        }));
        for input in &inputs {
            f(&std::fs::read(input).unwrap());
            if let Some(message) = panicked.lock().unwrap().take() {
                let _ = std::panic::take_hook();
                panic!("{} panicked: {message}", input.display());
            }
        }
        let _ = std::panic::take_hook();
    }

    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        replay_corpus("inspect", |bytes| {
            if let Ok(found) = inspect(bytes) {
                serde_json::to_string(&found).unwrap();
            }
        });
    }

    pub fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A committed fixture binary, inspected.
    pub fn inspected(name: &str) -> Inspection {
        inspect(&fixture(name)).unwrap()
    }

    /// A universal binary from thin slices, laid out as lipo does (big-endian fat header,
    /// slices aligned to 2^14).
    pub fn fat(slices: &[&[u8]]) -> Vec<u8> {
        const ALIGN: usize = 1 << 14;
        let mut out = Vec::new();
        out.extend(0xcafe_babe_u32.to_be_bytes());
        out.extend((slices.len() as u32).to_be_bytes());
        let mut offset = ALIGN;
        for slice in slices {
            out.extend(&slice[4..8].iter().rev().copied().collect::<Vec<u8>>()); // cputype, LE to BE
            out.extend(&slice[8..12].iter().rev().copied().collect::<Vec<u8>>()); // cpusubtype
            out.extend((offset as u32).to_be_bytes());
            out.extend((slice.len() as u32).to_be_bytes());
            out.extend(14u32.to_be_bytes());
            offset += slice.len().div_ceil(ALIGN) * ALIGN;
        }
        for slice in slices {
            out.resize(out.len().div_ceil(ALIGN) * ALIGN, 0);
            out.extend_from_slice(slice);
        }
        out
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b""[..],
            b"\x7fELF",
            b"MZ\0\0",
            b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe\0\0\0\x01",
            b"#!/bin/sh\necho hi\n",
            &[0xff; 4096],
        ] {
            assert!(inspect(input).is_err(), "{input:?}");
        }
    }

    /// Every real fixture cut short at many lengths: the parser itself (`parse`, without
    /// inspect's catch_unwind net) must return, and every cut that loses the headers the
    /// answer rests on must be an error, never a half-read inspection.
    #[test]
    fn truncated_real_binaries_never_panic() {
        for name in [
            "hello-x86_64-linux-musl",
            "hello-aarch64-linux-musl",
            "hello-x86_64-linux-gnu-2.17",
            "hello-x86_64-windows-gnu.exe",
            "hello-pdb.exe",
            "hello-x86_64-macos",
            "hello-aarch64-macos",
        ] {
            let bytes = fixture(name);
            assert!(parse(&bytes).is_ok(), "{name} whole");
            let mut errors = 0;
            let lengths: Vec<usize> = (0..bytes.len()).step_by(97).chain([bytes.len() - 1]).collect();
            for &len in &lengths {
                if parse(&bytes[..len]).is_err() {
                    errors += 1;
                }
            }
            // The first 64 bytes hold no complete header of any format.
            for len in 0..64 {
                assert!(parse(&bytes[..len]).is_err(), "{name} cut to {len} bytes parsed");
            }
            assert!(
                errors > lengths.len() / 2,
                "{name}: only {errors} of {} cuts were errors",
                lengths.len()
            );
        }
    }

    /// Runs `f` with the Mach-O pre-check off on this thread, so that goblin itself meets
    /// the input the pre-check refuses.
    pub fn without_precheck<T>(f: impl FnOnce() -> T) -> T {
        macho::SKIP_PRECHECK.with(|s| s.set(true));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        macho::SKIP_PRECHECK.with(|s| s.set(false));
        result.unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    pub const GOBLIN_PANIC: &str = "fuzz/crash-835edbd5f6c922803a6da2b63feef7a741c81ec4";

    /// The safety net under the pre-checks: a real goblin panic (the fuzzer's LC_MAIN
    /// overflow, with the pre-check that prevents it turned off) is an error, not a crash.
    #[test]
    fn a_goblin_panic_is_an_error_not_a_crash() {
        let bytes = fixture(GOBLIN_PANIC);
        without_precheck(|| {
            assert!(
                std::panic::catch_unwind(|| parse(&bytes)).is_err(),
                "goblin no longer panics on {GOBLIN_PANIC}: find another input for this test"
            );
            assert_eq!(
                inspect(&bytes),
                Err("malformed binary: the parser gave up on its headers".to_string())
            );
        });
        // With the pre-check, goblin never sees it.
        assert!(parse(&bytes).unwrap_err().contains("__TEXT segment starts in memory"));
    }

    /// Inputs over MAX_INPUT are refused before anything is read: a sparse file one byte
    /// over the bound takes no disk space and is never mapped.
    #[test]
    fn inputs_over_one_gib_are_refused_unread() {
        assert_eq!(MAX_INPUT, 1 << 30);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_INPUT + 1).unwrap();
        let err = format!("{:#}", map(&path).err().unwrap());
        assert!(
            err.contains("is 1073741825 bytes, larger than any release binary"),
            "{err}"
        );
        let err = format!("{:#}", inspect_file(&path).unwrap_err());
        assert!(err.contains("larger than any release binary"), "{err}");
        // At the bound it is mapped (and, all zeros, is no executable).
        file.set_len(MAX_INPUT).unwrap();
        assert_eq!(map(&path).unwrap().bytes().len() as u64, MAX_INPUT);
        assert!(inspect_file(&path)
            .unwrap_err()
            .to_string()
            .contains("not an executable"));
    }

    /// xorshift64*: deterministic, so a failing case names its seed and replays.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// One seeded mutation of a real binary: bit flips, a header field overwritten with a
    /// boundary value, a truncation, or a run of bytes zeroed or filled. Headers sit at the
    /// start and (ELF section headers, Mach-O link-edit) the end, so three in four offsets
    /// land in the first 4 KiB or the last 4 KiB.
    fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut bytes = original.to_vec();
        for _ in 0..1 + rng.below(4) {
            let len = bytes.len();
            let offset = |rng: &mut Rng| match rng.below(4) {
                0 => rng.below(len),
                1 => len.saturating_sub(1 + rng.below(4096.min(len))),
                _ => rng.below(4096.min(len)),
            };
            match rng.below(5) {
                0 => {
                    let at = offset(rng);
                    bytes[at] ^= 1 << rng.below(8);
                }
                1 => {
                    let values: [u64; 8] = [0, 1, 0x7f, 0xff, 0x7fff_ffff, 0xffff_ffff, u64::MAX, len as u64];
                    let value = values[rng.below(values.len())].to_le_bytes();
                    let width = [2, 4, 8][rng.below(3)];
                    let at = offset(rng).min(len.saturating_sub(width));
                    bytes[at..at + width.min(len)].copy_from_slice(&value[..width.min(len)]);
                }
                2 => bytes.truncate(rng.below(len)),
                3 => {
                    let at = offset(rng);
                    let end = (at + 1 + rng.below(64)).min(bytes.len());
                    let fill = [0, 0xff][rng.below(2)];
                    bytes[at.min(end)..end].fill(fill);
                }
                _ => {
                    let at = offset(rng);
                    let value = rng.next() as u8;
                    if let Some(b) = bytes.get_mut(at) {
                        *b = value;
                    }
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        bytes
    }

    /// Mutation fuzzing inside `cargo test`, for a bounded number of deterministic cases:
    /// real binaries of all three formats (the zig-built fixtures, and the Rust toolchain's
    /// own release `cargo` and `rustc` ELF binaries from the sysroot), each mutated and fed to
    /// `parse` without inspect's catch_unwind net, then serialised as dist does. A panic
    /// fails the test, naming the file and the seed.
    #[test]
    fn mutated_real_binaries_never_panic() {
        let mut inputs: Vec<(String, Vec<u8>, u64)> = [
            "hello-x86_64-linux-musl",
            "hello-aarch64-linux-musl",
            "hello-x86_64-linux-gnu-2.17",
            "hello-x86_64-windows-gnu.exe",
            "hello-pdb.exe",
            "pdb-absolute.exe",
            "hello-x86_64-macos",
            "hello-aarch64-macos",
            "hello-x86_64-macos-debug",
        ]
        .iter()
        .map(|name| (name.to_string(), fixture(name), 600))
        .collect();
        let arm = fixture("hello-aarch64-macos");
        let x86 = fixture("hello-x86_64-macos");
        inputs.push(("universal".into(), fat(&[&x86, &arm]), 600));
        // Large real release binaries: fewer cases, each a copy of the whole file.
        let sysroot = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .args(["--print", "sysroot"])
            .output()
            .expect("rustc runs");
        let sysroot = std::path::PathBuf::from(String::from_utf8(sysroot.stdout).unwrap().trim());
        for tool in ["bin/cargo", "bin/rustc"] {
            let path = sysroot.join(tool);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(parse(&bytes).is_ok(), "{} does not parse", path.display());
            inputs.push((path.display().to_string(), bytes, 60));
        }
        let mut cases = 0;
        for (name, original, count) in &inputs {
            assert!(parse(original).is_ok(), "{name} does not parse unmutated");
            for case in 0..*count {
                let seed = 0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x1000_0001);
                let bytes = mutate(original, &mut Rng(seed));
                let started = std::time::Instant::now();
                let result = std::panic::catch_unwind(|| {
                    if let Ok(found) = parse(&bytes) {
                        serde_json::to_string(&found).unwrap();
                        found.debug_info();
                    }
                });
                assert!(result.is_ok(), "{name} mutated with seed {seed:#x} panics");
                assert!(
                    started.elapsed().as_secs() < 2,
                    "{name} mutated with seed {seed:#x} takes {:?}",
                    started.elapsed()
                );
                cases += 1;
            }
        }
        assert_eq!(cases, 10 * 600 + 2 * 60);
    }

    #[test]
    fn fuzzer_findings_stay_fixed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let started = std::time::Instant::now();
            // `parse`, not `inspect`: catch_unwind must not be what saves us here.
            let result = std::panic::catch_unwind(|| parse(&bytes));
            assert!(result.is_ok(), "{} panics again", path.display());
            assert!(started.elapsed().as_secs() < 2, "{} is slow again", path.display());
        }
    }

    #[test]
    fn the_running_test_binary_is_a_dynamic_elf_of_the_host() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let found = inspect(&bytes).unwrap();
        assert_eq!(found.format, Format::Elf);
        assert_eq!(found.arch, std::env::consts::ARCH);
        assert_eq!(found.linkage, Linkage::Dynamic);
        let elf = found.elf.unwrap();
        assert_eq!((elf.class, elf.e_type.as_str()), (64, "dyn"));
        assert!(elf.pie && elf.symtab && !found.stripped);
        assert_eq!(elf.executable_stack, Some(false));
        assert!(found.needed.iter().any(|l| l == "libc.so.6"), "{:?}", found.needed);
        assert!(elf.glibc.unwrap() >= "2.2".parse().unwrap());
    }

    /// Real binaries from the host's C compiler with the flags that set each ELF detail.
    #[test]
    fn rpath_runpath_debug_sections_and_executable_stack_from_cc() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hello.c"),
            "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
        )
        .unwrap();
        let cc = |out: &str, flags: &[&str]| {
            let status = std::process::Command::new("cc")
                .args(flags)
                .args(["hello.c", "-o", out])
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "cc {flags:?}");
            inspect(&std::fs::read(dir.path().join(out)).unwrap()).unwrap()
        };
        let found = cc("debug", &["-g", "-Wl,-rpath,/opt/x", "-z", "execstack"]);
        let elf = found.elf.as_ref().unwrap();
        assert_eq!(
            (elf.runpath.as_slice(), elf.rpath.len()),
            (&["/opt/x".to_string()][..], 0)
        );
        assert_eq!(elf.executable_stack, Some(true));
        assert!(
            elf.symtab && elf.debug_sections.iter().any(|s| s == ".debug_info"),
            "{:?}",
            elf.debug_sections
        );
        assert!(!found.stripped);

        let found = cc("stripped", &["-s", "-Wl,--disable-new-dtags,-rpath,/opt/y"]);
        let elf = found.elf.as_ref().unwrap();
        assert_eq!(
            (elf.rpath.as_slice(), elf.runpath.len()),
            (&["/opt/y".to_string()][..], 0)
        );
        assert_eq!(elf.executable_stack, Some(false));
        assert!(found.stripped && !elf.symtab && elf.debug_sections.is_empty());

        // What rustc leaves in a stripped binary built with debuginfo (ripgrep's release
        // profile): an allocated `.debug_gdb_scripts`, which no strip removes.
        std::fs::write(
            dir.path().join("hello.c"),
            "__attribute__((section(\".debug_gdb_scripts\"), used)) static const char gdb[] = \"\\1gdb_load_rust_pretty_printers.py\";\nint main(void) { return 0; }\n",
        )
        .unwrap();
        let found = cc("gdb-scripts", &["-s"]);
        assert!(found.stripped, "{:?}", found.elf.as_ref().unwrap().debug_sections);
    }

    #[test]
    fn zig_glibc_2_17_binary_needs_at_most_2_17() {
        let found = inspect(&fixture("hello-x86_64-linux-gnu-2.17")).unwrap();
        let elf = found.elf.unwrap();
        assert_eq!(found.interpreter.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(found.needed, ["libc.so.6"]);
        assert!(
            *elf.glibc.as_ref().unwrap() <= "2.17".parse().unwrap(),
            "{:?}",
            elf.glibc
        );
        assert_eq!(elf.glibcxx, None);
        assert_eq!(elf.versions.keys().collect::<Vec<_>>(), ["libc.so.6"]);
        assert!(elf.versions["libc.so.6"].iter().all(|v| v.starts_with("GLIBC_")));
        assert!(found.stripped);
    }

    #[test]
    fn musl_c_binaries_are_static() {
        for (name, arch) in [
            ("hello-x86_64-linux-musl", "x86_64"),
            ("hello-aarch64-linux-musl", "aarch64"),
        ] {
            let found = inspect(&fixture(name)).unwrap();
            assert_eq!((found.arch.as_str(), found.linkage), (arch, Linkage::Static), "{name}");
            assert_eq!(found.interpreter, None);
            assert!(found.needed.is_empty());
        }
    }

    #[test]
    fn pe_imports_subsystem_and_crt() {
        let found = inspect(&fixture("hello-x86_64-windows-gnu.exe")).unwrap();
        assert_eq!(
            (found.format, found.arch.as_str(), found.linkage),
            (Format::Pe, "x86_64", Linkage::Dynamic)
        );
        assert!(found.needed.iter().any(|d| d == "KERNEL32.dll"), "{:?}", found.needed);
        let pe = found.pe.unwrap();
        assert_eq!(pe.subsystem, "console");
        assert_eq!(pe.machine, goblin::pe::header::COFF_MACHINE_X86_64);
        assert!(
            !pe.static_crt,
            "zig's mingw links the UCRT dynamically (api-ms-win-crt-*)"
        );
        assert_eq!(pe.pdb_path, None);
    }

    #[test]
    fn pe_embedded_manifest_reads_back() {
        let pe = inspect(&fixture("manifest-embedded.exe")).unwrap().pe.unwrap();
        let manifest = pe.manifest.unwrap();
        assert!(manifest.starts_with("<?xml"), "{manifest}");
        assert!(
            manifest.contains(">true</ws2:longPathAware>") && manifest.contains("requestedExecutionLevel"),
            "the input merged with lld-link's default: {manifest}"
        );
        assert_eq!(inspect(&fixture("pdb-none.exe")).unwrap().pe.unwrap().manifest, None);
    }

    #[test]
    fn pe_pdb_path_is_reported() {
        let pe = inspect(&fixture("hello-pdb.exe")).unwrap().pe.unwrap();
        assert_eq!(pe.pdb_path.as_deref(), Some("hello-pdb2.pdb"));
    }

    #[test]
    fn macho_slices_min_os_and_signature() {
        let arm = fixture("hello-aarch64-macos");
        let x86 = fixture("hello-x86_64-macos");
        let found = inspect(&arm).unwrap();
        assert_eq!((found.format, found.arch.as_str()), (Format::MachO, "aarch64"));
        assert_eq!(found.needed, ["/usr/lib/libSystem.B.dylib"]);
        let slice = &found.macho.as_ref().unwrap().slices[0];
        assert!(
            matches!(&slice.signature, Signature::Valid { hashes, .. } if hashes == &["sha256"]),
            "zig signs arm64 binaries ad hoc: {:?}",
            slice.signature
        );
        assert_eq!(slice.min_os, Some(MacosVersion::new(15, 0, 0)), "zig 0.13's default");

        let universal = inspect(&fat(&[&x86, &arm])).unwrap();
        let macho = universal.macho.as_ref().unwrap();
        assert!(macho.fat);
        assert_eq!(universal.archs(), ["x86_64", "aarch64"]);
        assert_eq!(universal.arch, "x86_64+aarch64");
        // The slice as in its thin file, and where the fat header puts it.
        assert_eq!(
            MachOSlice {
                fat_entry: None,
                ..macho.slices[1].clone()
            },
            *slice
        );
        assert!(macho
            .slices
            .iter()
            .all(|s| s.fat_entry.as_ref().is_some_and(|e| e.cputype == s.cputype)));
        assert_eq!(
            universal.needed,
            ["/usr/lib/libSystem.B.dylib"],
            "deduplicated across slices"
        );
    }

    fn arm_signature(bytes: &[u8]) -> Signature {
        let found = parse(bytes).unwrap();
        found.macho.unwrap().slices[0].signature.clone()
    }

    /// zig's ad-hoc signature of the arm64 fixture: 16 KiB pages up to the signature at
    /// 49504, so four pages, the last one 352 bytes. A byte changed in any page is found
    /// in that page; the same file inside a universal binary is checked within its slice.
    #[test]
    fn a_changed_byte_breaks_the_signature_at_its_page() {
        let arm = fixture("hello-aarch64-macos");
        assert_eq!(
            arm_signature(&arm),
            Signature::Valid {
                hashes: vec!["sha256".into()],
                pages: 4
            }
        );
        for (at, page) in [(0x10, 0), (16384 + 7, 1), (2 * 16384 + 100, 2), (49503, 3)] {
            let mut changed = arm.clone();
            changed[at] ^= 0x20;
            match arm_signature(&changed) {
                Signature::Invalid { first_bad_page, reason } => {
                    assert_eq!(first_bad_page, Some(page), "byte {at}: {reason}");
                    assert!(reason.contains("does not match its sha256 hash"), "{reason}");
                }
                other => panic!("byte {at} changed, yet {other:?}"),
            }
        }
        // In a universal binary the slice's offsets are its own.
        let x86 = fixture("hello-x86_64-macos");
        let mut universal = fat(&[&x86, &arm]);
        let slices = inspect(&universal).unwrap().macho.unwrap().slices;
        assert_eq!(slices[0].signature, Signature::Missing, "zig signs only arm64");
        assert_eq!(slices[1].signature, arm_signature(&arm));
        let arm_at = universal.len() - arm.len();
        universal[arm_at + 16384 + 1] ^= 1;
        let slices = inspect(&universal).unwrap().macho.unwrap().slices;
        assert!(
            matches!(
                slices[1].signature,
                Signature::Invalid {
                    first_bad_page: Some(1),
                    ..
                }
            ),
            "{:?}",
            slices[1].signature
        );
    }

    /// A file cut inside its signature, or whose CodeDirectory fields are garbled, is an
    /// invalid signature (or one this tool cannot check), never a panic or a pass; every
    /// byte of the signature data is changed in turn.
    #[test]
    fn a_cut_or_garbled_signature_is_invalid() {
        let arm = fixture("hello-aarch64-macos");
        for len in [49504 + 8, 49504 + 100, arm.len() - 1] {
            if let Ok(found) = parse(&arm[..len]) {
                let signature = &found.macho.unwrap().slices[0].signature;
                assert!(
                    matches!(signature, Signature::Invalid { reason, .. } if reason.contains("past the end")),
                    "cut to {len}: {signature:?}"
                );
            }
        }
        let mut outcomes = std::collections::BTreeMap::new();
        for at in 49504..arm.len() {
            for value in [0x00, 0xff, arm[at] ^ 0x01] {
                let mut changed = arm.clone();
                changed[at] = value;
                let signature = std::panic::catch_unwind(|| arm_signature(&changed))
                    .unwrap_or_else(|_| panic!("byte {at} = {value:#x} panics"));
                let kind = match signature {
                    Signature::Valid { .. } => "valid",
                    Signature::Invalid { .. } => "invalid",
                    Signature::Unsupported { .. } => "unsupported",
                    Signature::Missing => "missing",
                };
                *outcomes.entry(kind).or_insert(0) += 1;
            }
        }
        // Fields the check does not rest on (flags, identifier, padding) may change; most
        // bytes are a hash, a length or an offset.
        assert!(outcomes["invalid"] > outcomes["valid"], "{outcomes:?}");
        assert!(outcomes.contains_key("unsupported"), "the hash type byte: {outcomes:?}");
        assert!(!outcomes.contains_key("missing"), "{outcomes:?}");
    }

    #[test]
    fn inspections_round_trip_through_json() {
        for name in ["hello-x86_64-linux-gnu-2.17", "hello-pdb.exe", "hello-aarch64-macos"] {
            let mut found = inspect(&fixture(name)).unwrap();
            let json = serde_json::to_string(&found).unwrap();
            // The binds stay out of the manifest: the rules read them from the binary.
            for slice in found.macho.iter_mut().flat_map(|m| &mut m.slices) {
                assert!(!slice.binds.is_empty());
                slice.binds.clear();
            }
            assert_eq!(serde_json::from_str::<Inspection>(&json).unwrap(), found);
        }
        // A manifest from before signatures were checked still reads: its slices say so.
        let mut json = serde_json::to_value(inspect(&fixture("hello-aarch64-macos")).unwrap()).unwrap();
        json["macho"]["slices"][0].as_object_mut().unwrap().remove("signature");
        let old: Inspection = serde_json::from_value(json).unwrap();
        assert!(matches!(
            &old.macho.unwrap().slices[0].signature,
            Signature::Unsupported { reason } if reason.starts_with("not checked")
        ));
    }

    /// A real 100 MB binary of the host (a 100 MB payload compiled in), mapped as `verify` maps it:
    /// inspection reads only headers, so it must take a few milliseconds, not a file read.
    #[test]
    fn a_100_mb_binary_inspects_well_under_100_ms() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"big\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
        )
        .unwrap();
        // Not zeros, which could land in .bss and take no file space.
        let payload: Vec<u8> = (0..100_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        std::fs::write(root.join("payload.bin"), payload).unwrap();
        std::fs::write(
            root.join("src/main.rs"),
            "#[used]\nstatic PAYLOAD: &[u8] = include_bytes!(\"../payload.bin\");\nfn main() { println!(\"{}\", PAYLOAD.len()); }\n",
        )
        .unwrap();
        // Its own target dir, whatever CARGO_TARGET_DIR the test run has.
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--release", "--target-dir"])
            .arg(root.join("target"))
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success());
        let mapped = map(&root.join("target/release/big")).unwrap();
        let map = mapped.bytes();
        assert!(map.len() > 100_000_000);
        let started = std::time::Instant::now();
        let found = inspect(map).unwrap();
        let elapsed = started.elapsed();
        eprintln!(
            "inspected {} bytes in {:.2} ms",
            map.len(),
            elapsed.as_secs_f64() * 1000.0
        );
        assert_eq!(
            found.linkage,
            Linkage::Dynamic,
            "a host (glibc) binary: its headers were read"
        );
        assert!(elapsed.as_millis() < 100, "{elapsed:?}");
    }
}
