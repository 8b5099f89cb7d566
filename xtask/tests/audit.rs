//! `cargo xtask audit` on a real fixture workspace, read by the real `cargo metadata` and,
//! for `--build`, built by the real cargo. The fixture's crates each stand for one kind of
//! dependency in the seed's audit; `cc` and `pkg-config` come from crates.io.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn package(root: &Path, name: &str, extra: &str) {
    write(
        root,
        &format!("{name}/Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"),
    );
}

/// A C library built from bundled sources by `cc`, as a `-sys` crate does it.
fn bundled_c(root: &Path, name: &str, function: &str) {
    package(
        root,
        name,
        &format!("links = \"{function}\"\n\n[build-dependencies]\ncc = \"1\"\n"),
    );
    write(
        root,
        &format!("{name}/csrc/{function}.c"),
        &format!("int {function}(int a, int b) {{ return a + b; }}\n"),
    );
    write(
        root,
        &format!("{name}/build.rs"),
        &format!("fn main() {{\n    cc::Build::new().file(\"csrc/{function}.c\").compile(\"{function}\");\n}}\n"),
    );
    write(
        root,
        &format!("{name}/src/lib.rs"),
        &format!("extern \"C\" {{\n    fn {function}(a: i32, b: i32) -> i32;\n}}\n\npub fn call(a: i32, b: i32) -> i32 {{\n    unsafe {{ {function}(a, b) }}\n}}\n"),
    );
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n\
         targets = [\"x86_64-unknown-linux-musl\", \"aarch64-unknown-linux-musl\", \"x86_64-pc-windows-msvc\"]\n\n\
         [workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"rust-lld\"\n\n\
         [profile.dist]\ninherits = \"release\"\n",
    );
    package(
        root,
        "app",
        "\n[features]\ndefault = [\"system\"]\nsystem = [\"dep:system-sys\"]\n\n[dependencies]\n\
         pure = { path = \"../pure\" }\nprobe = { path = \"../probe\" }\nbundled-sys = { path = \"../bundled-sys\" }\n\
         system-sys = { path = \"../system-sys\", optional = true }\n\n\
         [target.'cfg(windows)'.dependencies]\nwinonly-sys = { path = \"../winonly-sys\" }\nmake-sys = { path = \"../make-sys\" }\n\n\
         [target.'cfg(target_os = \"macos\")'.dependencies]\nmac-sys = { path = \"../mac-sys\" }\n\n\
         [dev-dependencies]\ndevonly-sys = { path = \"../devonly-sys\" }\n",
    );
    write(
        root,
        "app/src/main.rs",
        "fn main() {\n    println!(\"{} {}\", pure::ANSWER, bundled_sys::call(2, 3));\n}\n",
    );
    package(root, "pure", "");
    write(root, "pure/src/lib.rs", "pub const ANSWER: u32 = 42;\n");
    // A build script that only asks rustc its version, as autocfg and proc-macro2 do.
    package(root, "probe", "");
    write(
        root,
        "probe/build.rs",
        "fn main() {\n    let rustc = std::env::var(\"RUSTC\").unwrap();\n    \
         let out = std::process::Command::new(rustc).arg(\"--version\").output().unwrap();\n    \
         if out.status.success() {\n        println!(\"cargo:rustc-cfg=probed\");\n    }\n}\n",
    );
    write(root, "probe/src/lib.rs", "");
    bundled_c(root, "bundled-sys", "bundled_add");
    bundled_c(root, "winonly-sys", "winonly_add");
    bundled_c(root, "devonly-sys", "devonly_add");
    // Drives its own build system, as jemalloc-sys does; Windows-only so no test builds it.
    package(root, "make-sys", "links = \"m_add\"\n");
    write(
        root,
        "make-sys/csrc/m_add.c",
        "int m_add(int a, int b) { return a + b; }\n",
    );
    write(
        root,
        "make-sys/csrc/Makefile",
        "libm_add.a: m_add.o\n\tar rcs $(OUT)/$@ $(OUT)/m_add.o\n",
    );
    write(
        root,
        "make-sys/build.rs",
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         let ok = std::process::Command::new(\"make\").args([\"-C\", \"csrc\"]).arg(format!(\"OUT={out}\")).status().unwrap();\n    \
         assert!(ok.success());\n}\n",
    );
    write(root, "make-sys/src/lib.rs", "");
    // Links an Apple framework, as core-foundation-sys does: only a macOS SDK has it.
    package(root, "mac-sys", "");
    write(
        root,
        "mac-sys/src/lib.rs",
        "#[link(name = \"CoreFoundation\", kind = \"framework\")]\nextern \"C\" {}\n",
    );
    // Finds a system library through pkg-config and ships nothing to build it from.
    package(
        root,
        "system-sys",
        "links = \"zzsys\"\n\n[features]\nvendored = []\n\n[build-dependencies]\npkg-config = \"0.3\"\n",
    );
    write(
        root,
        "system-sys/build.rs",
        "fn main() {\n    pkg_config::probe_library(\"zzsys\").unwrap();\n}\n",
    );
    write(root, "system-sys/src/lib.rs", "");
    dir
}

fn xtask(root: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["audit", "--json"])
        .args(args)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json, stderr)
}

