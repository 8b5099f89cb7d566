//! Packaging end to end: the real xtask binary builds a small fixture
//! workspace in a temp dir with the real cargo for x86_64-unknown-linux-musl, and the tests
//! look at the archives, checksums and manifest it leaves in the output directory.

use crate::harness::{
    check_sums, expect_exit, expect_ok, expect_usage_error, listing, read_manifest as manifest, sha256 as sha256sum,
    system_extract, system_listing, write, Run, Workspace, MUSL as TARGET,
};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The fixture's commit time: with no SOURCE_DATE_EPOCH it is every entry's mtime.
const COMMIT_TIME: u64 = 1_700_000_000;

/// A one-binary workspace in a temp dir whose `tool` can print completions and a man page,
/// committed to git with fixed names and dates so two copies have the same commit hash.
fn fixture(extra_config: &str) -> Workspace {
    let ws = Workspace::empty();
    fill(&ws, extra_config);
    ws
}

/// The same at `root`.
fn fixture_at(root: &Path, extra_config: &str) -> Workspace {
    let ws = Workspace::at(root);
    fill(&ws, extra_config);
    ws
}

fn fill(ws: &Workspace, extra_config: &str) {
    ws.write_tool(
        "1.2.3",
        &format!(
            r#"[workspace.metadata.dist]
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
    ws.write(
        "tool/src/main.rs",
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
    ws.write(
        "tool/build.rs",
        r#"fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let code = "pub fn check(args: &[String]) { if args.len() > 9 { panic!(\"too many arguments\") } }";
    std::fs::write(format!("{out}/generated.rs"), code).unwrap();
}
"#,
    );
    ws.write("README.md", "# tool\n")
        .write("LICENSE-MIT", "MIT\n")
        .write(".gitignore", "/target\n/dist\n")
        .lock()
        .commit(COMMIT_TIME);
}

/// The real xtask's `dist` on the fixture, SOURCE_DATE_EPOCH unset so the commit time
/// counts, in the fixture's own target directory.
fn xtask(ws: &Workspace, args: &[&str]) -> crate::harness::Xtask {
    ws.xtask(["dist"]).args(args).env_remove("SOURCE_DATE_EPOCH")
}

/// A `dist` that succeeds.
fn dist(ws: &Workspace, args: &[&str]) -> Run {
    let out = xtask(ws, args).run();
    expect_ok(&out);
    out
}

#[test]
fn every_format_is_packed_readable_and_byte_identical_across_runs() {
    let ws = fixture("");
    let base = fs::read_to_string(ws.manifest()).unwrap();
    for format in ["tar.gz", "tar.xz", "tar.zst", "zip"] {
        let table = format!("[workspace.metadata.dist.target.{TARGET}]\nformat = \"{format}\"\n");
        fs::write(ws.manifest(), format!("{base}\n{table}")).unwrap();
        // Two separate output directories: the second run cannot reuse the first's archive.
        let (a, b) = (ws.path("out-a"), ws.path("out-b"));
        dist(&ws, &["--out", a.to_str().unwrap()]);
        dist(&ws, &["--out", b.to_str().unwrap()]);
        let name = format!("tool-1.2.3-{TARGET}.{format}");
        let bytes = fs::read(a.join(&name)).unwrap();
        assert_eq!(bytes, fs::read(b.join(&name)).unwrap(), "{format}: two runs differ");

        // Only this run's files: the previous format's archive was removed as stale.
        let sbom = format!("tool-1.2.3-{TARGET}.cdx.json");
        assert_eq!(
            listing(&a),
            [
                ".lock",
                "REPORT.md",
                "SHA256SUMS",
                "install.sh",
                "manifest.json",
                sbom.as_str(),
                name.as_str(),
                &format!("{name}.sha256")
            ],
            "{format}"
        );
        let sums = fs::read_to_string(a.join("SHA256SUMS")).unwrap();
        let line = format!("{}  {name}\n", sha256sum(&a.join(&name)));
        assert!(sums.contains(&line), "{sums}");
        assert_eq!(sums.lines().count(), 3, "the archive, its SBOM, install.sh: {sums}");
        assert_eq!(fs::read_to_string(a.join(format!("{name}.sha256"))).unwrap(), line);
        check_sums(&a);

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

/// Needs fresh builds: each checkout builds in its own new target directory, never a
/// shared one, or the second checkout would not really be built.
#[test]
fn two_checkouts_of_one_commit_in_different_directories_give_identical_archives() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut sums = Vec::new();
    for dir in [one.path(), two.path()] {
        let ws = fixture_at(&dir.join("checkout"), "");
        dist(&ws, &[]);
        let out = ws.path("dist");
        let name = format!("tool-1.2.3-{TARGET}.tar.gz");
        // The build directory must not leak into the binary (panic paths, debug info).
        let binary = ws.path("target").join(TARGET).join("dist").join("tool");
        let bytes = fs::read(&binary).unwrap();
        let needle = ws.root().to_str().unwrap().as_bytes();
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
    let ws = fixture("");
    let out = ws.path("dist");
    dist(&ws, &[]);
    let name = format!("tool-1.2.3-{TARGET}.tar.gz");
    let first = fs::metadata(out.join(&name)).unwrap().modified().unwrap();
    let sha = sha256sum(&out.join(&name));

    // Leftovers a killed run could leave, a stale archive of an older version with its
    // checksum file, and a file that is not ours.
    write(&out.join(format!(".{name}.partial-99999")), "half an archive");
    write(&out.join("tool-1.2.2-aarch64-unknown-linux-musl.tar.xz"), "old");
    write(&out.join("tool-1.2.2-aarch64-unknown-linux-musl.tar.xz.sha256"), "old");
    write(&out.join("notes.txt"), "mine");

    let rerun = dist(&ws, &[]);
    expect_exit(&rerun, 0, "reused");
    assert!(!rerun.stderr.contains("packing"), "{rerun}");
    expect_exit(&rerun, 0, ".partial-99999, left by an interrupted run");
    expect_exit(
        &rerun,
        0,
        "tool-1.2.2-aarch64-unknown-linux-musl.tar.xz: not made by this run",
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
            "install.sh",
            "manifest.json",
            "notes.txt",
            &format!("tool-1.2.3-{TARGET}.cdx.json"),
            name.as_str(),
            &format!("{name}.sha256")
        ]
    );

    // A changed include file changes the input: the archive is packed again.
    ws.write("README.md", "# tool, now documented\n");
    expect_exit(&dist(&ws, &[]), 0, "packing tar.gz");
    assert_ne!(sha256sum(&out.join(&name)), sha);

    // An archive that no longer matches what the manifest recorded is not trusted.
    fs::write(out.join(&name), b"tampered").unwrap();
    expect_exit(&dist(&ws, &[]), 0, "packing tar.gz");
    check_sums(&out);
}

#[test]
fn a_second_run_waits_for_the_lock_or_fails_with_no_wait() {
    let ws = fixture("");
    let out = ws.path("dist");
    dist(&ws, &[]);
    // This test process takes the same flock a running `dist` holds.
    let lock = File::options().write(true).open(out.join(".lock")).unwrap();
    lock.lock().unwrap();

    let refused = xtask(&ws, &["--no-wait"]).run();
    expect_exit(&refused, 1, "is in use by another `cargo xtask dist`");

    let mut waiting = xtask(&ws, &[]).spawn(Stdio::null(), Stdio::piped());
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
    // 8 MiB of incompressible bytes packed as tar.xz keeps the packer busy for seconds.
    let table = format!(
        "include = [\"README.md\", \"big.bin\"]\n\n[workspace.metadata.dist.target.{TARGET}]\nformat = \"tar.xz\""
    );
    let ws = fixture(&table);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(ws.path("big.bin"), noise).unwrap();
    let out = ws.path("dist");
    let name = format!("tool-1.2.3-{TARGET}.tar.xz");

    let mut child = xtask(&ws, &[]).spawn(Stdio::null(), Stdio::null());
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

    expect_exit(&dist(&ws, &[]), 0, "left by an interrupted run");
    assert!(!partial.exists());
    check_sums(&out);
    let mut unpacked = Vec::new();
    let extracted = system_extract(&out.join(&name), &format!("tool-1.2.3-{TARGET}/big.bin"));
    File::open(ws.path("big.bin"))
        .unwrap()
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(extracted == unpacked, "big.bin did not survive the round trip");
}

#[test]
fn a_config_mistake_in_a_target_table_exits_2_naming_it() {
    let ws = fixture(&format!(
        "[workspace.metadata.dist.target.{TARGET}]\nformat = \"tar.bz2\""
    ));
    let out = xtask(&ws, &[]).run();
    expect_usage_error(&out, "tar.bz2");
    assert!(out.stderr.contains("tar.zst"), "{out}");
}
