//! The tar stream of an archive, built in memory (release archives are small): sorted,
//! fixed mtime, uid/gid 0, fixed modes. Each header is byte for byte GNU tar's for the same
//! entry (`--format=gnu --owner=0 --group=0 --numeric-owner --mtime=@N`), and the stream
//! ends as GNU tar's does, padded to its 10 KiB record: the whole stream is what GNU tar
//! writes for the same files, so anyone can rebuild it with GNU tar, and a compressor sees
//! the same input from `tar | xz` as from us.

use super::{directories, mode, read_entry, Entry};
use anyhow::Result;
use std::io;

/// A ustar/GNU tar with only what unpacking needs: no user or group names, uid/gid 0.
pub(super) fn bytes(top: &str, entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = ::tar::Builder::new(Vec::new());
    let header = |kind: ::tar::EntryType, size: u64, mode: u32| {
        let mut h = ::tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    // Directories and files in one sorted order, so each directory precedes its contents.
    let mut items: Vec<(String, Option<&Entry>)> = directories(top, entries).into_iter().map(|d| (d, None)).collect();
    items.extend(entries.iter().map(|e| (format!("{top}/{}", e.name), Some(e))));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in items {
        match entry {
            None => tar.append_data(&mut header(::tar::EntryType::Directory, 0, 0o755), path, io::empty())?,
            Some(entry) => {
                let data = read_entry(entry)?;
                let mut h = header(::tar::EntryType::Regular, data.len() as u64, mode(entry));
                tar.append_data(&mut h, path, &data[..])?;
            }
        }
    }
    let mut stream = tar.into_inner()?;
    gnu_checksums(&mut stream)?;
    stream.resize(stream.len().next_multiple_of(GNU_RECORD), 0);
    Ok(stream)
}

/// GNU tar's record: 20 blocks of 512 B (`-b20`, its default), the unit its archives end on.
const GNU_RECORD: usize = 20 * 512;

/// Rewrites each header's checksum field as GNU tar and Python's tarfile write it: six octal
/// digits, NUL, space. The tar crate writes seven digits and a NUL: as valid, but those few
/// bytes change how xz parses everything after them, by ±0.03% of the size (a 41 MiB binary:
/// +2184 B) — noise in a comparison with `tar | xz`, gone when the streams are the same.
fn gnu_checksums(stream: &mut [u8]) -> Result<()> {
    let mut at = 0;
    while let Some(block) = stream.get_mut(at..at + 512) {
        if block.iter().all(|&b| b == 0) {
            break;
        }
        // The tar crate wrote the right sum, in its own format: read back, written as GNU's.
        let header = ::tar::Header::from_byte_slice(block);
        let (size, sum) = (header.entry_size()?, header.cksum()?);
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let padded = usize::try_from(size.div_ceil(512) * 512)?;
        at += 512 + padded;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_stream_is_gnu_tars_for_the_same_files() {
        let tmp = tempfile::tempdir().unwrap();
        let stage = tmp.path().join("stage");
        let top = stage.join("tool-1.0");
        std::fs::create_dir_all(top.join("complete")).unwrap();
        let mut entries = Vec::new();
        for (name, contents, executable) in [
            ("tool", vec![0x7f; 1300], true),
            ("README.md", b"read me\n".to_vec(), false),
            ("complete/tool.bash", b"complete -F _tool tool\n".to_vec(), false),
        ] {
            let path = top.join(name);
            std::fs::write(&path, &contents).unwrap();
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            entries.push(Entry {
                name: name.into(),
                sha256: super::super::sha256_file(&path).unwrap(),
                source: path,
                executable,
            });
        }
        for dir in [top.clone(), top.join("complete")] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let ours = bytes("tool-1.0", &entries, 1_700_000_000).unwrap();
        let gnu = std::process::Command::new("tar")
            .args([
                "--format=gnu",
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
            ])
            .args(["--mtime=@1700000000", "-cf", "-", "-C"])
            .arg(&stage)
            .arg("tool-1.0")
            .output()
            .unwrap();
        assert!(gnu.status.success(), "{}", String::from_utf8_lossy(&gnu.stderr));
        let theirs = gnu.stdout;
        assert_eq!(ours.len(), theirs.len(), "both end on a 10 KiB record");
        let differing: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs[i]).collect();
        assert!(differing.is_empty(), "bytes differ at {differing:?}");
        // And the tar crate reads it back.
        let mut archive = ::tar::Archive::new(&ours[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 5);
    }
}
