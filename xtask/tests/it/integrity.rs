//! Integrity: `verify` catches a flipped byte in an archive, an archive repacked with an
//! extra or a missing file, a binary swapped for another target's, and a dynamically
//! linked binary in a musl archive — each by the rule made for it.

use crate::harness::{expect_ok, expect_rule, repack, sha256, Workspace, MUSL_RELEASE};
use std::path::Path;

/// Points the manifest's checksum at the archive as it is now, as a forger would.
fn forge_checksum(dist: &Path, archive: &Path) {
    let path = dist.join("manifest.json");
    let mut manifest = crate::harness::read_manifest(dist);
    manifest["artifacts"][0]["checksums"]["sha256"] = sha256(archive).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn verify_catches_tampering_swaps_and_dynamic_binaries() {
    let ws = Workspace::tool("0.1.0", MUSL_RELEASE);
    expect_ok(&ws.xtask(["dist"]).run());
    let dist = ws.path("dist");
    let top = "tool-0.1.0-x86_64-unknown-linux-musl";
    let archive = dist.join(format!("{top}.tar.gz"));
    let pristine = std::fs::read(&archive).unwrap();
    let manifest = std::fs::read(dist.join("manifest.json")).unwrap();
    expect_ok(&ws.xtask(["verify"]).run());

    // A flipped byte: the checksum no longer matches.
    let mut flipped = pristine.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&archive, &flipped).unwrap();
    expect_rule(
        &ws.xtask(["verify"]).run(),
        "checksum",
        "the archive changed after dist wrote it",
    );

    // Repacked with an extra file, and with one missing, the checksum forged to match: the
    // contents no longer match the manifest's list.
    let binary = ws.path("target/x86_64-unknown-linux-musl/release/tool");
    let readme = ws.path("README.md");
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
        expect_rule(&ws.xtask(["verify"]).run(), "contents", expect);
        std::fs::write(dist.join("manifest.json"), &manifest).unwrap();
    }
    std::fs::write(&archive, &pristine).unwrap();

    // The x86_64 binary in an archive named for aarch64: the architecture is wrong.
    let swapped = ws.path("tool-0.1.0-aarch64-unknown-linux-musl.tar.gz");
    repack(&swapped, "tool-0.1.0-aarch64-unknown-linux-musl", &[("tool", &binary)]);
    let out = ws.xtask(["verify"]).arg(&swapped).run();
    expect_rule(
        &out,
        "arch",
        "architecture is x86_64, aarch64-unknown-linux-musl needs aarch64",
    );

    // A dynamically linked (glibc) binary in a musl archive: it needs a loader, named.
    let dynamic = Path::new(env!("CARGO_BIN_EXE_xtask"));
    let glibc = ws.path("tool-0.1.0-x86_64-unknown-linux-musl.tar.gz");
    repack(&glibc, top, &[("tool", dynamic)]);
    let out = ws.xtask(["verify"]).arg(&glibc).run();
    expect_rule(&out, "musl-static", "has a dynamic loader (");
    expect_rule(&out, "musl-static", "ld-linux");
}
