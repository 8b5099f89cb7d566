//! The same commit built from two different checkout directories, each with a clean target
//! directory, gives byte-identical archives for every target of the matrix. The checkouts
//! are fresh clones of HEAD, so what is compared is exactly what was committed.

use std::path::Path;
use std::process::Command;

fn clone(from: &Path, to: &Path) {
    let status = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(from)
        .arg(to)
        .status()
        .expect("git runs");
    assert!(status.success(), "cloning {} failed", from.display());
}

fn dist(checkout: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--accept-msvc-license", "--manifest-path"])
        .arg(checkout.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", checkout.join("target"))
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dist in {} failed:\n{stderr}", checkout.display());
    std::fs::read_to_string(checkout.join("dist/SHA256SUMS")).unwrap()
}

#[test]
fn every_matrix_archive_is_identical_from_two_checkouts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("first"), dir.path().join("second/deeper/checkout"));
    clone(root, &a);
    clone(root, &b);
    let (sums_a, sums_b) = (dist(&a), dist(&b));
    assert_eq!(sums_a.lines().count(), 5, "{sums_a}");
    assert_eq!(sums_a, sums_b, "the two checkouts packed different archives");
}
