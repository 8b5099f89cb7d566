//! The compressors behind tar.gz, tar.xz and tar.zst: deterministic output at fixed levels.
//!
//! xz and zstd run on every core, and their output does not depend on how many: the input
//! is cut where its length alone says (never the thread count), and each piece is
//! compressed the same way whichever thread takes it. A one-core machine writes the same
//! bytes as a 64-core one (the test `output_is_the_same_for_any_thread_count`).

use anyhow::Result;
use std::io::Write;

// Levels are chosen for release archives, which are compressed once and downloaded many times.

/// The threads the xz and zstd encoders use: every core, at least one.
pub(super) fn threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// Half of `len` rounded up to whole MiB, at least `min`: where xz starts its second block
/// and zstd its second job. Two pieces keep two cores busy; more pieces would lose ratio.
fn half(len: usize, min: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    ((len as u64).div_ceil(2).div_ceil(MIB) * MIB).max(min)
}

/// The piece of the tar each gzip thread deflates: half the tar rounded up to 64 KiB, between
/// 64 KiB and 1 MiB, so its length alone decides (never the core count) and a release tar
/// still makes two pieces for two cores. Each piece starts with the 32 KiB before it as
/// deflate's dictionary and ends with a sync flush (as pigz does), so matches reach across
/// pieces and one gzip member holds them all; pigz's 128 KiB pieces show the flush markers
/// and block restarts cost next to nothing.
fn gzip_piece(len: usize) -> usize {
    const KIB64: usize = 64 << 10;
    (len.div_ceil(2).div_ceil(KIB64) * KIB64).clamp(KIB64, 1 << 20)
}

/// gzip 9, no larger than GNU `gzip -9`: each piece is deflated by stock zlib and by zlib-rs
/// at level 9 and the smaller kept. Neither alone is enough: on the bench's 60 MB tar zlib-rs
/// came out 0.5% larger than `gzip -9` and zlib 0.1% smaller; on a 368 KB release tar zlib
/// was 0.3% larger and zlib-rs 0.1% smaller. Both raw streams end byte-aligned on the same
/// input and window, so either can follow the other. The pieces ([`gzip_piece`]) deflate on
/// every core, so both together take less than `gzip -9` alone. The header is flate2's
/// (mtime 0, XFL 2 for level 9, OS 255), the trailer the CRC32 and size of the whole tar.
pub(super) fn gzip(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    gzip_with(out, tar, threads())
}

fn gzip_with(out: &mut impl Write, tar: &[u8], threads: u32) -> Result<()> {
    let step = gzip_piece(tar.len());
    let pieces: Vec<(usize, usize)> = match tar.len() {
        0 => vec![(0, 0)],
        len => (0..len).step_by(step).map(|s| (s, (s + step).min(len))).collect(),
    };
    let threads = (threads.max(1) as usize).min(pieces.len());
    let mut deflated: Vec<Result<Vec<u8>>> = Vec::new();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let pieces = &pieces;
                scope.spawn(move || {
                    (t..pieces.len())
                        .step_by(threads)
                        .map(|i| {
                            let (start, end) = pieces[i];
                            let dictionary = &tar[start.saturating_sub(32 << 10)..start];
                            let last = i + 1 == pieces.len();
                            let piece = &tar[start..end];
                            let smaller = zlib_piece(dictionary, piece, last).and_then(|zlib| {
                                let rs = zlib_rs_piece(dictionary, piece, last)?;
                                Ok(if rs.len() < zlib.len() { rs } else { zlib })
                            });
                            (i, smaller)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Result<Vec<u8>>)> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("a deflate thread does not panic"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        deflated = all.into_iter().map(|(_, piece)| piece).collect();
    });
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255])?;
    for piece in deflated {
        out.write_all(&piece?)?;
    }
    let mut crc = flate2::Crc::new();
    crc.update(tar);
    out.write_all(&crc.sum().to_le_bytes())?;
    out.write_all(&(tar.len() as u32).to_le_bytes())?;
    Ok(())
}

/// One piece as raw deflate at level 9 by stock zlib (flate2's C backend), primed with
/// `dictionary`; the last one finishes the stream, the others end on a byte boundary (sync
/// flush) for the next to follow.
fn zlib_piece(dictionary: &[u8], piece: &[u8], last: bool) -> Result<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    let mut deflate = Compress::new(Compression::new(9), false);
    if !dictionary.is_empty() {
        deflate.set_dictionary(dictionary)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(piece.len() / 2 + 4096);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let read = deflate.total_in() as usize;
        let status = deflate.compress_vec(&piece[read..], &mut out, flush)?;
        let all_read = deflate.total_in() as usize == piece.len();
        // Done: the stream ended, or all read and flushed with room to spare.
        if status == Status::StreamEnd || (!last && all_read && out.len() < out.capacity()) {
            return Ok(out);
        }
    }
}

