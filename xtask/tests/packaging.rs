//! Packaging end to end: the real xtask binary builds a small fixture
//! workspace in a temp dir with the real cargo for x86_64-unknown-linux-musl, and the tests
//! look at the archives, checksums and manifest it leaves in the output directory.

use serde_json::Value;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TARGET: &str = "x86_64-unknown-linux-musl";
/// The fixture's commit time: with no SOURCE_DATE_EPOCH it is every entry's mtime.
const COMMIT_TIME: u64 = 1_700_000_000;

/// A one-binary workspace whose `tool` can print completions and a man page, committed to
/// git with fixed names and dates so two copies have the same commit hash.
fn fixture(root: &Path, extra_config: &str) {
    write(
        &root.join("Cargo.toml"),
        &format!(
            r#"[workspace]
members = ["tool"]
resolver = "2"

[workspace.metadata.dist]
targets = ["{TARGET}"]
completions = ["{{bin}}", "--completions", "{{shell}}"]
man = ["{{bin}}", "--man"]
{extra_config}

[profile.dist]
inherits = "release"
opt-level = "z"
strip = true
panic = "abort"
"#
        ),
    );
    write(
        &root.join("tool/Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"1.2.3\"\nedition = \"2021\"\n",
    );
    write(
        &root.join("tool/src/main.rs"),
        r##"mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    generated::check(&args);
    match args.first().map(String::as_str) {
        Some("--completions") => println!("# {} completions for tool", args[1]),
        Some("--man") => println!(".TH TOOL 1"),
        Some("--version") => println!("tool {}", env!("CARGO_PKG_VERSION")),
        Some(other) => panic!("unknown argument {other}"),
        None => println!("tool {}", env!("CARGO_PKG_VERSION")),
    }
}
"##,
    );
    // Generated code is compiled from an absolute path under target/: its panic location
    // is the kind of build-machine path that the remapping must keep out of the binary.
    write(
        &root.join("tool/build.rs"),
        r#"fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let code = "pub fn check(args: &[String]) { if args.len() > 9 { panic!(\"too many arguments\") } }";
    std::fs::write(format!("{out}/generated.rs"), code).unwrap();
}
"#,
    );
    write(&root.join("README.md"), "# tool\n");
    write(&root.join("LICENSE-MIT"), "MIT\n");
    write(&root.join(".gitignore"), "/target\n/dist\n");
    run_ok(
        Command::new("cargo")
            .args(["generate-lockfile", "--offline", "--manifest-path"])
            .arg(root.join("Cargo.toml")),
    );
    let git = |args: &[&str]| {
        let date = format!("{COMMIT_TIME} +0000");
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
                .current_dir(root)
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date),
        )
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "fixture"]);
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The real xtask binary on the fixture, SOURCE_DATE_EPOCH unset so the commit time counts.
fn xtask(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("dist")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(args);
    cmd.env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    cmd
}

