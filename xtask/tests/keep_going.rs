//! A failing target: without --keep-going the run stops there and keeps nothing it did
//! not finish; with it, the other targets are built and packed, and the exit code is 1.

use std::path::Path;
use std::process::Command;

/// A pure-Rust workspace whose macOS target is forced onto a route that cannot link it.
fn fixture(root: &Path) {
    std::fs::create_dir_all(root.join("tool/src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        r#"[workspace]
members = ["tool"]
resolver = "2"

[workspace.metadata.dist]
targets = ["aarch64-apple-darwin", "x86_64-unknown-linux-musl"]
profile = "release"

# rust-lld alone has no libSystem to link a macOS binary against: this build fails.
[workspace.metadata.dist.target.aarch64-apple-darwin]
route = "rust-lld"
"#,
    )
    .unwrap();
    std::fs::write(
        root.join("tool/Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(root.join("tool/src/main.rs"), "fn main() { println!(\"tool\"); }\n").unwrap();
}

fn dist(root: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("dist")
        .args(extra)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn keep_going_packs_the_targets_that_build_and_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let dist_dir = dir.path().join("dist");

    let (code, stderr) = dist(dir.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 2 target(s) failed: aarch64-apple-darwin, 1 not started"),
        "{stderr}"
    );
    assert!(
        stderr.contains("last lines of"),
        "the build log's tail is shown:\n{stderr}"
    );
    // The index describes exactly this run: nothing finished, so it lists nothing.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap(), "");

    let (code, stderr) = dist(dir.path(), &["--keep-going"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: 1 of 2 target(s) failed: aarch64-apple-darwin\n"),
        "{stderr}"
    );
    assert!(stderr.contains("[x86_64-unknown-linux-musl] done"), "{stderr}");
    let sums = std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("tool-0.2.0-x86_64-unknown-linux-musl.tar.gz"), "{sums}");
    assert!(!sums.contains("apple"), "{sums}");
}
