//! The tar stream of an archive, built in memory (release archives are small): sorted,
//! fixed mtime, uid/gid 0, fixed modes.

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
    Ok(tar.into_inner()?)
}