/// The same piece by zlib-rs, in one call into a buffer its worst case fits.
fn zlib_rs_piece(dictionary: &[u8], piece: &[u8], last: bool) -> Result<Vec<u8>> {
    use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Status};
    let mut deflate = Deflate::new_with_config(DeflateConfig {
        window_bits: -15,
        ..DeflateConfig::new(9)
    });
    if !dictionary.is_empty() {
        deflate
            .set_dictionary(dictionary)
            .map_err(|e| anyhow::anyhow!("zlib-rs: setting the dictionary: {}", e.as_str()))?;
    }
    let flush = if last {
        DeflateFlush::Finish
    } else {
        DeflateFlush::SyncFlush
    };
    // The worst case of a whole stream, plus the sync flush's empty stored block.
    let mut out = vec![0; zlib_rs::compress_bound(piece.len()) + 16];
    let status = deflate
        .compress(piece, &mut out, flush)
        .map_err(|e| anyhow::anyhow!("zlib-rs: deflating: {}", e.as_str()))?;
    let done = deflate.total_in() as usize == piece.len() && (!last || status == Status::StreamEnd);
    anyhow::ensure!(
        done,
        "zlib-rs: a {} B piece did not fit its worst-case buffer",
        piece.len()
    );
    out.truncate(deflate.total_out() as usize);
    Ok(out)
}

/// The smallest xz block: the preset-6 dictionary (8 MiB). A block starts with an empty
/// dictionary, so smaller ones lose ratio (a 580 KiB tar cut in two grew 9%): inputs up to
/// twice this stay one or two blocks, larger ones are cut in two halves.
const XZ_MIN_BLOCK: u64 = 8 << 20;

/// LZMA2's longest match searched, above preset 6's 64: the second block's empty dictionary
/// costs about 0.01% on a 57 MB binary tar, and 72 wins back 0.15% (xz 5.4, measured for
/// size only), so the archive is no larger than `xz -6`'s.
const XZ_NICE_LEN: u32 = 72;

/// xz preset 6 (xz's default; its 8 MiB dictionary already spans a release binary, and 9
/// only raises the memory needed to unpack), nice_len 72, CRC64, liblzma's multi-threaded
/// encoder with blocks of [`half`] the input: two blocks compress on two cores.
pub(super) fn xz(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    xz_with(out, tar, threads(), XZ_MIN_BLOCK)
}

/// `min_block`: the tests' smaller inputs cut with a smaller minimum, by the same rule.
fn xz_with(out: &mut impl Write, tar: &[u8], threads: u32, min_block: u64) -> Result<()> {
    let mut options = liblzma::stream::LzmaOptions::new_preset(6)?;
    options.nice_len(XZ_NICE_LEN);
    let mut filters = liblzma::stream::Filters::new();
    filters.lzma2(&options);
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(threads)
        .block_size(half(tar.len(), min_block))
        .filters(filters)
        .check(liblzma::stream::Check::Crc64)
        .encoder()?;
    let mut xz = liblzma::write::XzEncoder::new_stream(out, stream);
    xz.write_all(tar)?;
    xz.finish()?;
    Ok(())
}

/// The smallest zstd job: zstd's own minimum (ZSTDMT_JOBSIZE_MIN, 512 KiB) rounded to 1 MiB.
const ZSTD_MIN_JOB: u64 = 1 << 20;

/// zstd 19, the highest level without --ultra: unpacking stays as fast and needs an 8 MiB
/// window. The content size and a checksum are recorded, as the `zstd` tool does. Always
/// in zstd's multi-threaded mode (at least one worker), whose output is the same for any
/// number of workers but differs from its single-threaded mode; jobs of [`half`] the input,
/// each reloading the window before it (zstd's default overlap at this level), came out
/// no larger than `zstd -19` (10206933 B against 10206941 B on a 57 MB tar).
pub(super) fn zstd(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    zstd_with(out, tar, threads(), ZSTD_MIN_JOB)
}

