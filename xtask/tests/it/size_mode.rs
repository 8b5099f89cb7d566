//! The size mode (`size-mode = "build-std"`: std rebuilt on the pinned nightly) and the
//! allocator switch (`allocator = "mimalloc"`), each through the real xtask and the real
//! cargo on a small fixture for x86_64-unknown-linux-musl; mimalloc comes from crates.io.

use crate::harness::{cargo, expect_ok, expect_usage_error, read_manifest, run_ok, Workspace, MUSL};
use std::path::Path;
use std::process::Command;

/// A tool that uses the parts of std a real CLI does (formatting, collections, env, fs
/// errors), so the rebuilt std has something to shrink.
const TOOL: &str = r#"use std::collections::BTreeMap;
fn main() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for arg in std::env::args().skip(1) {
        *counts.entry(arg).or_default() += 1;
    }
    if let Err(e) = std::fs::read("/nonexistent/size-mode") {
        eprintln!("expected: {e}");
    }
    println!("tool {counts:?} {:.3}", 1.0f64 / 3.0);
}
"#;

/// The fixture with `config` in its [workspace.metadata.dist] (after the musl target).
fn workspace(config: &str) -> Workspace {
    let ws = Workspace::tool(
        "1.0.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\n{config}"),
    );
    ws.write("tool/src/main.rs", TOOL);
    ws.lock();
    ws
}

/// The packed binary's size from the manifest, and the binary unpacked from the archive.
fn dist(ws: &Workspace, out: &Path) -> (u64, Vec<u8>) {
    expect_ok(&ws.xtask(["dist"]).arg("--out").arg(out).run());
    let manifest = read_manifest(out);
    let size = manifest["artifacts"][0]["assets"]
        .as_array()
        .and_then(|assets| assets.iter().find(|a| a["name"] == "tool"))
        .and_then(|a| a["size"].as_u64())
        .unwrap_or_else(|| panic!("no binary `tool` in {manifest:#}"));
    let binary = std::fs::read(ws.path(&format!("target/{MUSL}/dist/tool"))).unwrap();
    assert_eq!(binary.len() as u64, size, "the manifest's size is the built binary's");
    (size, binary)
}

#[test]
fn the_size_mode_ships_a_smaller_verified_binary_that_runs() {
    let normal = workspace("");
    let out = tempfile::tempdir().unwrap();
    let (normal_size, _) = dist(&normal, out.path());

    let small = workspace("size-mode = \"build-std\"\npanic = \"immediate-abort\"");
    let plan = small.xtask(["plan", "--json"]).run();
    let plan = serde_json::from_str::<serde_json::Value>(expect_ok(&plan)).unwrap();
    assert_eq!(
        plan["size_toolchain"]["name"], "nightly-2026-05-20",
        "the plan names the pinned nightly"
    );
    let small_out = tempfile::tempdir().unwrap();
    let (small_size, _) = dist(&small, small_out.path());
    // `dist` verified it; `verify` re-checks the archive and the binary.
    let archive = small_out.path().join(format!("tool-1.0.0-{MUSL}.tar.gz"));
    let verified = small
        .xtask(["verify"])
        .arg(&archive)
        .arg(small.path(&format!("target/{MUSL}/dist/tool")))
        .run();
    assert!(expect_ok(&verified).contains("static"), "{verified}");
    let run = Command::new(small.path(&format!("target/{MUSL}/dist/tool")))
        .args(["a", "b", "a"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("tool {\"a\": 2, \"b\": 1} 0.333"),
        "{run:?}"
    );
    eprintln!("size mode: {small_size} bytes, the stable dist build: {normal_size} bytes");
    assert!(
        small_size * 10 < normal_size * 8,
        "the size mode must save at least a fifth: {small_size} against {normal_size} bytes"
    );
}

#[test]
fn size_mode_settings_without_the_mode_are_a_usage_error() {
    let ws = workspace("panic = \"immediate-abort\"");
    expect_usage_error(&ws.xtask(["plan"]).run(), "belong to the size mode");
}

/// The fixture for the allocator: the lines `allocator = "mimalloc"` asks the user for, and
/// a main that starts threads.
fn mimalloc_workspace(config: &str) -> Workspace {
    let ws = Workspace::tool(
        "1.0.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\n{config}"),
    );
    ws.write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nmimalloc = { version = \"0.1\", optional = true }\n",
    );
    ws.write(
        "tool/src/main.rs",
        "#[cfg(feature = \"mimalloc\")]\n#[global_allocator]\nstatic GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;\n\n\
         fn main() {\n    let t = std::thread::spawn(|| vec![1u8; 1 << 20].len());\n    println!(\"tool {}\", t.join().unwrap());\n}\n",
    );
    // Not offline: nothing else in the tests depends on mimalloc, so a fresh machine's
    // cargo has no copy of its index entry yet.
    run_ok(cargo(ws.root()).arg("generate-lockfile"));
    ws
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_allocator_switch_links_mimalloc_and_the_audit_warns_without_it() {
    // Without the switch: musl's malloc, and the audit says the binary starts threads on it.
    let plain = mimalloc_workspace("");
    let audit = plain.xtask(["audit", "--json"]).run();
    let report: serde_json::Value = serde_json::from_str(expect_ok(&audit)).unwrap();
    let notes = report["targets"][0]["notes"].to_string();
    assert!(
        notes.contains("multi-threaded (tool start threads)") && notes.contains("allocator = \\\"mimalloc\\\""),
        "{notes}"
    );
    let out = tempfile::tempdir().unwrap();
    let (_, binary) = dist(&plain, out.path());
    assert!(!contains(&binary, b"mimalloc"), "no mimalloc without the switch");

    // With it: the feature is on, mimalloc's C is compiled (zig route) and linked, and the
    // audit is content.
    let switched = mimalloc_workspace("allocator = \"mimalloc\"");
    let audit = switched.xtask(["audit", "--json"]).run();
    let report: serde_json::Value = serde_json::from_str(expect_ok(&audit)).unwrap();
    let notes = report["targets"][0]["notes"].to_string();
    assert!(!notes.contains("multi-threaded"), "{notes}");
    assert_eq!(report["targets"][0]["route"], "zig", "mimalloc compiles C");
    let out = tempfile::tempdir().unwrap();
    let (_, binary) = dist(&switched, out.path());
    // mimalloc's own option prefix, read from the environment at start.
    assert!(contains(&binary, b"mimalloc"), "mimalloc is linked");
    let run = Command::new(switched.path(&format!("target/{MUSL}/dist/tool")))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("tool 1048576"), "{run:?}");

    // A package whose bin does not install the allocator would ship musl's malloc under
    // mimalloc's name: refused, and so is one without the lines, each told what to add.
    let unused = mimalloc_workspace("allocator = \"mimalloc\"");
    unused.write("tool/src/main.rs", crate::harness::HELLO);
    expect_usage_error(
        &unused.xtask(["plan"]).run(),
        "installs no MiMalloc as #[global_allocator]",
    );
    let bare = workspace("allocator = \"mimalloc\"");
    expect_usage_error(
        &bare.xtask(["plan"]).run(),
        "#[global_allocator] static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;`",
    );
}
