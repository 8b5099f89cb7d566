//! The split build CI runs: each target's `dist --partial` in its own directory with its own
//! target dir (as on separate machines), then `merge`, compared byte for byte with one
//! `dist` of both targets. Also `ci` / `ci --check` on a fixture and on this repository.

use crate::harness::{
    expect_exit, expect_ok, expect_report, read_manifest, release_files, repo_root, repo_target_dir, Run, Workspace,
};
use std::path::{Path, PathBuf};

// Both build from Linux without downloading tools: the host cc and rust-lld.
const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

/// A pure-Rust workspace whose config lists exactly the two targets, at `root`.
fn fixture(root: &Path) -> Workspace {
    let config = format!(
        "[workspace.metadata.dist]\ntargets = [\"{}\", \"{}\"]\n\n[profile.dist]\ninherits = \"release\"\nstrip = true\npanic = \"abort\"\n",
        TARGETS[0], TARGETS[1]
    );
    let ws = Workspace::tool_at(root, "0.3.0", &config);
    ws.write(
        "tool/src/main.rs",
        "fn main() {\n    println!(\"tool {}\", env!(\"CARGO_PKG_VERSION\"));\n}\n",
    );
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
    for (i, target) in TARGETS.iter().enumerate() {
        let part = s(parts.join(target));
        expect_ok(&xtask(
            &ws,
            &tmp.path().join(format!("target-{i}")),
            &["dist", "--target", target, "--partial", &part],
        ));
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

    let (whole, merged) = (release_files(&whole), release_files(&merged));
    let names: Vec<&str> = merged.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "REPORT.md",
            "SHA256SUMS",
            "manifest.json",
            "tool-0.3.0-aarch64-unknown-linux-musl.tar.gz",
            "tool-0.3.0-aarch64-unknown-linux-musl.tar.gz.sha256",
            "tool-0.3.0-x86_64-unknown-linux-musl.tar.gz",
            "tool-0.3.0-x86_64-unknown-linux-musl.tar.gz.sha256",
        ]
    );
    for ((name, a), (_, b)) in whole.iter().zip(&merged) {
        assert!(a == b, "{name} differs between the single run and the merge");
    }
    assert_eq!(whole.len(), merged.len());
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

    let archive = part.join(format!("tool-0.3.0-{}.tar.gz", TARGETS[0]));
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
