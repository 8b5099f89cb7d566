//! Smoke runs of foreign-CPU Linux binaries on a machine without qemu: the emulator is
//! provisioned from Debian's qemu-user-static (pinned by version and SHA-256) into the tool
//! cache, without root, and the manifest says the binary ran under it.

use crate::harness::{expect_exit, expect_ok, read_manifest, Run, Workspace, ARM_MUSL};
use std::path::Path;

/// The pinned package (orchestrator/src/tools.rs), as the tool names it.
const QEMU: &str = "qemu-aarch64 7.2+dfsg-7+deb12u18+b2 (Debian qemu-user-static)";
const CACHED: &str = "qemu-aarch64-7.2+dfsg-7+deb12u18+b2/qemu-aarch64-static";

/// A PATH with everything this one has except the qemu emulators: a directory of links to
/// every program on PATH whose name does not start with `qemu-` (the first of each name, as
/// the shell would find it). The machine's own qemu, if any, stays installed.
fn path_without_qemu(dir: &Path) -> std::ffi::OsString {
    for bin in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        let Ok(entries) = std::fs::read_dir(&bin) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if name.to_string_lossy().starts_with("qemu-") || link.symlink_metadata().is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), link).unwrap();
        }
    }
    dir.as_os_str().to_owned()
}

/// A pure-Rust `tool` for aarch64 musl (the rust-lld route: no zig to provision), whose smoke
/// run must print "tool". Without a dependency list (`auditable = false`), so the emulator
/// is the one tool its empty cache lacks.
fn fixture() -> Workspace {
    let ws = Workspace::tool(
        "0.3.0",
        &format!(
            "[workspace.metadata.dist]\ntargets = [\"{ARM_MUSL}\"]\nprofile = \"release\"\nsmoke-expect = \"tool\"\nauditable = false\n"
        ),
    );
    ws.lock();
    ws
}

/// doctor's check of the aarch64 emulator, from its JSON.
#[track_caller]
fn emulator_check(doctor: &Run) -> serde_json::Value {
    let checks = doctor.json();
    let found = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["requirement"] == "qemu-aarch64 (smoke run)");
    found
        .unwrap_or_else(|| panic!("doctor does not list the emulator:\n{doctor}"))
        .clone()
}

#[test]
fn an_aarch64_binary_is_smoke_run_under_qemu_provisioned_from_debian() {
    let bin = tempfile::tempdir().unwrap();
    let path = path_without_qemu(bin.path());
    let cache = tempfile::tempdir().unwrap();
    let ws = fixture();
    let out = ws.path("dist");
    let run = |args: &[&str]| {
        ws.xtask(args)
            .env("PATH", &path)
            .env("DIST_TOOLS_DIR", cache.path())
            .env_remove("DIST_NO_PROVISION")
            .env_remove("DIST_DEBIAN_MIRROR")
            .run()
    };

    // Provisioning off: nothing is downloaded, and the binary is packed without a smoke run.
    let offline = run(&["dist", "--no-provision"]);
    expect_ok(&offline);
    assert_eq!(
        read_manifest(&out)["artifacts"][0]["smoke"],
        "not run: qemu-aarch64 is missing (Debian: apt-get install qemu-user)",
        "{offline}"
    );
    assert!(
        !cache.path().join(CACHED).exists(),
        "--no-provision downloaded:\n{offline}"
    );

    // doctor names the emulator as a requirement of the target, missing, with the fix.
    let doctor = run(&["doctor", "--json"]);
    expect_exit(&doctor, 1, "qemu-aarch64 (smoke run) for aarch64-unknown-linux-musl");
    let check = emulator_check(&doctor);
    assert_eq!(check["found"], false, "{doctor}");
    assert!(
        check["detail"].as_str().unwrap().starts_with(&format!("{QEMU} not in")),
        "{doctor}"
    );
    assert!(
        check["fix"].as_str().unwrap().starts_with("cargo xtask doctor --fix"),
        "{doctor}"
    );

    // dist provisions it (downloaded, checked against the pin, unpacked without root) and
    // smoke-runs the binary under it.
    let dist = run(&["dist"]);
    expect_ok(&dist);
    assert!(dist.stderr.contains(&format!("provisioning {QEMU}")), "{dist}");
    let manifest = read_manifest(&out);
    assert_eq!(
        manifest["artifacts"][0]["smoke"],
        "passed (runs under qemu-aarch64 provisioned from Debian qemu-user-static 7.2+dfsg-7+deb12u18+b2)",
        "{dist}"
    );
    let program = cache.path().join(CACHED);
    assert!(std::fs::metadata(&program).unwrap().len() > 1_000_000);
    assert_eq!(
        std::fs::read_dir(cache.path().join("downloads")).unwrap().count(),
        0,
        "the .deb is removed once unpacked"
    );

    // From then on doctor finds it in the cache, and a dist run uses it without a download.
    let doctor = run(&["doctor", "--json"]);
    expect_ok(&doctor);
    let check = emulator_check(&doctor);
    assert_eq!(check["found"], true, "{doctor}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .starts_with("qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b2)"),
        "{doctor}"
    );
    let again = run(&["dist", "--no-provision"]);
    expect_ok(&again);
    assert!(!again.stderr.contains("provisioning"), "{again}");
    assert_eq!(
        read_manifest(&out)["artifacts"][0]["smoke"],
        manifest["artifacts"][0]["smoke"]
    );
}

#[test]
fn a_package_that_does_not_match_its_pin_is_deleted_and_not_unpacked() {
    // A mirror serving another file under the pinned name.
    let mirror = tempfile::tempdir().unwrap();
    let pool = mirror.path().join("pool/main/q/qemu");
    std::fs::create_dir_all(&pool).unwrap();
    std::fs::write(
        pool.join("qemu-user-static_7.2+dfsg-7+deb12u18+b2_amd64.deb"),
        "!<arch>\nnot the package",
    )
    .unwrap();
    let bin = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let ws = fixture();
    let fix = ws
        .xtask(["doctor", "--fix"])
        .env("PATH", path_without_qemu(bin.path()))
        .env("DIST_TOOLS_DIR", cache.path())
        .env("DIST_DEBIAN_MIRROR", format!("file://{}", mirror.path().display()))
        .run();
    expect_exit(
        &fix,
        1,
        "but this tool pins 325eaa448a481f7b4e581eb9541fd50014b3d2a65c3e7aff33b99b47361bb6dc",
    );
    assert!(!cache.path().join(CACHED).exists());
    assert_eq!(std::fs::read_dir(cache.path().join("downloads")).unwrap().count(), 0);
}
