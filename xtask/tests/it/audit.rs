//! `cargo xtask audit` on a real fixture workspace, read by the real `cargo metadata` and,
//! for `--build`, built by the real cargo. The fixture's crates each stand for one kind of
//! dependency in the seed's audit; `cc` and `pkg-config` come from crates.io.

use crate::harness::{expect_exit, expect_ok, Run, Workspace};
use serde_json::Value;

fn package(ws: &Workspace, name: &str, extra: &str) {
    ws.write(
        &format!("{name}/Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"),
    );
}

/// A C library built from bundled sources by `cc`, as a `-sys` crate does it.
fn bundled_c(ws: &Workspace, name: &str, function: &str) {
    package(
        ws,
        name,
        &format!("links = \"{function}\"\n\n[build-dependencies]\ncc = \"1\"\n"),
    );
    ws.write(
        &format!("{name}/csrc/{function}.c"),
        &format!("int {function}(int a, int b) {{ return a + b; }}\n"),
    );
    ws.write(
        &format!("{name}/build.rs"),
        &format!("fn main() {{\n    cc::Build::new().file(\"csrc/{function}.c\").compile(\"{function}\");\n}}\n"),
    );
    ws.write(&format!("{name}/src/lib.rs"),
        &format!("extern \"C\" {{\n    fn {function}(a: i32, b: i32) -> i32;\n}}\n\npub fn call(a: i32, b: i32) -> i32 {{\n    unsafe {{ {function}(a, b) }}\n}}\n"),
    );
}

