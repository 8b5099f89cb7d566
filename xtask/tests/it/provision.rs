//! A tool cache left half-written by an interrupted run — a half-unpacked directory, a
//! tool directory without its completion marker, a truncated download — is detected by
//! doctor and redone by `doctor --fix`.

use crate::harness::{expect_exit, expect_ok, expect_report, repo_root, repo_target_dir, xtask, Run};
use std::path::Path;
use std::process::Command;

/// `doctor` for the macOS target (zig and cargo-zigbuild) on this repository, with `cache`
/// as the tool cache.
fn doctor(cache: &Path, extra: &[&str]) -> Run {
    xtask(["doctor", "--target", "aarch64-apple-darwin"])
        .manifest(repo_root())
        .args(extra)
        .env("DIST_TOOLS_DIR", cache)
        .target_dir(&repo_target_dir())
        .run()
}

#[test]
fn a_half_written_tool_cache_is_detected_and_redone() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    std::fs::create_dir_all(c.join(".ziglang-0.13.0.partial/ziglang")).unwrap();
    std::fs::write(c.join(".ziglang-0.13.0.partial/ziglang/zig"), "half").unwrap();
    std::fs::create_dir_all(c.join("cargo-zigbuild-0.24.1/cargo_zigbuild-0.24.1.data/scripts")).unwrap();
    std::fs::write(
        c.join("cargo-zigbuild-0.24.1/cargo_zigbuild-0.24.1.data/scripts/cargo-zigbuild"),
        "half",
    )
    .unwrap();
    std::fs::create_dir_all(c.join("downloads")).unwrap();
    std::fs::write(
        c.join("downloads/cargo_zigbuild-0.24.1-py3-none-manylinux1_x86_64.whl"),
        "truncated",
    )
    .unwrap();

    let out = doctor(c, &[]);
    // A directory without its marker is not present.
    expect_report(&out, 1, "cargo-zigbuild 0.24.1 not in");
    expect_report(&out, 1, "zig 0.13.0 not in");
    expect_exit(&out, 1, "`cargo xtask doctor --fix` provisions them");

    let out = doctor(c, &["--fix"]);
    expect_exit(&out, 0, "provisioning cargo-zigbuild 0.24.1");
    expect_exit(&out, 0, "provisioning zig 0.13.0");
    assert!(
        !c.join(".ziglang-0.13.0.partial").exists(),
        "the half-unpacked directory was not cleared"
    );
    let zigbuild = c.join("cargo-zigbuild-0.24.1/cargo_zigbuild-0.24.1.data/scripts/cargo-zigbuild");
    assert!(
        std::fs::metadata(&zigbuild).unwrap().len() > 1_000_000,
        "cargo-zigbuild was not replaced"
    );
    let version = Command::new(&zigbuild).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("0.24.1"));
    expect_ok(&doctor(c, &[]));
}
