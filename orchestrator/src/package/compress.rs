//! The compressors behind tar.gz, tar.xz and tar.zst: deterministic output at fixed levels.

use anyhow::Result;
use std::io::Write;

// Levels are chosen for release archives, which are compressed once and downloaded many times.

/// gzip 9: zlib-rs at 6 came out 1-3% larger than GNU gzip -6 on the same tar
/// (BENCHMARKS.md); at 9 it is no larger, and with the compressor optimised it is still
/// faster than `tar | gzip -6`. Archives are compressed once and downloaded many times.
pub(super) fn gzip(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::new(9));
    gz.write_all(tar)?;
    gz.finish()?;
    Ok(())
}

/// xz preset 6, xz's default: its 8 MiB dictionary already spans a whole release binary, so
/// 9 only raises the memory needed to unpack (from 9 to 65 MiB). With the CRC64 check this is
/// byte for byte what `xz -6` writes.
pub(super) fn xz(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    let mut xz = liblzma::write::XzEncoder::new(out, 6);
    xz.write_all(tar)?;
    xz.finish()?;
    Ok(())
}

/// zstd 19, the highest level without --ultra: unpacking stays as fast and needs an 8 MiB
/// window; the levels above need more memory on every user's machine. The content size and
/// a checksum are recorded, as the `zstd` tool does.
pub(super) fn zstd(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    let mut zst = zstd::Encoder::new(out, 19)?;
    zst.include_checksum(true)?;
    zst.set_pledged_src_size(Some(tar.len() as u64))?;
    zst.write_all(tar)?;
    zst.finish()?;
    Ok(())
}
