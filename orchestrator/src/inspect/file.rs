//! The one way a binary on disk reaches the parser: size-bounded, then mapped read-only
//! instead of read, so the parser touches only the pages of the headers it reads (a 100 MB
//! binary costs a fraction of a millisecond).

use super::{inspect, Inspection, MAX_INPUT};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// A file's bytes, mapped read-only. An empty file cannot be mapped: it reads as no bytes.
pub struct Mapped(Option<memmap2::Mmap>);

impl Mapped {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

/// Opens and maps `path`, refusing anything over [`MAX_INPUT`] unread.
pub fn map(path: &Path) -> Result<Mapped> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_INPUT {
        bail!("{} is {len} bytes, larger than any release binary", path.display());
    }
    if len == 0 {
        return Ok(Mapped(None));
    }
    // SAFETY: the map is read-only and dropped after one inspection; a file that another
    // process truncates meanwhile is the one case that could fault, as with any mmap reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("mapping {}", path.display()))?;
    Ok(Mapped(Some(map)))
}

/// Maps and inspects `path`; the error names the file.
pub fn inspect_file(path: &Path) -> Result<Inspection> {
    inspect(map(path)?.bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
