//! Faults while writing: a write that fails for lack of space (a file size limit stands in
//! for a full disk) ends the run with a clear error and leaves the previous output as it was.

mod common;

use std::path::Path;
use std::process::Command;

fn dist(root: &Path, file_size_limit: Option<u64>) -> std::process::Output {
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let mut cmd = match file_size_limit {
        // prlimit (util-linux) sets RLIMIT_FSIZE for the run: writes past it fail with EFBIG.
        Some(limit) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--fsize={limit}")).arg(xtask);
            c
        }
        None => Command::new(xtask),
    };
    cmd.args(["dist", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_while_packing_fails_clearly_and_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::workspace(root, common::MUSL_RELEASE, common::HELLO);
    std::fs::write(root.join("README.md"), "first\n").unwrap();
    let first = dist(root, None);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let out = root.join("dist");
    let before: Vec<(String, Vec<u8>)> = snapshot(&out);

    // A changed include file forces a repack, which no longer fits.
    std::fs::write(root.join("README.md"), "second, a little longer\n").unwrap();
    let full = dist(root, Some(20_000));
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("File too large") && stderr.contains("left as they were"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(snapshot(&out), before, "the previous output changed");
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    // With room again, the next run packs the new input.
    let again = dist(root, None);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_ne!(snapshot(&out), before);
}

/// Every visible file of the output directory with its bytes (the lock file aside).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}