fn target<'a>(report: &'a Value, triple: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == triple)
        .unwrap()
}

fn package_in<'a>(target: &'a Value, name: &str) -> Option<&'a Value> {
    target["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
}

fn tier(target: &Value, name: &str) -> u64 {
    package_in(target, name).unwrap_or_else(|| panic!("{name} missing from {}", target["target"]))["tier"]
        .as_u64()
        .unwrap()
}

#[test]
fn fixture_packages_land_in_their_tiers_per_target() {
    let dir = fixture();
    let (code, report, stderr) = xtask(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stderr}");

    let musl = target(&report, "x86_64-unknown-linux-musl");
    assert_eq!(tier(musl, "pure"), 1);
    assert_eq!(package_in(musl, "pure").unwrap()["reason"], "no build script");
    assert_eq!(tier(musl, "probe"), 1);
    let probe_reason = package_in(musl, "probe").unwrap()["reason"].as_str().unwrap();
    assert!(probe_reason.contains("only probes rustc"), "{probe_reason}");
    assert_eq!(tier(musl, "bundled-sys"), 2);
    let bundled = package_in(musl, "bundled-sys").unwrap();
    assert_eq!(bundled["evidence"]["c_sources"], 1);
    assert_eq!(bundled["evidence"]["links"], "bundled_add");
    assert_eq!(bundled["evidence"]["build_dependencies"], serde_json::json!(["cc"]));
    assert_eq!(bundled["routes"], serde_json::json!(["native", "zig"]));
    assert_eq!(bundled["planned_route_builds"], true);
    assert_eq!(tier(musl, "system-sys"), 3);
    let system = package_in(musl, "system-sys").unwrap();
    assert_eq!(system["system_libraries"], serde_json::json!(["zzsys"]));
    assert_eq!(system["routes"], serde_json::json!([]));
    assert!(
        system["fix"].as_str().unwrap().contains("`vendored`"),
        "{}",
        system["fix"]
    );
    // Build tools run on the host: cc compiles nothing itself and is no cross concern.
    assert_eq!(tier(musl, "cc"), 1);
    assert_eq!(package_in(musl, "cc").unwrap()["host_only"], true);
    // C code sends musl to the zig route (plan.rs), and zig is what the audit names. The
    // route rests on musl's own graph: the Windows-only C is not in it.
    assert_eq!(musl["route"], "zig");
    assert!(
        musl["route_reason"].as_str().unwrap().contains("C code (bundled-sys) "),
        "{}",
        musl["route_reason"]
    );
    assert!(musl["tools"].to_string().contains("zig cc"), "{}", musl["tools"]);
    // Windows-only and dev-only dependencies are not shipped on Linux.
    assert!(package_in(musl, "winonly-sys").is_none());
    assert!(package_in(musl, "devonly-sys").is_none());
    assert_eq!(musl["score"]["tier2"], 1);
    assert_eq!(musl["score"]["tier3"], 1);

    // The fixture forces rust-lld for aarch64, which has no C compiler: the bundled C is
    // flagged, with zig named.
    let arm = target(&report, "aarch64-unknown-linux-musl");
    let bundled = package_in(arm, "bundled-sys").unwrap();
    assert_eq!(
        (bundled["tier"].as_u64(), &bundled["planned_route_builds"]),
        (Some(2), &Value::Bool(false))
    );
    assert_eq!(bundled["routes"], serde_json::json!(["zig"]));
    let notes = arm["notes"].to_string();
    assert!(notes.contains("no C compiler") && notes.contains("zig"), "{notes}");

    let windows = target(&report, "x86_64-pc-windows-msvc");
    assert_eq!(tier(windows, "winonly-sys"), 2);
    assert_eq!(
        package_in(windows, "winonly-sys").unwrap()["routes"],
        serde_json::json!(["msvc"])
    );
    assert!(package_in(windows, "devonly-sys").is_none());
    let make = package_in(windows, "make-sys").unwrap();
    assert_eq!(
        (make["tier"].as_u64(), &make["compiles_native"]),
        (Some(3), &Value::Bool(true))
    );
    assert_eq!(make["tools"], serde_json::json!(["make"]));
    // The plan reads the same evidence: make-sys (no cc) is C that zig cc compiles for msvc.
    assert!(
        windows["route_reason"]
            .as_str()
            .unwrap()
            .contains("zig cc compiles the C code"),
        "{}",
        windows["route_reason"]
    );
}

