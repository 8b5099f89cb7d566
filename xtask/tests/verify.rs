//! `cargo xtask verify` and dist's pre-pack check, run as the real binary on real binaries:
//! a tiny crate is built in a temp dir with real `cargo build` for static musl (x86_64
//! static-pie, aarch64 plain static through rust-lld) and for the host's dynamic glibc, and
//! packed into real archives, honest and malicious.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const MUSL: &str = "x86_64-unknown-linux-musl";
const ARM_MUSL: &str = "aarch64-unknown-linux-musl";

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the xtask binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The fixture workspace, with its binaries built once for all tests of this file.
struct Built {
    dir: tempfile::TempDir,
    musl: PathBuf,
    arm_musl: PathBuf,
    gnu: PathBuf,
}

fn write_workspace(root: &Path, dist: &str) {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [workspace.metadata.dist]\n{dist}\n\n[profile.dist]\ninherits = \"release\"\nstrip = true\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() { println!(\"hello\"); }\n").unwrap();
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write_workspace(dir.path(), "");
        let cargo = |target: Option<&str>| {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--quiet", "--profile", "dist"])
                .current_dir(dir.path());
            if let Some(target) = target {
                cmd.args(["--target", target]);
            }
            // rust-lld links pure-Rust static aarch64 musl without a cross toolchain.
            cmd.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld");
            let status = cmd.status().unwrap();
            assert!(status.success(), "cargo build --target {target:?} failed");
        };
        // On a fresh machine the musl standard libraries are not installed yet.
        let added = Command::new("rustup")
            .args(["target", "add", MUSL, ARM_MUSL])
            .status()
            .unwrap();
        assert!(added.success(), "rustup target add failed");
        for target in [Some(MUSL), Some(ARM_MUSL), None] {
            cargo(target);
        }
        let bin = |sub: &str| dir.path().join("target").join(sub).join("dist/hello");
        Built {
            musl: bin(MUSL),
            arm_musl: bin(ARM_MUSL),
            gnu: bin(""),
            dir,
        }
    })
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn static_musl_binaries_pass_with_the_right_linkage() {
    let b = built();
    let out = xtask(
        b.dir.path(),
        &[
            "verify",
            "--json",
            b.musl.to_str().unwrap(),
            b.arm_musl.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let rows = json(&out);
    let x86 = &rows[0]["inspection"];
    assert_eq!(rows[0]["target"], MUSL);
    assert_eq!(rows[0]["target_guessed"], true);
    // x86_64 musl links as static-pie: ET_DYN + PT_DYNAMIC + DF_1_PIE, no loader, no library.
    assert_eq!(x86["linkage"], "static-pie");
    assert_eq!(x86["elf"]["e_type"], "dyn");
    assert_eq!(x86["elf"]["pie"], true);
    assert_eq!(x86["interpreter"], serde_json::Value::Null);
    assert_eq!(x86["needed"], serde_json::json!([]));
    assert_eq!(x86["stripped"], true);
    // aarch64 musl through rust-lld is a plain static ET_EXEC.
    let arm = &rows[1]["inspection"];
    assert_eq!(rows[1]["target"], ARM_MUSL);
    assert_eq!(
        (arm["linkage"].as_str(), arm["elf"]["e_type"].as_str()),
        (Some("static"), Some("exec"))
    );

    let table = xtask(b.dir.path(), &["verify", b.musl.to_str().unwrap()]);
    let text = stdout(&table);
    assert!(
        text.starts_with("file") && text.contains("static-pie") && text.contains("PASS"),
        "{text}"
    );
}

#[test]
fn a_musl_binary_checked_as_the_other_arch_fails() {
    let b = built();
    let out = xtask(
        b.dir.path(),
        &["verify", "--target", ARM_MUSL, b.musl.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL [arch] architecture is x86_64"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_hosts_glibc_binary_fails_until_the_config_allows_it() {
    let b = built();
    let gnu = b.gnu.to_str().unwrap();
    let out = xtask(b.dir.path(), &["verify", "--json", gnu]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let rows = json(&out);
    assert_eq!(rows[0]["target"], "x86_64-unknown-linux-gnu");
    let found = &rows[0]["inspection"];
    assert_eq!(found["linkage"], "dynamic");
    assert!(found["interpreter"].as_str().unwrap().contains("ld-linux"));
    assert!(found["needed"].as_array().unwrap().contains(&"libc.so.6".into()));
    let rules: Vec<&str> = rows[0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // Rust's std always needs libgcc_s.so.1; this host's glibc is newer than 2.17 when the
    // binary needs more than 2.17 (Debian 13 gives GLIBC_2.34).
    assert!(rules.contains(&"glibc-only"), "{rules:?}");
    let glibc = found["elf"]["glibc"].as_str().unwrap();
    assert_eq!(
        rules.contains(&"glibc-max"),
        glibc.split('.').nth(1).unwrap().parse::<u32>().unwrap() > 17,
        "{glibc} {rules:?}"
    );

    // The same file passes in a workspace whose per-target table allows it.
    let ws = tempfile::tempdir().unwrap();
    write_workspace(
        ws.path(),
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"2.99\"\nallow-libs = [\"libgcc_s.so.1\"]",
    );
    let out = xtask(ws.path(), &["verify", gnu]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    let bad = tempfile::tempdir().unwrap();
    write_workspace(
        bad.path(),
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"new\"",
    );
    let out = xtask(bad.path(), &["verify", gnu]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("glibc-max is `new`"), "{}", stderr(&out));
    write_workspace(
        bad.path(),
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-maxx = \"2.17\"",
    );
    let out = xtask(bad.path(), &["verify", gnu]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown field `glibc-maxx`"), "{}", stderr(&out));
}

/// A tar.gz / tar.xz / zip holding `entries` (name, bytes) and tar links (name, target).
fn tar(entries: &[(&str, &[u8])], links: &[(&str, &str, tar::EntryType)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        // Written raw: `append_data` refuses `..` itself, and malicious archives have it.
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

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn archives_are_read_in_memory_and_every_binary_checked() {
    let b = built();
    let musl = std::fs::read(&b.musl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tar_bytes = tar(&[("hello-0.1.0/hello", &musl), ("hello-0.1.0/README.md", b"hi\n")], &[]);
    std::fs::write(
        dir.path().join("hello-0.1.0-x86_64-unknown-linux-musl.tar.gz"),
        gz(&tar_bytes),
    )
    .unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut &tar_bytes[..], &mut xz).unwrap();
    std::fs::write(dir.path().join("hello.tar.xz"), xz).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("hello-0.1.0/hello", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&musl).unwrap();
    std::fs::write(dir.path().join("hello.zip"), zip.finish().unwrap().into_inner()).unwrap();

    let out = xtask(
        dir.path(),
        &[
            "verify",
            "--json",
            "hello-0.1.0-x86_64-unknown-linux-musl.tar.gz",
            "hello.tar.xz",
            "hello.zip",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let rows = json(&out);
    let files: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "hello-0.1.0-x86_64-unknown-linux-musl.tar.gz!hello-0.1.0/hello",
            "hello.tar.xz!hello-0.1.0/hello",
            "hello.zip!hello-0.1.0/hello"
        ],
        "one row per binary; README skipped"
    );
    assert_eq!(
        rows[0]["target_guessed"], false,
        "the triple in the archive's name is used"
    );
    assert_eq!(rows[1]["inspection"]["linkage"], "static-pie");
}

#[test]
fn archives_that_escape_are_refused() {
    let b = built();
    let musl = std::fs::read(&b.musl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("dotdot.tar.gz", tar(&[("top/../../evil", &musl)], &[]), "`..`"),
        ("absolute.tar.gz", tar(&[("/tmp/evil", &musl)], &[]), "absolute"),
        (
            "symlink.tar.gz",
            tar(
                &[("top/hello", &musl)],
                &[("top/passwd", "/etc/passwd", tar::EntryType::Symlink)],
            ),
            "outside the archive",
        ),
        (
            "hardlink.tar.gz",
            tar(
                &[("top/hello", &musl)],
                &[("top/x", "../../etc/passwd", tar::EntryType::Link)],
            ),
            "outside the archive",
        ),
    ];
    for (name, bytes, reason) in cases {
        std::fs::write(dir.path().join(name), gz(&bytes)).unwrap();
        let out = xtask(dir.path(), &["verify", "--target", MUSL, name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(
            text.contains("FAIL [archive]") && text.contains(reason),
            "{name}: {text}"
        );
    }
    std::fs::write(dir.path().join("corrupt.zip"), b"PK\x03\x04 not really").unwrap();
    let out = xtask(dir.path(), &["verify", "corrupt.zip"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAIL [archive]"), "{}", stdout(&out));
}

#[test]
fn usage_errors_exit_2_and_unreadable_binaries_fail() {
    let dir = tempfile::tempdir().unwrap();
    let out = xtask(dir.path(), &["verify", "no-such-file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read no-such-file"), "{}", stderr(&out));
    let out = xtask(dir.path(), &["verify", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"));
    let out = xtask(dir.path(), &["verify", "--target", "wasm32-unknown-unknown", "."]);
    assert_eq!(out.status.code(), Some(2));
    let out = xtask(dir.path(), &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "outside a workspace and no paths: {}",
        stderr(&out)
    );

    std::fs::write(dir.path().join("empty"), b"").unwrap();
    std::fs::write(dir.path().join("script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(dir.path().join("truncated"), b"\x7fELF\x02\x01\x01").unwrap();
    let out = xtask(dir.path(), &["verify", "empty", "script.sh", "truncated"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.matches("FAIL [readable]").count(), 3, "{text}");
}

#[test]
fn dist_verifies_before_packing_and_verify_rechecks_the_manifest() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write_workspace(root, "targets = [\"x86_64-unknown-linux-musl\"]\n\n[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nmax-size = 1000");
    // dist builds with --locked.
    let status = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
    let out = xtask(root, &["dist"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not packed") && stderr(&out).contains("[max-size]"),
        "{}",
        stderr(&out)
    );
    // The refusal names what takes the space.
    assert!(
        stderr(&out).contains("largest crates (unstripped symbols): ") && stderr(&out).contains(" std "),
        "{}",
        stderr(&out)
    );
    // Nothing was packed: the index of this run lists no archive.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("dist/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert!(!std::fs::read_dir(root.join("dist")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tar.gz")));

    write_workspace(root, "targets = [\"x86_64-unknown-linux-musl\"]");
    let out = xtask(root, &["dist"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("dist/manifest.json")).unwrap()).unwrap();
    let inspection = &manifest["artifacts"][0]["assets"][0]["inspection"];
    assert_eq!(inspection["linkage"], "static-pie");
    assert_eq!(inspection["elf"]["class"], 64);

    let out = xtask(root, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out)
        .contains("hello-0.1.0-x86_64-unknown-linux-musl.tar.gz!hello-0.1.0-x86_64-unknown-linux-musl/hello"));

    let archive = root.join("dist/hello-0.1.0-x86_64-unknown-linux-musl.tar.gz");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&archive)
        .unwrap()
        .write_all(b"tampered")
        .unwrap();
    let out = xtask(root, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAIL [checksum]"), "{}", stdout(&out));

    // A manifest edited to point outside the output directory is not followed.
    let path = root.join("dist/manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["artifacts"][0]["name"] = "../Cargo.toml".into();
    std::fs::write(&path, manifest.to_string()).unwrap();
    let out = xtask(root, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAIL [manifest]"), "{}", stdout(&out));
    std::fs::write(&path, "{\"format_version\": 1}").unwrap();
    let out = xtask(root, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable manifest is a usage error: {}",
        stderr(&out)
    );
}
