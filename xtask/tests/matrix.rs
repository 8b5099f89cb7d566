//! The whole seed matrix from this one Linux host, on a fresh tool cache: every route is
//! provisioned from scratch (zig, cargo-zigbuild, the MSVC libraries), every target is
//! built with the app's C code, verified and packed, and the Linux binaries run.

use std::path::Path;
use std::process::Command;

const MATRIX: [(&str, &str, &str); 5] = [
    ("x86_64-unknown-linux-musl", "elf", "x86_64"),
    ("aarch64-unknown-linux-musl", "elf", "aarch64"),
    ("x86_64-pc-windows-msvc", "pe", "x86_64"),
    ("x86_64-apple-darwin", "mach-o", "x86_64"),
    ("aarch64-apple-darwin", "mach-o", "aarch64"),
];

#[test]
fn the_five_target_matrix_builds_verifies_and_runs_from_a_fresh_cache() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let result = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--accept-msvc-license", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--out")
        .arg(out.path())
        .env("DIST_TOOLS_DIR", cache.path())
        .env("CARGO_TARGET_DIR", root.join("target/xtask-tests"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "the matrix failed:\n{stderr}\n{stdout}");
    eprintln!("cold-cache matrix took {:.0}s", started.elapsed().as_secs_f64());
    for tool in ["zig 0.13.0", "cargo-zigbuild 0.24.1", "msvc-libs 0.3.0"] {
        assert!(
            stderr.contains(&format!("provisioning {tool}")),
            "{tool} was not provisioned out loud:\n{stderr}"
        );
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).unwrap()).unwrap();
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 5);
    let sums = std::fs::read_to_string(out.path().join("SHA256SUMS")).unwrap();
    for (artifact, (target, format, arch)) in artifacts.iter().zip(MATRIX) {
        assert_eq!(artifact["target_triples"][0], target);
        let name = artifact["name"].as_str().unwrap();
        assert!(out.path().join(name).is_file(), "{name} missing");
        assert!(sums.contains(name), "{name} not in SHA256SUMS");
        let exe = artifact["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "executable")
            .unwrap();
        assert_eq!(exe["inspection"]["format"], format, "{target}");
        assert_eq!(exe["inspection"]["arch"], arch, "{target}");
        let smoke = artifact["smoke"].as_str().unwrap();
        if target.contains("linux") {
            // The smoke run checked that `app --version` printed the triple.
            assert!(smoke.starts_with("passed"), "{target}: {smoke}");
        } else {
            assert!(smoke.starts_with("not run (no runner)"), "{target}: {smoke}");
        }
    }
    assert!(artifacts[1]["smoke"].as_str().unwrap().contains("qemu-aarch64"));
}
