//! The one harness of the integration tests: every helper that more than one module needs.
//!
//! - the real xtask binary, run with its arguments, environment and working directory
//!   ([`xtask`], [`Workspace::xtask`]), and what it did ([`Run`]);
//! - an exit code asserted together with what the tool said about it ([`expect_ok`],
//!   [`expect_exit`], [`expect_report`], [`expect_rule`], [`expect_usage_error`]);
//! - fixture workspaces in temp dirs ([`Workspace`]) and this repository ([`repo_root`]);
//! - output read back: checksums, the manifest, a directory's files, archives
//!   ([`sha256`], [`check_sums`], [`read_manifest`], [`release_files`], [`tar_gz_entries`],
//!   [`system_listing`]);
//! - archives written by hand, honest or malicious ([`tar_bytes`], [`gz`], [`repack`]);
//! - cargo run directly on a fixture ([`cargo`]), and the rustup targets it needs
//!   ([`add_rustup_targets`]).
//!
//! All tests are threads of one process: nothing here changes the process's working
//! directory or environment. Every setting goes on the child's `Command`.

use serde_json::Value;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

pub const MUSL: &str = "x86_64-unknown-linux-musl";
pub const ARM_MUSL: &str = "aarch64-unknown-linux-musl";

/// `[workspace.metadata.dist]` for the host's musl target with the release profile (no
/// `[profile.dist]` needed).
pub const MUSL_RELEASE: &str =
    "[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-musl\"]\nprofile = \"release\"";

/// The fixture `tool`'s default main.rs.
pub const HELLO: &str = "fn main() { println!(\"tool\"); }\n";

// ---------------------------------------------------------------------------------------
// This repository

/// The root of this repository (the workspace of `app`, `orchestrator` and `xtask`).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The target directory of the tests that run the xtask on this repository itself: its own,
/// so the xtask's cargo never waits on the lock of the test runner's target directory. At
/// most one test builds in it (`dist`): two runs building at once would replace each
/// other's binaries.
pub fn repo_target_dir() -> PathBuf {
    repo_root().join("target/xtask-tests")
}

// ---------------------------------------------------------------------------------------
// Running the xtask

/// The real xtask binary, ready to run `args`.
///
/// `CARGO_TARGET_DIR` is not passed down from the `cargo test` that runs the tests: a
/// fixture builds in its own `target/` (new with the fixture, so clean), never in the test
/// runner's target directory, which every fixture would share — where two fixtures' `tool`
/// binaries land on the same path, and where the test runner's own lock is. Tests that want
/// another directory say so with [`Xtask::target_dir`].
pub fn xtask<I, S>(args: I) -> Xtask
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args).env_remove("CARGO_TARGET_DIR").stdin(Stdio::null());
    Xtask { cmd }
}

/// A configured run of the xtask binary. Every setting applies to this child only.
pub struct Xtask {
    cmd: Command,
}

impl Xtask {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Xtask {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Xtask
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// `--manifest-path <root>/Cargo.toml`.
    pub fn manifest(self, root: &Path) -> Xtask {
        self.arg("--manifest-path").arg(root.join("Cargo.toml"))
    }

    /// The child's working directory (the test process's own never changes).
    pub fn cwd(mut self, dir: &Path) -> Xtask {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Xtask {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Xtask {
        self.cmd.env_remove(key);
        self
    }

    /// Builds in `dir` instead of the workspace's own `target/`.
    pub fn target_dir(self, dir: &Path) -> Xtask {
        self.env("CARGO_TARGET_DIR", dir)
    }

    /// Runs the xtask under `prlimit` with a file size limit (RLIMIT_FSIZE): writes past
    /// `bytes` fail with EFBIG, as on a full disk.
    pub fn file_size_limit(self, bytes: u64) -> Xtask {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--fsize={bytes}")).arg(self.cmd.get_program());
        cmd.args(self.cmd.get_args());
        for (key, value) in self.cmd.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = self.cmd.get_current_dir() {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null());
        Xtask { cmd }
    }

    /// Runs it to the end and captures its exit status, stdout and stderr.
    pub fn run(mut self) -> Run {
        let shown = format!("{:?}", self.cmd);
        let output = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("{shown} did not start: {e}"));
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            shown,
        }
    }

