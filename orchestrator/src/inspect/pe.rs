//! PE (Windows): the imported DLLs, whether the C runtime is linked statically, the
//! subsystem, the PDB path the debug directory names and the embedded manifest.

use super::{Inspection, Linkage, PeDetails};
use crate::model::Format;
use goblin::pe::PE;

/// DLLs that carry the Microsoft C runtime: importing any means the CRT is not static.
pub fn is_crt_dll(dll: &str) -> bool {
    let dll = dll.to_ascii_lowercase();
    ["vcruntime", "msvcp", "api-ms-win-crt-", "ucrtbase"]
        .iter()
        .any(|p| dll.starts_with(p))
}

/// The Universal CRT: an API set of Windows 10 and later, or its implementation DLL. Unlike
/// vcruntime and msvcp (the VC++ redistributable), every supported Windows has it.
pub fn is_ucrt_dll(dll: &str) -> bool {
    let dll = dll.to_ascii_lowercase();
    dll.starts_with("api-ms-win-crt-") || dll.starts_with("ucrtbase")
}

pub(super) fn parse(bytes: &[u8]) -> goblin::error::Result<Inspection> {
    let pe = PE::parse(bytes)?;
    let coff = pe.header.coff_header;
    let arch = match coff.machine {
        goblin::pe::header::COFF_MACHINE_X86_64 => "x86_64".into(),
        goblin::pe::header::COFF_MACHINE_ARM64 => "aarch64".into(),
        goblin::pe::header::COFF_MACHINE_X86 => "x86".into(),
        other => format!("unknown({other:#x})"),
    };
    let mut needed: Vec<String> = pe.libraries.iter().map(|s| s.to_string()).collect();
    needed.sort_by_key(|s| s.to_ascii_lowercase());
    needed.dedup_by_key(|s| s.to_ascii_lowercase());
    let subsystem = match pe.header.optional_header.map(|o| o.windows_fields.subsystem) {
        Some(goblin::pe::subsystem::IMAGE_SUBSYSTEM_WINDOWS_CUI) => "console".into(),
        Some(goblin::pe::subsystem::IMAGE_SUBSYSTEM_WINDOWS_GUI) => "windows".into(),
        Some(goblin::pe::subsystem::IMAGE_SUBSYSTEM_EFI_APPLICATION) => "efi-application".into(),
        Some(other) => other.to_string(),
        None => "none".into(),
    };
    let pdb_path = pe
        .debug_data
        .as_ref()
        .and_then(|d| d.codeview_pdb70_debug_info.as_ref())
        .map(|cv| String::from_utf8_lossy(cv.filename.split(|&b| b == 0).next().unwrap_or_default()).into_owned());
    let static_crt = !needed.iter().any(|d| is_crt_dll(d));
    let debug_sections = pe
        .sections
        .iter()
        .filter_map(|s| s.name().ok())
        .filter(|n| n.starts_with(".debug_") || n.starts_with(".zdebug_"))
        .map(str::to_string)
        .collect();
    // goblin walks the resource directory to the first RT_MANIFEST entry (bounded by the
    // section's bytes); a manifest is UTF-8 XML, possibly with a byte-order mark.
    let manifest = pe.resource_data.as_ref().and_then(|r| r.manifest_data).map(|m| {
        let text = String::from_utf8_lossy(m.data);
        text.trim_start_matches('\u{feff}').to_string()
    });
    Ok(Inspection {
        format: Format::Pe,
        arch,
        linkage: if needed.is_empty() {
            Linkage::Static
        } else {
            Linkage::Dynamic
        },
        interpreter: None,
        // COFF symbols in an image are the mingw linker's leftovers; the PDB is separate.
        stripped: coff.number_of_symbol_table == 0,
        needed,
        size: bytes.len() as u64,
        elf: None,
        pe: Some(PeDetails {
            machine: coff.machine,
            subsystem,
            pdb_path,
            static_crt,
            debug_sections,
            manifest,
        }),
        macho: None,
    })
}
