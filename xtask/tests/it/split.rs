//! The split build CI runs: each target's `dist --partial` in its own directory with its own
//! target dir (as on separate machines), then `merge`, compared byte for byte with one
//! `dist` of both targets — archives named by an `archive-name` template, with completions
//! and a man page, which the aarch64 part (whose binary does not run here) makes with a
//! host build. Also `ci` / `ci --check` on a fixture and on this repository.

use crate::harness::{
    expect_exit, expect_ok, expect_report, read_manifest, release_files, repo_root, repo_target_dir, tar_gz_entries,
    Run, Workspace,
};
use std::path::{Path, PathBuf};

// Both build from Linux without downloading tools: the host cc and rust-lld.
const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

/// The fixture's `tool`: prints its completions, man page or version.
const MAIN: &str = r##"fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--completions") => println!("# {} completions for tool", args[1]),
        Some("--man") => println!(".TH TOOL 1"),
        _ => println!("tool {}", env!("CARGO_PKG_VERSION")),
    }
}
"##;

/// A pure-Rust workspace whose config lists exactly the two targets, at `root`.
fn fixture(root: &Path) -> Workspace {
    let config = format!(
        r#"[workspace.metadata.dist]
targets = ["{}", "{}"]
archive-name = "{{bin}}-v{{version}}-{{target}}"
completions = ["{{bin}}", "--completions", "{{shell}}"]
man = ["{{bin}}", "--man"]

[profile.dist]
inherits = "release"
strip = true
panic = "abort"
"#,
        TARGETS[0], TARGETS[1]
    );
    let ws = Workspace::tool_at(root, "0.3.0", &config);
    ws.write("tool/src/main.rs", MAIN);
    ws.lock();
    ws
}

/// The xtask on the fixture with its own target dir and a fixed SOURCE_DATE_EPOCH.
fn xtask(ws: &Workspace, target_dir: &Path, args: &[&str]) -> Run {
    ws.xtask(args)
        .target_dir(target_dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .run()
}

#[test]
fn merged_parts_are_byte_identical_to_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture(&tmp.path().join("ws"));
    let s = |p: PathBuf| p.to_str().unwrap().to_string();

    // One machine, both targets.
    let whole = tmp.path().join("whole");
    expect_ok(&xtask(
        &ws,
        &tmp.path().join("target-whole"),
        &["dist", "--out", &s(whole.clone())],
    ));

    // One job per target, as the workflow runs them.
    let parts = tmp.path().join("dist-parts");
    let mut part_runs = Vec::new();
    for (i, target) in TARGETS.iter().enumerate() {
        let part = s(parts.join(target));
        let run = xtask(
            &ws,
            &tmp.path().join(format!("target-{i}")),
            &["dist", "--target", target, "--partial", &part],
        );
        expect_ok(&run);
        part_runs.push(run);
    }
    for target in TARGETS {
        let part = read_manifest(&parts.join(target));
        let triples: Vec<&str> = part["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["target_triples"][0].as_str().unwrap())
            .collect();
        assert_eq!(triples, [target], "a part's manifest covers its own target only");
    }
    // The parts are given in the reverse order: the merge orders by the config.
    let merged = tmp.path().join("merged");
    let merge = xtask(
        &ws,
        &tmp.path().join("target-0"),
        &[
            "merge",
            &s(parts.join(TARGETS[1])),
            &s(parts.join(TARGETS[0])),
            "--out",
            &s(merged.clone()),
        ],
    );
    let stdout = expect_ok(&merge);
    assert!(
        TARGETS.iter().all(|t| stdout.contains(t)),
        "the merge reports every target:\n{stdout}"
    );

    let (whole_files, merged_files) = (release_files(&whole), release_files(&merged));
    let names: Vec<&str> = merged_files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "REPORT.md",
            "SHA256SUMS",
            "install.sh",
            "manifest.json",
            "tool-v0.3.0-aarch64-unknown-linux-musl.cdx.json",
            "tool-v0.3.0-aarch64-unknown-linux-musl.tar.gz",
            "tool-v0.3.0-aarch64-unknown-linux-musl.tar.gz.sha256",
            "tool-v0.3.0-x86_64-unknown-linux-musl.cdx.json",
            "tool-v0.3.0-x86_64-unknown-linux-musl.tar.gz",
            "tool-v0.3.0-x86_64-unknown-linux-musl.tar.gz.sha256",
        ]
    );
    for ((name, a), (_, b)) in whole_files.iter().zip(&merged_files) {
        assert!(a == b, "{name} differs between the single run and the merge");
    }
    assert_eq!(whole_files.len(), merged_files.len());
    // The aarch64 part made its completions and man page with a host build, and says so.
    let aarch64 = "tool-v0.3.0-aarch64-unknown-linux-musl";
    let generated: Vec<(String, Vec<u8>)> = tar_gz_entries(&merged.join(format!("{aarch64}.tar.gz")))
        .into_iter()
        .filter(|e| !e.bytes.is_empty() && (e.name.contains("/complete/") || e.name.contains("/doc/")))
        .map(|e| (e.name, e.bytes))
        .collect();
    let names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "complete/_tool",
            "complete/tool.bash",
            "complete/tool.fish",
            "doc/tool.1"
        ]
        .map(|f| format!("{aarch64}/{f}"))
    );
    assert_eq!(generated[1].1, b"# bash completions for tool\n");
    assert!(
        part_runs[1]
            .stderr
            .contains("x86_64-unknown-linux-gnu (host)] building for this host"),
        "{}",
        part_runs[1]
    );
    // verify reads the merged directory by its manifest's (templated) names.
    expect_ok(&xtask(
        &ws,
        &tmp.path().join("target-0"),
        &["verify", "--out", &s(merged.clone())],
    ));
}

