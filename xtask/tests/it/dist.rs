//! End to end: the real `cargo xtask dist` on this workspace for the host-architecture musl
//! target, then the archive, checksums and manifest are read back and the packed binary run.

use crate::harness::{
    check_sums, expect_ok, expect_usage_error, read_manifest, repo_root, repo_target_dir, sha256, tar_gz_entries,
    xtask, MUSL as TARGET,
};
use std::process::Command;

#[test]
fn dist_packs_a_verified_static_binary_that_runs() {
    let out = tempfile::tempdir().unwrap();
    let result = xtask(["dist", "--target", TARGET, "--out"])
        .arg(out.path())
        .manifest(repo_root())
        .target_dir(&repo_target_dir())
        .run();
    let stdout = expect_ok(&result);
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
            result.stderr.contains(&format!("[{TARGET}] {stage}")),
            "progress line `{stage}` missing:\n{result}"
        );
    }

    // The archive: one top directory with the binary and the include files.
    let manifest = read_manifest(out.path());
    let version = manifest["app_version"].as_str().unwrap();
    let top = format!("app-{version}-{TARGET}");
    let archive = out.path().join(format!("{top}.tar.gz"));
    let entries = tar_gz_entries(&archive);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
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
    let binary = entries.iter().find(|e| e.name == format!("{top}/app")).unwrap();
    assert_eq!(binary.mode, 0o755);

    // SHA256SUMS in the `sha256sum -c` format, and the manifest agrees with it.
    let sha = sha256(&archive);
    let sums = std::fs::read_to_string(out.path().join("SHA256SUMS")).unwrap();
    // The archive, its SBOM and the install script, each with its SHA-256.
    let sbom = sha256(&out.path().join(format!("{top}.cdx.json")));
    let installer = sha256(&out.path().join("install.sh"));
    assert_eq!(
        sums,
        format!("{sbom}  {top}.cdx.json\n{sha}  {top}.tar.gz\n{installer}  install.sh\n")
    );
    check_sums(out.path());
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
    std::fs::write(&exe, &binary.bytes).unwrap();
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
fn zig_is_the_pinned_one_even_with_a_ziglang_in_python() {
    // cargo-zigbuild asks `python3 -m ziglang` first: a python3 on PATH that answers with
    // another zig's version, and notes that it was asked.
    let fake = tempfile::tempdir().unwrap();
    let asked = fake.path().join("asked");
    let python = fake.path().join("python3");
    std::fs::write(
        &python,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\necho 0.14.1\n", asked.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.path().display(), std::env::var("PATH").unwrap());
    let out = tempfile::tempdir().unwrap();
    let result = xtask(["dist", "--target", TARGET, "--out"])
        .arg(out.path())
        .manifest(repo_root())
        .target_dir(&repo_target_dir())
        .env("PATH", &path)
        .run();
    expect_ok(&result);
    assert!(
        !asked.exists(),
        "the build asked python3: {}",
        std::fs::read_to_string(&asked).unwrap_or_default()
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let dist_dir = out.path().join("dist");
    let result = xtask(["dist", "--dry-run", "--target", TARGET, "--out"])
        .arg(&dist_dir)
        .manifest(repo_root())
        .target_dir(&repo_target_dir())
        .run();
    let stdout = expect_ok(&result);
    // The app compiles C, so the musl target takes zig (the host cc has no musl headers).
    assert!(stdout.contains("route zig: C code (app)"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "--profile dist --keep-going --target {TARGET} --message-format=json-render-diagnostics"
        )),
        "{stdout}"
    );
    assert!(!dist_dir.exists(), "a dry run created the output directory");

    let plan = xtask(["plan", "--json", "--target", TARGET])
        .manifest(repo_root())
        .target_dir(&repo_target_dir())
        .run();
    expect_ok(&plan);
    let plan = plan.json();
    assert_eq!(plan["jobs"][0]["target"], TARGET);
    assert_eq!(plan["jobs"][0]["route"], "zig");
    // cargo-auditable runs `cargo zigbuild` with itself as rustc's workspace wrapper.
    assert_eq!(plan["builds"][0]["cmd"]["args"][0], "auditable");
    assert_eq!(plan["builds"][0]["cmd"]["args"][1], "zigbuild");
    assert!(
        plan["dependency_list"].as_str().unwrap().contains("cargo-auditable"),
        "{plan}"
    );
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
        let result = xtask(args).cwd(repo_root()).target_dir(&repo_target_dir()).run();
        expect_usage_error(&result, expected);
    }
}
