//! Which names may become paths. Names come from the config, from a manifest read back
//! from disk, or from an archive being verified: none of them is trusted to stay inside
//! its directory.

use anyhow::{bail, Result};
use std::path::{Component, Path};

/// A path inside an archive: relative, not empty, no `..`, no Windows drive or UNC prefix.
/// `.` components are allowed (tar writers emit `./name`).
pub fn check_relative_path(name: &str) -> Result<()> {
    let windows_absolute = name.starts_with('\\') || name.as_bytes().get(1) == Some(&b':');
    if name.is_empty() || windows_absolute {
        bail!("`{name}` is an empty or absolute path");
    }
    for component in Path::new(&name.replace('\\', "/")).components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            _ => bail!("`{name}` has an absolute path or a `..` component: it would land outside its directory"),
        }
    }
    Ok(())
}

/// A name this tool writes into an archive: a plain relative path, each component a real
/// name (no empty, `.` or `..` parts), so every reader unpacks it to the same place.
pub fn check_entry_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !plain {
        bail!("the archive entry name `{name}` is not a plain relative path");
    }
    Ok(())
}

/// An archive's name in the output directory: one plain file name, not hidden and not one
/// of the index files beside it.
pub fn check_archive_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name != "manifest.json"
        && name != "SHA256SUMS"
        && name != "REPORT.md";
    if !plain {
        bail!("the archive name `{name}` is not a plain file name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_their_directory_are_refused() {
        for bad in ["/etc/passwd", "../x", "a/../../x", "\\\\server\\x", "C:/x", ""] {
            assert!(check_relative_path(bad).is_err(), "{bad}");
        }
        for good in ["app-1.0/app", "./app", "a/b/c.exe"] {
            check_relative_path(good).unwrap();
        }
    }

    #[test]
    fn entry_names_are_plain() {
        for bad in ["", "/abs", "a//b", "./a", "a/./b", "a/..", "a\\b"] {
            assert!(check_entry_name(bad).is_err(), "{bad}");
        }
        check_entry_name("complete/_app").unwrap();
    }

    #[test]
    fn archive_names_are_single_plain_files() {
        for bad in [
            "",
            ".lock",
            "a/b.tar.gz",
            "..\\x.zip",
            "manifest.json",
            "SHA256SUMS",
            "REPORT.md",
        ] {
            assert!(check_archive_name(bad).is_err(), "{bad}");
        }
        check_archive_name("app-1.0.0-x86_64-unknown-linux-musl.tar.gz").unwrap();
    }
}
