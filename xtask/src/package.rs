//! Stage 5, package: packs each target's binaries and the include files into one archive
//! with a single top directory (ripgrep's layout), writes the SHA-256 files and the
//! manifest. Archives are deterministic — sorted entries, one fixed mtime, uid/gid 0,
//! normalised modes — and every file is written under a temporary name and renamed, so an
//! interrupted run never leaves half an archive behind.
//!
//! Crates: `tar` and `zip` write the containers; flate2 compresses gzip, on the zlib-rs
//! backend (pure Rust, faster than miniz_oxide); sha2 hashes.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    TarGz,
    Zip,
}

impl ArchiveFormat {
    /// What each platform's users unpack without extra tools: zip on Windows, tar.gz elsewhere.
    pub fn default_for(target: &str) -> ArchiveFormat {
        if target.contains("-windows") {
            ArchiveFormat::Zip
        } else {
            ArchiveFormat::TarGz
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::Zip => "zip",
        }
    }
}

/// One file to pack: its name under the archive's top directory and where it is now.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub source: PathBuf,
    pub executable: bool,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dir = path.parent().context("an output path has no parent directory")?;
    let file_name = path.file_name().context("an output path has no file name")?.to_string_lossy();
    let temp = dir.join(format!(".{file_name}.partial-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing {}", temp.display()))?;
        file.sync_all().with_context(|| format!("writing {}", temp.display()))?;
        std::fs::rename(&temp, path).with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Packs `entries` under `top/` into `path`. Entries are sorted by name so the archive's
/// bytes depend only on the files' contents, their names and `mtime`.
pub fn write_archive(path: &Path, format: ArchiveFormat, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    write_atomic(path, |out| match format {
        ArchiveFormat::TarGz => write_tar_gz(out, top, &entries, mtime),
        ArchiveFormat::Zip => write_zip(out, top, &entries, mtime),
    })
    .with_context(|| format!("packing {}", path.display()))
}

fn read_entry(entry: &Entry) -> Result<Vec<u8>> {
    std::fs::read(&entry.source).with_context(|| format!("reading {}", entry.source.display()))
}

fn mode(entry: &Entry) -> u32 {
    if entry.executable {
        0o755
    } else {
        0o644
    }
}

fn write_tar_gz(out: &mut impl Write, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    // Level 6 is gzip's own default: the size and speed users of `tar czf` expect.
    let gz = flate2::GzBuilder::new().mtime(0).write(out, flate2::Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    let header = |kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    let mut dir = header(tar::EntryType::Directory, 0, 0o755);
    tar.append_data(&mut dir, format!("{top}/"), io::empty())?;
    for entry in entries {
        let data = read_entry(entry)?;
        let mut h = header(tar::EntryType::Regular, data.len() as u64, mode(entry));
        tar.append_data(&mut h, format!("{top}/{}", entry.name), &data[..])?;
    }
    tar.into_inner()?.finish()?;
    Ok(())
}

fn write_zip<W: Write>(out: &mut W, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    // zip needs Seek, so the archive is built in memory; release archives are small.
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(dos_time(mtime));
    zip.add_directory(format!("{top}/"), options.unix_permissions(0o755))?;
    for entry in entries {
        zip.start_file(format!("{top}/{}", entry.name), options.unix_permissions(mode(entry)))?;
        zip.write_all(&read_entry(entry)?)?;
    }
    out.write_all(&zip.finish()?.into_inner())?;
    Ok(())
}

/// A zip (MS-DOS) timestamp for a Unix time, in UTC; DOS time starts in 1980.
fn dos_time(unix: u64) -> zip::DateTime {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil conversion.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(1980, 2107) as u16;
    zip::DateTime::from_date_and_time(year, month, day, (secs / 3600) as u8, (secs / 60 % 60) as u8, (secs % 60) as u8)
        .unwrap_or_default()
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `SHA256SUMS` (the format `sha256sum -c` reads) for `(file name, sha256)` pairs,
/// and a `<archive>.sha256` beside each archive, as cargo-dist does.
pub fn write_checksums(out_dir: &Path, sums: &[(String, String)]) -> Result<()> {
    let mut sorted = sums.to_vec();
    sorted.sort();
    for (name, sha) in &sorted {
        write_atomic(&out_dir.join(format!("{name}.sha256")), |out| Ok(writeln!(out, "{sha}  {name}")?))?;
    }
    write_atomic(&out_dir.join("SHA256SUMS"), |out| {
        for (name, sha) in &sorted {
            writeln!(out, "{sha}  {name}")?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<Entry> {
        std::fs::write(dir.join("tool"), b"\x7fELF pretend").unwrap();
        std::fs::write(dir.join("README.md"), b"read me\n").unwrap();
        vec![
            Entry { name: "tool".into(), source: dir.join("tool"), executable: true },
            Entry { name: "README.md".into(), source: dir.join("README.md"), executable: false },
        ]
    }

    #[test]
    fn tar_gz_is_sorted_normalised_and_repeatable() {
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let (a, b) = (dir.path().join("a.tar.gz"), dir.path().join("b.tar.gz"));
        write_archive(&a, ArchiveFormat::TarGz, "tool-1.0-x", &files, 1_700_000_000).unwrap();
        let mut reversed = files.clone();
        reversed.reverse();
        write_archive(&b, ArchiveFormat::TarGz, "tool-1.0-x", &reversed, 1_700_000_000).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&a).unwrap()));
        let seen: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (e.path().unwrap().display().to_string(), h.mode().unwrap(), h.mtime().unwrap(), h.uid().unwrap())
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("tool-1.0-x/".into(), 0o755, 1_700_000_000, 0),
                ("tool-1.0-x/README.md".into(), 0o644, 1_700_000_000, 0),
                ("tool-1.0-x/tool".into(), 0o755, 1_700_000_000, 0),
            ]
        );
    }

    #[test]
    fn zip_is_repeatable_and_keeps_modes() {
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
        write_archive(&a, ArchiveFormat::Zip, "t", &files, 1_700_000_000).unwrap();
        write_archive(&b, ArchiveFormat::Zip, "t", &files, 1_700_000_000).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let mut zip = zip::ZipArchive::new(File::open(&a).unwrap()).unwrap();
        let tool = zip.by_name("t/tool").unwrap();
        assert_eq!(tool.unix_mode().map(|m| m & 0o777), Some(0o755));
        let t = tool.last_modified().unwrap();
        assert_eq!((t.year(), t.month(), t.day(), t.hour(), t.minute()), (2023, 11, 14, 22, 13));
    }

    #[test]
    fn checksums_match_sha256sum_format() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.tar.gz"), b"abc").unwrap();
        let sha = sha256_file(&dir.path().join("x.tar.gz")).unwrap();
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        write_checksums(dir.path(), &[("x.tar.gz".into(), sha.clone())]).unwrap();
        let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
        assert_eq!(sums, format!("{sha}  x.tar.gz\n"));
        assert!(dir.path().join("x.tar.gz.sha256").is_file());
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.tar.gz");
        let missing = Entry { name: "gone".into(), source: dir.path().join("gone"), executable: true };
        assert!(write_archive(&target, ArchiveFormat::TarGz, "t", &[missing], 0).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