fn zstd_with(out: &mut impl Write, tar: &[u8], threads: u32, min_job: u64) -> Result<()> {
    let mut zst = zstd::Encoder::new(out, 19)?;
    zst.include_checksum(true)?;
    zst.set_pledged_src_size(Some(tar.len() as u64))?;
    zst.multithread(threads.max(1))?;
    let job = half(tar.len(), min_job);
    zst.set_parameter(zstd::zstd_safe::CParameter::JobSize(
        u32::try_from(job).unwrap_or(u32::MAX),
    ))?;
    zst.write_all(tar)?;
    zst.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compressible bytes that are not one repeated pattern: a binary-like mix.
    fn input(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Runs of text-like and random-like bytes.
                const TEXT: &[u8] = b"fn main() { println!(\"hello\"); }\n";
                if (i / 4096) % 3 == 0 {
                    TEXT[i % TEXT.len()]
                } else {
                    (state % 24) as u8
                }
            })
            .collect()
    }

    #[test]
    fn output_is_the_same_for_any_thread_count() {
        // 1.5 MiB, cut by the production rule with small minimums (zstd's own is 512 KiB):
        // two pieces of 1 MiB and 0.5 MiB each, so two threads have work.
        let tar = input(3 << 19);
        let min = 256 << 10;
        assert_eq!(half(tar.len(), min), 1 << 20);
        type Compressor = fn(&mut Vec<u8>, &[u8], u32, u64) -> Result<()>;
        let gzip = |out: &mut Vec<u8>, tar: &[u8], threads, _| gzip_with(out, tar, threads);
        let compressors: [(&str, Compressor); 3] = [("xz", xz_with), ("zstd", zstd_with), ("gzip", gzip)];
        for (name, compress) in compressors {
            let with = |threads| {
                let mut out = Vec::new();
                compress(&mut out, &tar, threads, min).unwrap();
                out
            };
            let one = with(1);
            assert!(one.len() < tar.len() / 2, "{name} compresses");
            assert!(with(2) == one, "{name}: 2 threads wrote other bytes than 1");
            assert!(with(4) == one, "{name}: 4 threads wrote other bytes than 1");
        }
        // verify's xz reader (liblzma's single-threaded decoder) takes the two blocks.
        let mut out = Vec::new();
        xz_with(&mut out, &tar, 2, min).unwrap();
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut liblzma::bufread::XzDecoder::new(&out[..]), &mut unpacked).unwrap();
        assert!(unpacked == tar, "liblzma's decoder reads it back");
        let mut out = Vec::new();
        zstd_with(&mut out, &tar, 2, min).unwrap();
        assert!(zstd::decode_all(&out[..]).unwrap() == tar, "zstd reads it back");
    }

    #[test]
    fn gzip_pieces_make_one_member_that_gzip_reads() {
        use std::io::Read;
        for len in [0, 1000, 300 << 10, 1 << 20, (2 << 20) + 7] {
            let tar = input(len);
            let mut out = Vec::new();
            gzip_with(&mut out, &tar, 2).unwrap();
            let mut unpacked = Vec::new();
            // GzDecoder reads one member: a second member or a bad trailer would fail here.
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            assert!(unpacked == tar, "{len} bytes");
            // No larger than either encoder's one stream at level 9, within the flush markers.
            let mut zlib = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
            zlib.write_all(&tar).unwrap();
            let zlib = zlib.finish().unwrap().len();
            let zlib_rs = zlib_rs_piece(&[], &tar, true).unwrap().len() + 18;
            let pieces = tar.len().div_ceil(gzip_piece(tar.len())).max(1);
            assert!(
                out.len() <= zlib.min(zlib_rs) + 64 * pieces,
                "{len}: {} vs zlib {zlib}, zlib-rs {zlib_rs}",
                out.len()
            );
        }
    }

    #[test]
    fn gzip_pieces_come_from_the_length_alone() {
        assert_eq!(gzip_piece(0), 64 << 10);
        assert_eq!(gzip_piece(368_640), 192 << 10);
        assert_eq!(gzip_piece(3 << 19), 768 << 10);
        assert_eq!(gzip_piece(57_251_840), 1 << 20);
    }

    #[test]
    fn small_inputs_are_one_piece_and_large_ones_two_halves() {
        assert_eq!(half(1000, XZ_MIN_BLOCK), XZ_MIN_BLOCK);
        assert_eq!(half(1000, ZSTD_MIN_JOB), 1 << 20);
        assert_eq!(half(57_251_840, XZ_MIN_BLOCK), 28 << 20);
        assert_eq!(half(57_251_840, ZSTD_MIN_JOB), 28 << 20);
    }
}
