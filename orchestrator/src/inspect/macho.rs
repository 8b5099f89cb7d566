//! Mach-O (macOS), thin or fat: per slice the architecture, the dylibs it loads, the minimum
//! OS version, rpaths and whether its code signature matches its pages (codesign.rs). A
//! pre-check bounds what goblin is handed (it has overflowed and looped on crafted load
//! commands).

use super::{binds, codesign, FatEntry, Inspection, Linkage, LoadedDylib, MachODetails, MachOSlice, Signature};
use crate::model::{Format, MacosVersion};
use goblin::mach::{cputype, load_command::CommandVariant, Mach, MachO, SingleArch};

fn mach_arch(cputype: u32) -> String {
    match cputype {
        cputype::CPU_TYPE_X86_64 => "x86_64".into(),
        cputype::CPU_TYPE_ARM64 => "aarch64".into(),
        cputype::CPU_TYPE_X86 => "x86".into(),
        cputype::CPU_TYPE_ARM => "arm".into(),
        other => format!("unknown({other:#x})"),
    }
}

/// Mach-O packs X.Y.Z as xxxx.yy.zz nibbles.
fn mach_version(packed: u32) -> MacosVersion {
    MacosVersion::new(packed >> 16, (packed >> 8) & 0xff, packed & 0xff)
}

