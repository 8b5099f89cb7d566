//! Zip archives (Windows' format): deflate 9, a fixed DOS time, Unix modes, no extra fields.

use super::{directories, mode, read_entry, Entry};
use anyhow::Result;
use std::io::{self, Write};

pub(super) fn write<W: Write>(out: &mut W, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    // zip needs Seek, so the archive is built in memory; release archives are small.
    let mut zip = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    // A fixed DOS time and no extended-timestamp extra field (that one would carry local
    // times); `system` is fixed so the bytes do not depend on the packing machine's OS.
    let options = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .system(::zip::System::Unix)
        .last_modified_time(dos_time(mtime));
    let mut items: Vec<(String, Option<&Entry>)> = directories(top, entries).into_iter().map(|d| (d, None)).collect();
    items.extend(entries.iter().map(|e| (format!("{top}/{}", e.name), Some(e))));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in items {
        match entry {
            None => zip.add_directory(path, options.unix_permissions(0o755))?,
            Some(entry) => {
                zip.start_file(path, options.unix_permissions(mode(entry)))?;
                zip.write_all(&read_entry(entry)?)?;
            }
        }
    }
    out.write_all(&zip.finish()?.into_inner())?;
    Ok(())
}

/// A zip (MS-DOS) timestamp for a Unix time, in UTC; DOS time starts in 1980.
fn dos_time(unix: u64) -> ::zip::DateTime {
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
    ::zip::DateTime::from_date_and_time(
        year,
        month,
        day,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
    .unwrap_or_default()
}
