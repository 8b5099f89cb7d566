//! macOS from Linux: what the Apple targets' binaries must be to start on users' Macs. The
//! configured minimum macOS reaches the build (MACOSX_DEPLOYMENT_TARGET, shown by the plan)
//! and every binary's LC_BUILD_VERSION; the arm64 ad-hoc signature is checked page by page,
//! so a binary changed after linking fails `verify`.

use crate::harness::{expect_ok, expect_report, expect_rule, read_manifest, Workspace};
use std::path::Path;

const AARCH64: &str = "aarch64-apple-darwin";
const X86_64: &str = "x86_64-apple-darwin";

/// The LC_BUILD_VERSION minos of a thin little-endian Mach-O, and where it sits.
fn minos(bytes: &[u8]) -> (usize, String) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut at = 32;
    for _ in 0..u32_at(16) {
        if u32_at(at) == 0x32 {
            let v = u32_at(at + 12);
            return (at + 12, format!("{}.{}", v >> 16, (v >> 8) & 0xff));
        }
        at += u32_at(at + 4) as usize;
    }
    panic!("no LC_BUILD_VERSION");
}

#[test]
fn apple_binaries_meet_macos_min_and_their_signature_matches_every_page() {
    // aarch64 keeps the toolchain's minimum (11.0); x86_64 sets its own.
    let ws = Workspace::tool(
        "0.4.0",
        &format!(
            "[workspace.metadata.dist]\ntargets = [\"{AARCH64}\", \"{X86_64}\"]\nprofile = \"release\"\n\n\
             [workspace.metadata.dist.target.{X86_64}]\nmacos-min = \"10.13\"\n"
        ),
    );
    ws.lock();

    // The plan passes each minimum to its own cargo run.
    let plan = ws.xtask(["plan", "--json"]).run();
    let plan: serde_json::Value = serde_json::from_str(expect_ok(&plan)).unwrap();
    let builds: Vec<(String, String)> = plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["targets"][0].as_str().unwrap().to_string(),
                b["cmd"]["env"]["MACOSX_DEPLOYMENT_TARGET"]
                    .as_str()
                    .unwrap_or("-")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        builds,
        [
            (AARCH64.to_string(), "11.0".to_string()),
            (X86_64.into(), "10.13".into())
        ]
    );

    expect_ok(&ws.xtask(["dist"]).run());
    let manifest = read_manifest(&ws.path("dist"));
    for (artifact, (target, min)) in manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .zip([(AARCH64, "11.0"), (X86_64, "10.13")])
    {
        let exe = artifact["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "executable")
            .unwrap();
        let slice = &exe["inspection"]["macho"]["slices"][0];
        assert_eq!(slice["min_os"], min, "{target}");
        let signed = if target == AARCH64 { "valid" } else { "missing" };
        assert_eq!(slice["signature"]["status"], signed, "{target}: {slice}");
    }
    let verified = ws.xtask(["verify"]).run();
    expect_report(&verified, 0, "aarch64 macOS 11.0, aarch64 signature valid");
    assert!(verified.stdout.contains("x86_64 macOS 10.13"), "{verified}");

    // Copies of the arm64 binary, each changed once, verified with the workspace's settings.
    let built = std::fs::read(ws.path(&format!("target/{AARCH64}/release/tool"))).unwrap();
    let (minos_at, found) = minos(&built);
    assert_eq!(found, "11.0");
    let dir = tempfile::tempdir().unwrap();
    let verify_copy = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        ws.xtask(["verify", "--target", AARCH64]).arg(&path).run()
    };
    // One byte inside the code: zig 0.13 hashes 4 KiB pages, so it is in page 4.
    let mut flipped = built.clone();
    flipped[16384 + 1000] ^= 0x01;
    expect_rule(
        &verify_copy("flipped", &flipped),
        "code-signature",
        "page 4 (4096 bytes at 16384) does not match its sha256 hash",
    );
    // Linked for macOS 12.0: above macos-min, and the header page no longer matches either.
    let mut newer = built.clone();
    newer[minos_at..minos_at + 4].copy_from_slice(&(12u32 << 16).to_le_bytes());
    let out = verify_copy("newer", &newer);
    expect_rule(
        &out,
        "macos-min",
        "the aarch64 slice requires macOS 12.0, above macos-min 11.0",
    );
    expect_rule(&out, "code-signature", "page 0 ");
    // Cut short anywhere: a failed row, never a crash.
    for len in [built.len() - 1, built.len() / 2, 100] {
        let out = verify_copy("cut", &built[..len]);
        assert_eq!(out.code(), Some(1), "cut to {len}:\n{out}");
        assert!(!out.stderr.contains("panicked"), "cut to {len}:\n{out}");
    }
    assert!(Path::new(&ws.path("dist/SHA256SUMS")).is_file());
}
