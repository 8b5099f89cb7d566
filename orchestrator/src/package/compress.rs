//! The compressors behind tar.gz, tar.xz, tar.zst and zip entries: deterministic output at
//! fixed levels.
//!
//! gzip and deflate take one thread: libdeflate's single stream already takes a third of
//! GNU gzip's time. xz (past one block) and zstd run on every core, and their output does
//! not depend on how many: the input is cut where its length alone says (never the thread
//! count), and each piece is compressed the same way whichever thread takes it. A one-core
//! machine writes the same bytes as a 64-core one (the test `output_is_the_same_for_any_thread_count`).

use anyhow::{Context, Result};
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

/// gzip by libdeflate at level 9: one member over the whole tar, on one thread. libdeflate
/// spends its time on better match choices instead of zlib's streaming machinery, so it is
/// both smaller and faster than GNU `gzip -9` (measured here: app's 373 KB release tar
/// 187 252 B against 188 745 B; a 57 MB tar 14 508 876 B against 14 647 390 B in 2.7 s against
/// 8.1 s). zlib and zlib-rs at level 9 were not: on small tars both came out up to 0.2%
/// larger than `gzip -9`, even keeping the smaller of the two for each piece. Its output
/// depends on the input and level alone (the CPU features it detects only pick faster
/// checksum and table-clearing routines); its header has mtime 0, XFL 2 for level ≥ 8 and
/// OS 255, the same on every machine.
pub(super) fn gzip(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    let mut compressor = level_9();
    let mut gz = vec![0; compressor.gzip_compress_bound(tar.len())];
    let written = compressor
        .gzip_compress(tar, &mut gz)
        .with_context(|| format!("libdeflate: gzip of a {} B tar", tar.len()))?;
    out.write_all(&gz[..written])?;
    Ok(())
}

/// A zip entry's raw deflate stream, by libdeflate at level 9 as [`gzip`].
pub(super) fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut compressor = level_9();
    let mut raw = vec![0; compressor.deflate_compress_bound(data.len())];
    let written = compressor
        .deflate_compress(data, &mut raw)
        .with_context(|| format!("libdeflate: deflate of a {} B file", data.len()))?;
    raw.truncate(written);
    Ok(raw)
}

fn level_9() -> libdeflater::Compressor {
    // Checked when compiling: libdeflate's levels are 1 to 12.
    const NINE: libdeflater::CompressionLvl = match libdeflater::CompressionLvl::new(9) {
        Ok(level) => level,
        Err(_) => panic!("libdeflate has a level 9"),
    };
    libdeflater::Compressor::new(NINE)
}

/// The smallest xz block: the preset-6 dictionary (8 MiB). A block starts with an empty
/// dictionary, so smaller ones lose ratio (a 580 KiB tar cut in two grew 9%): inputs up to
/// twice this stay one or two blocks, larger ones are cut in two halves.
const XZ_MIN_BLOCK: u64 = 8 << 20;

/// LZMA2's longest match searched, above preset 6's 64, so two blocks come out no larger
/// than `xz -6`'s one: on three 38–42 MB debug binaries cut in two, 72 left them 1.0001×,
/// 1.0005× and 1.0017× `xz -6`'s size, 80 made them 0.998×–0.999× (`xz -T2 --block-size`,
/// whose output is ours byte for byte). It costs 5% more CPU than 64 (72: 3.5%; median of
/// five runs on an 8 MiB slice).
pub(super) const XZ_NICE_LEN: u32 = 80;

/// The xz dictionary for `len` bytes: preset 6's 8 MiB, or for a smaller input the power of
/// two that holds it (at least liblzma's 4 KiB minimum). A dictionary larger than the input
/// finds no more matches, but its match finder's hash table grows with it: on app's 373 KB
/// release tar, 512 KiB took two thirds of the time of 8 MiB for the same size (`xz
/// --lzma2=preset=6,dict=…`, 160 932 B both). Unpacking then needs less memory too.
fn xz_dict(len: usize) -> u32 {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    len.checked_next_power_of_two()
        .unwrap_or(u32::MAX)
        .clamp(4 << 10, XZ_MIN_BLOCK as u32)
}

