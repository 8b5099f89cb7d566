//! End to end: the real `cargo xtask dist` on this workspace for the host-architecture musl
//! target, then the archive, checksums and manifest are read back and the packed binary run.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-musl";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The xtask binary, with its own target dir so it never waits on the test runner's lock.
fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CARGO_TARGET_DIR", workspace_root().join("target/xtask-tests"))
        .output()
        .expect("the xtask binary runs")
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn dist_packs_a_verified_static_binary_that_runs() {
    let out = tempfile::tempdir().unwrap();
    let manifest_path = workspace_root().join("Cargo.toml");
    let result = xtask(&[
        "dist",
        "--manifest-path",
        manifest_path.to_str().unwrap(),
        "--target",
        TARGET,
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "dist failed:\n{stderr}\n{stdout}");
    assert!(
        stdout.contains(TARGET) && stdout.contains("static"),
        "the table names target and linkage:\n{stdout}"
    );
    assert!(
        stdout.contains("passed (runs natively)"),
        "the smoke run is reported:\n{stdout}"
    );
    for stage in ["building", "verifying", "packing", "done in"] {
        assert!(
            stderr.contains(&format!("[{TARGET}] {stage}")),
            "progress line `{stage}` missing:\n{stderr}"
        );
    }

    // The archive: one top directory with the binary and the include files.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).unwrap()).unwrap();
    let version = manifest["app_version"].as_str().unwrap();
    let top = format!("app-{version}-{TARGET}");
    let archive = out.path().join(format!("{top}.tar.gz"));
    let mut names = Vec::new();
    let mut binary = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap()));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name == format!("{top}/app") {
            assert_eq!(entry.header().mode().unwrap(), 0o755);
            entry.read_to_end(&mut binary).unwrap();
        }
        names.push(name);
    }
    let expected: Vec<String> = [
        "",
        "LICENSE-MIT",
        "README.md",
        "app",
        "complete/",
        "complete/_app",
        "complete/app.bash",
        "complete/app.fish",
        "doc/",
        "doc/app.1",
    ]
    .iter()
    .map(|n| format!("{top}/{n}"))
    .collect();
    assert_eq!(names, expected);

    // SHA256SUMS in the `sha256sum -c` format, and the manifest agrees with it.
    let sha = sha256(&archive);
    let sums = std::fs::read_to_string(out.path().join("SHA256SUMS")).unwrap();
    assert_eq!(sums, format!("{sha}  {top}.tar.gz\n"));
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["checksums"]["sha256"], sha);
    assert_eq!(artifact["target_triples"][0], TARGET);
    let app = artifact["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "app")
        .unwrap();
    // zig links it as a plain static ET_EXEC, the host cc as static-pie: both are static.
    let linkage = app["inspection"]["linkage"].as_str().unwrap();
    assert!(linkage == "static" || linkage == "static-pie", "{linkage}");
    assert_eq!(artifact["smoke"], "passed (runs natively)");
    assert_eq!(app["inspection"]["needed"], serde_json::json!([]));
    assert_eq!(app["inspection"]["stripped"], true);

    // The packed binary runs here and says which target, profile and commit it is.
    let exe = out.path().join("app-extracted");
    std::fs::write(&exe, &binary).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let version_line = Command::new(&exe).arg("--version").output().unwrap();
    let version_line = String::from_utf8(version_line.stdout).unwrap();
    assert!(
        version_line.contains(TARGET) && version_line.contains(" dist "),
        "{version_line}"
    );
    assert!(
        version_line.contains(manifest["commit"].as_str().unwrap()),
        "{version_line}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let dist_dir = out.path().join("dist");
    let result = xtask(&[
        "dist",
        "--dry-run",
        "--target",
        TARGET,
        "--out",
        dist_dir.to_str().unwrap(),
    ]);
    assert!(result.status.success());
    let stdout = String::from_utf8(result.stdout).unwrap();
    // The app compiles C, so the musl target takes zig (the host cc has no musl headers).
    assert!(stdout.contains("route zig: C code (app)"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "--profile dist --keep-going --target {TARGET} --message-format=json-render-diagnostics"
        )),
        "{stdout}"
    );
    assert!(!dist_dir.exists(), "a dry run created the output directory");

    let plan = xtask(&["plan", "--json", "--target", TARGET]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["jobs"][0]["target"], TARGET);
    assert_eq!(plan["jobs"][0]["route"], "zig");
    assert_eq!(plan["builds"][0]["cmd"]["args"][0], "zigbuild");
}

#[test]
fn usage_mistakes_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["plan", "--target", "x86_64-unknown-linux-mus"],
            "did you mean `x86_64-unknown-linux-musl`?",
        ),
        (&["plan", "--manifest-path", "/nonexistent/Cargo.toml"], "is not a file"),
        (&["dist", "--target", TARGET, "--out", "/dev/null"], "is a file"),
    ];
    for (args, expected) in cases {
        let result = xtask(args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: not one line:\n{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
