//! Faults while writing: a write that fails for lack of space (a file size limit stands in
//! for a full disk) ends the run with a clear error and leaves the previous output as it was.

use crate::harness::{check_sums, expect_exit, expect_ok, release_files, Workspace, MUSL_RELEASE};

#[test]
fn a_full_disk_while_packing_fails_clearly_and_keeps_the_previous_output() {
    let ws = Workspace::tool("0.1.0", MUSL_RELEASE);
    ws.write("README.md", "first\n");
    expect_ok(&ws.xtask(["dist"]).run());
    let out = ws.path("dist");
    let before = release_files(&out);

    // A changed include file forces a repack, which no longer fits. The build itself is
    // fresh: nothing but the archive is written, in the fixture's own target directory.
    ws.write("README.md", "second, a little longer\n");
    let full = ws.xtask(["dist"]).file_size_limit(20_000).run();
    expect_exit(&full, 1, "File too large");
    assert!(full.stderr.contains("left as they were"), "{full}");
    assert!(!full.stderr.contains("panicked"), "{full}");
    assert_eq!(release_files(&out), before, "the previous output changed");
    check_sums(&out);

    // With room again, the next run packs the new input.
    expect_ok(&ws.xtask(["dist"]).run());
    assert_ne!(release_files(&out), before);
}