/// xz preset 6 (xz's default; its 8 MiB dictionary already spans a release binary, and 9
/// only raises the memory needed to unpack), the dictionary of [`xz_dict`], CRC64. An input
/// of up to one block is compressed as `xz -6` does it, by liblzma's single-threaded encoder
/// at preset 6's nice_len: the same bytes but for the dictionary size in the block header
/// (one block has no second core to use, and the multi-threaded encoder's block header
/// records sizes: 4–8 B more). A larger one takes the multi-threaded encoder, blocks of
/// [`half`] the input and [`XZ_NICE_LEN`]: two blocks compress on two cores.
pub(super) fn xz(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    xz_with(out, tar, threads(), XZ_MIN_BLOCK)
}

/// `min_block`: the tests' smaller inputs cut with a smaller minimum, by the same rule.
fn xz_with(out: &mut impl Write, tar: &[u8], threads: u32, min_block: u64) -> Result<()> {
    let block = half(tar.len(), min_block);
    let mut options = liblzma::stream::LzmaOptions::new_preset(6)?;
    options.dict_size(xz_dict(tar.len()));
    let mut filters = liblzma::stream::Filters::new();
    let check = liblzma::stream::Check::Crc64;
    let stream = if tar.len() as u64 <= block {
        filters.lzma2(&options);
        liblzma::stream::Stream::new_stream_encoder(&filters, check)?
    } else {
        options.nice_len(XZ_NICE_LEN);
        filters.lzma2(&options);
        liblzma::stream::MtStreamBuilder::new()
            .threads(threads)
            .block_size(block)
            .filters(filters)
            .check(check)
            .encoder()?
    };
    let mut xz = liblzma::write::XzEncoder::new_stream(out, stream);
    xz.write_all(tar)?;
    xz.finish()?;
    Ok(())
}

/// The smallest zstd job: zstd's own minimum (ZSTDMT_JOBSIZE_MIN, 512 KiB) rounded to 1 MiB.
const ZSTD_MIN_JOB: u64 = 1 << 20;

/// zstd 19, the highest level without --ultra: unpacking stays as fast and needs at most an
/// 8 MiB window. zstd is told the input's size, so it sizes its window and tables to it:
/// without that, app's 369 KB release tar took 1.7× the time for the same bytes (227 ms
/// against 131 ms, medians of nine interleaved runs). A checksum is recorded but not the size, as
/// `tar | zstd` writes it (zstd reading a pipe): the recorded size costs 3 B (a 4-byte field
/// for the window's 1 byte), and app's release tar then is exactly `tar | zstd -19`'s size.
/// Always in zstd's multi-threaded mode (at least one worker), whose output is the same for
/// any number of workers but differs from its single-threaded mode; jobs of [`half`] the
/// input, each reloading the window before it (zstd's default overlap at this level), came
/// out no larger than `zstd -19` (10206933 B against 10206941 B on a 57 MB tar).
pub(super) fn zstd(out: &mut impl Write, tar: &[u8]) -> Result<()> {
    zstd_with(out, tar, threads(), ZSTD_MIN_JOB)
}

/// The jobs [`zstd`] cuts a `len`-byte tar into: one up to 1 MiB, else two. One job keeps
/// one core busy, whatever the thread count.
pub(super) fn zstd_jobs(len: usize) -> u64 {
    (len as u64).div_ceil(half(len, ZSTD_MIN_JOB)).max(1)
}

