//! The split build CI runs: each target's `dist --partial` in its own directory with its own
//! target dir (as on separate machines), then `merge`, compared byte for byte with one
//! `dist` of both targets. Also `ci` / `ci --check` on a fixture and on this repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Both build from Linux without downloading tools: the host cc and rust-lld.
const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

/// A pure-Rust workspace whose config lists exactly the two targets.
fn fixture(root: &Path) -> PathBuf {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"{}\", \"{}\"]\n\n[profile.dist]\ninherits = \"release\"\nstrip = true\npanic = \"abort\"\n",
            TARGETS[0], TARGETS[1]
        ),
    );
    write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.3.0\"\nedition = \"2021\"\n",
    );
    write(
        "tool/src/main.rs",
        "fn main() {\n    println!(\"tool {}\", env!(\"CARGO_PKG_VERSION\"));\n}\n",
    );
    write("README.md", "tool\n");
    // `dist` builds with --locked.
    let lock = Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(lock.status.success(), "{}", String::from_utf8_lossy(&lock.stderr));
    root.join("Cargo.toml")
}

fn xtask(manifest: &Path, target_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("the xtask binary runs")
}

fn ok(output: &Output, what: &str) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{what} failed:\n{stderr}\n{stdout}");
    stdout.into_owned()
}

/// Every release file of a directory by name, with its bytes. Hidden files (a run's lock)
/// are not released: upload-artifact leaves them out of a part too.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn merged_parts_are_byte_identical_to_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let manifest = fixture(&ws);
    let s = |p: PathBuf| p.to_str().unwrap().to_string();

    // One machine, both targets.
    let whole = tmp.path().join("whole");
    ok(
        &xtask(
            &manifest,
            &tmp.path().join("target-whole"),
            &["dist", "--out", &s(whole.clone())],
        ),
        "dist",
    );

    // One job per target, as the workflow runs them.
    let parts = tmp.path().join("dist-parts");
    for (i, target) in TARGETS.iter().enumerate() {
        let part = s(parts.join(target));
        let out = xtask(
            &manifest,
            &tmp.path().join(format!("target-{i}")),
            &["dist", "--target", target, "--partial", &part],
        );
        ok(&out, &format!("dist --partial for {target}"));
    }
    for target in TARGETS {
        let part: serde_json::Value =
            serde_json::from_slice(&std::fs::read(parts.join(target).join("manifest.json")).unwrap()).unwrap();
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
    let stdout = ok(
        &xtask(
            &manifest,
            &tmp.path().join("target-0"),
            &[
                "merge",
                &s(parts.join(TARGETS[1])),
                &s(parts.join(TARGETS[0])),
                "--out",
                &s(merged.clone()),
            ],
        ),
        "merge",
    );
    assert!(
        TARGETS.iter().all(|t| stdout.contains(t)),
        "the merge reports every target:\n{stdout}"
    );

    let (whole, merged) = (files(&whole), files(&merged));
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
    let ws = tmp.path().join("ws");
    let manifest = fixture(&ws);
    let target_dir = tmp.path().join("target");
    let part = tmp.path().join("part");
    let out = xtask(
        &manifest,
        &target_dir,
        &["dist", "--target", TARGETS[0], "--partial", part.to_str().unwrap()],
    );
    ok(&out, "dist --partial");

    let merge = |parts: &[&Path]| {
        let mut args = vec!["merge", "--target", TARGETS[0], "--out"];
        let out_dir = tmp.path().join("out");
        args.push(out_dir.to_str().unwrap());
        let parts: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
        args.extend(parts);
        xtask(&manifest, &target_dir, &args)
    };
    ok(&merge(&[&part]), "merge of one good part");

    let twice = merge(&[&part, &part]);
    assert_eq!(
        twice.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    assert!(String::from_utf8_lossy(&twice.stderr).contains("is in two parts"));

    // Without --target the config's second target is missing.
    let partial = xtask(
        &manifest,
        &target_dir,
        &[
            "merge",
            part.to_str().unwrap(),
            "--out",
            tmp.path().join("o2").to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&partial.stderr).contains(&format!("no part holds {}", TARGETS[1])));

    let archive = part.join(format!("tool-0.3.0-{}.tar.gz", TARGETS[0]));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&archive, bytes).unwrap();
    let tampered = merge(&[&part]);
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert_eq!(tampered.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("altered after it was built"), "{stderr}");

    let usage = merge(&[&tmp.path().join("no-such-part")]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn ci_writes_the_workflow_and_check_catches_a_stale_one() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = fixture(tmp.path());
    let target_dir = tmp.path().join("target");
    let missing = xtask(&manifest, &target_dir, &["ci", "--check"]);
    assert_eq!(missing.status.code(), Some(1), "no workflow yet fails the check");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist: run `cargo xtask ci`"));

    let stdout = ok(&xtask(&manifest, &target_dir, &["ci"]), "ci");
    assert!(stdout.contains("wrote"), "{stdout}");
    let path = tmp.path().join(".github/workflows/release.yml");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("qemu-user") && !written.contains("sccache") && !written.contains("MSVC"),
        "{written}"
    );
    ok(&xtask(&manifest, &target_dir, &["ci", "--check"]), "ci --check");

    // Turning sccache on in the config makes the committed file stale, and the check says where.
    let config = std::fs::read_to_string(&manifest).unwrap().replace(
        "[workspace.metadata.dist]\n",
        "[workspace.metadata.dist]\nsccache = true\n",
    );
    std::fs::write(&manifest, config).unwrap();
    let stale = xtask(&manifest, &target_dir, &["ci", "--check"]);
    let stdout = String::from_utf8_lossy(&stale.stdout);
    assert_eq!(stale.status.code(), Some(1));
    assert!(stdout.contains(" +      RUSTC_WRAPPER: sccache"), "{stdout}");
    assert!(stdout.contains(" +      - name: Set up sccache"), "{stdout}");
    assert!(String::from_utf8_lossy(&stale.stderr).contains("run `cargo xtask ci`"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        written,
        "--check writes nothing"
    );

    let matrix = ok(
        &xtask(&manifest, &target_dir, &["plan", "--github-matrix"]),
        "plan --github-matrix",
    );
    assert_eq!(
        matrix,
        format!("{{\"include\":[{{\"target\":\"{}\",\"runner\":\"ubuntu-latest\"}},{{\"target\":\"{}\",\"runner\":\"ubuntu-latest\"}}]}}\n", TARGETS[0], TARGETS[1])
    );
}

#[test]
fn this_repositorys_workflow_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    ok(
        &xtask(
            &root.join("Cargo.toml"),
            &root.join("target/xtask-tests"),
            &["ci", "--check"],
        ),
        "ci --check on this repository",
    );
}