fn fixture() -> Workspace {
    let owned = Workspace::empty();
    let ws = &owned;
    ws.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n\
         targets = [\"x86_64-unknown-linux-musl\", \"aarch64-unknown-linux-musl\", \"x86_64-pc-windows-msvc\"]\n\n\
         [workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"rust-lld\"\n\n\
         [profile.dist]\ninherits = \"release\"\n",
    );
    package(ws, "app",
        "\n[features]\ndefault = [\"system\"]\nsystem = [\"dep:system-sys\"]\n\n[dependencies]\n\
         pure = { path = \"../pure\" }\nprobe = { path = \"../probe\" }\nbundled-sys = { path = \"../bundled-sys\" }\n\
         system-sys = { path = \"../system-sys\", optional = true }\n\n\
         [target.'cfg(windows)'.dependencies]\nwinonly-sys = { path = \"../winonly-sys\" }\nmake-sys = { path = \"../make-sys\" }\n\n\
         [target.'cfg(target_os = \"macos\")'.dependencies]\nmac-sys = { path = \"../mac-sys\" }\nmac-objc = { path = \"../mac-objc\" }\n\n\
         [dev-dependencies]\ndevonly-sys = { path = \"../devonly-sys\" }\n",
    );
    ws.write(
        "app/src/main.rs",
        "fn main() {\n    println!(\"{} {}\", pure::ANSWER, bundled_sys::call(2, 3));\n}\n",
    );
    package(ws, "pure", "");
    ws.write("pure/src/lib.rs", "pub const ANSWER: u32 = 42;\n");
    // A build script that only asks rustc its version, as autocfg and proc-macro2 do.
    package(ws, "probe", "");
    ws.write(
        "probe/build.rs",
        "fn main() {\n    let rustc = std::env::var(\"RUSTC\").unwrap();\n    \
         let out = std::process::Command::new(rustc).arg(\"--version\").output().unwrap();\n    \
         if out.status.success() {\n        println!(\"cargo:rustc-cfg=probed\");\n    }\n}\n",
    );
    ws.write("probe/src/lib.rs", "");
    bundled_c(ws, "bundled-sys", "bundled_add");
    bundled_c(ws, "winonly-sys", "winonly_add");
    bundled_c(ws, "devonly-sys", "devonly_add");
    // Drives its own build system, as jemalloc-sys does; Windows-only so no test builds it.
    package(ws, "make-sys", "links = \"m_add\"\n");
    ws.write("make-sys/csrc/m_add.c", "int m_add(int a, int b) { return a + b; }\n");
    ws.write(
        "make-sys/csrc/Makefile",
        "libm_add.a: m_add.o\n\tar rcs $(OUT)/$@ $(OUT)/m_add.o\n",
    );
    ws.write("make-sys/build.rs",
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         let ok = std::process::Command::new(\"make\").args([\"-C\", \"csrc\"]).arg(format!(\"OUT={out}\")).status().unwrap();\n    \
         assert!(ok.success());\n}\n",
    );
    ws.write("make-sys/src/lib.rs", "");
    // Links an Apple framework, as core-foundation-sys does: only a macOS SDK has it.
    package(ws, "mac-sys", "");
    ws.write(
        "mac-sys/src/lib.rs",
        "#[link(name = \"CoreFoundation\", kind = \"framework\")]\nextern \"C\" {}\n",
    );
    // Links a framework as objc2-foundation does: no -sys name, the attribute in generated code.
    package(ws, "mac-objc", "");
    ws.write("mac-objc/src/lib.rs", "mod generated;\n");
    ws.write(
        "mac-objc/src/generated/mod.rs",
        "#[cfg_attr(\n    target_vendor = \"apple\",\n    link(name = \"Foundation\", kind = \"framework\")\n)]\nextern \"C\" {}\n",
    );
    // Finds a system library through pkg-config and ships nothing to build it from.
    package(
        ws,
        "system-sys",
        "links = \"zzsys\"\n\n[features]\nvendored = []\n\n[build-dependencies]\npkg-config = \"0.3\"\n",
    );
    ws.write(
        "system-sys/build.rs",
        "fn main() {\n    pkg_config::probe_library(\"zzsys\").unwrap();\n}\n",
    );
    ws.write("system-sys/src/lib.rs", "");
    owned
}

/// `audit --json` on the fixture (RUSTFLAGS unset: the build must not see the caller's).
fn audit(ws: &Workspace, args: &[&str]) -> Run {
    ws.xtask(["audit", "--json"]).args(args).env_remove("RUSTFLAGS").run()
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
    let ws = fixture();
    let out = audit(&ws, &[]);
    expect_ok(&out);
    let report = out.json();

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
    let ws = fixture();
    let out = audit(
        &ws,
        &[
            "--target",
            "aarch64-apple-darwin",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    );
    expect_ok(&out);
    let report = out.json();
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
    // The per-target prediction a corpus harness reads: the stubs cover the frameworks,
    // zzsys is what stops it.
    let prediction = &apple["prediction"];
    assert_eq!(prediction["outcome"], "needs-system-library", "{prediction}");
    assert_eq!(
        prediction["frameworks"],
        serde_json::json!(["CoreFoundation", "Foundation"])
    );
    assert_eq!(
        prediction["framework_packages"],
        serde_json::json!(["mac-objc", "mac-sys"])
    );
    let musl = &target(&report, "x86_64-unknown-linux-musl")["prediction"];
    assert_eq!(musl["frameworks"], serde_json::json!([]), "{musl}");
    // plan links the same frameworks through stubs, and refuses nothing for them.
    let plan = ws
        .xtask(["plan", "--json", "--target", "aarch64-apple-darwin"])
        .env_remove("SDKROOT")
        .run();
    expect_ok(&plan);
    assert_eq!(plan.json()["jobs"][0]["apple_link"]["kind"], "stubs");
}

#[test]
fn feature_flags_change_the_graph() {
    let ws = fixture();
    let out = audit(&ws, &["--target", "x86_64-unknown-linux-musl", "--no-default-features"]);
    expect_ok(&out);
    let report = out.json();
    let musl = target(&report, "x86_64-unknown-linux-musl");
    assert!(
        package_in(musl, "system-sys").is_none(),
        "the optional dependency is off"
    );
    assert_eq!(report["feature_flags"], serde_json::json!(["--no-default-features"]));
}

#[test]
fn markdown_reads_like_the_seed_document() {
    let ws = fixture();
    let out = ws
        .xtask([
            "audit",
            "--format",
            "markdown",
            "--target",
            "aarch64-unknown-linux-musl",
        ])
        .run();
    let text = expect_ok(&out);
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
    let ws = fixture();
    let out = audit(
        &ws,
        &["--target", "x86_64-unknown-linux-musl", "--features", "no-such-feature"],
    );
    expect_exit(&out, 2, "check the --features flags");
    assert!(out.stderr.contains("no-such-feature"), "{out}");
}

#[test]
fn an_unknown_target_is_a_usage_error() {
    let ws = fixture();
    let out = audit(&ws, &["--target", "x86_64-unknown-linux-mussl"]);
    expect_exit(&out, 2, "did you mean `x86_64-unknown-linux-musl`?");
}

#[test]
fn build_confirms_which_scripts_compiled_c() {
    let ws = fixture();
    // The system library does not exist: leave it out, as a user would with the feature.
    // The C code sends musl to the zig route, which provisions zig itself.
    let out = audit(
        &ws,
        &[
            "--target",
            "x86_64-unknown-linux-musl",
            "--no-default-features",
            "--build",
        ],
    );
    expect_ok(&out);
    let report = out.json();
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
    let ws = fixture();
    // pkg-config finds no `zzsys`: the prediction (tier 3) comes true as a failed build.
    let out = audit(&ws, &["--target", "x86_64-unknown-linux-musl", "--build"]);
    expect_exit(&out, 1, "the dist build failed for x86_64-unknown-linux-musl");
    let report = out.json();
    let build = &target(&report, "x86_64-unknown-linux-musl")["build"];
    assert_eq!(build["success"], false);
    assert!(
        build["first_error"]
            .as_str()
            .unwrap()
            .contains("failed to run custom build command for `system-sys"),
        "{build}"
    );
    let musl = target(&report, "x86_64-unknown-linux-musl");
    assert_eq!(musl["prediction"]["outcome"], "needs-system-library");
    assert_eq!(
        (&build["failed_packages"], &build["prediction_held"]),
        (&serde_json::json!(["system-sys"]), &Value::Bool(true))
    );
}

/// A copy of a crates.io project unpacked under /work/crates (read-only there), when this
/// machine has it; its dependencies come from crates.io through cargo as usual.
fn real_project(name: &str) -> Option<Workspace> {
    let source = std::path::Path::new("/work/crates").join(name);
    if !source.join("Cargo.lock").is_file() {
        eprintln!("{} is not on this machine: skipped", source.display());
        return None;
    }
    let ws = Workspace::empty();
    let copied = std::process::Command::new("cp")
        .arg("-R")
        .arg(source.join("."))
        .arg(ws.root())
        .status()
        .unwrap();
    assert!(copied.success(), "copying {}", source.display());
    Some(ws)
}

/// The prediction of each listed target of a real project (no SDKROOT: a plain Linux host).
fn predictions(ws: &Workspace, args: &[&str], targets: &[&str]) -> Vec<Value> {
    let mut cmd = ws.xtask(["audit", "--json"]).args(args).env_remove("SDKROOT");
    for t in targets {
        cmd = cmd.args(["--target", t]);
    }
    let out = cmd.run();
    expect_ok(&out);
    let report = out.json();
    targets
        .iter()
        .map(|t| target(&report, t)["prediction"].clone())
        .collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn real_projects_are_predicted_per_target() {
    let cells = [
        "x86_64-unknown-linux-musl",
        "x86_64-pc-windows-msvc",
        "aarch64-apple-darwin",
    ];
    // fd-find 10.5.0 with `base`: tikv-jemallocator on Linux only (configure + make), ctrlc
    // 3.5 → objc2 (Foundation) and normpath (Foundation) on Apple only.
    if let Some(ws) = real_project("fd-find-10.5.0") {
        let [musl, windows, apple] = <[Value; 3]>::try_from(predictions(&ws, &["--features", "base"], &cells)).unwrap();
        assert_eq!(strings(&musl["compiles_native"]), ["tikv-jemalloc-sys"], "{musl}");
        assert_eq!(strings(&musl["build_systems"]), ["configure", "make"], "{musl}");
        assert_eq!(musl["c_compiler"], "zig cc (cargo-zigbuild)");
        assert!(strings(&windows["compiles_native"]).is_empty(), "{windows}");
        // The stubs cover Foundation: no SDK needed (docs/APPLE.md).
        assert_eq!(apple["outcome"], "builds", "{apple}");
        assert_eq!(strings(&apple["frameworks"]), ["Foundation"]);
        assert!(strings(&apple["framework_packages"]).contains(&"objc2"), "{apple}");
        assert!(strings(&windows["frameworks"]).is_empty() && strings(&musl["frameworks"]).is_empty());
    }
    // du-dust 1.2.7: sysinfo → IOKit and the objc2 framework crates on Apple.
    if let Some(ws) = real_project("du-dust-1.2.7") {
        let [musl, _, apple] = <[Value; 3]>::try_from(predictions(&ws, &[], &cells)).unwrap();
        assert_eq!(musl["outcome"], "builds", "{musl}");
        assert_eq!(apple["outcome"], "builds", "{apple}");
        for framework in ["CoreFoundation", "IOKit"] {
            assert!(strings(&apple["frameworks"]).contains(&framework), "{apple}");
        }
        assert!(strings(&apple["framework_packages"]).contains(&"sysinfo"), "{apple}");
    }
    // ripgrep 15.2.0 with pcre2: PCRE2's C everywhere, jemalloc on 64-bit musl only.
    if let Some(ws) = real_project("ripgrep-15.2.0") {
        let [musl, windows, apple] =
            <[Value; 3]>::try_from(predictions(&ws, &["--features", "pcre2"], &cells)).unwrap();
        assert_eq!(
            strings(&musl["compiles_native"]),
            ["pcre2-sys", "tikv-jemalloc-sys"],
            "{musl}"
        );
        assert_eq!(strings(&windows["compiles_native"]), ["pcre2-sys"], "{windows}");
        assert_eq!(windows["c_compiler"], "zig cc for the MSVC target");
        assert_eq!(
            (&apple["outcome"], strings(&apple["compiles_native"])),
            (&Value::from("builds"), vec!["pcre2-sys"]),
            "{apple}"
        );
    }
}
