//! Reads release archives (.tar.gz, .tar.xz, .zip) in memory for `verify`, one regular file at
//! a time. An archive is untrusted input: an entry whose path is absolute or climbs out with
//! `..`, or a link that points outside the archive, fails the whole archive; every entry and
//! the total are bounded so a small archive cannot expand without limit. Nothing is written
//! to disk.
//!
//! liblzma reads .tar.xz (the packer's own, already built); rawzip reads .zip (package/zip.rs
//! says why).

use crate::inspect::MAX_INPUT;
use crate::model::ArchiveFormat;
use crate::package::names;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Component, Path};

/// All entries together may not decompress to more than this.
const MAX_TOTAL: u64 = 2 << 30;

/// The bounds an archive is read within: one entry, and all entries (or the whole
/// decompressed .tar.xz / .tar.zst stream) together.
#[derive(Clone, Copy, Debug)]
struct Limits {
    entry: u64,
    total: u64,
}

/// A release binary is at most what the inspector reads (1 GiB); the archive at most 2 GiB.
const LIMITS: Limits = Limits {
    entry: MAX_INPUT,
    total: MAX_TOTAL,
};

/// Calls `visit` with the path and bytes of every regular file in the archive, in archive
/// order, after checking every entry's path and link target.
pub fn read(path: &Path, format: ArchiveFormat, visit: impl FnMut(&str, &[u8])) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    read_from(BufReader::new(file), format, visit).with_context(|| format!("reading the archive {}", path.display()))
}

/// `read` over any seekable reader (the fuzz target passes bytes).
pub fn read_from<R: BufRead + Seek>(reader: R, format: ArchiveFormat, visit: impl FnMut(&str, &[u8])) -> Result<()> {
    read_limited(reader, format, LIMITS, visit)
}

fn read_limited<R: BufRead + Seek>(
    mut reader: R,
    format: ArchiveFormat,
    limits: Limits,
    mut visit: impl FnMut(&str, &[u8]),
) -> Result<()> {
    match format {
        ArchiveFormat::TarGz => read_tar(flate2::bufread::GzDecoder::new(reader), limits, &mut visit),
        ArchiveFormat::TarXz => {
            let mut out = Bounded(Vec::new(), limits.total);
            std::io::copy(&mut liblzma::bufread::XzDecoder::new(&mut reader), &mut out)
                .context("the xz stream is corrupt, or decompresses to more than the limit")?;
            read_tar(&out.0[..], limits, &mut visit)
        }
        ArchiveFormat::TarZst => {
            // Decoded whole within the same bound as xz: the tar reader walks a slice.
            let mut decoder = zstd::Decoder::with_buffer(reader).context("the zstd stream is corrupt")?;
            let mut out = Bounded(Vec::new(), limits.total);
            std::io::copy(&mut decoder, &mut out)
                .context("the zstd stream is corrupt, or decompresses to more than the limit")?;
            read_tar(&out.0[..], limits, &mut visit)
        }
        ArchiveFormat::Zip => read_zip(reader, limits, &mut visit),
    }
}

