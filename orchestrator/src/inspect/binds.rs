//! Which library each imported symbol of a Mach-O slice is bound to: the library ordinal of
//! every bind, read from the classic dyld info (bind and lazy-bind opcodes, what zig 0.13
//! writes) or from LC_DYLD_CHAINED_FIXUPS' imports table (what Apple's ld writes since
//! macOS 12 targets). goblin 0.10 reads only the opcodes, and resolves the ordinal to a
//! name, losing the flat-lookup marker this check is about; both formats are short, so they
//! are read here, bounded by the slice and never panicking.

use serde::{Deserialize, Serialize};

/// One imported symbol and the library ordinal it is bound through: 1.. indexes the
/// LC_LOAD_DYLIB-like commands in order; 0 is the image itself, -1 the main executable,
/// -2 flat lookup (any loaded image, `-undefined dynamic_lookup`), -3 weak lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    pub symbol: String,
    pub ordinal: i32,
}

pub const FLAT_LOOKUP: i32 = -2;

fn uleb(data: &[u8], at: &mut usize) -> Option<u64> {
    let (mut value, mut shift) = (0u64, 0u32);
    loop {
        let byte = *data.get(*at)?;
        *at += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        shift = shift.saturating_add(7);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
}

fn cstring(data: &[u8], at: &mut usize) -> Option<String> {
    let rest = data.get(*at..)?;
    let len = rest.iter().position(|b| *b == 0)?;
    *at += len + 1;
    Some(String::from_utf8_lossy(&rest[..len]).into_owned())
}

/// The (ordinal, symbol) pairs a bind-opcode stream binds; None if it is malformed.
pub fn opcodes(data: &[u8], out: &mut Vec<Bind>) -> Option<()> {
    let (mut at, mut ordinal, mut symbol) = (0usize, 0i32, String::new());
    let mut emit = |ordinal: i32, symbol: &String| {
        if !symbol.is_empty() && !out.iter().any(|b| b.ordinal == ordinal && &b.symbol == symbol) {
            out.push(Bind {
                symbol: symbol.clone(),
                ordinal,
            });
        }
    };
    while at < data.len() {
        let byte = data[at];
        at += 1;
        let imm = byte & 0x0f;
        match byte & 0xf0 {
            // DONE ends an entry of the lazy stream; the next one follows.
            0x00 | 0x50 | 0xb0 => {}
            0x10 => ordinal = i32::from(imm),
            0x20 => ordinal = i32::try_from(uleb(data, &mut at)?).ok()?,
            // A special ordinal is the immediate sign-extended: 0, -1, -2, -3.
            0x30 => ordinal = if imm == 0 { 0 } else { i32::from((imm | 0xf0) as i8) },
            0x40 => symbol = cstring(data, &mut at)?,
            // SET_ADDEND_SLEB, SET_SEGMENT_AND_OFFSET_ULEB, ADD_ADDR_ULEB: one number each.
            0x60 | 0x70 | 0x80 => {
                uleb(data, &mut at)?;
            }
            0x90 => emit(ordinal, &symbol),
            0xa0 => {
                emit(ordinal, &symbol);
                uleb(data, &mut at)?;
            }
            0xc0 => {
                emit(ordinal, &symbol);
                uleb(data, &mut at)?;
                uleb(data, &mut at)?;
            }
            // THREADED: SET_BIND_ORDINAL_TABLE_SIZE_ULEB (imm 0) or APPLY (imm 1).
            0xd0 if imm == 0 => {
                uleb(data, &mut at)?;
            }
            0xd0 => {}
            _ => return None,
        }
    }
    Some(())
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The imports table of a `dyld_chained_fixups_header` (`data` is the LC_DYLD_CHAINED_FIXUPS
/// payload); None if it is malformed or of a format this does not know.
pub fn chained(data: &[u8], out: &mut Vec<Bind>) -> Option<()> {
    let imports_offset = u32_at(data, 8)? as usize;
    let symbols_offset = u32_at(data, 12)? as usize;
    let count = u32_at(data, 16)? as usize;
    let format = u32_at(data, 20)?;
    // symbols_format 1 is zlib-compressed names, which no linker writes today.
    if u32_at(data, 24)? != 0 {
        return None;
    }
    let size = match format {
        1 => 4,
        2 => 8,
        3 => 16,
        _ => return None,
    };
    // The table must fit the payload: a huge count cannot make this loop long.
    if count.checked_mul(size)?.checked_add(imports_offset)? > data.len() {
        return None;
    }
    for i in 0..count {
        let at = imports_offset + i * size;
        let raw = u32_at(data, at)?;
        let (ordinal, name_offset) = if format == 3 {
            let ordinal = (raw & 0xffff) as u16;
            let ordinal = if ordinal >= 0xfff0 {
                i32::from(ordinal as i16)
            } else {
                i32::from(ordinal)
            };
            (ordinal, u32_at(data, at + 4)? as usize)
        } else {
            let ordinal = (raw & 0xff) as u8;
            let ordinal = if ordinal >= 0xf0 {
                i32::from(ordinal as i8)
            } else {
                i32::from(ordinal)
            };
            (ordinal, (raw >> 9) as usize)
        };
        let mut name_at = symbols_offset.checked_add(name_offset)?;
        let symbol = cstring(data, &mut name_at)?;
        if !out.iter().any(|b| b.ordinal == ordinal && b.symbol == symbol) {
            out.push(Bind { symbol, ordinal });
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_keep_special_ordinals_and_reject_unknown_ones() {
        // SET_DYLIB_ORDINAL_IMM 2, SET_SYMBOL "_CFRelease", DO_BIND; SPECIAL_IMM -2 (flat),
        // SET_SYMBOL "_x", DO_BIND, DONE.
        let mut stream = vec![0x12, 0x40];
        stream.extend(b"_CFRelease\0");
        stream.extend([0x90, 0x3e, 0x40]);
        stream.extend(b"_x\0");
        stream.extend([0x90, 0x00]);
        let mut out = Vec::new();
        assert_eq!(opcodes(&stream, &mut out), Some(()));
        assert_eq!(
            out,
            [
                Bind {
                    symbol: "_CFRelease".into(),
                    ordinal: 2
                },
                Bind {
                    symbol: "_x".into(),
                    ordinal: FLAT_LOOKUP
                },
            ]
        );
        assert_eq!(opcodes(&[0xe0], &mut out), None);
        // A truncated symbol name or number is malformed, not a panic.
        assert_eq!(opcodes(&[0x40, b'_'], &mut out), None);
        assert_eq!(opcodes(&[0x20, 0x80], &mut out), None);
    }

    #[test]
    fn chained_imports_are_read_with_their_ordinals_and_bounded() {
        // Header (28 bytes), imports at 28 (format 1, two), names after them.
        let mut data = vec![0u8; 28];
        data[8..12].copy_from_slice(&28u32.to_le_bytes());
        data[12..16].copy_from_slice(&36u32.to_le_bytes());
        data[16..20].copy_from_slice(&2u32.to_le_bytes());
        data[20..24].copy_from_slice(&1u32.to_le_bytes());
        data.extend((1u32 | (1 << 9)).to_le_bytes());
        data.extend((0xfeu32 | (6 << 9)).to_le_bytes());
        data.extend(b"\0_foo\0_bar\0");
        let mut out = Vec::new();
        assert_eq!(chained(&data, &mut out), Some(()));
        assert_eq!(
            out,
            [
                Bind {
                    symbol: "_foo".into(),
                    ordinal: 1
                },
                Bind {
                    symbol: "_bar".into(),
                    ordinal: FLAT_LOOKUP
                },
            ]
        );
        data[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(chained(&data, &mut Vec::new()), None);
    }
}
