//! The whole seed matrix from this one Linux host, on a fresh tool cache: every route is
//! provisioned from scratch (zig, cargo-zigbuild, the MSVC libraries), every target is
//! built with the app's C code, verified and packed, and the Linux binaries run.

use crate::harness::{expect_ok, read_manifest, repo_root, xtask};

const MATRIX: [(&str, &str, &str); 5] = [
    ("x86_64-unknown-linux-musl", "elf", "x86_64"),
    ("aarch64-unknown-linux-musl", "elf", "aarch64"),
    ("x86_64-pc-windows-msvc", "pe", "x86_64"),
    ("x86_64-apple-darwin", "mach-o", "x86_64"),
    ("aarch64-apple-darwin", "mach-o", "aarch64"),
];

#[test]
fn the_five_target_matrix_builds_verifies_and_runs_from_a_fresh_cache() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    // The cache is what is fresh, not the build: the target directory lives on between
    // runs. It is not the dist tests' one, which may build at the same time: two cargo runs
    // in one target directory wait for each other's lock and replace each other's binaries.
    let result = xtask(["dist", "--accept-msvc-license", "--out"])
        .arg(out.path())
        .manifest(repo_root())
        .env("DIST_TOOLS_DIR", cache.path())
        .target_dir(&repo_root().join("target/xtask-tests-matrix"))
        .run();
    expect_ok(&result);
    eprintln!("cold-cache matrix took {:.0}s", started.elapsed().as_secs_f64());
    for tool in [
        "zig 0.13.0",
        "cargo-zigbuild 0.24.1",
        "msvc-libs 0.3.0",
        "cargo-auditable 0.7.7",
    ] {
        assert!(
            result.stderr.contains(&format!("provisioning {tool}")),
            "{tool} was not provisioned out loud:\n{result}"
        );
    }

    let manifest = read_manifest(out.path());
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
