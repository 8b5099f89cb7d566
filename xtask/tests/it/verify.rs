//! `cargo xtask verify` and dist's pre-pack check, run as the real binary on real binaries:
//! a tiny crate is built in a temp dir with real `cargo build` for static musl (x86_64
//! static-pie, aarch64 plain static through rust-lld) and for the host's dynamic glibc, and
//! packed into real archives, honest and malicious.

use crate::harness::{
    add_rustup_targets, cargo, expect_exit, expect_ok, expect_report, expect_rule, gz, read_manifest, run_ok,
    tar_bytes as tar, xtask, Workspace, ARM_MUSL, MUSL,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The fixture workspace, with its binaries built once for all tests of this module.
struct Built {
    ws: Workspace,
    musl: PathBuf,
    arm_musl: PathBuf,
    gnu: PathBuf,
}

/// One package `hello` that is its own workspace, `[workspace.metadata.dist]` set to `dist`,
/// and a stripping `dist` profile.
fn write_workspace(ws: &Workspace, dist: &str) {
    ws.write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [workspace.metadata.dist]\n{dist}\n\n[profile.dist]\ninherits = \"release\"\nstrip = true\n"
        ),
    );
    ws.write("src/main.rs", "fn main() { println!(\"hello\"); }\n");
}

fn hello(dist: &str) -> Workspace {
    let ws = Workspace::empty();
    write_workspace(&ws, dist);
    ws
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ws = hello("");
        add_rustup_targets(&[MUSL, ARM_MUSL]);
        for target in [Some(MUSL), Some(ARM_MUSL), None] {
            let mut cmd = cargo(ws.root());
            cmd.args(["build", "--quiet", "--profile", "dist"]);
            if let Some(target) = target {
                cmd.args(["--target", target]);
            }
            // rust-lld links pure-Rust static aarch64 musl without a cross toolchain.
            cmd.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld");
            run_ok(&mut cmd);
        }
        let bin = |sub: &str| ws.path("target").join(sub).join("dist/hello");
        Built {
            musl: bin(MUSL),
            arm_musl: bin(ARM_MUSL),
            gnu: bin(""),
            ws,
        }
    })
}

fn verify(dir: &Path, args: &[&str]) -> crate::harness::Run {
    xtask(["verify"]).args(args).cwd(dir).run()
}

#[test]
fn static_musl_binaries_pass_with_the_right_linkage() {
    let b = built();
    let out = verify(
        b.ws.root(),
        &["--json", b.musl.to_str().unwrap(), b.arm_musl.to_str().unwrap()],
    );
    expect_ok(&out);
    let rows = out.json();
    let x86 = &rows[0]["inspection"];
    assert_eq!(rows[0]["target"], MUSL);
    assert_eq!(rows[0]["target_guessed"], true);
    // x86_64 musl links as static-pie: ET_DYN + PT_DYNAMIC + DF_1_PIE, no loader, no library.
    assert_eq!(x86["linkage"], "static-pie");
    assert_eq!(x86["elf"]["e_type"], "dyn");
    assert_eq!(x86["elf"]["pie"], true);
    assert_eq!(x86["interpreter"], serde_json::Value::Null);
    assert_eq!(x86["needed"], serde_json::json!([]));
    assert_eq!(x86["stripped"], true);
    // aarch64 musl through rust-lld is a plain static ET_EXEC.
    let arm = &rows[1]["inspection"];
    assert_eq!(rows[1]["target"], ARM_MUSL);
    assert_eq!(
        (arm["linkage"].as_str(), arm["elf"]["e_type"].as_str()),
        (Some("static"), Some("exec"))
    );

    let table = verify(b.ws.root(), &[b.musl.to_str().unwrap()]);
    let text = expect_ok(&table);
    assert!(
        text.starts_with("file") && text.contains("static-pie") && text.contains("PASS"),
        "{text}"
    );
}

#[test]
fn a_musl_binary_checked_as_the_other_arch_fails() {
    let b = built();
    let out = verify(b.ws.root(), &["--target", ARM_MUSL, b.musl.to_str().unwrap()]);
    expect_rule(&out, "arch", "architecture is x86_64");
}

