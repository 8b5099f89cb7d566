//! The dependency list cargo-auditable embeds in a binary: a section named `.dep-v0` (ELF,
//! PE; `__DATA,.dep-v0` in Mach-O) holding zlib-compressed JSON of auditable-serde's schema
//! (`{"packages": [{"name", "version", "source", "kind"?, "dependencies"?, "root"?}]}`).
//! Read from the bytes only, like the rest of inspect: bounded, never panics.

use serde::{Deserialize, Serialize};
use std::io::Read;

/// The section's name in every format (Mach-O: in segment `__DATA`).
pub const SECTION: &str = ".dep-v0";

/// No real dependency list inflates to more (a 1,000-package graph is about 100 KiB of JSON);
/// a zlib bomb stops here.
pub const MAX_JSON: u64 = 8 << 20;

/// One package of the list, as auditable-serde writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepPackage {
    pub name: String,
    pub version: String,
    /// "crates.io", "git", "local", "registry" or "other".
    pub source: String,
    /// "runtime" (absent in the JSON) or "build".
    #[serde(default = "runtime", skip_serializing_if = "is_runtime")]
    pub kind: String,
    /// The package the binary was built from.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
}

fn runtime() -> String {
    "runtime".into()
}

fn is_runtime(kind: &str) -> bool {
    kind == "runtime"
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
struct Json {
    packages: Vec<DepPackage>,
}

/// Finds the `.dep-v0` section and decodes it: None when the binary has none, an error
/// (one line) when it has one that is not a readable list.
pub fn dependency_list(bytes: &[u8]) -> Result<Option<Vec<DepPackage>>, String> {
    if bytes.len() as u64 > super::MAX_INPUT {
        return Err("larger than any release binary".into());
    }
    let section = match std::panic::catch_unwind(|| find_section(bytes)) {
        Ok(Ok(section)) => section,
        Ok(Err(e)) => return Err(format!("malformed binary: {e}")),
        Err(_) => return Err("malformed binary: the parser gave up on its headers".into()),
    };
    section.map(decode).transpose()
}

/// Inflates and parses a section's contents.
pub fn decode(compressed: &[u8]) -> Result<Vec<DepPackage>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the {SECTION} section is not zlib data: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!("the {SECTION} section inflates to more than {MAX_JSON} bytes"));
    }
    let parsed: Json =
        serde_json::from_slice(&json).map_err(|e| format!("the {SECTION} section is not a dependency list: {e}"))?;
    Ok(parsed.packages)
}

fn find_section(bytes: &[u8]) -> goblin::error::Result<Option<&[u8]>> {
    use goblin::mach::Mach;
    let range = |offset: u64, size: u64| {
        let start = usize::try_from(offset).ok()?;
        bytes.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    let too_short = || goblin::error::Error::Malformed(format!("the {SECTION} section lies outside the file"));
    match bytes.get(..4) {
        Some(b"\x7fELF") => {
            let head = goblin::elf::Elf::parse_header(bytes)?;
            let ctx = goblin::container::Ctx::new(head.container()?, head.endianness()?);
            let (headers, names) = super::elf::sections(bytes, &head, ctx)?;
            for sh in &headers {
                if names.get_at(sh.sh_name) == Some(SECTION) {
                    return range(sh.sh_offset, sh.sh_size).map(Some).ok_or_else(too_short);
                }
            }
            Ok(None)
        }
        Some([b'M', b'Z', ..]) => {
            let pe = goblin::pe::PE::parse(bytes)?;
            for section in &pe.sections {
                if section.name().ok() == Some(SECTION) {
                    // The raw data is padded to the file alignment; the zlib stream ends itself.
                    let size = section.size_of_raw_data.min(section.virtual_size.max(1));
                    return range(section.pointer_to_raw_data.into(), size.into())
                        .map(Some)
                        .ok_or_else(too_short);
                }
            }
            Ok(None)
        }
        Some(_) => {
            let fat = matches!(
                bytes.get(..4),
                Some([0xca, 0xfe, 0xba, 0xbe] | [0xbe, 0xba, 0xfe, 0xca])
            );
            if !fat {
                super::macho::precheck(bytes)?;
            }
            let macho = match Mach::parse(bytes)? {
                Mach::Binary(macho) => macho,
                // Every slice of a universal binary carries its own list, built from one
                // graph; the first speaks for the file.
                Mach::Fat(multi) => {
                    let Some(arch) = multi.arches()?.first().copied() else {
                        return Ok(None);
                    };
                    let slice = range(arch.offset.into(), arch.size.into()).ok_or_else(too_short)?;
                    // A fat slice inside a fat file would recurse without end.
                    if matches!(
                        slice.get(..4),
                        Some([0xca, 0xfe, 0xba, 0xbe] | [0xbe, 0xba, 0xfe, 0xca])
                    ) {
                        return Err(goblin::error::Error::Malformed("a universal binary inside one".into()));
                    }
                    return find_section(slice);
                }
            };
            for segment in &macho.segments {
                for (section, _) in segment.sections()? {
                    if section.segname().ok() == Some("__DATA") && section.name().ok() == Some(SECTION) {
                        return range(section.offset.into(), section.size)
                            .map(Some)
                            .ok_or_else(too_short);
                    }
                }
            }
            Ok(None)
        }
        None => Err(goblin::error::Error::Malformed("shorter than any header".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn a_list_decodes_and_a_bomb_or_garbage_is_an_error() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1],"root":true},{"name":"cc","version":"1.2.3","source":"crates.io","kind":"build"}]}"#;
        let list = decode(&zlib(json)).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[0].root && list[0].kind == "runtime");
        assert_eq!((list[1].name.as_str(), list[1].kind.as_str()), ("cc", "build"));
        let bomb = zlib(&vec![b' '; MAX_JSON as usize + 10]);
        assert!(decode(&bomb).unwrap_err().contains("inflates to more than"));
        assert!(decode(b"not zlib").unwrap_err().contains("not zlib data"));
        assert!(decode(&zlib(b"{}")).unwrap_err().contains("not a dependency list"));
    }

    #[test]
    fn a_fat_file_whose_slice_is_itself_is_an_error_not_a_stack_overflow() {
        // cafebabe, one arch: x86_64 (cputype 0x01000007, subtype 3) at offset 0, 64 bytes.
        let mut fat = vec![0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1];
        for field in [0x0100_0007u32, 3, 0, 64, 0] {
            fat.extend(field.to_be_bytes());
        }
        fat.resize(64, 0);
        assert!(dependency_list(&fat).is_err());
    }

    /// The fuzz corpus of malformed binaries (fuzz/regression/inspect) reads without a panic.
    #[test]
    fn the_inspect_fuzz_corpus_never_panics_the_reader() {
        super::super::tests::replay_corpus("inspect", |bytes| {
            let _ = dependency_list(bytes);
        });
    }

    #[test]
    fn binaries_without_the_section_have_none_and_cut_ones_never_panic() {
        for name in ["hello-x86_64-linux-musl", "hello-pdb.exe", "hello-aarch64-macos"] {
            let bytes = super::super::tests::fixture(name);
            assert_eq!(dependency_list(&bytes), Ok(None), "{name}");
            for cut in (0..bytes.len()).step_by(bytes.len() / 200 + 1) {
                let _ = dependency_list(&bytes[..cut]);
            }
        }
    }
}
