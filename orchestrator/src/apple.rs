//! Linking Apple frameworks and system libraries from Linux without Apple's SDK: text-based
//! stubs (.tbd) written per build, from facts, never from Apple's files (docs/APPLE.md).
//!
//! A .tbd tells the linker a library's install name, its versions and the symbols it
//! exports; zig's Mach-O linker reads `Foo.framework/Foo.tbd` from a `-F` directory and
//! `libfoo.tbd` from a `-L` one, and the binary then loads the real library on the Mac. What
//! each stub says comes from:
//! - `facts/macos-dylibs.txt`: the install names and compatibility versions released macOS
//!   binaries load (the only libraries a stub is written for);
//! - `facts/macos-symbols.txt`: where those binaries bind a symbol (Foundation's classes
//!   live in CoreFoundation today): the authority when it knows the symbol;
//! - the crates' own declarations (deps/scan.rs): the foreign items of an extern block with
//!   `#[link(name = "X", kind = "framework")]`, or of any block of a crate whose link
//!   attributes name only X (-sys crates put the attribute on an empty block).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DYLIBS: &str = include_str!("../facts/macos-dylibs.txt");
const SYMBOLS: &str = include_str!("../facts/macos-symbols.txt");

/// zig brings libSystem's own stub; every program links it.
pub const LIBSYSTEM: &str = "/usr/lib/libSystem.B.dylib";

/// A macOS system library as released binaries load it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dylib {
    pub install_name: &'static str,
    pub compatibility: &'static str,
    pub current: &'static str,
}

/// Every library of the facts.
pub fn dylibs() -> impl Iterator<Item = Dylib> {
    DYLIBS.lines().filter(|l| !l.starts_with('#')).filter_map(|line| {
        let mut words = line.split(' ');
        Some(Dylib {
            install_name: words.next()?,
            compatibility: words.next()?,
            current: words.next()?,
        })
    })
}

/// The facts' entry for an install name.
pub fn dylib(install_name: &str) -> Option<Dylib> {
    dylibs().find(|d| d.install_name == install_name)
}

/// A library as a `#[link]` attribute or `-framework`/`-l` names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct LinkName {
    pub name: String,
    pub framework: bool,
}

impl LinkName {
    /// The system library this name links on macOS, if the facts know it (libSystem's
    /// names — System, c, m, pthread — are zig's own).
    pub fn dylib(&self) -> Option<Dylib> {
        let found = if self.framework {
            let part = format!("/{}.framework/", self.name);
            dylibs()
                .find(|d| d.install_name.starts_with("/System/Library/Frameworks/") && d.install_name.contains(&part))
        } else {
            let file = format!("/usr/lib/lib{}.", self.name);
            dylibs().find(|d| d.install_name.starts_with(&file) && !d.install_name[file.len()..].contains('/'))
        };
        found.filter(|d| d.install_name != LIBSYSTEM)
    }

    /// Where the stub goes under the stubs directory: zig finds it by this name.
    fn stub_path(&self) -> String {
        match self.framework {
            true => format!("Frameworks/{0}.framework/{0}.tbd", self.name),
            false => format!("lib/lib{}.tbd", self.name),
        }
    }
}

/// Where released macOS binaries bind `symbol`, if one does.
pub fn symbol_home(symbol: &str) -> Option<&'static str> {
    static HOMES: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    HOMES
        .get_or_init(|| {
            SYMBOLS
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(' '))
                .collect()
        })
        .get(symbol)
        .copied()
}

/// A crate's declaration of an imported symbol: the install name of the library its
/// `#[link]` names (one the facts know), and the packages that declare it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    pub library: String,
    pub crates: BTreeSet<String>,
}

/// What verify needs to prove an Apple binary's binds beyond the facts: how it was linked,
/// and where the crates declared each symbol (symbol → its declarations; two crates may
/// name two libraries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppleImports {
    /// Linked against this tool's stubs (every symbol a stub exports comes from the facts
    /// or a declaration); false: the user's SDK, which is the authority for the rest.
    pub stubs: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub declared: BTreeMap<String, Vec<Declared>>,
}

