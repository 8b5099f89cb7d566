//! Zip archives (Windows' format): deflate 9 (libdeflate), the source date in UTC, Unix modes.
//!
//! rawzip writes and reads them: no dependencies of its own, where the `zip` crate brought a
//! second `syn`, `time` and more into every fresh clone's first build. It streams (no Seek),
//! so the archive goes straight to its file; each file entry is followed by a data
//! descriptor and carries an extended-timestamp field in UTC, both fixed by the inputs.

use super::{directories, mode, read_entry, Entry};
use anyhow::Result;
use rawzip::time::UtcDateTime;
use rawzip::{CompressionMethod, ZipArchiveWriter};
use std::io::Write;

pub(super) fn write<W: Write>(out: &mut W, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    let mut zip = ZipArchiveWriter::new(out);
    let time = UtcDateTime::from_unix(i64::try_from(mtime).unwrap_or(i64::MAX));
    let mut items: Vec<(String, Option<&Entry>)> = directories(top, entries).into_iter().map(|d| (d, None)).collect();
    items.extend(entries.iter().map(|e| (format!("{top}/{}", e.name), Some(e))));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in items {
        match entry {
            None => {
                zip.new_dir(path.as_str())
                    .last_modified(time)
                    .unix_permissions(0o755)
                    .create()?;
            }
            Some(entry) => {
                let (mut file, config) = zip
                    .new_file(path.as_str())
                    .compression_method(CompressionMethod::DEFLATE)
                    .last_modified(time)
                    .unix_permissions(mode(entry))
                    .start()?;
                // The data goes through rawzip's writer only for its CRC and length; the
                // deflate stream is libdeflate's whole-buffer one (compress.rs says why).
                let data = read_entry(entry)?;
                let mut counted = config.wrap(std::io::sink());
                counted.write_all(&data)?;
                let (_, descriptor) = counted.finish()?;
                file.write_all(&super::compress::deflate(&data)?)?;
                file.finish(descriptor)?;
            }
        }
    }
    zip.finish()?;
    Ok(())
}
