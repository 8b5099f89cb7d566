//! A failing target: without --keep-going the run stops there and keeps nothing it did
//! not finish; with it, the other targets are built and packed, and the exit code is 1.
//! Either way manifest.json, REPORT.md and the summary list every target, the failed ones
//! with why, each run keeps its own build logs, and `verify` and `merge` read such a dist.

use crate::harness::{expect_exit, expect_ok, read_manifest, Workspace};

/// A pure-Rust workspace whose macOS target is forced onto a route that cannot link it.
/// A feature of its own keeps it out of the musl target's cargo run (native and rust-lld
/// would share one), so a run without --keep-going stops before the musl build.
/// It is not a git checkout: the run warns that it records no commit and no date.
fn fixture() -> Workspace {
    let ws = Workspace::tool(
        "0.2.0",
        r#"[workspace.metadata.dist]
targets = ["aarch64-apple-darwin", "x86_64-unknown-linux-musl"]
profile = "release"

# rust-lld alone has no libSystem to link a macOS binary against: this build fails.
[workspace.metadata.dist.target.aarch64-apple-darwin]
route = "rust-lld"
features = ["mac"]
"#,
    );
    let manifest = std::fs::read_to_string(ws.path("tool/Cargo.toml")).unwrap();
    ws.write("tool/Cargo.toml", &format!("{manifest}\n[features]\nmac = []\n"));
    ws
}

/// The run directories under `target/dist-logs`, sorted (oldest first).
fn log_runs(ws: &Workspace) -> Vec<String> {
    let mut runs: Vec<String> = std::fs::read_dir(ws.path("target/dist-logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    runs.sort();
    runs
}

/// The manifest's `failed` entry for `target`.
#[track_caller]
fn failed<'a>(manifest: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    manifest["failed"]
        .as_array()
        .unwrap_or_else(|| panic!("no `failed` in {manifest:#}"))
        .iter()
        .find(|f| f["target"] == target)
        .unwrap_or_else(|| panic!("{target} is not in `failed`: {manifest:#}"))
}

#[test]
fn keep_going_packs_the_targets_that_build_and_still_fails() {
    let ws = fixture();
    let dist_dir = ws.path("dist");
    let (mac, musl) = ("aarch64-apple-darwin", "x86_64-unknown-linux-musl");

    let out = ws.xtask(["dist"]).env_remove("SOURCE_DATE_EPOCH").run();
    expect_exit(&out, 1, "1 of 2 target(s) failed: aarch64-apple-darwin, 1 not started");
    assert!(
        out.stderr.contains("last lines of"),
        "the build log's tail is shown:\n{out}"
    );
    // Not a git checkout: said before anything is built, with the fix.
    assert!(
        out.stderr.contains("is not a git checkout (and has no .cargo_vcs_info.json): manifest.json and REPORT.md record commit `unknown`"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("every archive entry is dated 1970-01-01; build from a git checkout, or set SOURCE_DATE_EPOCH"),
        "{out}"
    );
    // The target that never started has a line without a time.
    assert!(
        out.stderr.contains(&format!(
            "[{musl}] not started: an earlier target failed (--keep-going builds it anyway)\n"
        )),
        "{out}"
    );
    // The index describes exactly this run: nothing finished, so no archive; both targets
    // are listed with why.
    let manifest = read_manifest(&dist_dir);
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap(), "");
    let first_run = log_runs(&ws);
    assert_eq!(first_run.len(), 1, "{first_run:?}");
    let log = ws.path(&format!("target/dist-logs/{}/rust-lld.log", first_run[0]));
    assert_eq!(failed(&manifest, mac)["status"], "failed");
    assert_eq!(failed(&manifest, mac)["log"], log.to_str().unwrap());
    assert!(
        failed(&manifest, mac)["reason"]
            .as_str()
            .unwrap()
            .contains("cargo failed to build aarch64-apple-darwin"),
        "{manifest:#}"
    );
    assert_eq!(failed(&manifest, musl)["status"], "not-started");
    let report = std::fs::read_to_string(dist_dir.join("REPORT.md")).unwrap();
    assert!(
        report.contains(&format!("| {mac} | failed | cargo failed to build {mac}")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "| {musl} | not started | an earlier target failed (--keep-going builds it anyway) |"
        )),
        "{report}"
    );
    assert!(
        out.stdout.contains("none, FAILED: cargo failed to build"),
        "the summary lists it:\n{out}"
    );

    let out = ws.xtask(["dist", "--keep-going", "--json"]).run();
    let second_run = log_runs(&ws);
    assert_eq!(second_run.len(), 2, "each run keeps its own logs: {second_run:?}");
    assert_eq!(second_run[0], first_run[0]);
    let logs = ws.path(&format!("target/dist-logs/{}", second_run[1]));
    expect_exit(
        &out,
        1,
        &format!(
            "error: 1 of 2 target(s) failed: aarch64-apple-darwin; this run's build logs are in {}\n",
            logs.display()
        ),
    );
    assert!(out.stderr.contains(&format!("[{musl}] done in ")), "{out}");
    let sums = std::fs::read_to_string(dist_dir.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("tool-0.2.0-x86_64-unknown-linux-musl.tar.gz"), "{sums}");
    assert!(!sums.contains("apple"), "{sums}");
    // --json prints the manifest, failures included.
    let json = out.json();
    assert_eq!(json, read_manifest(&dist_dir));
    assert_eq!(json["artifacts"][0]["target_triples"][0], musl);
    assert_eq!(json["failed"].as_array().unwrap().len(), 1, "{json:#}");
    assert_eq!(failed(&json, mac)["log"], logs.join("rust-lld.log").to_str().unwrap());
    let report = std::fs::read_to_string(dist_dir.join("REPORT.md")).unwrap();
    assert!(
        report.contains(&format!("| {musl} | [tool-0.2.0-{musl}.tar.gz]")),
        "{report}"
    );
    assert!(report.contains(&format!("| {mac} | failed |")), "{report}");

    // verify checks what is there; merge of that dist names the failed target and why.
    expect_ok(&ws.xtask(["verify"]).run());
    let merged = ws.path("merged");
    let merge = ws
        .xtask(["merge", dist_dir.to_str().unwrap(), "--out", merged.to_str().unwrap()])
        .run();
    expect_exit(
        &merge,
        1,
        &format!("has no archive for {mac}: failed in that `dist --partial` run (cargo failed to build {mac}"),
    );
    let merge = ws
        .xtask([
            "merge",
            "--target",
            musl,
            dist_dir.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ])
        .run();
    expect_ok(&merge);
    assert!(read_manifest(&merged).get("failed").is_none());
}
