//! The project's own settings, on a workspace this tool did not make: the toolchain its
//! rust-toolchain file or `rust-version` asks for (never the pin of the repository running
//! the tool), its features, its `.cargo/config.toml`, and the size profile where it has no
//! `[profile.dist]`.

use crate::harness::{expect_exit, expect_ok, read_manifest, xtask, Workspace, MUSL};
use std::path::Path;

/// A bin `tool` whose output shows the feature `loud` and the `[env]` of the workspace's
/// own .cargo/config.toml, both fixed at compile time.
fn feature_tool(config: &str) -> Workspace {
    let ws = Workspace::tool("0.3.0", config);
    ws.write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.3.0\"\nedition = \"2021\"\n\n[features]\nloud = []\n",
    )
    .write(
        "tool/src/main.rs",
        "fn main() {\n    if cfg!(feature = \"loud\") {\n        println!(\"LOUD\");\n    }\n    println!(\"tool {}\", option_env!(\"TOOL_GREETING\").unwrap_or(\"no greeting\"));\n}\n",
    )
    .lock();
    ws
}

/// `--out=<dir>`: the workspace's xtask puts `--manifest-path` after the arguments.
fn out_flag(dir: &tempfile::TempDir) -> String {
    format!("--out={}", dir.path().display())
}

#[test]
fn a_workspace_without_a_dist_profile_ships_a_stripped_binary_built_from_its_own_directory() {
    // No [profile.dist]; the workspace's .cargo/config.toml sets an env var the binary prints,
    // which cargo reads only when started from the workspace.
    let ws = feature_tool(&format!(
        "[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nsmoke-expect = \"tool from-the-workspace-config\""
    ));
    ws.write(
        ".cargo/config.toml",
        "[env]\nTOOL_GREETING = \"from-the-workspace-config\"\n",
    );
    let plan = expect_ok(&ws.xtask(["plan"]).run()).to_string();
    assert!(
        plan.contains("profile dist defined by the tool (the workspace has none)"),
        "{plan}"
    );
    // A relative --manifest-path means the caller's directory, though cargo runs from the
    // workspace's.
    let parent = ws.root().parent().unwrap();
    let relative = Path::new(ws.root().file_name().unwrap()).join("Cargo.toml");
    let run = xtask(["--manifest-path".as_ref(), relative.as_os_str(), "plan".as_ref()])
        .cwd(parent)
        .run();
    // The same plan, but for the name of the run's own log directory.
    let same = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("build logs:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(same(expect_ok(&run)), same(&plan));
    let out = tempfile::tempdir().unwrap();
    let run = ws.xtask(["dist", "--target", MUSL, &out_flag(&out)]).run();
    expect_ok(&run);
    let manifest = read_manifest(out.path());
    assert_eq!(manifest["profile"], "dist");
    let tool = &manifest["artifacts"][0]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "tool")
        .unwrap()["inspection"];
    assert_eq!(tool["stripped"], true, "{tool}");
    // verify reads it back with the same rules.
    expect_ok(&ws.xtask(["verify", &out_flag(&out)]).run());
}

#[test]
fn features_reach_the_build_the_smoke_run_and_the_manifest() {
    let ws = feature_tool(&format!(
        "[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nprofile = \"release\"\nsmoke-expect = \"LOUD\""
    ));
    let out = tempfile::tempdir().unwrap();
    // Without the feature the binary does not say LOUD: the smoke run fails the target.
    let quiet = ws.xtask(["dist", "--target", MUSL, &out_flag(&out)]).run();
    expect_exit(&quiet, 1, "LOUD");
    let loud = ws
        .xtask(["dist", "--target", MUSL, "--features", "loud", &out_flag(&out)])
        .run();
    expect_ok(&loud);
    let manifest = read_manifest(out.path());
    assert_eq!(
        manifest["artifacts"][0]["features"],
        serde_json::json!({"enabled": ["loud"]}),
        "{manifest}"
    );
    // The same from the target's own table, said in the plan.
    ws.write(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nprofile = \"release\"\n\n[workspace.metadata.dist.target.{MUSL}]\nfeatures = [\"loud\"]\n"
        ),
    );
    let plan = ws.xtask(["plan", "--json"]).run();
    expect_ok(&plan);
    let plan = plan.json();
    assert_eq!(plan["jobs"][0]["features"]["enabled"], serde_json::json!(["loud"]));
    let build = plan["builds"][0]["cmd"]["args"].as_array().unwrap();
    let at = build
        .iter()
        .position(|a| a == "--features")
        .expect("--features in the build");
    assert_eq!(build[at + 1], "loud");
}

