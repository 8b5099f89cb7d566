//! A tool cache left half-written by an interrupted run — a half-unpacked directory, a
//! tool directory without its completion marker, a truncated download — is detected by
//! doctor and redone by `doctor --fix`.

use std::path::Path;
use std::process::Command;

fn doctor(cache: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["doctor", "--target", "aarch64-apple-darwin", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .args(extra)
        .env("DIST_TOOLS_DIR", cache)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
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

    let (code, text) = doctor(c, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("cargo-zigbuild 0.24.1 not in"),
        "a directory without its marker is not present:\n{text}"
    );
    assert!(text.contains("zig 0.13.0 not in"), "{text}");

    let (code, text) = doctor(c, &["--fix"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("provisioning cargo-zigbuild 0.24.1") && text.contains("provisioning zig 0.13.0"),
        "{text}"
    );
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
    let (code, text) = doctor(c, &[]);
    assert_eq!(code, Some(0), "{text}");
}