    /// Starts it in the background, with stdout and stderr as given.
    pub fn spawn(mut self, stdout: Stdio, stderr: Stdio) -> Child {
        self.cmd
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("the xtask binary starts")
    }
}

/// What one run of the xtask did.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    shown: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Stdout parsed as JSON (`--json`).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

/// The command, exit status and both streams: what every failed assertion shows.
impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.shown, self.status, self.stdout, self.stderr
        )
    }
}

/// Exit 0. Returns stdout.
#[track_caller]
pub fn expect_ok(out: &Run) -> &str {
    assert_eq!(out.code(), Some(0), "expected success:\n{out}");
    &out.stdout
}

/// Exit `code`, and stderr (where errors and progress go) says `says`.
#[track_caller]
pub fn expect_exit(out: &Run, code: i32, says: &str) {
    assert_eq!(out.code(), Some(code), "expected exit {code} saying {says:?}:\n{out}");
    assert!(
        out.stderr.contains(says),
        "exit {code} as expected, but stderr does not say {says:?}:\n{out}"
    );
}

/// Exit `code`, and the results on stdout (the table, a diff, a report) hold `says`.
#[track_caller]
pub fn expect_report(out: &Run, code: i32, says: &str) {
    assert_eq!(
        out.code(),
        Some(code),
        "expected exit {code} reporting {says:?}:\n{out}"
    );
    assert!(
        out.stdout.contains(says),
        "exit {code} as expected, but stdout does not report {says:?}:\n{out}"
    );
}

/// `verify` failed (exit 1) and a row of its table fails the rule named `rule`, with a
/// reason that holds `says` (`FAIL [rule] ...says...`).
#[track_caller]
pub fn expect_rule(out: &Run, rule: &str, says: &str) {
    assert_eq!(out.code(), Some(1), "expected verify to fail rule [{rule}]:\n{out}");
    let tag = format!("[{rule}] ");
    let found = out.stdout.lines().any(|line| {
        line.contains("FAIL ")
            && line.match_indices(&tag).any(|(at, _)| {
                // This rule's reason runs up to the next rule's `; [`.
                let reason = &line[at + tag.len()..];
                let reason = reason.split("; [").next().unwrap_or(reason);
                reason.contains(says)
            })
    });
    assert!(found, "no FAIL row for rule [{rule}] saying {says:?}:\n{out}");
}

/// A usage or config mistake: exit 2, one line on stderr that says `says`, no panic.
#[track_caller]
pub fn expect_usage_error(out: &Run, says: &str) {
    expect_exit(out, 2, says);
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("stack backtrace"),
        "panicked:\n{out}"
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "not one line:\n{out}");
}

// ---------------------------------------------------------------------------------------
// Fixture workspaces

