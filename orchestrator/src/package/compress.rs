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

/// The piece of the tar each gzip thread deflates: fixed, so the bytes never depend on the
/// core count. Each piece starts with the 32 KiB before it as deflate's dictionary and ends
/// with a sync flush (as pigz does), so matches reach across pieces and one gzip member
/// holds them all; a MiB per piece makes the flush markers and block restarts negligible.
const GZIP_PIECE: usize = 1 << 20;

/// gzip 9: zlib-rs at 6 came out 1-3% larger than GNU gzip -6 on the same tar
/// (BENCHMARKS.md); at 9 it is no larger. The pieces ([`GZIP_PIECE`]) deflate on every
/// core, so it takes about the time of `gzip -6` alone. The header is flate2's (mtime 0,
/// XFL 2 for level 9, OS 255), the trailer the CRC32 and size of the whole tar.
pub(super) fn gzip(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    gzip_with(out, tar, threads())
}

fn gzip_with(out: &mut impl Write, tar: &[u8], threads: u32) -> Result<()> {
    let pieces: Vec<(usize, usize)> = match tar.len() {
        0 => vec![(0, 0)],
        len => (0..len)
            .step_by(GZIP_PIECE)
            .map(|s| (s, (s + GZIP_PIECE).min(len)))
            .collect(),
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
                            (i, deflate_piece(dictionary, &tar[start..end], i + 1 == pieces.len()))
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

/// One piece as raw deflate at level 9, primed with `dictionary`; the last one finishes the
/// stream, the others end on a byte boundary (sync flush) for the next to follow.
fn deflate_piece(dictionary: &[u8], piece: &[u8], last: bool) -> Result<Vec<u8>> {
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
        for len in [0, 1000, GZIP_PIECE, 2 * GZIP_PIECE + 7] {
            let tar = input(len);
            let mut out = Vec::new();
            gzip_with(&mut out, &tar, 2).unwrap();
            let mut unpacked = Vec::new();
            // GzDecoder reads one member: a second member or a bad trailer would fail here.
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            assert!(unpacked == tar, "{len} bytes");
            // As small as one stream at level 9, within the flush markers.
            let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
            single.write_all(&tar).unwrap();
            let single = single.finish().unwrap();
            assert!(
                out.len() <= single.len() + 64 * tar.len().div_ceil(GZIP_PIECE),
                "{len}: {} vs {}",
                out.len(),
                single.len()
            );
        }
    }

    #[test]
    fn small_inputs_are_one_piece_and_large_ones_two_halves() {
        assert_eq!(half(1000, XZ_MIN_BLOCK), XZ_MIN_BLOCK);
        assert_eq!(half(1000, ZSTD_MIN_JOB), 1 << 20);
        assert_eq!(half(57_251_840, XZ_MIN_BLOCK), 28 << 20);
        assert_eq!(half(57_251_840, ZSTD_MIN_JOB), 28 << 20);
    }
}