/// A part whose binary cannot run here, with a host build that fails: the run fails and
/// says why, instead of packing an archive without its completions and man page.
#[test]
fn a_part_without_a_binary_that_runs_here_fails_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture(&tmp.path().join("ws"));
    // The host's own glibc build fails; the musl targets build.
    ws.write(
        "tool/src/main.rs",
        &format!("#[cfg(target_env = \"gnu\")]\ncompile_error!(\"this tool ships for musl only\");\n{MAIN}"),
    );
    let part = tmp.path().join("part");
    let run = xtask(
        &ws,
        &tmp.path().join("target"),
        &["dist", "--target", TARGETS[1], "--partial", part.to_str().unwrap()],
    );
    let why = "no binary that runs here made the completions and man pages: the host build for x86_64-unknown-linux-gnu failed (log ";
    expect_exit(&run, 1, why);
    expect_exit(
        &run,
        1,
        "generate.log): cargo failed to build x86_64-unknown-linux-gnu (exit 101)",
    );
    expect_exit(&run, 1, "this tool ships for musl only");
    // The target itself is not built: its archive could not be complete.
    assert!(!run.stderr.contains(&format!("[{}] building", TARGETS[1])), "{run}");
    assert!(!tmp.path().join("target").join(TARGETS[1]).exists(), "{run}");
    let manifest = read_manifest(&part);
    assert_eq!(manifest["artifacts"], serde_json::json!([]));
    assert_eq!(manifest["failed"][0]["target"], TARGETS[1]);
    assert!(
        manifest["failed"][0]["reason"].as_str().unwrap().contains(why),
        "{manifest:#}"
    );
}

#[test]
fn a_tampered_part_or_a_duplicate_fails_the_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture(&tmp.path().join("ws"));
    let target_dir = tmp.path().join("target");
    let part = tmp.path().join("part");
    expect_ok(&xtask(
        &ws,
        &target_dir,
        &["dist", "--target", TARGETS[0], "--partial", part.to_str().unwrap()],
    ));

    let merge = |parts: &[&Path]| {
        let mut args = vec!["merge", "--target", TARGETS[0], "--out"];
        let out_dir = tmp.path().join("out");
        args.push(out_dir.to_str().unwrap());
        let parts: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
        args.extend(parts);
        xtask(&ws, &target_dir, &args)
    };
    expect_ok(&merge(&[&part]));

    expect_exit(&merge(&[&part, &part]), 1, "is in two parts");

    // Without --target the config's second target is missing.
    let partial = xtask(
        &ws,
        &target_dir,
        &[
            "merge",
            part.to_str().unwrap(),
            "--out",
            tmp.path().join("o2").to_str().unwrap(),
        ],
    );
    expect_exit(&partial, 1, &format!("no part holds {}", TARGETS[1]));

    let archive = part.join(format!("tool-v0.3.0-{}.tar.gz", TARGETS[0]));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&archive, bytes).unwrap();
    expect_exit(&merge(&[&part]), 1, "altered after it was built");

    expect_exit(
        &merge(&[&tmp.path().join("no-such-part")]),
        2,
        "no-such-part is not a directory: pass the directories that `cargo xtask dist --partial DIR` wrote",
    );
}

#[test]
fn ci_writes_the_workflow_and_check_catches_a_stale_one() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture(tmp.path());
    let target_dir = tmp.path().join("target");
    // No workflow yet fails the check.
    expect_exit(
        &xtask(&ws, &target_dir, &["ci", "--check"]),
        1,
        "does not exist: run `cargo xtask ci`",
    );

    expect_report(&xtask(&ws, &target_dir, &["ci"]), 0, "wrote");
    let path = tmp.path().join(".github/workflows/release.yml");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("qemu-user") && !written.contains("sccache") && !written.contains("MSVC"),
        "{written}"
    );
    expect_ok(&xtask(&ws, &target_dir, &["ci", "--check"]));

    // Turning sccache on in the config makes the committed file stale, and the check says where.
    let config = std::fs::read_to_string(ws.manifest()).unwrap().replace(
        "[workspace.metadata.dist]\n",
        "[workspace.metadata.dist]\nsccache = true\n",
    );
    std::fs::write(ws.manifest(), config).unwrap();
    let stale = xtask(&ws, &target_dir, &["ci", "--check"]);
    expect_report(&stale, 1, " +      RUSTC_WRAPPER: sccache");
    expect_report(&stale, 1, " +      - name: Set up sccache");
    expect_exit(&stale, 1, "run `cargo xtask ci`");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        written,
        "--check writes nothing"
    );

    let matrix = xtask(&ws, &target_dir, &["plan", "--github-matrix"]);
    assert_eq!(
        expect_ok(&matrix),
        format!("{{\"include\":[{{\"target\":\"{}\",\"runner\":\"ubuntu-latest\"}},{{\"target\":\"{}\",\"runner\":\"ubuntu-latest\"}}]}}\n", TARGETS[0], TARGETS[1])
    );
}

#[test]
fn this_repositorys_workflow_is_current() {
    let ws = Workspace::at(repo_root());
    expect_ok(&xtask(&ws, &repo_target_dir(), &["ci", "--check"]));
}