/// A Vec that refuses to grow past its limit.
struct Bounded(Vec<u8>, u64);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() as u64 + buf.len() as u64 > self.1 {
            return Err(std::io::Error::other(format!(
                "the archive decompresses to more than {} bytes",
                self.1
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A link at `entry` pointing at `target` must resolve inside the archive.
fn check_link(entry: &str, target: &str) -> Result<()> {
    let outside = || anyhow::anyhow!("link `{entry}` points at `{target}`, outside the archive");
    if target.starts_with('/') || target.starts_with('\\') || target.as_bytes().get(1) == Some(&b':') {
        return Err(outside());
    }
    // Depth of the link's own directory, then walk the target from there.
    let mut depth = Path::new(entry).components().count() as i64 - 1;
    for component in Path::new(&target.replace('\\', "/")).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return Err(outside()),
        }
        if depth < 0 {
            return Err(outside());
        }
    }
    Ok(())
}

fn read_bounded(reader: impl Read, name: &str, limits: Limits, total: &mut u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limits.entry + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading entry `{name}`"))?;
    if bytes.len() as u64 > limits.entry {
        bail!("entry `{name}` is larger than {} bytes", limits.entry);
    }
    *total += bytes.len() as u64;
    if *total > limits.total {
        bail!("the archive decompresses to more than {} bytes", limits.total);
    }
    Ok(bytes)
}

fn read_tar(reader: impl Read, limits: Limits, visit: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut total = 0;
    for entry in archive.entries().context("not a tar archive")? {
        let entry = entry.context("a tar header is corrupt")?;
        // The raw bytes: `path()` would already have dropped a leading `/`.
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_entry_path(&name)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            if kind.is_hard_link() {
                // A hard link names another entry by its path from the archive root.
                check_entry_path(&target)
                    .map_err(|_| anyhow::anyhow!("hard link `{name}` points at `{target}`, outside the archive"))?;
            } else {
                check_link(&name, &target)?;
            }
        } else if kind.is_file() {
            let bytes = read_bounded(entry, &name, limits, &mut total)?;
            visit(&name, &bytes);
        }
    }
    Ok(())
}

fn read_zip(mut reader: impl Read + Seek, limits: Limits, visit: &mut dyn FnMut(&str, &[u8])) -> Result<()> {
    // Read whole, within the bound on everything it may hold, and walked as a slice: the
    // central directory says where each entry is.
    let mut bytes = Vec::new();
    (&mut reader)
        .take(limits.total + 1)
        .read_to_end(&mut bytes)
        .context("reading the zip archive")?;
    if bytes.len() as u64 > limits.total {
        bail!("the zip archive is larger than {} bytes", limits.total);
    }
    let archive = rawzip::ZipArchive::from_slice(&bytes).map_err(|e| anyhow::anyhow!("not a zip archive: {e}"))?;
    let mut total = 0;
    for record in archive.entries() {
        let record = record.map_err(|e| anyhow::anyhow!("a zip directory entry is corrupt: {e}"))?;
        let name = std::str::from_utf8(record.file_path().as_bytes())
            .context("a zip entry's name is not UTF-8")?
            .to_string();
        check_entry_path(&name)?;
        if record.is_dir() {
            continue;
        }
        let entry = archive
            .get_entry(record.wayfinder())
            .map_err(|e| anyhow::anyhow!("entry `{name}` is corrupt: {e}"))?;
        let data = zip_data(&entry, record.compression_method()).with_context(|| format!("entry `{name}`"))?;
        if record.mode().is_symlink() {
            let mut target = String::new();
            data.take(4096)
                .read_to_string(&mut target)
                .with_context(|| format!("reading link `{name}`"))?;
            check_link(&name, &target)?;
        } else {
            let bytes = read_bounded(data, &name, limits, &mut total)?;
            visit(&name, &bytes);
        }
    }
    Ok(())
}

/// A zip entry's contents, stored or deflated (what release archives and wheels use), with
/// the CRC-32 and size its directory record claims checked as the data is read.
pub(crate) fn zip_data<'a>(
    entry: &rawzip::ZipSliceEntry<'a>,
    method: rawzip::CompressionMethod,
) -> Result<Box<dyn Read + 'a>> {
    Ok(match method {
        rawzip::CompressionMethod::STORE => Box::new(entry.verifying_reader(entry.data())),
        rawzip::CompressionMethod::DEFLATE => {
            Box::new(entry.verifying_reader(flate2::read::DeflateDecoder::new(entry.data())))
        }
        method => bail!("compression method {method} is neither stored nor deflate"),
    })
}

