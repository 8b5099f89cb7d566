//! What `lipo -create` does, for the `universal2-apple-darwin` target: the thin Mach-O
//! binaries of the x86_64 and aarch64 apple-darwin builds become one universal (fat) file.
//! The slices are copied byte for byte, so each keeps its code signature (the page hashes
//! cover the slice from its own Mach-O header on, not the fat file).
//!
//! fat-macho writes the fat header and aligned slices: it reads them with the goblin this
//! crate already builds, and without its default `bitcode` feature it brings nothing else.
//! It aligns every slice to the largest alignment of the set (2^14, the arm64 page), which
//! is also a valid alignment for x86_64 (which lipo aligns to 2^12); verify accepts both.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes the universal binary made from `slices` (thin Mach-O files) to `out`, atomically.
pub fn merge(slices: &[&Path], out: &Path) -> Result<()> {
    let mut writer = fat_macho::FatWriter::new();
    for slice in slices {
        let bytes = std::fs::read(slice).with_context(|| format!("reading the slice {}", slice.display()))?;
        writer.add(bytes).with_context(|| {
            format!(
                "adding {} to a universal binary: is it a thin Mach-O executable?",
                slice.display()
            )
        })?;
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::package::write_atomic(out, |file| {
        writer
            .write_to(file)
            .with_context(|| format!("writing the universal binary {}", out.display()))
    })
}