/// One thin slice; `bytes` are its own, from its Mach-O header on (the code signature
/// hashes them).
fn mach_slice(macho: &MachO, bytes: &[u8]) -> MachOSlice {
    let mut min_os = None;
    let mut code_signature = false;
    let mut signature = Signature::Missing;
    let mut local_symbols = None;
    let mut dwarf = false;
    let mut libraries = Vec::new();
    let mut bind_streams: Vec<(u32, u32)> = Vec::new();
    let mut chained = None;
    // The name of a dylib command sits inside the command, at its own offset.
    let dylib_name = |offset: usize, name: u32| {
        let start = offset.checked_add(name as usize)?;
        let rest = bytes.get(start..)?;
        let len = rest.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&rest[..len]).into_owned())
    };
    for lc in &macho.load_commands {
        match &lc.command {
            CommandVariant::LoadDylib(d)
            | CommandVariant::LoadWeakDylib(d)
            | CommandVariant::ReexportDylib(d)
            | CommandVariant::LoadUpwardDylib(d)
            | CommandVariant::LazyLoadDylib(d) => libraries.push(LoadedDylib {
                name: dylib_name(lc.offset, d.dylib.name).unwrap_or_default(),
                compatibility: mach_version(d.dylib.compatibility_version),
                current: mach_version(d.dylib.current_version),
            }),
            // Weak binds carry no ordinal: they coalesce by name.
            CommandVariant::DyldInfo(d) | CommandVariant::DyldInfoOnly(d) => {
                bind_streams.extend([(d.bind_off, d.bind_size), (d.lazy_bind_off, d.lazy_bind_size)])
            }
            CommandVariant::DyldChainedFixups(c) => chained = Some((c.dataoff, c.datasize)),
            CommandVariant::Segment64(s) => dwarf |= s.segname.starts_with(b"__DWARF\0"),
            CommandVariant::Segment32(s) => dwarf |= s.segname.starts_with(b"__DWARF\0"),
            CommandVariant::Dysymtab(d) => local_symbols = Some(d.nlocalsym),
            CommandVariant::CodeSignature(c) => {
                code_signature = true;
                signature = codesign::check(bytes, c.dataoff, c.datasize);
            }
            CommandVariant::BuildVersion(b) => min_os = Some(mach_version(b.minos)),
            CommandVariant::VersionMinMacosx(v) if min_os.is_none() => min_os = Some(mach_version(v.version)),
            _ => {}
        }
    }
    // `strip` leaves only external and undefined symbols. LC_DYSYMTAB counts the local ones
    // directly; without it the symbols are scanned, stopping at the first unreadable entry
    // (a huge symbol count over garbage once made this loop run for minutes: the fuzzer's
    // timeout-cb679fba fixture).
    let stripped = match local_symbols {
        Some(n) => n == 0,
        None => macho.symbols.as_ref().is_none_or(|s| {
            for sym in s.iter() {
                match sym {
                    Ok((_, nlist)) if !nlist.is_undefined() && nlist.n_type & goblin::mach::symbols::N_EXT == 0 => {
                        return false
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            true
        }),
    };
    // Debugging symbols (stabs: N_SO, N_OSO, N_FUN …) are what `strip -S` removes; the scan
    // stops at the first unreadable entry, as above.
    let stabs = || {
        macho.symbols.as_ref().is_some_and(|s| {
            for sym in s.iter() {
                match sym {
                    Ok((_, nlist)) if nlist.is_stab() => return true,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            false
        })
    };
    let debug_info = dwarf || stabs();
    let range = |off: u32, size: u32| bytes.get(off as usize..(off as usize).checked_add(size as usize)?);
    let mut found = Vec::new();
    let mut unreadable = None;
    for (what, data, ok) in bind_streams
        .iter()
        .filter(|(_, size)| *size > 0)
        .map(|&(off, size)| {
            (
                "bind opcodes",
                range(off, size),
                binds::opcodes as fn(&[u8], &mut Vec<binds::Bind>) -> Option<()>,
            )
        })
        .chain(chained.map(|(off, size)| {
            (
                "chained fixups",
                range(off, size),
                binds::chained as fn(&[u8], &mut Vec<binds::Bind>) -> Option<()>,
            )
        }))
    {
        if data.and_then(|data| ok(data, &mut found)).is_none() {
            unreadable = Some(format!("the {what} are malformed or outside the file"));
        }
    }
    MachOSlice {
        arch: mach_arch(macho.header.cputype()),
        cputype: macho.header.cputype(),
        // goblin lists "self" first among the libraries; keep only real dylibs.
        dylibs: macho
            .libs
            .iter()
            .filter(|l| **l != "self")
            .map(|s| s.to_string())
            .collect(),
        rpaths: macho.rpaths.iter().map(|s| s.to_string()).collect(),
        min_os,
        code_signature,
        signature,
        stripped,
        debug_info,
        fat_entry: None,
        two_level: macho.header.flags & goblin::mach::header::MH_TWOLEVEL != 0,
        libraries,
        binds: found,
        binds_unreadable: unreadable,
    }
}

/// goblin 0.10 computes LC_MAIN's address as `__TEXT.vmaddr - __TEXT.fileoff + entryoff`
/// unchecked: a file with fileoff > vmaddr panics with overflow checks on (the fuzzer's
/// crash-835edbd5 fixture) and wraps silently without. Such a file is malformed; say so
/// before goblin sees it. `bytes` starts at the thin Mach-O header.
fn mach_precheck(bytes: &[u8]) -> goblin::error::Result<()> {
    let malformed = |what: &str| Err(goblin::error::Error::Malformed(format!("Mach-O {what}")));
    let Some(magic) = bytes.get(..4) else {
        return malformed("header is truncated");
    };
    let (big, is_64) = match magic {
        [0xfe, 0xed, 0xfa, 0xce] => (true, false),
        [0xfe, 0xed, 0xfa, 0xcf] => (true, true),
        [0xce, 0xfa, 0xed, 0xfe] => (false, false),
        [0xcf, 0xfa, 0xed, 0xfe] => (false, true),
        _ => return malformed("slice has no Mach-O magic"),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let u64_at = |at: usize| {
        let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    };
    let ncmds = u32_at(16).unwrap_or(0);
    let mut at = if is_64 { 32 } else { 28 };
    let (mut text_base, mut entry) = (None, None);
    for _ in 0..ncmds {
        let (Some(cmd), Some(size)) = (u32_at(at), u32_at(at + 4)) else {
            break;
        };
        let segment = match cmd {
            0x19 => Some((u64_at(at + 24), u64_at(at + 40))),
            0x1 => Some((u32_at(at + 24).map(u64::from), u32_at(at + 32).map(u64::from))),
            _ => None,
        };
        if let Some((Some(vmaddr), Some(fileoff))) = segment {
            if text_base.is_none() && bytes.get(at + 8..at + 15) == Some(b"__TEXT\0") {
                text_base = Some(vmaddr.checked_sub(fileoff));
            }
        }
        if cmd == 0x8000_0028 {
            entry = u64_at(at + 8);
        }
        if size < 8 {
            break;
        }
        at += size as usize;
    }
    match (text_base, entry) {
        (Some(None), Some(_)) => malformed("__TEXT segment starts in memory before its file offset"),
        (Some(Some(base)), Some(offset)) if base.checked_add(offset).is_none() => malformed("entry point overflows"),
        _ => Ok(()),
    }
}

#[cfg(test)]
thread_local! {
    /// Tests turn the pre-check off on their thread to reach goblin's own panic: the
    /// catch_unwind net's test (`inspect::tests::without_precheck`).
    pub(super) static SKIP_PRECHECK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub(super) fn precheck(bytes: &[u8]) -> goblin::error::Result<()> {
    #[cfg(test)]
    if SKIP_PRECHECK.with(|s| s.get()) {
        return Ok(());
    }
    mach_precheck(bytes)
}

pub(super) fn parse(bytes: &[u8]) -> goblin::error::Result<Inspection> {
    let is_fat = matches!(
        bytes.get(..4),
        Some([0xca, 0xfe, 0xba, 0xbe] | [0xbe, 0xba, 0xfe, 0xca])
    );
    if !is_fat {
        precheck(bytes)?;
    }
    let (fat, slices) = match Mach::parse(bytes)? {
        Mach::Binary(macho) => (false, vec![mach_slice(&macho, bytes)]),
        Mach::Fat(multi) => {
            let mut slices = Vec::new();
            for (index, arch) in multi.arches()?.iter().enumerate() {
                precheck(bytes.get(arch.offset as usize..).unwrap_or_default())?;
                let start = arch.offset as usize;
                let own = start
                    .checked_add(arch.size as usize)
                    .and_then(|end| bytes.get(start..end))
                    .unwrap_or_default();
                match multi.get(index)? {
                    SingleArch::MachO(macho) => slices.push(MachOSlice {
                        fat_entry: Some(FatEntry {
                            cputype: arch.cputype,
                            offset: arch.offset.into(),
                            size: arch.size.into(),
                            align: arch.align,
                        }),
                        ..mach_slice(&macho, own)
                    }),
                    SingleArch::Archive(_) => {
                        return Err(goblin::error::Error::Malformed(
                            "a universal slice is a static library".into(),
                        ))
                    }
                }
            }
            if slices.is_empty() {
                return Err(goblin::error::Error::Malformed(
                    "a universal binary without slices".into(),
                ));
            }
            (true, slices)
        }
    };
    let mut needed: Vec<String> = Vec::new();
    for dylib in slices.iter().flat_map(|s| &s.dylibs) {
        if !needed.contains(dylib) {
            needed.push(dylib.clone());
        }
    }
    Ok(Inspection {
        format: Format::MachO,
        arch: slices.iter().map(|s| s.arch.as_str()).collect::<Vec<_>>().join("+"),
        linkage: if needed.is_empty() {
            Linkage::Static
        } else {
            Linkage::Dynamic
        },
        interpreter: None,
        needed,
        stripped: slices.iter().all(|s| s.stripped),
        size: bytes.len() as u64,
        elf: None,
        pe: None,
        macho: Some(MachODetails { fat, slices }),
    })
}