/// An entry's path must stay inside the archive.
fn check_entry_path(name: &str) -> Result<()> {
    names::check_relative_path(name).with_context(|| format!("entry `{name}` would land outside the archive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        // The same choice of format as the fuzz target's first byte.
        crate::inspect::tests::replay_corpus("archive", |data| {
            let Some((&choice, bytes)) = data.split_first() else {
                return;
            };
            let format = [
                ArchiveFormat::TarGz,
                ArchiveFormat::TarXz,
                ArchiveFormat::Zip,
                ArchiveFormat::TarZst,
            ][usize::from(choice % 4)];
            let _ = read_from(std::io::Cursor::new(bytes), format, |_, member| {
                let _ = crate::inspect::inspect(member);
            });
        });
    }

    #[test]
    fn links_must_stay_inside() {
        assert!(check_link("top/bin", "/usr/bin/x").is_err());
        assert!(check_link("top/bin", "../../etc").is_err());
        assert!(check_link("top/sub/bin", "../../../x").is_err());
        check_link("top/bin", "app").unwrap();
        check_link("top/sub/bin", "../app").unwrap();
    }

    /// A tar of the given files, compressed in `format` (the packager's own writers'
    /// formats, made here with the same crates).
    fn archive(format: ArchiveFormat, files: &[(&str, usize)]) -> Vec<u8> {
        if format == ArchiveFormat::Zip {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            for (name, size) in files {
                zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                zip.write_all(&vec![7u8; *size]).unwrap();
            }
            return zip.finish().unwrap().into_inner();
        }
        let mut tar = tar::Builder::new(Vec::new());
        for (name, size) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(*size as u64);
            header.set_mode(0o755);
            header.set_cksum();
            tar.append_data(&mut header, name, &vec![7u8; *size][..]).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        match format {
            ArchiveFormat::TarGz => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&tar).unwrap();
                gz.finish().unwrap()
            }
            ArchiveFormat::TarXz => {
                let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
                xz.write_all(&tar).unwrap();
                xz.finish().unwrap()
            }
            ArchiveFormat::TarZst => zstd::encode_all(&tar[..], 1).unwrap(),
            ArchiveFormat::Zip => unreachable!(),
        }
    }

    fn read_small(bytes: &[u8], format: ArchiveFormat, limits: Limits) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        read_limited(std::io::Cursor::new(bytes), format, limits, |name, _| {
            seen.push(name.to_string())
        })?;
        Ok(seen)
    }

    #[test]
    fn the_bounds_are_one_gib_per_entry_and_two_gib_in_all() {
        assert_eq!((LIMITS.entry, LIMITS.total), (1 << 30, 2 << 30));
        assert_eq!(LIMITS.entry, crate::inspect::MAX_INPUT);
    }

    /// Each bound, with small limits in place of 1 and 2 GiB, in every format: an entry one
    /// byte over its bound, and entries each within theirs but together over the total.
    #[test]
    fn an_entry_or_an_archive_over_its_bound_is_refused() {
        let limits = Limits {
            entry: 1000,
            total: 5000,
        };
        for format in [
            ArchiveFormat::TarGz,
            ArchiveFormat::TarXz,
            ArchiveFormat::TarZst,
            ArchiveFormat::Zip,
        ] {
            let fits = archive(format, &[("top/a", 1000), ("top/b", 1000)]);
            assert_eq!(
                read_small(&fits, format, limits).unwrap(),
                ["top/a", "top/b"],
                "{format:?}"
            );

            let big = archive(format, &[("top/a", 1001)]);
            let err = format!("{:#}", read_small(&big, format, limits).unwrap_err());
            assert!(
                err.contains("entry `top/a` is larger than 1000 bytes"),
                "{format:?}: {err}"
            );

            let six: Vec<(String, usize)> = (0..6).map(|i| (format!("top/{i}"), 900)).collect();
            let six: Vec<(&str, usize)> = six.iter().map(|(n, s)| (n.as_str(), *s)).collect();
            let many = archive(format, &six);
            let err = format!("{:#}", read_small(&many, format, limits).unwrap_err());
            assert!(err.contains("decompresses to more than"), "{format:?}: {err}");
        }
        // .tar.xz and .tar.zst are decompressed whole first: the stream itself is bounded
        // (tar's headers and padding count), before any entry is looked at.
        for format in [ArchiveFormat::TarXz, ArchiveFormat::TarZst] {
            let one = archive(format, &[("top/a", 1000)]);
            let tight = Limits {
                entry: 1000,
                total: 1500,
            };
            let err = format!("{:#}", read_small(&one, format, tight).unwrap_err());
            assert!(err.contains("decompresses to more than the limit"), "{format:?}: {err}");
        }
    }
}
