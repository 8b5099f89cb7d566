//! ELF, parsed lazily: only the headers, the dynamic section, its string table and
//! .gnu.version_r are read. goblin's full `Elf::parse` also walks every symbol name and
//! relocation, which is most of the time on a large unstripped binary and none of the answer.

use super::{ElfDetails, Inspection, Linkage};
use crate::model::{Format, GlibcVersion};
use goblin::elf::{dynamic, header, program_header, section_header, Elf};
use std::collections::{BTreeMap, BTreeSet};

fn elf_arch(machine: u16) -> String {
    match machine {
        header::EM_X86_64 => "x86_64".into(),
        header::EM_AARCH64 => "aarch64".into(),
        header::EM_386 => "x86".into(),
        header::EM_ARM => "arm".into(),
        header::EM_RISCV => "riscv64".into(),
        other => format!("unknown({other:#x})"),
    }
}

/// The section headers and their names, nothing else: goblin's full `Elf::parse` also reads
/// every symbol name, which on an unstripped binary is most of the work. A file without
/// names (or with a broken index) just has no named sections.
pub(super) fn sections<'a>(
    bytes: &'a [u8],
    head: &header::Header,
    ctx: goblin::container::Ctx,
) -> goblin::error::Result<(Vec<section_header::SectionHeader>, goblin::strtab::Strtab<'a>)> {
    let headers = section_header::SectionHeader::parse(bytes, head.e_shoff as usize, head.e_shnum as usize, ctx)?;
    let names = headers
        .get(head.e_shstrndx as usize)
        .and_then(|sh| goblin::strtab::Strtab::parse(bytes, sh.sh_offset as usize, sh.sh_size as usize, 0).ok())
        .unwrap_or_default();
    Ok((headers, names))
}

pub(super) fn parse(bytes: &[u8]) -> goblin::error::Result<Inspection> {
    let head = Elf::parse_header(bytes)?;
    let mut elf = Elf::lazy_parse(head)?;
    let ctx = goblin::container::Ctx::new(head.container()?, head.endianness()?);
    elf.program_headers =
        program_header::ProgramHeader::parse(bytes, head.e_phoff as usize, head.e_phnum as usize, ctx)?;
    let (section_headers, names) = sections(bytes, &head, ctx)?;
    elf.section_headers = section_headers;
    elf.dynamic = dynamic::Dynamic::parse(bytes, &elf.program_headers, ctx)?;

    let interpreter = elf
        .program_headers
        .iter()
        .find(|ph| ph.p_type == program_header::PT_INTERP)
        .and_then(|ph| bytes.get(ph.p_offset as usize..(ph.p_offset as usize).checked_add(ph.p_filesz as usize)?))
        .map(|raw| String::from_utf8_lossy(raw.split(|&b| b == 0).next().unwrap_or_default()).into_owned());

    let mut needed = Vec::new();
    let (mut rpath, mut runpath) = (Vec::new(), Vec::new());
    let mut pie = false;
    let mut glibc: Option<GlibcVersion> = None;
    let mut glibcxx: Option<GlibcVersion> = None;
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(dynamic) = &elf.dynamic {
        let info = &dynamic.info;
        pie = info.flags_1 & dynamic::DF_1_PIE != 0;
        let strings = goblin::strtab::Strtab::parse(bytes, info.strtab, info.strsz, 0)?;
        for d in &dynamic.dyns {
            let value = || strings.get_at(d.d_val as usize).unwrap_or("?").to_string();
            match d.d_tag {
                dynamic::DT_NEEDED => needed.push(value()),
                dynamic::DT_RPATH => rpath.push(value()),
                dynamic::DT_RUNPATH => runpath.push(value()),
                _ => {}
            }
        }
        // Every version required of each library, and the highest of glibc's, as auditwheel
        // reads them.
        if let Some(verneed) = goblin::elf::symver::VerneedSection::parse(bytes, &elf.section_headers, ctx)? {
            for need in verneed.iter() {
                let library = strings.get_at(need.vn_file).unwrap_or("?").to_string();
                for aux in need.iter() {
                    let name = strings.get_at(aux.vna_name).unwrap_or("");
                    versions.entry(library.clone()).or_default().insert(name.to_string());
                    // GLIBC_PRIVATE and other names that are no version do not count.
                    let version = |prefix: &str| -> Option<GlibcVersion> { name.strip_prefix(prefix)?.parse().ok() };
                    if let Some(v) = version("GLIBC_") {
                        glibc = glibc.max(Some(v));
                    } else if let Some(v) = version("GLIBCXX_") {
                        glibcxx = glibcxx.max(Some(v));
                    }
                }
            }
        }
    }

    let mut symtab = false;
    let mut debug_sections = Vec::new();
    for sh in &elf.section_headers {
        symtab |= sh.sh_type == section_header::SHT_SYMTAB;
        let name = names.get_at(sh.sh_name).unwrap_or("");
        // Only sections outside the loaded image are debug info a strip removes. rustc's
        // `.debug_gdb_scripts` (pretty-printer hints, with debuginfo on) is allocated: part of
        // the program, kept by every strip, so its name alone says nothing.
        let loaded = sh.sh_flags & u64::from(section_header::SHF_ALLOC) != 0;
        if !loaded && (name.starts_with(".debug_") || name.starts_with(".zdebug_")) {
            debug_sections.push(name.to_string());
        }
    }
    let executable_stack = elf
        .program_headers
        .iter()
        .find(|ph| ph.p_type == program_header::PT_GNU_STACK)
        .map(|ph| ph.p_flags & program_header::PF_X != 0);

    let linkage = if interpreter.is_some() || !needed.is_empty() {
        Linkage::Dynamic
    } else if head.e_type == header::ET_DYN && elf.dynamic.is_some() {
        Linkage::StaticPie
    } else {
        Linkage::Static
    };
    let e_type = match head.e_type {
        header::ET_EXEC => "exec".to_string(),
        header::ET_DYN => "dyn".to_string(),
        other => other.to_string(),
    };
    Ok(Inspection {
        format: Format::Elf,
        arch: elf_arch(head.e_machine),
        linkage,
        interpreter,
        needed,
        stripped: !symtab && debug_sections.is_empty(),
        size: bytes.len() as u64,
        elf: Some(ElfDetails {
            class: if elf.is_64 { 64 } else { 32 },
            e_machine: head.e_machine,
            e_type,
            pie,
            rpath,
            runpath,
            symtab,
            debug_sections,
            executable_stack,
            glibc,
            glibcxx,
            versions,
        }),
        pe: None,
        macho: None,
    })
}
