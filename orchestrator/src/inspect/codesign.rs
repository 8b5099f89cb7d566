//! The Mach-O code signature, checked as the kernel checks it on Apple silicon: the
//! LC_CODE_SIGNATURE data is a SuperBlob (big-endian) indexing blobs by slot; each
//! CodeDirectory in it (slot 0, and the alternates from 0x1000) holds one hash per page of
//! the file up to its codeLimit. Format: Apple's xnu `osfmk/kern/cs_blobs.h`. Every read
//! is bounds-checked and every offset sum checked: this runs on untrusted bytes.

use super::Signature;
use sha2::{Digest, Sha256, Sha384};

/// SuperBlob of an embedded signature.
const EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
const CODE_DIRECTORY: u32 = 0xfade_0c02;
const SLOT_CODE_DIRECTORY: u32 = 0;
/// Alternate CodeDirectories (another hash type) sit in slots 0x1000..0x1005.
const SLOT_ALTERNATES: std::ops::Range<u32> = 0x1000..0x1005;
/// CodeDirectory versions from this one carry a 64-bit codeLimit.
const VERSION_CODE_LIMIT_64: u32 = 0x20300;

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

fn invalid(reason: impl Into<String>) -> Signature {
    Signature::Invalid {
        reason: reason.into(),
        first_bad_page: None,
    }
}

/// Checks the signature at `dataoff`/`datasize` (LC_CODE_SIGNATURE's fields) of one thin
/// slice, `slice` being that slice's bytes from its Mach-O header on.
pub(super) fn check(slice: &[u8], dataoff: u32, datasize: u32) -> Signature {
    let start = dataoff as usize;
    let Some(blob) = start
        .checked_add(datasize as usize)
        .and_then(|end| slice.get(start..end))
    else {
        return invalid(format!(
            "LC_CODE_SIGNATURE points past the end of the file ({datasize} bytes at {dataoff}, the slice has {})",
            slice.len()
        ));
    };
    if be32(blob, 0) != Some(EMBEDDED_SIGNATURE) {
        return invalid("the signature data is not an embedded-signature SuperBlob");
    }
    let count = be32(blob, 8).unwrap_or(0) as usize;
    let mut directories = Vec::new();
    // Each index entry is 8 bytes: a count beyond the blob is cut to what the blob holds.
    for index in 0..count.min(blob.len() / 8) {
        let entry = 12 + index * 8;
        let (Some(slot), Some(offset)) = (be32(blob, entry), be32(blob, entry + 4)) else {
            return invalid("the SuperBlob's index is truncated");
        };
        if slot == SLOT_CODE_DIRECTORY || SLOT_ALTERNATES.contains(&slot) {
            directories.push(offset as usize);
        }
    }
    if directories.is_empty() {
        return invalid("the signature has no CodeDirectory");
    }
    let (mut hashes, mut pages, mut unsupported) = (Vec::new(), 0, None);
    for offset in directories {
        match code_directory(slice, blob.get(offset..).unwrap_or_default()) {
            Checked::Valid(hash, n) => {
                hashes.push(hash.to_string());
                pages = n;
            }
            Checked::Invalid(signature) => return signature,
            Checked::Unsupported(reason) => unsupported = Some(reason),
        }
    }
    match unsupported {
        Some(reason) if hashes.is_empty() => Signature::Unsupported { reason },
        _ => Signature::Valid { hashes, pages },
    }
}

enum Checked {
    Valid(&'static str, u64),
    Invalid(Signature),
    Unsupported(String),
}

/// One CodeDirectory (`cd`, from its magic on) against the slice's pages.
fn code_directory(slice: &[u8], cd: &[u8]) -> Checked {
    let bad = |reason: &str| Checked::Invalid(invalid(reason));
    if be32(cd, 0) != Some(CODE_DIRECTORY) {
        return bad("a CodeDirectory slot does not hold a CodeDirectory");
    }
    // The fixed header up to pageSize is 40 bytes; codeLimit64 sits at 56 from 0x20300 on.
    let (Some(version), Some(hash_offset), Some(slots), Some(limit32), Some(header)) =
        (be32(cd, 8), be32(cd, 16), be32(cd, 28), be32(cd, 32), cd.get(36..40))
    else {
        return bad("the CodeDirectory is truncated");
    };
    let (hash_size, hash_type, page_log2) = (header[0] as usize, header[1], header[3]);
    let limit = match version >= VERSION_CODE_LIMIT_64 {
        true => match be64(cd, 56) {
            Some(0) => u64::from(limit32),
            Some(limit64) => limit64,
            None => return bad("the CodeDirectory is truncated"),
        },
        false => u64::from(limit32),
    };
    let (name, expected_size) = match hash_type {
        2 => ("sha256", 32),
        3 => ("sha256-truncated", 20),
        4 => ("sha384", 48),
        1 => return Checked::Unsupported("a SHA-1 CodeDirectory, which this tool does not check".into()),
        other => return Checked::Unsupported(format!("CodeDirectory hash type {other} is unknown")),
    };
    if hash_size != expected_size {
        return bad("the CodeDirectory's hash size does not fit its hash type");
    }
    let Some(limit) = usize::try_from(limit).ok().filter(|&l| l <= slice.len()) else {
        return bad("the CodeDirectory covers more bytes than the file has (was it truncated?)");
    };
    // pageSize is a power of two; 0 means one page over the whole code.
    let page_size = match page_log2 {
        0 => limit.max(1),
        1..=31 => 1usize << page_log2,
        _ => return bad("the CodeDirectory's page size is out of range"),
    };
    if limit == 0 {
        return bad("the CodeDirectory covers no code");
    }
    if limit.div_ceil(page_size) != slots as usize {
        return bad("the CodeDirectory's page count does not match its code limit");
    }
    let Some(table) = (slots as usize)
        .checked_mul(hash_size)
        .and_then(|len| cd.get(hash_offset as usize..(hash_offset as usize).checked_add(len)?))
    else {
        return bad("the CodeDirectory's hash slots lie outside it");
    };
    // The slot table fits inside the file, so the pages hashed number at most file/20.
    for (page, (code, stored)) in slice[..limit]
        .chunks(page_size)
        .zip(table.chunks(hash_size))
        .enumerate()
    {
        let matches = match hash_type {
            4 => Sha384::digest(code)[..] == *stored,
            _ => Sha256::digest(code)[..hash_size] == *stored,
        };
        if !matches {
            return Checked::Invalid(Signature::Invalid {
                reason: format!(
                    "page {page} ({} bytes at {}) does not match its {name} hash: the file was changed after signing",
                    code.len(),
                    page * page_size
                ),
                first_bad_page: Some(page as u64),
            });
        }
    }
    Checked::Valid(name, u64::from(slots))
}