#[test]
fn an_apple_framework_needs_the_macos_sdk() {
    let dir = fixture();
    let (code, report, stderr) = xtask(
        dir.path(),
        &[
            "--target",
            "aarch64-apple-darwin",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let apple = target(&report, "aarch64-apple-darwin");
    let mac = package_in(apple, "mac-sys").unwrap();
    assert_eq!(mac["tier"], 3);
    assert_eq!(mac["system_libraries"], serde_json::json!(["macOS SDK"]));
    assert!(
        mac["reason"].as_str().unwrap().contains("CoreFoundation"),
        "{}",
        mac["reason"]
    );
    assert!(package_in(target(&report, "x86_64-unknown-linux-musl"), "mac-sys").is_none());
}

#[test]
fn feature_flags_change_the_graph() {
    let dir = fixture();
    let (code, report, stderr) = xtask(
        dir.path(),
        &["--target", "x86_64-unknown-linux-musl", "--no-default-features"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let musl = target(&report, "x86_64-unknown-linux-musl");
    assert!(
        package_in(musl, "system-sys").is_none(),
        "the optional dependency is off"
    );
    assert_eq!(report["feature_flags"], serde_json::json!(["--no-default-features"]));
}

#[test]
fn markdown_reads_like_the_seed_document() {
    let dir = fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .args([
            "audit",
            "--format",
            "markdown",
            "--target",
            "aarch64-unknown-linux-musl",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "# Native-code audit: app 0.1.0",
        "| aarch64-unknown-linux-musl | rust-lld | 9 |",
        "has no C compiler for aarch64-unknown-linux-musl",
        "### Tier 2: bundled native code (1)",
        "| bundled-sys 0.1.0 |",
        "### Tier 3: needs a system library or tool (1)",
        "No build script: ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn an_unknown_feature_is_a_usage_error() {
    let dir = fixture();
    let (code, _, stderr) = xtask(
        dir.path(),
        &["--target", "x86_64-unknown-linux-musl", "--features", "no-such-feature"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no-such-feature") && stderr.contains("check the --features flags"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_target_is_a_usage_error() {
    let dir = fixture();
    let (code, _, stderr) = xtask(dir.path(), &["--target", "x86_64-unknown-linux-mussl"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("did you mean `x86_64-unknown-linux-musl`?"), "{stderr}");
}

#[test]
fn build_confirms_which_scripts_compiled_c() {
    let dir = fixture();
    // The system library does not exist: leave it out, as a user would with the feature.
    // The C code sends musl to the zig route, which provisions zig itself.
    let (code, report, stderr) = xtask(
        dir.path(),
        &[
            "--target",
            "x86_64-unknown-linux-musl",
            "--no-default-features",
            "--build",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}\n{report:#}");
    let musl = target(&report, "x86_64-unknown-linux-musl");
    let build = &musl["build"];
    assert_eq!(build["success"], true, "{build}");
    assert_eq!(build["compiled_native"], serde_json::json!(["bundled-sys"]));
    assert_eq!(build["disagreements"], serde_json::json!([]));
    let observed = &package_in(musl, "bundled-sys").unwrap()["observed"];
    assert!(observed["native_objects"].as_u64().unwrap() > 0, "{observed}");
    assert_eq!(package_in(musl, "probe").unwrap()["observed"]["native_objects"], 0);
}

#[test]
fn build_reports_a_failing_build_and_exits_1() {
    let dir = fixture();
    // pkg-config finds no `zzsys`: the prediction (tier 3) comes true as a failed build.
    let (code, report, stderr) = xtask(dir.path(), &["--target", "x86_64-unknown-linux-musl", "--build"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the dist build failed for x86_64-unknown-linux-musl"),
        "{stderr}"
    );
    let build = &target(&report, "x86_64-unknown-linux-musl")["build"];
    assert_eq!(build["success"], false);
    assert!(
        build["first_error"]
            .as_str()
            .unwrap()
            .contains("failed to run custom build command for `system-sys"),
        "{build}"
    );
}