fn zstd_with(out: &mut impl Write, tar: &[u8], threads: u32, min_job: u64) -> Result<()> {
    let mut zst = zstd::Encoder::new(out, 19)?;
    zst.include_checksum(true)?;
    zst.set_pledged_src_size(Some(tar.len() as u64))?;
    zst.include_contentsize(false)?;
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
        let compressors: [(&str, Compressor); 2] = [("xz", xz_with), ("zstd", zstd_with)];
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
    fn gzip_is_one_member_no_larger_than_gnu_gzip_9() {
        use std::io::Read;
        // Machine code, as release tars hold: the start of this test binary, from an empty
        // tar's size up to past 2 MiB.
        let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        for len in [10_240, 300 << 10, (2 << 20) + 7] {
            let tar = &binary[..len];
            let mut out = Vec::new();
            gzip(&mut out, tar).unwrap();
            assert_eq!(out[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255], "no name, mtime 0");
            let mut unpacked = Vec::new();
            // GzDecoder reads one member: a second member or a bad trailer would fail here.
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            assert!(unpacked == tar, "{len} bytes");
            // GNU gzip, which every Linux has, is the size to beat.
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), tar).unwrap();
            let gnu = std::process::Command::new("gzip")
                .args(["-9", "-n", "-c"])
                .arg(file.path())
                .output()
                .unwrap();
            assert!(gnu.status.success());
            let gnu = gnu.stdout.len();
            assert!(out.len() <= gnu, "{len}: {} B vs gzip -9's {gnu} B", out.len());
            // A zip entry: the same encoder, raw.
            let mut inflated = Vec::new();
            flate2::read::DeflateDecoder::new(&deflate(tar).unwrap()[..])
                .read_to_end(&mut inflated)
                .unwrap();
            assert!(inflated == tar, "{len} bytes through raw deflate");
        }
    }

    /// Machine code as in a release tar, one xz block and one zstd job long: the start of
    /// this test binary.
    fn one_piece_of_machine_code() -> Vec<u8> {
        let mut binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        binary.truncate(600 << 10);
        binary
    }

    /// What `program` writes for `input` on its stdin, as behind `tar --use-compress-program`.
    fn through(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} runs (.ci/run installs it): {e}"));
        let mut stdin = child.stdin.take().unwrap();
        let out = std::thread::scope(|s| {
            s.spawn(move || stdin.write_all(input).unwrap());
            child.wait_with_output().unwrap()
        });
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn one_xz_block_is_what_xz_6_writes() {
        let tar = &one_piece_of_machine_code()[..];
        let mut ours = Vec::new();
        xz(&mut ours, tar).unwrap();
        // The xz tool, single-threaded at preset 6, told only our smaller dictionary.
        let dict = format!("--lzma2=preset=6,dict={}", xz_dict(tar.len()));
        let theirs = through("xz", &["-T1", "--check=crc64", &dict, "-c"], tar);
        assert!(ours == theirs, "{} B vs xz's {} B", ours.len(), theirs.len());
    }

    #[test]
    fn zstd_writes_no_content_size_and_is_no_larger_than_tar_piped_to_zstd_19() {
        let tar = &one_piece_of_machine_code()[..];
        let mut ours = Vec::new();
        zstd(&mut ours, tar).unwrap();
        // As zstd writes a frame whose size it was not told.
        assert!(matches!(zstd::zstd_safe::get_frame_content_size(&ours), Ok(None)));
        // But zstd was told it: the window the header names (RFC 8878 3.1.1.1.2, after the
        // magic number and the descriptor without the single-segment flag) spans the input,
        // not level 19's 8 MiB, and the tables behind it were sized alike.
        assert_eq!(ours[4] & 0x20, 0, "a window descriptor follows");
        let (exponent, mantissa) = (u32::from(ours[5] >> 3), u64::from(ours[5] & 7));
        let base = 1u64 << (10 + exponent);
        let window = base + base / 8 * mantissa;
        assert_eq!(
            window,
            (tar.len() as u64).next_power_of_two(),
            "window sized to the input"
        );
        // The zstd tool reading a pipe. Its bytes differ between zstd versions (Debian 12's
        // 1.5.4 here, the crate's 1.5.7).
        let theirs = through("zstd", &["-19", "-q", "-c"], tar);
        assert!(
            ours.len() <= theirs.len(),
            "{} B vs zstd's {} B",
            ours.len(),
            theirs.len()
        );
    }

    #[test]
    fn the_xz_dictionary_holds_a_small_input_and_is_8_mib_past_it() {
        assert_eq!(xz_dict(0), 4 << 10);
        assert_eq!(xz_dict(372_736), 512 << 10);
        assert_eq!(xz_dict(512 << 10), 512 << 10);
        assert_eq!(xz_dict((8 << 20) - 1), 8 << 20);
        assert_eq!(xz_dict(57_251_840), 8 << 20);
    }

    #[test]
    fn small_inputs_are_one_piece_and_large_ones_two_halves() {
        assert_eq!(half(1000, XZ_MIN_BLOCK), XZ_MIN_BLOCK);
        assert_eq!(half(1000, ZSTD_MIN_JOB), 1 << 20);
        assert_eq!(half(57_251_840, XZ_MIN_BLOCK), 28 << 20);
        assert_eq!(half(57_251_840, ZSTD_MIN_JOB), 28 << 20);
        assert_eq!(zstd_jobs(367_616), 1);
        assert_eq!(zstd_jobs(1 << 20), 1);
        assert_eq!(zstd_jobs((1 << 20) + 1), 2);
        assert_eq!(zstd_jobs(57_251_840), 2);
    }
}