#[test]
fn the_hosts_glibc_binary_passes_the_manylinux_list_and_fails_above_the_ceiling() {
    let b = built();
    let gnu = b.gnu.to_str().unwrap();
    let out = verify(b.ws.root(), &["--json", gnu]);
    let rows = out.json();
    assert_eq!(rows[0]["target"], "x86_64-unknown-linux-gnu");
    let found = &rows[0]["inspection"];
    assert_eq!(found["linkage"], "dynamic");
    assert!(found["interpreter"].as_str().unwrap().contains("ld-linux"));
    let needed = found["needed"].as_array().unwrap();
    assert!(needed.contains(&"libc.so.6".into()) && needed.contains(&"libgcc_s.so.1".into()));
    let rules: Vec<&str> = rows[0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // Rust's std needs libgcc_s.so.1, which auditwheel's manylinux list has; this host's
    // glibc is newer than 2.17 when the binary needs more than 2.17 (Debian 13: GLIBC_2.34).
    let glibc = found["elf"]["glibc"].as_str().unwrap();
    let above = glibc.split('.').nth(1).unwrap().parse::<u32>().unwrap() > 17;
    assert_eq!(rules, if above { vec!["glibc-max"] } else { vec![] }, "{glibc}");
    assert_eq!(out.code(), Some(if above { 1 } else { 0 }), "{out}");

    // The same file passes in a workspace whose per-target table raises the ceiling.
    let ws = hello("[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"2.99\"");
    let out = verify(ws.root(), &[gnu]);
    expect_report(&out, 0, "PASS");

    let bad = hello("[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"new\"");
    expect_exit(&verify(bad.root(), &[gnu]), 2, "glibc-max is `new`");
    write_workspace(
        &bad,
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-maxx = \"2.17\"",
    );
    expect_exit(&verify(bad.root(), &[gnu]), 2, "unknown field `glibc-maxx`");
}

#[test]
fn archives_are_read_in_memory_and_every_binary_checked() {
    let b = built();
    let musl = std::fs::read(&b.musl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tar_bytes = tar(&[("hello-0.1.0/hello", &musl), ("hello-0.1.0/README.md", b"hi\n")], &[]);
    std::fs::write(
        dir.path().join("hello-0.1.0-x86_64-unknown-linux-musl.tar.gz"),
        gz(&tar_bytes),
    )
    .unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut &tar_bytes[..], &mut xz).unwrap();
    std::fs::write(dir.path().join("hello.tar.xz"), xz).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("hello-0.1.0/hello", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&musl).unwrap();
    std::fs::write(dir.path().join("hello.zip"), zip.finish().unwrap().into_inner()).unwrap();

    let out = verify(
        dir.path(),
        &[
            "--json",
            "hello-0.1.0-x86_64-unknown-linux-musl.tar.gz",
            "hello.tar.xz",
            "hello.zip",
        ],
    );
    expect_ok(&out);
    let rows = out.json();
    let files: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "hello-0.1.0-x86_64-unknown-linux-musl.tar.gz!hello-0.1.0/hello",
            "hello.tar.xz!hello-0.1.0/hello",
            "hello.zip!hello-0.1.0/hello"
        ],
        "one row per binary; README skipped"
    );
    assert_eq!(
        rows[0]["target_guessed"], false,
        "the triple in the archive's name is used"
    );
    assert_eq!(rows[1]["inspection"]["linkage"], "static-pie");
}

#[test]
fn archives_that_escape_are_refused() {
    let b = built();
    let musl = std::fs::read(&b.musl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("dotdot.tar.gz", tar(&[("top/../../evil", &musl)], &[]), "`..`"),
        ("absolute.tar.gz", tar(&[("/tmp/evil", &musl)], &[]), "absolute"),
        (
            "symlink.tar.gz",
            tar(
                &[("top/hello", &musl)],
                &[("top/passwd", "/etc/passwd", tar::EntryType::Symlink)],
            ),
            "outside the archive",
        ),
        (
            "hardlink.tar.gz",
            tar(
                &[("top/hello", &musl)],
                &[("top/x", "../../etc/passwd", tar::EntryType::Link)],
            ),
            "outside the archive",
        ),
    ];
    for (name, bytes, reason) in cases {
        std::fs::write(dir.path().join(name), gz(&bytes)).unwrap();
        let out = verify(dir.path(), &["--target", MUSL, name]);
        expect_rule(&out, "archive", reason);
    }
    std::fs::write(dir.path().join("corrupt.zip"), b"PK\x03\x04 not really").unwrap();
    let out = verify(dir.path(), &["corrupt.zip"]);
    expect_rule(&out, "archive", "not a zip archive");
}

