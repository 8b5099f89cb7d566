//! What a user can check offline from dist/ alone: each binary's embedded dependency list
//! (cargo-auditable's `.dep-v0`) against Cargo.lock, the manifest's provenance, and that the
//! archives rebuild byte for byte from the commit they name.

use crate::harness::{expect_exit, expect_ok, expect_rule, read_manifest, Workspace, ARM_MUSL, MUSL};
use serde_json::Value;

/// A bin `tool` 0.1.0 with a runtime dependency `helper` at `helper_version` and a
/// build-dependency `buildhelp`, all path packages, locked.
fn tool_with_deps(helper_version: &str) -> Workspace {
    let ws = Workspace::tool("0.1.0", "[workspace.metadata.dist]\nsmoke-expect = \"tool\"");
    write_deps(&ws, helper_version);
    ws
}

fn write_deps(ws: &Workspace, helper_version: &str) {
    ws.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"tool\", \"helper\", \"buildhelp\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\nsmoke-expect = \"tool\"\n",
    )
    .write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nhelper = { path = \"../helper\" }\n\n[build-dependencies]\nbuildhelp = { path = \"../buildhelp\" }\n",
    )
    .write("tool/build.rs", "fn main() { buildhelp::nothing(); }\n")
    .write("tool/src/main.rs", "fn main() { println!(\"{}\", helper::name()); }\n")
    .write(
        "helper/Cargo.toml",
        &format!("[package]\nname = \"helper\"\nversion = \"{helper_version}\"\nedition = \"2021\"\n"),
    )
    .write("helper/src/lib.rs", "pub fn name() -> &'static str { \"tool\" }\n")
    .write(
        "buildhelp/Cargo.toml",
        "[package]\nname = \"buildhelp\"\nversion = \"0.9.0\"\nedition = \"2021\"\n",
    )
    .write("buildhelp/src/lib.rs", "pub fn nothing() {}\n")
    .lock();
}

/// `--out=<dir>`: the workspace's xtask puts `--manifest-path` after the arguments.
fn out_flag(dir: &std::path::Path) -> String {
    format!("--out={}", dir.display())
}

/// The packages a verify row lists: "name version kind".
fn listed(row: &Value) -> Vec<String> {
    let mut names: Vec<String> = row["dependencies"]
        .as_array()
        .unwrap_or_else(|| panic!("no dependency list in {row}"))
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
                p["kind"].as_str().unwrap_or("runtime")
            )
        })
        .collect();
    names.sort();
    names
}

#[test]
fn binaries_carry_their_dependency_list_and_verify_checks_it_against_cargo_lock() {
    let ws = tool_with_deps("0.2.0");
    let out = tempfile::tempdir().unwrap();
    let plan = expect_ok(&ws.xtask(["dist", "--dry-run", "--target", MUSL]).run()).to_string();
    assert!(plan.contains("dependency list: embedded by cargo-auditable"), "{plan}");
    // The host's musl (native route) and aarch64 musl (rust-lld route, one more linker).
    let run = ws
        .xtask(["dist", "--target", MUSL, "--target", ARM_MUSL, &out_flag(out.path())])
        .run();
    expect_ok(&run);
    let verify = ws.xtask(["verify", "--json", &out_flag(out.path())]).run();
    let rows = verify.json();
    expect_ok(&verify);
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    for row in rows.as_array().unwrap() {
        assert_eq!(
            listed(row),
            ["buildhelp 0.9.0 build", "helper 0.2.0 runtime", "tool 0.1.0 runtime"],
            "{}",
            row["file"]
        );
    }
    let manifest = read_manifest(out.path());
    let provenance = &manifest["provenance"];
    assert!(provenance["dependency_list"]
        .as_str()
        .unwrap()
        .starts_with("cargo-auditable "));
    assert!(
        provenance["rustc"].as_str().unwrap().contains("commit-hash: "),
        "{provenance}"
    );
    assert!(
        provenance["cargo"].as_str().unwrap().starts_with("cargo "),
        "{provenance}"
    );
    assert_eq!(provenance["profile_settings"]["strip"], "true", "{provenance}");
    let build = &manifest["artifacts"][0]["build"];
    assert!(
        build["cargo_args"].as_array().unwrap().iter().any(|a| a == "--locked"),
        "{build}"
    );

    // The lock moves on (helper 0.3.0) while the archives stay: their lists no longer match.
    write_deps(&ws, "0.3.0");
    let verify = ws.xtask(["verify", &out_flag(out.path())]).run();
    expect_rule(
        &verify,
        "dependencies",
        "lists what Cargo.lock's graph for it does not: helper 0.2.0; lacks what Cargo.lock's graph for it has: helper 0.3.0",
    );
}

#[test]
fn auditable_false_embeds_nothing_and_says_so_in_the_plan() {
    let ws = Workspace::tool("0.1.0", "[workspace.metadata.dist]\nauditable = false");
    ws.lock();
    let plan = expect_ok(&ws.xtask(["dist", "--dry-run", "--target", MUSL]).run()).to_string();
    assert!(
        plan.contains("dependency list: not embedded (auditable = false)"),
        "{plan}"
    );
    assert!(!plan.contains("cargo-auditable"), "{plan}");
}

#[test]
fn a_rebuild_of_the_commit_is_byte_identical_and_a_dirty_build_is_not() {
    let ws = Workspace::tool("0.1.0", "[workspace.metadata.dist]\nsmoke-expect = \"tool\"");
    ws.write(".gitignore", "/target\n/dist\n").lock().commit(1_700_000_000);
    let dist = |dir: &std::path::Path| {
        expect_ok(&ws.xtask(["dist", "--target", MUSL, &out_flag(dir)]).run());
    };
    let clean = tempfile::tempdir().unwrap();
    dist(clean.path());
    let check = ws
        .xtask(["rebuild-check", &format!("--dist={}", clean.path().display())])
        .run();
    let stdout = expect_ok(&check);
    assert!(
        stdout.contains(&format!("equal    tool-0.1.0-{MUSL}.tar.gz")),
        "{check}"
    );

    // An uncommitted change: the manifest records it, and the rebuild from the commit
    // differs inside the binary.
    ws.write("tool/src/main.rs", "fn main() { println!(\"tool, changed\"); }\n");
    let dirty = tempfile::tempdir().unwrap();
    dist(dirty.path());
    assert_eq!(read_manifest(dirty.path())["provenance"]["dirty"], true);
    let check = ws
        .xtask(["rebuild-check", &format!("--dist={}", dirty.path().display())])
        .run();
    expect_exit(&check, 1, "differ from a rebuild of commit");
    assert!(check.stdout.contains("records uncommitted changes (dirty)"), "{check}");
    assert!(
        check.stdout.contains(&format!(
            "DIFFERS  tool-0.1.0-{MUSL}.tar.gz: entry tool-0.1.0-{MUSL}/tool differs at byte"
        )),
        "{check}"
    );
}
