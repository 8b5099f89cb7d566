//! `universal2-apple-darwin`: one fat Mach-O made from the x86_64 and aarch64 apple-darwin
//! builds (which the config adds to the matrix), packed as its own archive. Each slice is a
//! byte-for-byte copy of its thin build, so the arm64 signature stays valid; verify checks
//! the fat layout and holds each slice to its own target's rules.

use crate::harness::{
    executable_asset, expect_ok, expect_report, expect_rule, read_manifest, tar_gz_entries, Workspace,
};

const UNIVERSAL: &str = "universal2-apple-darwin";
const AARCH64: &str = "aarch64-apple-darwin";
const X86_64: &str = "x86_64-apple-darwin";

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The fat header's entries: (cputype, offset, size, align).
fn fat_entries(bytes: &[u8]) -> Vec<(u32, u32, u32, u32)> {
    assert_eq!(be32(bytes, 0), 0xcafe_babe, "a fat Mach-O");
    (0..be32(bytes, 4) as usize)
        .map(|i| {
            let at = 8 + 20 * i;
            (
                be32(bytes, at),
                be32(bytes, at + 8),
                be32(bytes, at + 12),
                be32(bytes, at + 16),
            )
        })
        .collect()
}

/// A fat file written by hand: the slices at the given offsets, each declared with `align`.
fn fat_by_hand(slices: &[(u32, &[u8], u32, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xcafe_babe_u32.to_be_bytes());
    out.extend((slices.len() as u32).to_be_bytes());
    for (cputype, bytes, offset, align) in slices {
        let subtype: u32 = if *cputype == 0x0100_0007 { 3 } else { 0 };
        for field in [*cputype, subtype, *offset, bytes.len() as u32, *align] {
            out.extend(field.to_be_bytes());
        }
    }
    for (_, bytes, offset, _) in slices {
        out.resize(*offset as usize, 0);
        out.extend_from_slice(bytes);
    }
    out
}

#[test]
fn universal2_is_one_fat_binary_of_both_verified_slices() {
    let ws = Workspace::tool(
        "0.5.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{UNIVERSAL}\"]\nprofile = \"release\"\n"),
    );
    ws.lock();

    // The plan: both slices built by cargo, the universal job merges them.
    let plan = ws.xtask(["plan", "--json"]).run();
    let plan: serde_json::Value = serde_json::from_str(expect_ok(&plan)).unwrap();
    let jobs: Vec<(&str, Vec<&str>)> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let slices = j["slices"]
                .as_array()
                .map(|s| s.iter().map(|t| t.as_str().unwrap()).collect());
            (j["target"].as_str().unwrap(), slices.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        jobs,
        [(X86_64, vec![]), (AARCH64, vec![]), (UNIVERSAL, vec![X86_64, AARCH64])]
    );
    let built: Vec<&str> = plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["targets"].as_array().unwrap())
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(!built.contains(&UNIVERSAL), "no cargo run for {UNIVERSAL}: {built:?}");

    expect_ok(&ws.xtask(["dist"]).run());
    let dist = ws.path("dist");
    let manifest = read_manifest(&dist);
    let artifact = |target: &str| {
        manifest["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["target_triples"][0] == target)
            .unwrap_or_else(|| panic!("no {target} artifact: {manifest}"))
            .clone()
    };
    let universal = artifact(UNIVERSAL);
    let name = universal["name"].as_str().unwrap();
    assert_eq!(name, format!("tool-0.5.0-{UNIVERSAL}.tar.gz"));
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert!(sums.contains(name), "{sums}");
    let report = std::fs::read_to_string(dist.join("REPORT.md")).unwrap();
    assert!(report.contains(&format!("| {UNIVERSAL} | [{name}]")), "{report}");

    // The manifest's inspection: a fat file whose slices are placed as lipo would, the
    // arm64 one still validly signed.
    let exe = executable_asset(&universal);
    assert_eq!(exe["inspection"]["macho"]["fat"], true, "{exe}");
    let slices = exe["inspection"]["macho"]["slices"].as_array().unwrap();
    let archs: Vec<&str> = slices.iter().map(|s| s["arch"].as_str().unwrap()).collect();
    assert_eq!(archs, ["x86_64", "aarch64"]);
    assert_eq!(slices[1]["signature"]["status"], "valid", "{}", slices[1]);

    // Byte for byte the thin binaries of the two other archives, at aligned offsets.
    let binary = |archive: &str| {
        let entries = tar_gz_entries(&dist.join(archive));
        entries.into_iter().find(|e| e.name.ends_with("/tool")).unwrap()
    };
    let fat = binary(name);
    assert_eq!(fat.mode & 0o111, 0o111, "executable");
    let fat = fat.bytes;
    let entries = fat_entries(&fat);
    for ((cputype, offset, size, align), thin) in entries.iter().zip([X86_64, AARCH64]) {
        let thin = binary(artifact(thin)["name"].as_str().unwrap()).bytes;
        assert_eq!(
            &fat[*offset as usize..(offset + size) as usize],
            &thin[..],
            "{cputype:#x}"
        );
        let needed = if *cputype == 0x0100_000c { 14 } else { 12 };
        assert!(*align >= needed && offset % (1 << align) == 0, "{entries:?}");
    }

    let verified = ws.xtask(["verify"]).run();
    expect_report(
        &verified,
        0,
        "PASS (each slice by its own target's rules: x86_64-apple-darwin, aarch64-apple-darwin)",
    );
    assert!(verified.stdout.contains("aarch64 signature valid"), "{verified}");

    // Broken copies, verified as universal2 (guessed from the two slices).
    let dir = tempfile::tempdir().unwrap();
    let verify_copy = |file: &str, bytes: &[u8]| {
        let path = dir.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        ws.xtask(["verify"]).arg(&path).run()
    };
    expect_report(&verify_copy("same", &fat), 0, "PASS (each slice");
    // The header claims i386 for the x86_64 slice.
    let mut wrong_cpu = fat.clone();
    wrong_cpu[8..12].copy_from_slice(&7u32.to_be_bytes());
    let out = verify_copy("wrong-cpu", &wrong_cpu);
    expect_rule(
        &out,
        "universal-layout",
        "the fat header says CPU type 0x7 for a slice whose own header says 0x1000007",
    );
    // The arm64 slice at a 4 KiB boundary that is no 16 KiB one, though declared 2^14.
    let (x86, arm) = (&entries[0], &entries[1]);
    let x86_bytes = &fat[x86.1 as usize..(x86.1 + x86.2) as usize];
    let arm_bytes = &fat[arm.1 as usize..(arm.1 + arm.2) as usize];
    let mut at = (4096 + x86_bytes.len() as u32).next_multiple_of(4096);
    if at.is_multiple_of(16384) {
        at += 4096;
    }
    let misaligned = fat_by_hand(&[(x86.0, x86_bytes, 4096, 12), (arm.0, arm_bytes, at, 14)]);
    expect_rule(
        &verify_copy("misaligned", &misaligned),
        "universal-layout",
        &format!("the aarch64 slice is at offset {at} with alignment 2^14"),
    );
    // lipo's own layout (x86_64 at 2^12, arm64 at 2^14) passes.
    let arm_at = (4096 + x86_bytes.len() as u32).next_multiple_of(16384);
    let lipo = fat_by_hand(&[(x86.0, x86_bytes, 4096, 12), (arm.0, arm_bytes, arm_at, 14)]);
    expect_report(&verify_copy("lipo", &lipo), 0, "PASS (each slice");
    // A changed byte in the arm64 slice's code: its own rules catch it.
    let mut flipped = fat.clone();
    flipped[arm.1 as usize + 16384 + 1000] ^= 0x01;
    expect_rule(
        &verify_copy("flipped", &flipped),
        "code-signature",
        "the aarch64 slice (aarch64-apple-darwin): the aarch64 slice's code signature does not match it",
    );
    // One slice alone is not a universal binary.
    let thin = dir.path().join("thin");
    std::fs::write(&thin, arm_bytes).unwrap();
    let out = ws.xtask(["verify", "--target", UNIVERSAL]).arg(&thin).run();
    expect_rule(&out, "universal", "needs a universal (fat) Mach-O");
}
