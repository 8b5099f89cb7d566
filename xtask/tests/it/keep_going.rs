//! A failing target: without --keep-going the run stops there and keeps nothing it did
//! not finish; with it, the other targets are built and packed, and the exit code is 1.

use crate::harness::{expect_exit, read_manifest, Workspace};

/// A pure-Rust workspace whose macOS target is forced onto a route that cannot link it.
fn fixture() -> Workspace {
    Workspace::tool(
        "0.2.0",
        r#"[workspace.metadata.dist]
targets = ["aarch64-apple-darwin", "x86_64-unknown-linux-musl"]
profile = "release"

# rust-lld alone has no libSystem to link a macOS binary against: this build fails.
[workspace.metadata.dist.target.aarch64-apple-darwin]
route = "rust-lld"
"#,
    )
}

#[test]
fn keep_going_packs_the_targets_that_build_and_still_fails() {
    let ws = fixture();
    let dist_dir = ws.path("dist");

    let out = ws.xtask(["dist"]).run();
    expect_exit(&out, 1, "1 of 2 target(s) failed: aarch64-apple-darwin, 1 not started");
    assert!(
        out.stderr.contains("last lines of"),
        "the build log's tail is shown:\n{out}"
    );
    // The index describes exactly this run: nothing finished, so it lists nothing.
    let manifest = read_manifest(&dist_dir);
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap(), "");

    let out = ws.xtask(["dist", "--keep-going"]).run();
    expect_exit(&out, 1, "error: 1 of 2 target(s) failed: aarch64-apple-darwin\n");
    assert!(out.stderr.contains("[x86_64-unknown-linux-musl] done"), "{out}");
    let sums = std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("tool-0.2.0-x86_64-unknown-linux-musl.tar.gz"), "{sums}");
    assert!(!sums.contains("apple"), "{sums}");
}
