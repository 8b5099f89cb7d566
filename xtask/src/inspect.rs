//! Stage 4, inspect: what a binary links against, read from its own headers with goblin.
//! A pure function over bytes: nothing is executed, no process is spawned, and no input
//! makes it panic (goblin has panicked on malformed files, so parsing runs under
//! `catch_unwind` and the input size is bounded by the caller).

use crate::triple::{self, Family, Format};
use goblin::Object;
use serde::{Deserialize, Serialize};

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

/// What a binary's headers say about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub format: Format,
    /// Normalised like a triple's first component: x86_64, aarch64, x86, arm, …
    pub arch: String,
    pub linkage: Linkage,
    /// ELF PT_INTERP: the dynamic loader the kernel would start.
    pub interpreter: Option<String>,
    /// DT_NEEDED libraries, PE DLL imports or Mach-O LC_LOAD_DYLIB paths.
    pub needed: Vec<String>,
    /// No symbol table (.symtab / Mach-O symbols / COFF symbols) left in the file.
    pub stripped: bool,
    pub size: u64,
}

/// Reads the headers of an executable. Errors are one line for a person to read.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, String> {
    match std::panic::catch_unwind(|| parse(bytes)) {
        Ok(result) => result,
        Err(_) => Err("malformed binary: the parser gave up on its headers".into()),
    }
}

fn parse(bytes: &[u8]) -> Result<Inspection, String> {
    let size = bytes.len() as u64;
    match Object::parse(bytes).map_err(|e| format!("not a binary this tool can read: {e}"))? {
        Object::Elf(elf) => {
            let arch = match elf.header.e_machine {
                goblin::elf::header::EM_X86_64 => "x86_64",
                goblin::elf::header::EM_AARCH64 => "aarch64",
                goblin::elf::header::EM_386 => "x86",
                goblin::elf::header::EM_ARM => "arm",
                goblin::elf::header::EM_RISCV => "riscv64",
                other => return Ok(unknown_arch(Format::Elf, other as u32, size)),
            };
            let needed: Vec<String> = elf.libraries.iter().map(|s| s.to_string()).collect();
            let interpreter = elf.interpreter.map(str::to_string);
            let linkage = if interpreter.is_some() || !needed.is_empty() {
                Linkage::Dynamic
            } else if elf.dynamic.is_some() {
                Linkage::StaticPie
            } else {
                Linkage::Static
            };
            let stripped = !elf.section_headers.iter().any(|s| s.sh_type == goblin::elf::section_header::SHT_SYMTAB);
            Ok(Inspection { format: Format::Elf, arch: arch.into(), linkage, interpreter, needed, stripped, size })
        }
        Object::PE(pe) => {
            let arch = match pe.header.coff_header.machine {
                goblin::pe::header::COFF_MACHINE_X86_64 => "x86_64",
                goblin::pe::header::COFF_MACHINE_ARM64 => "aarch64",
                goblin::pe::header::COFF_MACHINE_X86 => "x86",
                other => return Ok(unknown_arch(Format::Pe, other as u32, size)),
            };
            let mut needed: Vec<String> = pe.libraries.iter().map(|s| s.to_string()).collect();
            needed.sort_by_key(|s| s.to_ascii_lowercase());
            needed.dedup_by_key(|s| s.to_ascii_lowercase());
            let linkage = if needed.is_empty() { Linkage::Static } else { Linkage::Dynamic };
            let stripped = pe.header.coff_header.number_of_symbol_table == 0;
            Ok(Inspection { format: Format::Pe, arch: arch.into(), linkage, interpreter: None, needed, stripped, size })
        }
        Object::Mach(goblin::mach::Mach::Binary(macho)) => {
            let arch = match macho.header.cputype() {
                goblin::mach::cputype::CPU_TYPE_X86_64 => "x86_64",
                goblin::mach::cputype::CPU_TYPE_ARM64 => "aarch64",
                other => return Ok(unknown_arch(Format::MachO, other, size)),
            };
            // goblin lists "self" first among the libraries; keep only real dylibs.
            let needed: Vec<String> = macho.libs.iter().filter(|l| **l != "self").map(|s| s.to_string()).collect();
            let stripped = macho.symbols.as_ref().is_none_or(|s| s.iter().all(|sym| match sym {
                Ok((_, nlist)) => nlist.is_undefined() || nlist.n_type & goblin::mach::symbols::N_EXT != 0,
                Err(_) => true,
            }));
            Ok(Inspection {
                format: Format::MachO,
                arch: arch.into(),
                linkage: if needed.is_empty() { Linkage::Static } else { Linkage::Dynamic },
                interpreter: None,
                needed,
                stripped,
                size,
            })
        }
        Object::Mach(goblin::mach::Mach::Fat(_)) => Err("a universal (fat) Mach-O: inspect each slice on its own".into()),
        _ => Err("not an executable: no ELF, PE or Mach-O header".into()),
    }
}

fn unknown_arch(format: Format, machine: u32, size: u64) -> Inspection {
    Inspection {
        format,
        arch: format!("unknown({machine:#x})"),
        linkage: Linkage::Dynamic,
        interpreter: None,
        needed: Vec::new(),
        stripped: false,
        size,
    }
}

/// Checks an inspection against what `target` must be; returns the broken rules, each
/// with what usually causes it. Empty means the binary passes.
pub fn check(found: &Inspection, target: &str, expect_stripped: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let format = triple::format(target);
    if format != Format::Unknown && found.format != format {
        failures.push(format!("format is {:?}, {target} needs {format:?}: a binary of another target was packed", found.format));
    }
    if found.arch != triple::arch(target) {
        failures.push(format!(
            "architecture is {}, {target} needs {}: the binary was built for another target",
            found.arch,
            triple::arch(target)
        ));
    }
    if triple::family(target) == Family::LinuxMusl {
        if let Some(interp) = &found.interpreter {
            failures.push(format!("has a dynamic loader ({interp}): musl binaries must be static; was it linked against glibc?"));
        }
        if !found.needed.is_empty() {
            failures.push(format!(
                "needs shared libraries ({}): musl binaries must be static; a -sys crate probably linked a system library",
                found.needed.join(", ")
            ));
        }
    }
    if expect_stripped && !found.stripped {
        failures.push("has a symbol table although the profile strips: set strip = true in the profile".into());
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [&b""[..], b"\x7fELF", b"MZ\0\0", b"\xcf\xfa\xed\xfe", b"#!/bin/sh\necho hi\n", &[0xff; 4096]] {
            assert!(inspect(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn the_running_test_binary_is_a_dynamic_elf_of_the_host() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let found = inspect(&bytes).unwrap();
        assert_eq!(found.format, Format::Elf);
        assert_eq!(found.arch, std::env::consts::ARCH);
        assert_eq!(found.linkage, Linkage::Dynamic);
        let failures = check(&found, "x86_64-unknown-linux-musl", true);
        assert!(failures.iter().any(|f| f.contains("dynamic loader")), "{failures:?}");
        assert!(failures.iter().any(|f| f.contains("symbol table")), "{failures:?}");
        let failures = check(&found, "aarch64-unknown-linux-musl", false);
        assert!(failures.iter().any(|f| f.contains("architecture is x86_64")), "{failures:?}");
    }
}