/// A fixture workspace: a directory of real packages that the real cargo builds. Made in a
/// temp dir (removed when dropped) or in a directory the test owns ([`Workspace::at`]).
pub struct Workspace {
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Workspace {
    /// An empty workspace directory in a new temp dir.
    pub fn empty() -> Workspace {
        let temp = tempfile::tempdir().unwrap();
        Workspace {
            root: temp.path().to_path_buf(),
            _temp: Some(temp),
        }
    }

    /// A workspace at `root` (created), which the test keeps alive itself.
    pub fn at(root: &Path) -> Workspace {
        std::fs::create_dir_all(root).unwrap();
        Workspace {
            root: root.to_path_buf(),
            _temp: None,
        }
    }

    /// A new temp-dir workspace with one bin package `tool` at `version` (see [`Workspace::tool_at`]).
    pub fn tool(version: &str, config: &str) -> Workspace {
        let ws = Workspace::empty();
        ws.write_tool(version, config);
        ws
    }

    /// The same at `root`.
    pub fn tool_at(root: &Path, version: &str, config: &str) -> Workspace {
        let ws = Workspace::at(root);
        ws.write_tool(version, config);
        ws
    }

    /// (Re)writes the workspace as one bin package `tool` at `version` printing "tool"
    /// ([`HELLO`]) and a README.md. `config` follows the `[workspace]` table in the root
    /// Cargo.toml: `[workspace.metadata.dist]`, profiles, per-target tables.
    pub fn write_tool(&self, version: &str, config: &str) -> &Workspace {
        self.write(
            "Cargo.toml",
            &format!("[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n{config}\n"),
        );
        self.write(
            "tool/Cargo.toml",
            &format!("[package]\nname = \"tool\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
        );
        self.write("tool/src/main.rs", HELLO);
        self.write("README.md", "tool\n")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the workspace.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The root Cargo.toml.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// Writes a file (and its directories) under the root.
    pub fn write(&self, relative: &str, text: &str) -> &Workspace {
        write(&self.root.join(relative), text);
        self
    }

    pub fn remove(&self, relative: &str) -> &Workspace {
        std::fs::remove_file(self.root.join(relative)).unwrap();
        self
    }

    /// `cargo generate-lockfile --offline`: `dist` builds with `--locked`.
    pub fn lock(&self) -> &Workspace {
        run_ok(cargo(&self.root).args(["generate-lockfile", "--offline"]));
        self
    }

    /// Commits everything to a new git repository with a fixed author, committer and date
    /// (`epoch`), so two copies of the same files get the same commit hash.
    pub fn commit(&self, epoch: u64) -> &Workspace {
        let date = format!("{epoch} +0000");
        let git = |args: &[&str]| {
            run_ok(
                Command::new("git")
                    .args([
                        "-c",
                        "user.name=fixture",
                        "-c",
                        "user.email=fixture@example.invalid",
                        "-c",
                        "commit.gpgsign=false",
                    ])
                    .args(args)
                    .current_dir(&self.root)
                    .env("GIT_AUTHOR_DATE", &date)
                    .env("GIT_COMMITTER_DATE", &date),
            )
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "fixture"]);
        self
    }

    /// The xtask on this workspace: `args`, then `--manifest-path <root>/Cargo.toml`.
    pub fn xtask<I, S>(&self, args: I) -> Xtask
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        xtask(args).manifest(&self.root)
    }
}

/// Writes `text` to `path`, creating its directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---------------------------------------------------------------------------------------
// Other processes

/// The cargo that runs the tests, in `dir`, building in `dir`'s own target directory.
pub fn cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(dir).env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Runs `cmd` and asserts that it succeeded.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `rustup target add` for a test that builds these targets with cargo directly (the xtask
/// adds what it needs itself): on a fresh machine their standard libraries are missing.
/// It takes the lock the xtask takes around its own `rustup target add`
/// (orchestrator/src/build.rs): two rustups adding at once corrupt the toolchain, and other
/// tests' xtask runs are adding targets in parallel.
pub fn add_rustup_targets(targets: &[&str]) {
    let home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&home).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.join("release-orchestrator.lock"))
        .unwrap();
    lock.lock().unwrap();
    run_ok(Command::new("rustup").args(["target", "add"]).args(targets));
}

// ---------------------------------------------------------------------------------------
// Reading the output back

/// The SHA-256 of a file, as `sha256sum` prints it.
pub fn sha256(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `sha256sum -c SHA256SUMS` in `dir` passes.
#[track_caller]
pub fn check_sums(dir: &Path) {
    run_ok(Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(dir));
}

/// `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Value {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A manifest artifact's executable asset.
pub fn executable_asset(artifact: &Value) -> Value {
    artifact["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "executable")
        .unwrap_or_else(|| panic!("no executable asset in {artifact}"))
        .clone()
}

/// Every name in a directory, hidden ones too, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every release file of an output directory by name, with its bytes, sorted. Hidden files
/// (a run's lock, a partial archive) are not released: upload-artifact leaves them out too.
pub fn release_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect();
    files.sort();
    files
}

/// One entry of an archive read back: its path, mode and bytes.
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub bytes: Vec<u8>,
}