fn dist(root: &Path, args: &[&str]) -> Output {
    let out = xtask(root, args).output().unwrap();
    assert!(
        out.status.success(),
        "dist failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(out_dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(out_dir.join("manifest.json")).unwrap()).unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sha256sum(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The entries of an archive as the system's own tools list them: `tar` (with `-I` for
/// xz and zstd) and python's zipfile, so the archives are proven readable by what users have.
fn system_listing(path: &Path) -> String {
    let name = path.to_string_lossy();
    let out = if name.ends_with(".zip") {
        run_ok(Command::new("python3").args(["-m", "zipfile", "-l"]).arg(path))
    } else {
        let filter = if name.ends_with(".xz") {
            "xz"
        } else if name.ends_with(".zst") {
            "zstd"
        } else {
            "gzip"
        };
        // TZ=UTC: tar prints mtimes in local time.
        run_ok(
            Command::new("tar")
                .args(["--numeric-owner", "-tvf"])
                .arg(path)
                .args(["-I", filter])
                .env("TZ", "UTC"),
        )
    };
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_format_is_packed_readable_and_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root, "");
    let base = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for format in ["tar.gz", "tar.xz", "tar.zst", "zip"] {
        let table = format!("[workspace.metadata.dist.target.{TARGET}]\nformat = \"{format}\"\n");
        fs::write(root.join("Cargo.toml"), format!("{base}\n{table}")).unwrap();
        // Two separate output directories: the second run cannot reuse the first's archive.
        let (a, b) = (root.join("out-a"), root.join("out-b"));
        dist(root, &["--out", a.to_str().unwrap()]);
        dist(root, &["--out", b.to_str().unwrap()]);
        let name = format!("tool-1.2.3-{TARGET}.{format}");
        let bytes = fs::read(a.join(&name)).unwrap();
        assert_eq!(bytes, fs::read(b.join(&name)).unwrap(), "{format}: two runs differ");

        // Only this run's files: the previous format's archive was removed as stale.
        assert_eq!(
            listing(&a),
            [
                ".lock",
                "REPORT.md",
                "SHA256SUMS",
                "manifest.json",
                name.as_str(),
                &format!("{name}.sha256")
            ],
            "{format}"
        );
        let sums = fs::read_to_string(a.join("SHA256SUMS")).unwrap();
        assert_eq!(sums, format!("{}  {name}\n", sha256sum(&a.join(&name))));
        assert_eq!(fs::read_to_string(a.join(format!("{name}.sha256"))).unwrap(), sums);
        run_ok(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&a));

        let list = system_listing(&a.join(&name));
        let top = format!("tool-1.2.3-{TARGET}/");
        for entry in [
            "",
            "LICENSE-MIT",
            "README.md",
            "complete/_tool",
            "complete/tool.bash",
            "complete/tool.fish",
            "doc/tool.1",
            "tool",
        ] {
            let path = format!("{top}{entry}");
            assert!(
                list.split_whitespace().any(|word| word == path),
                "{format}: no {path} in\n{list}"
            );
        }
        if format != "zip" {
            assert!(
                list.contains("-rwxr-xr-x 0/0"),
                "{format}: the binary is 0755 root:\n{list}"
            );
            assert!(
                list.contains("-rw-r--r-- 0/0"),
                "{format}: files are 0644 root:\n{list}"
            );
            assert!(
                list.contains("2023-11-14 22:13"),
                "{format}: mtime is the commit time:\n{list}"
            );
        }
        let manifest = manifest(&a);
        assert_eq!(manifest["source_date_epoch"], COMMIT_TIME);
        let artifact = &manifest["artifacts"][0];
        assert_eq!(artifact["format"], format);
        assert_eq!(artifact["size"], bytes.len() as u64);
        assert_eq!(artifact["checksums"]["sha256"], sha256sum(&a.join(&name)));
        let bin = artifact["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "executable")
            .unwrap();
        assert_eq!(bin["inspection"]["linkage"], "static-pie");
        assert_eq!(bin["inspection"]["stripped"], true);
        let report = fs::read_to_string(a.join("REPORT.md")).unwrap();
        assert!(report.contains(&format!("| {TARGET} | [{name}]({name}) |")), "{report}");
    }
}

#[test]
fn two_checkouts_of_one_commit_in_different_directories_give_identical_archives() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut sums = Vec::new();
    for dir in [one.path(), two.path()] {
        let root = dir.join("checkout");
        fixture(&root, "");
        dist(&root, &[]);
        let out = root.join("dist");
        let name = format!("tool-1.2.3-{TARGET}.tar.gz");
        // The build directory must not leak into the binary (panic paths, debug info).
        let binary = root.join("target").join(TARGET).join("dist").join("tool");
        let bytes = fs::read(&binary).unwrap();
        let needle = root.to_str().unwrap().as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} holds its build path",
            binary.display()
        );
        sums.push((
            manifest(&out)["commit"].clone(),
            fs::read_to_string(out.join("SHA256SUMS")).unwrap(),
            sha256sum(&out.join(name)),
        ));
    }
    assert_eq!(sums[0], sums[1]);
}