#[test]
fn the_workspaces_toolchain_file_names_the_toolchain_not_the_running_one() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nprofile = \"release\""),
    );
    // rustup's proxy sets RUSTUP_TOOLCHAIN for the running xtask (here: nightly); without a
    // toolchain file the newest installed stable builds, and with one, the one it names.
    let running = "nightly";
    let plan = ws.xtask(["plan", "--json"]).env("RUSTUP_TOOLCHAIN", running).run();
    let toolchain = plan.json()["toolchain"].clone();
    // "stable", or a versioned stable toolchain when one newer than it is installed.
    let name = toolchain["name"].as_str().unwrap();
    assert!(
        name == "stable" || name.split('.').all(|part| part.parse::<u32>().is_ok()),
        "{toolchain}"
    );
    assert!(
        toolchain["reason"]
            .as_str()
            .unwrap()
            .contains("the newest installed stable toolchain"),
        "{toolchain}"
    );
    // 1.95.0 is this repository's pin, so it is installed wherever these tests run.
    ws.write("rust-toolchain.toml", "[toolchain]\nchannel = \"1.95.0\"\n");
    let plan = ws.xtask(["plan", "--json"]).env("RUSTUP_TOOLCHAIN", running).run();
    expect_ok(&plan);
    let plan = plan.json();
    assert_eq!(plan["toolchain"]["name"], "1.95.0", "{plan}");
    assert_eq!(plan["toolchain"]["version"], "1.95.0", "{plan}");
    let reason = plan["toolchain"]["reason"].as_str().unwrap();
    assert!(reason.contains("rust-toolchain.toml"), "{reason}");
    assert_eq!(plan["builds"][0]["cmd"]["env"]["RUSTUP_TOOLCHAIN"], "1.95.0");
    let cwd = plan["builds"][0]["cmd"]["cwd"].as_str().unwrap();
    assert_eq!(std::path::Path::new(cwd), ws.root());
    let table = expect_ok(&ws.xtask(["plan"]).env("RUSTUP_TOOLCHAIN", running).run()).to_string();
    assert!(table.contains("toolchain 1.95.0 (rustc 1.95.0): named by"), "{table}");
}

#[test]
fn a_rust_version_no_installed_toolchain_satisfies_is_installed_or_named() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nprofile = \"release\""),
    );
    ws.write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.999\"\n",
    );
    let plan = ws.xtask(["plan"]).run();
    let table = expect_ok(&plan);
    assert!(
        table.contains("rust-version 1.999.0 (package tool) is newer than every installed stable toolchain"),
        "{table}"
    );
    assert!(
        table.contains("install: rustup toolchain install 1.999.0 --profile minimal"),
        "{table}"
    );
    // No such release exists: dist stops before building, naming the toolchain and the fix.
    let run = ws.xtask(["dist", "--target", MUSL]).run();
    expect_exit(
        &run,
        2,
        "the toolchain 1.999.0 is not installed and rustup could not install it",
    );
}

#[test]
fn a_feature_that_pulls_in_c_moves_the_route_to_zig() {
    // As tikv-jemallocator behind a `jemalloc` feature: C only when the feature is on.
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{MUSL}\"]\nprofile = \"release\""),
    );
    ws.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"tool\", \"alloc-sys\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\nprofile = \"release\"\n",
    )
    .write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\njemalloc = [\"dep:alloc-sys\"]\n\n[dependencies]\nalloc-sys = { path = \"../alloc-sys\", optional = true }\n",
    )
    .write(
        "alloc-sys/Cargo.toml",
        "[package]\nname = \"alloc-sys\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlinks = \"myalloc\"\n\n[build-dependencies]\ncc = \"1\"\n",
    )
    .write("alloc-sys/csrc/myalloc.c", "int myalloc(void) { return 0; }\n")
    .write(
        "alloc-sys/build.rs",
        "fn main() {\n    cc::Build::new().file(\"csrc/myalloc.c\").compile(\"myalloc\");\n}\n",
    )
    .write("alloc-sys/src/lib.rs", "");
    let route = |extra: &[&str]| {
        let run = ws.xtask(["plan", "--json", "--target", MUSL].iter().chain(extra)).run();
        expect_ok(&run);
        let job = run.json()["jobs"][0].clone();
        (job["route"].as_str().unwrap().to_string(), job["c_code"].clone())
    };
    assert_eq!(route(&[]), ("native".to_string(), serde_json::json!([])));
    assert_eq!(
        route(&["--features", "jemalloc"]),
        ("zig".to_string(), serde_json::json!(["alloc-sys"]))
    );
}