/// Adds `crates`' declaration of `symbol` in `library` (an install name) to `declared`.
pub fn declare(declared: &mut BTreeMap<String, Vec<Declared>>, symbol: &str, library: &str, crates: &BTreeSet<String>) {
    let all = declared.entry(symbol.to_string()).or_default();
    match all.iter_mut().find(|d| d.library == library) {
        Some(d) => d.crates.extend(crates.iter().cloned()),
        None => all.push(Declared {
            library: library.to_string(),
            crates: crates.clone(),
        }),
    }
}

impl AppleImports {
    /// Only the declarations of symbols the binaries import: what the manifest keeps.
    pub fn imported_by<'a>(&self, binds: impl IntoIterator<Item = &'a str>) -> AppleImports {
        let declared = binds
            .into_iter()
            .filter_map(|symbol| Some((symbol.to_string(), self.declared.get(symbol)?.clone())))
            .collect();
        AppleImports {
            stubs: self.stubs,
            declared,
        }
    }
}

/// The stubs for one target: each library the graph names, with the symbols it exports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stubs {
    pub libraries: BTreeMap<LinkName, BTreeSet<String>>,
}

impl Stubs {
    /// From the declarations of the packages a target builds: library → symbols (Mach-O
    /// names, with the leading underscore). A symbol the facts place elsewhere goes there.
    pub fn new<'a>(declared: impl IntoIterator<Item = (&'a LinkName, &'a BTreeSet<String>)>) -> Stubs {
        let mut libraries: BTreeMap<LinkName, BTreeSet<String>> = BTreeMap::new();
        let declared: Vec<_> = declared.into_iter().filter(|(l, _)| l.dylib().is_some()).collect();
        for (link, _) in &declared {
            libraries.entry((*link).clone()).or_default();
        }
        // The facts' symbols of every library named, so a symbol declared in a crate that
        // names several (objc2: libobjc and Foundation) still finds its library.
        for (link, symbols) in libraries.iter_mut() {
            let home = link.dylib().map(|d| d.install_name);
            symbols.extend(
                SYMBOLS
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| l.split_once(' '))
                    .filter(|(_, lib)| Some(*lib) == home)
                    .map(|(s, _)| s.to_string()),
            );
        }
        for (link, symbols) in declared {
            for symbol in symbols {
                // libSystem's own (a -sys crate redeclaring `free`): zig's stub has them.
                if symbol_home(symbol) == Some(LIBSYSTEM) {
                    continue;
                }
                let moved = symbol_home(symbol).and_then(|home| {
                    libraries
                        .keys()
                        .find(|l| l.dylib().is_some_and(|d| d.install_name == home))
                        .cloned()
                });
                let to = moved.unwrap_or_else(|| link.clone());
                libraries.entry(to).or_default().insert(symbol.clone());
            }
        }
        Stubs { libraries }
    }

    /// `(path under the stubs directory, .tbd text)` for each library.
    pub fn files(&self) -> Vec<(String, String)> {
        self.libraries
            .iter()
            .filter_map(|(link, symbols)| Some((link.stub_path(), tbd(link.dylib()?, symbols))))
            .collect()
    }

    /// One line per library for the plan and the manifest: what each stub says.
    pub fn summary(&self) -> Vec<String> {
        self.libraries
            .iter()
            .filter_map(|(link, symbols)| {
                let d = link.dylib()?;
                Some(format!(
                    "{} (compatibility {}): {} symbols",
                    d.install_name,
                    d.compatibility,
                    symbols.len()
                ))
            })
            .collect()
    }
}

/// A text-based stub, version 4 (what the SDKs ship), for both macOS architectures.
fn tbd(dylib: Dylib, symbols: &BTreeSet<String>) -> String {
    let targets = "[ x86_64-macos, arm64-macos ]";
    let mut text = format!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: {targets}\ninstall-name: '{}'\ncurrent-version: {}\ncompatibility-version: {}\n",
        dylib.install_name, dylib.current, dylib.compatibility
    );
    if !symbols.is_empty() {
        text.push_str(&format!("exports:\n  - targets: {targets}\n    symbols: [ "));
        let quoted: Vec<String> = symbols.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect();
        text.push_str(&quoted.join(", "));
        text.push_str(" ]\n");
    }
    text.push_str("...\n");
    text
}

