//! The same commit built from two different checkout directories, each with a clean target
//! directory, gives byte-identical archives for every target of the matrix. The checkouts
//! are fresh clones of HEAD, so what is compared is exactly what was committed.

use crate::harness::{expect_ok, repo_root, run_ok, xtask};
use std::path::Path;
use std::process::Command;

fn clone(from: &Path, to: &Path) {
    run_ok(Command::new("git").args(["clone", "--quiet"]).arg(from).arg(to));
}

/// `dist` of the whole matrix in `checkout`, built in the checkout's own (new) target
/// directory — never a shared one: what is compared is two clean builds.
fn dist(checkout: &Path) -> String {
    let out = xtask(["dist", "--accept-msvc-license"])
        .manifest(checkout)
        .target_dir(&checkout.join("target"))
        .env_remove("SOURCE_DATE_EPOCH")
        .run();
    expect_ok(&out);
    std::fs::read_to_string(checkout.join("dist/SHA256SUMS")).unwrap()
}

#[test]
fn every_matrix_archive_is_identical_from_two_checkouts() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("first"), dir.path().join("second/deeper/checkout"));
    clone(repo_root(), &a);
    clone(repo_root(), &b);
    let (sums_a, sums_b) = (dist(&a), dist(&b));
    let archives = sums_a
        .lines()
        .filter(|l| !l.ends_with(".cdx.json") && !l.contains("  install."))
        .count();
    assert_eq!(archives, 5, "{sums_a}");
    assert_eq!(sums_a, sums_b, "the two checkouts packed different archives");
}