/// The entries of a .tar.gz in their order, read with the tar crate.
pub fn tar_gz_entries(path: &Path) -> Vec<Entry> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            Entry {
                name: entry.path().unwrap().display().to_string(),
                mode: entry.header().mode().unwrap(),
                bytes,
            }
        })
        .collect()
}

/// The plain tar inside a .tar.xz or .tar.zst, for the system's tar to read: GNU tar would
/// start the `xz` or `zstd` program for them, which a fresh machine may not have (Debian
/// installs neither by default) and `cargo test` must not need. xz is decoded by lzma-rs,
/// an implementation independent of the liblzma that wrote it; zstd by libzstd, the
/// library the `zstd` program is. None for a .tar.gz: GNU tar runs `gzip`, which every
/// Linux has.
fn decompressed_tar(path: &Path) -> Option<Vec<u8>> {
    let name = path.to_string_lossy();
    let file = || std::io::BufReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{name}: {e}")));
    let mut tar = Vec::new();
    if name.ends_with(".xz") {
        lzma_rs::xz_decompress(&mut file(), &mut tar).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    } else if name.ends_with(".zst") {
        zstd::stream::copy_decode(file(), &mut tar).unwrap_or_else(|e| panic!("{name}: {e}"));
    } else {
        return None;
    }
    Some(tar)
}

/// The system's tar in `mode` (`-tv`, `-xO`) on `archive`, for `members` (all if empty):
/// a .tar.gz by name (tar runs gzip), a .tar.xz or .tar.zst decompressed here and fed to it
/// on stdin.
fn system_tar(archive: &Path, mode: &str, members: &[&str]) -> Output {
    let mut cmd = Command::new("tar");
    // TZ=UTC: tar prints mtimes in local time.
    cmd.args(["--numeric-owner", mode]).env("TZ", "UTC");
    let Some(tar) = decompressed_tar(archive) else {
        return run_ok(cmd.arg("-zf").arg(archive).args(members));
    };
    let mut child = cmd
        .args(["-f", "-"])
        .args(members)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tar starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&tar));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "tar {mode} {members:?} on {} failed:\n{}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The entries of an archive as the system's own tools list them: `tar -tv` and python's
/// zipfile, so the archives are proven readable by what users have.
pub fn system_listing(path: &Path) -> String {
    let out = if path.to_string_lossy().ends_with(".zip") {
        run_ok(Command::new("python3").args(["-m", "zipfile", "-l"]).arg(path))
    } else {
        system_tar(path, "-tv", &[])
    };
    String::from_utf8(out.stdout).unwrap()
}

/// One file of a tar archive, extracted by the system's tar.
pub fn system_extract(archive: &Path, entry: &str) -> Vec<u8> {
    system_tar(archive, "-xO", &[entry]).stdout
}

// ---------------------------------------------------------------------------------------
// Archives written by hand

/// A tar holding `entries` (name, bytes, mode 0755) and links (name, target, kind). Names
/// are written raw: `append_data` refuses `..` itself, and malicious archives have it.
pub fn tar_bytes(entries: &[(&str, &[u8])], links: &[(&str, &str, tar::EntryType)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, *bytes).unwrap();
    }
    for (name, target, kind) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_size(0);
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target.as_bytes());
        header.set_cksum();
        builder.append(&header, &[][..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// `bytes` gzipped.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Packs `files` (name, source) under `top/` into a .tar.gz at `archive` with the system
/// tar, as someone repacking a release would.
pub fn repack(archive: &Path, top: &str, files: &[(&str, &Path)]) {
    let stage = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(stage.path().join(top)).unwrap();
    for (name, source) in files {
        std::fs::copy(source, stage.path().join(top).join(name)).unwrap();
    }
    run_ok(
        Command::new("tar")
            .arg("czf")
            .arg(archive)
            .arg("-C")
            .arg(stage.path())
            .arg(top),
    );
}