/// What zig's Mach-O linker writes that ld64 does not: a GOT slot of a symbol defined in
/// the binary itself (a C library's hidden-visibility function or table, reached from
/// another object file through the GOT) names that local symbol in the indirect symbol
/// table, where ld64 writes INDIRECT_SYMBOL_LOCAL. llvm-objcopy (rustc's strip on Apple
/// targets) keeps every symbol the table names, so those locals survive `strip = true`.
/// Rewrites such entries as ld64 would, in place, and returns how many; dyld never reads
/// them (the slots are rebased), so only the symbol table changes meaning. A thin 64-bit
/// little-endian Mach-O only (what cargo writes for both Apple targets); anything else,
/// or a table that points outside the file, is left as it is.
pub fn localize_indirect_symbols(bytes: &mut [u8]) -> usize {
    use goblin::mach::header::MH_MAGIC_64;
    use goblin::mach::load_command::{LC_DYSYMTAB, LC_SYMTAB};
    use goblin::mach::symbols::{N_ABS, N_EXT, N_STAB, N_TYPE, N_UNDF};
    const INDIRECT_SYMBOL_LOCAL: u32 = 0x8000_0000;
    const INDIRECT_SYMBOL_ABS: u32 = 0x4000_0000;
    let u32_at = |bytes: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
    };
    // Read by hand, not with goblin: only two load commands matter, and the walk is bounded
    // by the header's count and the file.
    if u32_at(bytes, 0) != Some(MH_MAGIC_64) {
        return 0;
    }
    let (mut symtab, mut indirect) = (None, None);
    let mut at = 32usize;
    for _ in 0..u32_at(bytes, 16).unwrap_or(0) {
        let (Some(cmd), Some(size)) = (u32_at(bytes, at), u32_at(bytes, at + 4)) else {
            return 0;
        };
        let field = |n: usize| u32_at(bytes, at + 8 + 4 * n).map(|v| v as usize);
        match cmd {
            LC_SYMTAB => symtab = field(0).zip(field(1)),
            // indirectsymoff and nindirectsyms are LC_DYSYMTAB's 13th and 14th fields.
            LC_DYSYMTAB => indirect = field(12).zip(field(13)),
            _ => {}
        }
        match at.checked_add(size as usize) {
            Some(next) if size >= 8 => at = next,
            _ => return 0,
        }
    }
    let (Some((symoff, nsyms)), Some((first, count))) = (symtab, indirect) else {
        return 0;
    };
    let mut changed = 0;
    for i in 0..count {
        let at = first.saturating_add(4 * i);
        let Some(index) = u32_at(bytes, at) else {
            break;
        };
        if index & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS) != 0 || index as usize >= nsyms {
            continue;
        }
        // An nlist_64 is 16 bytes; n_type follows the 4-byte n_strx.
        let Some(&n_type) = bytes.get(symoff.saturating_add(16 * index as usize + 4)) else {
            continue;
        };
        let kind = n_type & N_TYPE;
        if n_type & N_STAB != 0 || n_type & N_EXT != 0 || kind == N_UNDF {
            continue;
        }
        let local = match kind == N_ABS {
            true => INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS,
            false => INDIRECT_SYMBOL_LOCAL,
        };
        bytes[at..at + 4].copy_from_slice(&local.to_le_bytes());
        changed += 1;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, framework: bool) -> LinkName {
        LinkName {
            name: name.into(),
            framework,
        }
    }

    #[test]
    fn link_names_map_to_the_install_names_macos_has() {
        let cf = link("CoreFoundation", true).dylib().unwrap();
        assert_eq!(
            cf.install_name,
            "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation"
        );
        assert_eq!(cf.compatibility, "150.0.0");
        assert_eq!(
            link("objc", false).dylib().unwrap().install_name,
            "/usr/lib/libobjc.A.dylib"
        );
        assert_eq!(
            link("iconv", false).dylib().unwrap().install_name,
            "/usr/lib/libiconv.2.dylib"
        );
        assert_eq!(
            link("resolv", false).dylib().unwrap().install_name,
            "/usr/lib/libresolv.9.dylib"
        );
        assert!(link("System", false).dylib().is_none());
        assert!(link("c", false).dylib().is_none());
        assert!(link("NoSuchKit", true).dylib().is_none());
    }

    #[test]
    fn the_facts_move_a_symbol_to_where_macos_binds_it() {
        // objc2 names libobjc and Foundation; NSArray's class lives in CoreFoundation.
        let foundation = link("Foundation", true);
        let cf = link("CoreFoundation", true);
        let declared = BTreeMap::from([
            (
                foundation.clone(),
                BTreeSet::from(["_OBJC_CLASS_$_NSArray".to_string(), "_NSLog".into()]),
            ),
            (cf.clone(), BTreeSet::from(["_CFRelease".to_string(), "_free".into()])),
        ]);
        let stubs = Stubs::new(&declared);
        assert!(stubs.libraries[&cf].contains("_OBJC_CLASS_$_NSArray"));
        assert!(!stubs.libraries[&foundation].contains("_OBJC_CLASS_$_NSArray"));
        assert!(stubs.libraries[&foundation].contains("_NSLog"));
        assert!(
            !stubs.libraries[&cf].contains("_free"),
            "libSystem's, whoever declares it"
        );
        let files = stubs.files();
        let (path, text) = &files[0];
        assert_eq!(path, "Frameworks/CoreFoundation.framework/CoreFoundation.tbd");
        assert!(text
            .contains("install-name: '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation'"));
        assert!(text.contains("'_CFRelease'"));
    }

    #[test]
    fn indirect_entries_naming_local_symbols_become_local_as_ld64_writes_them() {
        // A thin arm64 Mach-O with LC_SYMTAB, LC_DYSYMTAB, five symbols and an indirect
        // table naming each of them and one entry already LOCAL.
        let types = [0x0e, 0x0f, 0x01, 0x02, 0x1e]; // local, extern, undefined, absolute, private extern
        let (symoff, nsyms) = (32 + 24 + 80, types.len() as u32);
        let indoff = symoff + 16 * types.len();
        let entries = [0u32, 1, 2, 3, 4, 0x8000_0000];
        let mut bytes = Vec::new();
        let words = |bytes: &mut Vec<u8>, words: &[u32]| {
            for w in words {
                bytes.extend(w.to_le_bytes())
            }
        };
        words(&mut bytes, &[0xfeed_facf, 0x0100_000c, 0, 2, 2, 104, 0, 0]);
        words(&mut bytes, &[0x2, 24, symoff as u32, nsyms, 0, 0]);
        let mut dysymtab = [0u32; 20];
        dysymtab[..2].copy_from_slice(&[0xb, 80]);
        dysymtab[14] = indoff as u32;
        dysymtab[15] = entries.len() as u32;
        words(&mut bytes, &dysymtab);
        for t in types {
            bytes.extend([0, 0, 0, 0, t, 1, 0, 0]);
            bytes.extend([0; 8]);
        }
        words(&mut bytes, &entries);
        let entry = |bytes: &[u8], i: usize| u32::from_le_bytes(bytes[indoff + 4 * i..][..4].try_into().unwrap());

        assert_eq!(localize_indirect_symbols(&mut bytes), 3);
        let after: Vec<u32> = (0..entries.len()).map(|i| entry(&bytes, i)).collect();
        assert_eq!(after, [0x8000_0000, 1, 2, 0xc000_0000, 0x8000_0000, 0x8000_0000]);
        assert_eq!(localize_indirect_symbols(&mut bytes), 0, "nothing left to rewrite");
        // Cut short, or not a thin 64-bit Mach-O: left as it is, no panic.
        for len in [0, 4, 40, 140, indoff + 2] {
            let mut short = bytes[..len].to_vec();
            localize_indirect_symbols(&mut short);
        }
        let mut fat = bytes.clone();
        fat[..4].copy_from_slice(&0xcafe_babe_u32.to_be_bytes());
        assert_eq!(localize_indirect_symbols(&mut fat), 0);
    }
}