#[test]
fn usage_errors_exit_2_and_unreadable_binaries_fail() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    expect_exit(&verify(dir, &["no-such-file"]), 2, "cannot read no-such-file");
    expect_exit(&verify(dir, &["."]), 2, "is a directory");
    expect_exit(
        &verify(dir, &["--target", "wasm32-unknown-unknown", "."]),
        2,
        "--target wasm32-unknown-unknown is not a linux, windows or apple-darwin triple this tool can verify",
    );
    // Outside a workspace and no paths: nothing to verify, and cargo says why.
    expect_exit(&verify(dir, &[]), 2, "cannot read the workspace");

    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::write(dir.join("script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(dir.join("truncated"), b"\x7fELF\x02\x01\x01").unwrap();
    let out = verify(dir, &["empty", "script.sh", "truncated"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert_eq!(out.stdout.matches("FAIL [readable]").count(), 3, "{out}");
}

#[test]
fn dist_verifies_before_packing_and_verify_rechecks_the_manifest() {
    let ws = hello("targets = [\"x86_64-unknown-linux-musl\"]\n\n[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nmax-size = 1000");
    let root = ws.root();
    // dist builds with --locked.
    ws.lock();
    let out = xtask(["dist"]).cwd(root).run();
    expect_exit(&out, 1, "not packed");
    assert!(out.stderr.contains("[max-size]"), "{out}");
    // The refusal names what takes the space.
    assert!(
        out.stderr.contains("largest crates (unstripped symbols): ") && out.stderr.contains(" std "),
        "{out}"
    );
    // Nothing was packed: the index of this run lists no archive.
    let manifest = read_manifest(&ws.path("dist"));
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert!(!std::fs::read_dir(ws.path("dist")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tar.gz")));

    write_workspace(&ws, "targets = [\"x86_64-unknown-linux-musl\"]");
    expect_ok(&xtask(["dist"]).cwd(root).run());
    let manifest = read_manifest(&ws.path("dist"));
    let inspection = &manifest["artifacts"][0]["assets"][0]["inspection"];
    assert_eq!(inspection["linkage"], "static-pie");
    assert_eq!(inspection["elf"]["class"], 64);

    let out = verify(root, &[]);
    expect_report(
        &out,
        0,
        "hello-0.1.0-x86_64-unknown-linux-musl.tar.gz!hello-0.1.0-x86_64-unknown-linux-musl/hello",
    );

    let archive = ws.path("dist/hello-0.1.0-x86_64-unknown-linux-musl.tar.gz");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&archive)
        .unwrap()
        .write_all(b"tampered")
        .unwrap();
    expect_rule(
        &verify(root, &[]),
        "checksum",
        "the archive changed after dist wrote it",
    );

    // A manifest edited to point outside the output directory is not followed.
    let path = ws.path("dist/manifest.json");
    let mut manifest = read_manifest(&ws.path("dist"));
    manifest["artifacts"][0]["name"] = "../Cargo.toml".into();
    std::fs::write(&path, manifest.to_string()).unwrap();
    expect_rule(
        &verify(root, &[]),
        "manifest",
        "is not a plain file name: the manifest was edited",
    );
    // An unreadable manifest is a usage error.
    std::fs::write(&path, "{\"format_version\": 1}").unwrap();
    expect_exit(&verify(root, &[]), 2, "is not a manifest this version reads");
}

/// The strip rule holds a binary to its profile's `strip` setting, whatever the profile is
/// called (it used to key on the name "dist": a stripping `release` was never checked and
/// a `dist` with `strip = false` failed). The binaries are the Mach-O fixtures: one with
/// local symbols, one with debugging symbols (stabs) as well; zig linked them for macOS 15.0,
/// which the workspace allows.
#[test]
fn the_strip_rule_follows_the_profiles_setting_not_its_name() {
    let fixtures = crate::harness::repo_root().join("orchestrator/tests/fixtures");
    let symbols = fixtures.join("hello-x86_64-macos");
    let debug = fixtures.join("hello-x86_64-macos-debug");
    let (symbols, debug) = (symbols.to_str().unwrap(), debug.to_str().unwrap());
    let workspace = |profile: &str, profiles: &str| {
        let ws = crate::harness::Workspace::empty();
        ws.write(
            "Cargo.toml",
            &format!(
                "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
                 [workspace.metadata.dist]\nprofile = \"{profile}\"\nmacos-min = \"15.0\"\n\n{profiles}"
            ),
        );
        ws.write("src/main.rs", "fn main() {}\n");
        ws
    };
    let release_strips = workspace("release", "[profile.release]\nstrip = true\n");
    expect_rule(
        &verify(release_strips.root(), &[symbols]),
        "stripped",
        "has a symbol table although the profile sets strip = true",
    );
    let dist_keeps = workspace("dist", "[profile.dist]\ninherits = \"release\"\nstrip = false\n");
    expect_report(&verify(dist_keeps.root(), &[symbols, debug]), 0, "PASS");
    let inherited = workspace(
        "dist",
        "[profile.release]\nstrip = \"debuginfo\"\n\n[profile.dist]\ninherits = \"release\"\n",
    );
    expect_report(&verify(inherited.root(), &[symbols]), 0, "PASS");
    expect_rule(
        &verify(inherited.root(), &[debug]),
        "stripped",
        "has debug info (the x86_64 slice's debug symbols) although the profile sets strip = \"debuginfo\"",
    );
    let unknown = workspace("release", "[profile.release]\nstrip = \"everything\"\n");
    crate::harness::expect_usage_error(
        &verify(unknown.root(), &[symbols]),
        "strip = \"everything\" is not a setting cargo knows",
    );
}

/// The Linux rules' settings are per-target keys, still refused when misspelt.
#[test]
fn exec_stack_and_rpath_are_configurable_per_target() {
    let b = built();
    let gnu = b.gnu.to_str().unwrap();
    let ws = hello(
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"2.99\"\nallow-libs = [\"libgcc_s.so.1\"]\n\
         allow-exec-stack = false\nallow-rpath = [\"/opt/vendor/*\"]",
    );
    expect_report(&verify(ws.root(), &[gnu]), 0, "PASS");
    write_workspace(
        &ws,
        "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nallow-rpaths = [\"/opt\"]",
    );
    crate::harness::expect_usage_error(&verify(ws.root(), &[gnu]), "unknown field `allow-rpaths`");
}
