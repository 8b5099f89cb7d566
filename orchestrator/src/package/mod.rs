//! Stage 5, package: packs each target's binaries, the include files and any generated
//! completions and man page into one archive with a single top directory (ripgrep's
//! layout), and writes the SHA-256 files. Archives are deterministic — sorted entries, one
//! fixed mtime, uid/gid 0 without names, normalised modes — and every file is written under
//! a temporary name and renamed, so an interrupted run never leaves half an archive behind.
//!
//! Crates: `tar` and rawzip write the containers; libdeflate compresses gzip and zip entries
//! (compress.rs says why); flate2 on the zlib-rs backend reads them back; liblzma and zstd
//! are the reference C libraries (the pure-Rust ports are either far slower unoptimised —
//! the xtask builds in the dev profile — or have no level above zstd's 1); sha2 hashes.

mod compress;
pub mod installer;
pub mod manifest;
pub mod names;
pub mod read;
pub mod sbom;
mod tar;
mod zip;

use crate::model::ArchiveFormat;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Bump when the bytes any format produces change for the same input (a level, the entry
/// layout, a compression crate's major version): archives packed earlier are then repacked
/// instead of reused.
const PACK_SCHEME: &str =
    "6 gnu-tar-stream gz9 xz6-one-block-st-two-nice80 zst19-sized-no-size-field zip-rawzip-deflate9";

/// One file to pack: its path under the archive's top directory (`/`-separated, may hold
/// a sub-directory such as `complete/`), where it is now, and its content hash.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub source: PathBuf,
    pub executable: bool,
    pub sha256: String,
}

impl Entry {
    /// The file at `source`, packed as `name`, hashed now.
    pub fn new(name: impl Into<String>, source: &Path, executable: bool) -> Result<Entry> {
        Ok(Entry {
            name: name.into(),
            source: source.to_path_buf(),
            executable,
            sha256: sha256_file(source)?,
        })
    }

    /// An include file (README, licence …): packed under its own file name.
    pub fn include(source: &Path) -> Result<Entry> {
        let name = source
            .file_name()
            .with_context(|| format!("the include path {} has no file name", source.display()))?
            .to_string_lossy()
            .into_owned();
        Entry::new(name, source, false)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// The temporary name, `.<name>.partial-<pid>`, is what [`remove_partials`] cleans up after
/// a run that was killed.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dir = path.parent().context("an output path has no parent directory")?;
    let file_name = path
        .file_name()
        .context("an output path has no file name")?
        .to_string_lossy();
    let temp = dir.join(format!(".{file_name}.partial-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", temp.display()))?;
        file.sync_all().with_context(|| format!("writing {}", temp.display()))?;
        std::fs::rename(&temp, path).with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes a small file atomically unless it already holds exactly `bytes`: a rerun that
/// changes nothing then writes (and fsyncs) nothing.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    write_atomic(path, |out| Ok(out.write_all(bytes)?))
}

/// Removes the temporary files of runs that were killed before their rename. Only safe
/// while holding the output directory's lock: then no other run is writing one.
pub fn remove_partials(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry.with_context(|| format!("listing {}", dir.display()))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') && name.contains(".partial-") && path.is_file() {
            std::fs::remove_file(&path).with_context(|| format!("removing the leftover {}", path.display()))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// The identity of an archive's input: format, top directory, mtime, and every entry's
/// name, mode and content hash. Equal hashes mean equal archive bytes, so an archive whose
/// recorded input hash matches can be kept instead of compressed again.
pub fn input_sha256(format: ArchiveFormat, top: &str, entries: &[Entry], mtime: u64) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    hasher.update(format!("{PACK_SCHEME}\n{format}\n{top}\n{mtime}\n"));
    for entry in sorted {
        hasher.update(format!("{:o} {} {}\n", mode(entry), entry.sha256, entry.name));
    }
    hex(&hasher.finalize())
}

/// Packs `entries` under `top/` into `path`. Entries are sorted by name so the archive's
/// bytes depend only on the files' contents, their names and `mtime`.
pub fn write_archive(path: &Path, format: ArchiveFormat, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for entry in &entries {
        names::check_entry_name(&entry.name)?;
    }
    // Release archives are small: a tar is built in memory, then compressed.
    write_atomic(path, |out| match format {
        ArchiveFormat::TarGz => compress::gzip(out, &tar::bytes(top, &entries, mtime)?),
        ArchiveFormat::TarXz => compress::xz(out, &tar::bytes(top, &entries, mtime)?),
        ArchiveFormat::TarZst => compress::zstd(out, &tar::bytes(top, &entries, mtime)?),
        ArchiveFormat::Zip => zip::write(out, top, &entries, mtime),
    })
    .with_context(|| format!("packing {}", path.display()))
}

/// The xz match length tar.xz searches to (compress.rs's `XZ_NICE_LEN`), for a comparison
/// at our settings.
pub const XZ_NICE_LEN: u32 = compress::XZ_NICE_LEN;

/// How many zstd jobs a tar.zst of a `tar_len`-byte tar is compressed in: each keeps one
/// core busy (compress.rs's `zstd`).
pub fn zstd_jobs(tar_len: usize) -> u64 {
    compress::zstd_jobs(tar_len)
}

/// An entry's bytes, read from its source file.
fn read_entry(entry: &Entry) -> Result<Vec<u8>> {
    std::fs::read(&entry.source).with_context(|| format!("reading {}", entry.source.display()))
}

/// The Unix mode an entry is packed with.
fn mode(entry: &Entry) -> u32 {
    if entry.executable {
        0o755
    } else {
        0o644
    }
}

/// Every directory an archive holds: the top one and the parents of nested entries.
fn directories(top: &str, entries: &[Entry]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::from([format!("{top}/")]);
    for entry in entries {
        let mut prefix = String::new();
        let parts: Vec<&str> = entry.name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            prefix = format!("{prefix}{part}/");
            dirs.insert(format!("{top}/{prefix}"));
        }
    }
    dirs
}