#[test]
fn a_rerun_reuses_unchanged_archives_and_repacks_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root, "");
    let out = root.join("dist");
    dist(root, &[]);
    let name = format!("tool-1.2.3-{TARGET}.tar.gz");
    let first = fs::metadata(out.join(&name)).unwrap().modified().unwrap();
    let sha = sha256sum(&out.join(&name));

    // Leftovers a killed run could leave, a stale archive of an older version with its
    // checksum file, and a file that is not ours.
    write(&out.join(format!(".{name}.partial-99999")), "half an archive");
    write(&out.join("tool-1.2.2-aarch64-unknown-linux-musl.tar.xz"), "old");
    write(&out.join("tool-1.2.2-aarch64-unknown-linux-musl.tar.xz.sha256"), "old");
    write(&out.join("notes.txt"), "mine");

    let rerun = dist(root, &[]);
    let log = stderr(&rerun);
    assert!(log.contains("reused"), "{log}");
    assert!(!log.contains("packing"), "{log}");
    assert!(log.contains(".partial-99999, left by an interrupted run"), "{log}");
    assert!(
        log.contains("tool-1.2.2-aarch64-unknown-linux-musl.tar.xz: not made by this run"),
        "{log}"
    );
    assert_eq!(
        fs::metadata(out.join(&name)).unwrap().modified().unwrap(),
        first,
        "the archive was rewritten"
    );
    assert_eq!(
        listing(&out),
        [
            ".lock",
            "REPORT.md",
            "SHA256SUMS",
            "manifest.json",
            "notes.txt",
            name.as_str(),
            &format!("{name}.sha256")
        ]
    );

    // A changed include file changes the input: the archive is packed again.
    write(&root.join("README.md"), "# tool, now documented\n");
    let changed = dist(root, &[]);
    assert!(stderr(&changed).contains("packing tar.gz"), "{}", stderr(&changed));
    assert_ne!(sha256sum(&out.join(&name)), sha);

    // An archive that no longer matches what the manifest recorded is not trusted.
    fs::write(out.join(&name), b"tampered").unwrap();
    let repaired = dist(root, &[]);
    assert!(stderr(&repaired).contains("packing tar.gz"), "{}", stderr(&repaired));
    run_ok(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out));
}

#[test]
fn a_second_run_waits_for_the_lock_or_fails_with_no_wait() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root, "");
    let out = root.join("dist");
    dist(root, &[]);
    // This test process takes the same flock a running `dist` holds.
    let lock = File::options().write(true).open(out.join(".lock")).unwrap();
    lock.lock().unwrap();

    let refused = xtask(root, &["--no-wait"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("is in use by another `cargo xtask dist`"),
        "{}",
        stderr(&refused)
    );

    let mut waiting = xtask(root, &[])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(waiting.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("waiting for another `cargo xtask dist`"), "{first}");
    // Still blocked a moment later: it really waits instead of going ahead.
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiting.try_wait().unwrap().is_none(), "the second run did not wait");
    lock.unlock().unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(waiting.wait().unwrap().success(), "{rest:?}");
}

#[test]
fn a_run_killed_while_packing_leaves_no_archive_and_the_next_run_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // 8 MiB of incompressible bytes packed as tar.xz keeps the packer busy for seconds.
    let table = format!(
        "include = [\"README.md\", \"big.bin\"]\n\n[workspace.metadata.dist.target.{TARGET}]\nformat = \"tar.xz\""
    );
    fixture(root, &table);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(root.join("big.bin"), noise).unwrap();
    let out = root.join("dist");
    let name = format!("tool-1.2.3-{TARGET}.tar.xz");

    let mut child = xtask(root, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let partial = loop {
        let found = fs::read_dir(&out).ok().and_then(|d| {
            d.map(|e| e.unwrap().path()).find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!(".{name}.partial-"))
            })
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "dist finished before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "dist never started packing"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL: no handler runs, nothing is cleaned up.
    child.wait().unwrap();
    assert!(partial.exists());
    assert!(
        !out.join(&name).exists(),
        "a killed run left an archive under the final name"
    );
    assert!(!out.join("manifest.json").exists());

    let rerun = dist(root, &[]);
    assert!(
        stderr(&rerun).contains("left by an interrupted run"),
        "{}",
        stderr(&rerun)
    );
    assert!(!partial.exists());
    run_ok(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out));
    let mut unpacked = Vec::new();
    let list = Command::new("tar")
        .arg("-xOJf")
        .arg(out.join(&name))
        .arg(format!("tool-1.2.3-{TARGET}/big.bin"))
        .output()
        .unwrap();
    assert!(list.status.success());
    File::open(root.join("big.bin"))
        .unwrap()
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(list.stdout == unpacked, "big.bin did not survive the round trip");
}

#[test]
fn a_config_mistake_in_a_target_table_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(
        root,
        &format!("[workspace.metadata.dist.target.{TARGET}]\nformat = \"tar.bz2\""),
    );
    let out = xtask(root, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("tar.bz2") && message.contains("tar.zst"), "{message}");
}
