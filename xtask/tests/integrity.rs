//! Integrity: `verify` catches a flipped byte in an archive, an archive repacked with an
//! extra or a missing file, a binary swapped for another target's, and a dynamically
//! linked binary in a musl archive.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Packs `files` (name, source) under `top/` into a .tar.gz with the system tar.
fn repack(archive: &Path, top: &str, files: &[(&str, &Path)]) {
    let stage = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(stage.path().join(top)).unwrap();
    for (name, source) in files {
        std::fs::copy(source, stage.path().join(top).join(name)).unwrap();
    }
    let status = Command::new("tar")
        .arg("czf")
        .arg(archive)
        .arg("-C")
        .arg(stage.path())
        .arg(top)
        .status()
        .unwrap();
    assert!(status.success());
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Points the manifest's checksum at the archive as it is now, as a forger would.
fn forge_checksum(dist: &Path, archive: &Path) {
    let path = dist.join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["artifacts"][0]["checksums"]["sha256"] = sha256(archive).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn verify_catches_tampering_swaps_and_dynamic_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::workspace(root, common::MUSL_RELEASE, common::HELLO);
    let built = xtask(root, &["dist"]);
    assert!(built.status.success(), "{}", text(&built));
    let dist = root.join("dist");
    let top = "tool-0.1.0-x86_64-unknown-linux-musl";
    let archive = dist.join(format!("{top}.tar.gz"));
    let pristine = std::fs::read(&archive).unwrap();
    let manifest = std::fs::read(dist.join("manifest.json")).unwrap();
    let ok = xtask(root, &["verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));

    // A flipped byte: the checksum no longer matches.
    let mut flipped = pristine.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&archive, &flipped).unwrap();
    let out = xtask(root, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the archive changed after dist wrote it"),
        "{}",
        text(&out)
    );

    // Repacked with an extra file, and with one missing, the checksum forged to match.
    let binary = root.join("target/x86_64-unknown-linux-musl/release/tool");
    let readme = root.join("README.md");
    for (files, expect) in [
        (
            vec![
                ("tool", binary.as_path()),
                ("README.md", readme.as_path()),
                ("install.sh", readme.as_path()),
            ],
            "holds files the manifest does not list (install.sh)",
        ),
        (
            vec![("tool", binary.as_path())],
            "lacks files the manifest lists (README.md)",
        ),
    ] {
        repack(&archive, top, &files);
        forge_checksum(&dist, &archive);
        let out = xtask(root, &["verify"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains(expect), "{}", text(&out));
        std::fs::write(dist.join("manifest.json"), &manifest).unwrap();
    }
    std::fs::write(&archive, &pristine).unwrap();

    // The x86_64 binary in an archive named for aarch64: the architecture is wrong.
    let swapped = dir.path().join("tool-0.1.0-aarch64-unknown-linux-musl.tar.gz");
    repack(&swapped, "tool-0.1.0-aarch64-unknown-linux-musl", &[("tool", &binary)]);
    let out = xtask(root, &["verify", swapped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("aarch64-unknown-linux-musl") && text(&out).contains("FAIL"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("x86_64"), "{}", text(&out));

    // A dynamically linked (glibc) binary in a musl archive: it needs a loader.
    let dynamic = Path::new(env!("CARGO_BIN_EXE_xtask"));
    let glibc = dir.path().join("tool-0.1.0-x86_64-unknown-linux-musl.tar.gz");
    repack(&glibc, top, &[("tool", dynamic)]);
    let out = xtask(root, &["verify", glibc.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ld-linux"), "the loader is named:\n{}", text(&out));
}