/// Lower-case hex, as checksums and cache keys are written.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Writes `SHA256SUMS` (the format `sha256sum -c` reads) for `(file name, sha256)` pairs,
/// and a `<archive>.sha256` beside each archive, as cargo-dist does; `others` (SBOMs,
/// install scripts) are listed in SHA256SUMS only.
pub fn write_checksums(out_dir: &Path, sums: &[(String, String)], others: &[(String, String)]) -> Result<()> {
    let mut sorted = sums.to_vec();
    sorted.sort();
    for (name, sha) in &sorted {
        write_if_changed(
            &out_dir.join(format!("{name}.sha256")),
            format!("{sha}  {name}\n").as_bytes(),
        )?;
    }
    sorted.extend(others.iter().cloned());
    sorted.sort();
    let all: String = sorted.iter().map(|(name, sha)| format!("{sha}  {name}\n")).collect();
    write_if_changed(&out_dir.join("SHA256SUMS"), all.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, contents: &[u8], executable: bool) -> Entry {
        let source = dir.join(name.replace('/', "_"));
        std::fs::write(&source, contents).unwrap();
        Entry {
            name: name.into(),
            sha256: sha256_file(&source).unwrap(),
            source,
            executable,
        }
    }

    fn entries(dir: &Path) -> Vec<Entry> {
        vec![
            entry(dir, "tool", b"\x7fELF pretend", true),
            entry(dir, "README.md", b"read me\n", false),
            entry(dir, "complete/tool.bash", b"complete -F _tool tool\n", false),
        ]
    }

    /// Unpacks any of the four formats with the crates' readers: (path, mode, mtime, uid,
    /// gid, user name, contents) per entry, in archive order.
    type Seen = (String, u32, u64, u64, u64, String, Vec<u8>);

    fn unpack(path: &Path, format: ArchiveFormat) -> Vec<Seen> {
        let file = File::open(path).unwrap();
        let reader: Box<dyn Read> = match format {
            ArchiveFormat::TarGz => Box::new(flate2::read::GzDecoder::new(file)),
            ArchiveFormat::TarXz => Box::new(liblzma::read::XzDecoder::new(file)),
            ArchiveFormat::TarZst => Box::new(zstd::Decoder::new(file).unwrap()),
            ArchiveFormat::Zip => {
                let mut zip = ::zip::ZipArchive::new(file).unwrap();
                return (0..zip.len())
                    .map(|i| {
                        let mut f = zip.by_index(i).unwrap();
                        let name = f.name().unwrap().to_string();
                        // One extra field: the extended timestamp (0x5455), flags 1 (mtime), the time in UTC.
                        let mut ut = vec![0x55, 0x54, 5, 0, 1];
                        ut.extend_from_slice(&1_700_000_000u32.to_le_bytes());
                        assert_eq!(
                            f.extra_data().unwrap_or_default(),
                            &ut[..],
                            "{name}: only the UTC mtime"
                        );
                        let t = f.last_modified().unwrap();
                        let dos = (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
                        assert_eq!(dos, (2023, 11, 14, 22, 13, 20), "{name}");
                        let mut data = Vec::new();
                        f.read_to_end(&mut data).unwrap();
                        (
                            name,
                            f.unix_mode().unwrap() & 0o777,
                            1_700_000_000,
                            0,
                            0,
                            String::new(),
                            data,
                        )
                    })
                    .collect();
            }
        };
        let mut archive = ::tar::Archive::new(reader);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let user = format!(
                    "{}{}",
                    h.username().unwrap().unwrap_or(""),
                    h.groupname().unwrap().unwrap_or("")
                );
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    user,
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn every_format_is_sorted_normalised_and_byte_identical_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let mut reversed = files.clone();
        reversed.reverse();
        for format in ArchiveFormat::ALL {
            let (a, b) = (
                dir.path().join(format!("a.{format}")),
                dir.path().join(format!("b.{format}")),
            );
            write_archive(&a, format, "tool-1.0-x", &files, 1_700_000_000).unwrap();
            write_archive(&b, format, "tool-1.0-x", &reversed, 1_700_000_000).unwrap();
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                "{format} differs between runs"
            );

            let seen: Vec<(String, u32, u64, u64, u64, String)> = unpack(&a, format)
                .into_iter()
                .map(|(p, m, t, u, g, n, _)| (p, m, t, u, g, n))
                .collect();
            let expect = |path: &str, mode| (path.to_string(), mode, 1_700_000_000, 0, 0, String::new());
            assert_eq!(
                seen,
                [
                    expect("tool-1.0-x/", 0o755),
                    expect("tool-1.0-x/README.md", 0o644),
                    expect("tool-1.0-x/complete/", 0o755),
                    expect("tool-1.0-x/complete/tool.bash", 0o644),
                    expect("tool-1.0-x/tool", 0o755),
                ],
                "{format}"
            );
        }
    }

    #[test]
    fn the_input_hash_changes_with_any_input_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let base = input_sha256(ArchiveFormat::TarGz, "t", &files, 1);
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(input_sha256(ArchiveFormat::TarGz, "t", &reversed, 1), base);
        assert_ne!(input_sha256(ArchiveFormat::TarXz, "t", &files, 1), base);
        assert_ne!(input_sha256(ArchiveFormat::TarGz, "u", &files, 1), base);
        assert_ne!(input_sha256(ArchiveFormat::TarGz, "t", &files, 2), base);
        let mut changed = files.clone();
        changed[0].sha256 = sha256_file(&changed[1].source).unwrap();
        assert_ne!(input_sha256(ArchiveFormat::TarGz, "t", &changed, 1), base);
        let mut not_executable = files.clone();
        not_executable[0].executable = false;
        assert_ne!(input_sha256(ArchiveFormat::TarGz, "t", &not_executable, 1), base);
    }

    #[test]
    fn tar_xz_is_read_by_the_xz_tools_library_with_a_crc64_check() {
        // Not byte for byte `xz -6` any more (nice_len 80, the multi-threaded encoder's
        // blocks: compress.rs): what the xz tool's library reads back. The reference is
        // python3's lzma module, which is liblzma: python3 is on every machine this runs on
        // (pip provisions the tools), the xz program is not (Debian's xz-utils is not
        // installed by default).
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let ours = dir.path().join("a.tar.xz");
        write_archive(&ours, ArchiveFormat::TarXz, "t", &files, 1_700_000_000).unwrap();
        let tar = tar::bytes("t", &files, 1_700_000_000).unwrap();
        let xz = std::fs::read(&ours).unwrap();
        // Stream flags (bytes 6-7 of the header): check type 4, CRC64.
        assert_eq!(xz[6..8], [0, 4]);
        let mut python = std::process::Command::new("python3")
            .args([
                "-c",
                "import lzma, sys; sys.stdout.buffer.write(lzma.decompress(sys.stdin.buffer.read()))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("this test needs python3 with its lzma module");
        python.stdin.take().unwrap().write_all(&xz).unwrap();
        let theirs = python.wait_with_output().unwrap();
        assert!(theirs.status.success(), "python3's lzma failed");
        assert!(theirs.stdout == tar, "liblzma reads back the tar");
    }

    #[test]
    fn names_that_escape_the_top_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["../evil", "/abs", "a//b", "a/./b", ""] {
            let mut bad = entry(dir.path(), "x", b"x", false);
            bad.name = name.into();
            let err = write_archive(&dir.path().join("o.tar.gz"), ArchiveFormat::TarGz, "t", &[bad], 0).unwrap_err();
            assert!(
                format!("{err:#}").contains("not a plain relative path"),
                "{name}: {err:#}"
            );
        }
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".app-1.0-x.tar.gz.partial-4242"), b"half").unwrap();
        std::fs::write(dir.path().join("app-1.0-x.tar.gz"), b"whole").unwrap();
        std::fs::write(dir.path().join(".lock"), b"").unwrap();
        let removed = remove_partials(dir.path()).unwrap();
        assert_eq!(removed, [dir.path().join(".app-1.0-x.tar.gz.partial-4242")]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".lock", "app-1.0-x.tar.gz"]);
    }

    #[test]
    fn checksums_match_sha256sum_format() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.tar.gz"), b"abc").unwrap();
        let sha = sha256_file(&dir.path().join("x.tar.gz")).unwrap();
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        write_checksums(dir.path(), &[("x.tar.gz".into(), sha.clone())], &[]).unwrap();
        let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
        assert_eq!(sums, format!("{sha}  x.tar.gz\n"));
        assert!(dir.path().join("x.tar.gz.sha256").is_file());
    }

    /// Speed and ratio of each format against the system's tools on the same tar, at the
    /// same levels. Run with `cargo test -p xtask --bins -- --ignored --nocapture
    /// compression_against_system_tools`; needs gzip, xz-utils and zstd. The input is this
    /// test binary (a real ELF), or the file named by BENCH_INPUT.
    #[test]
    #[ignore = "a benchmark: prints timings, run on demand"]
    fn compression_against_system_tools() {
        let input = std::env::var_os("BENCH_INPUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_exe().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let files = vec![Entry {
            name: "bin".into(),
            sha256: sha256_file(&input).unwrap(),
            source: input.clone(),
            executable: true,
        }];
        let tar = tar::bytes("t", &files, 0).unwrap();
        let mb = tar.len() as f64 / 1e6;
        println!("input: {} ({:.1} MB as tar)", input.display(), mb);
        println!(
            "{:<8} {:>10} {:>8} {:>9}   {:<18} {:>10} {:>8} {:>9}",
            "format", "ours B", "ratio", "MB/s", "system", "B", "ratio", "MB/s"
        );
        let system: [(&str, &[&str]); 4] = [
            ("gzip", &["-6", "-n", "-c"]),
            ("xz", &["-6", "-T1", "-c"]),
            ("zstd", &["-19", "-q", "-c"]),
            ("gzip", &["-6", "-n", "-c"]),
        ];
        for (format, (tool, args)) in ArchiveFormat::ALL.into_iter().zip(system) {
            let path = dir.path().join(format!("a.{format}"));
            let start = std::time::Instant::now();
            write_archive(&path, format, "t", &files, 0).unwrap();
            let ours = (std::fs::metadata(&path).unwrap().len(), start.elapsed().as_secs_f64());
            let start = std::time::Instant::now();
            let mut child = std::process::Command::new(tool)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("`{tool}` is needed for this benchmark: {e}"));
            let mut stdin = child.stdin.take().unwrap();
            let tar = &tar;
            // Fed from a thread and closed when it ends, while the output is read here.
            let feed = std::thread::scope(|s| {
                s.spawn(move || stdin.write_all(tar).unwrap());
                child.wait_with_output().unwrap()
            });
            let theirs = (feed.stdout.len() as u64, start.elapsed().as_secs_f64());
            assert!(ours.0 > 0 && theirs.0 > 0);
            println!(
                "{:<8} {:>10} {:>8.3} {:>9.1}   {:<18} {:>10} {:>8.3} {:>9.1}",
                format.to_string(),
                ours.0,
                ours.0 as f64 / tar.len() as f64,
                mb / ours.1,
                format!("{tool} {}", args[0]),
                theirs.0,
                theirs.0 as f64 / tar.len() as f64,
                mb / theirs.1
            );
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.tar.gz");
        let missing = Entry {
            name: "gone".into(),
            source: dir.path().join("gone"),
            executable: true,
            sha256: String::new(),
        };
        assert!(write_archive(&target, ArchiveFormat::TarGz, "t", &[missing], 0).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
