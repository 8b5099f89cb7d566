//! Bad input, one case each: the exit code (2 for a usage or config mistake), a single
//! line on stderr naming the problem and the fix, no panic, and nothing in the output
//! directory. Every case runs the real xtask binary on a real fixture workspace.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    name: &'static str,
    /// `[workspace.metadata.dist]` body (None: no bin package at all).
    dist: &'static str,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
    code: i32,
    says: &'static str,
}

fn case(name: &'static str, dist: &'static str, args: &[&str], code: i32, says: &'static str) -> Case {
    Case {
        name,
        dist,
        args: args.iter().map(OsString::from).collect(),
        env: Vec::new(),
        code,
        says,
    }
}

/// A one-package workspace; `with_bin: false` leaves it a library only.
fn workspace(root: &Path, dist: &str, with_bin: bool) {
    std::fs::create_dir_all(root.join("tool/src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\n\n[workspace.metadata.dist]\n{dist}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("tool/Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    if with_bin {
        std::fs::write(root.join("tool/src/main.rs"), "fn main() {}\n").unwrap();
    } else {
        std::fs::write(root.join("tool/src/lib.rs"), "pub fn f() {}\n").unwrap();
    }
    std::fs::write(root.join("README.md"), "tool\n").unwrap();
}

fn run(case: &Case, root: &Path, cache: &Path) {
    let out_dir = root.join("dist");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(&case.args)
        .current_dir(root)
        .env("DIST_TOOLS_DIR", cache)
        .env_remove("DIST_ACCEPT_MSVC_LICENSE");
    for (key, value) in &case.env {
        cmd.env(key, value);
    }
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = case.name;
    assert_eq!(
        output.status.code(),
        Some(case.code),
        "{name}: wrong exit code; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{name}: panicked:\n{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: not one line:\n{stderr}");
    assert!(
        stderr.contains(case.says),
        "{name}: expected `{}` in:\n{stderr}",
        case.says
    );
    assert!(
        !out_dir.exists() || std::fs::read_dir(&out_dir).unwrap().next().is_none() || out_dir.is_file(),
        "{name}: wrote to dist/"
    );
}

#[test]
fn each_mistake_exits_2_with_one_line_and_writes_nothing() {
    let musl = "targets = [\"x86_64-unknown-linux-musl\"]";
    let mut cases = vec![
        case(
            "typo'd triple",
            musl,
            &["dist", "--target", "x86_64-unknown-linux-muls"],
            2,
            "did you mean `x86_64-unknown-linux-musl`?",
        ),
        case(
            "unknown triple",
            musl,
            &["dist", "--target", "sparc-acme-plan9"],
            2,
            "`rustc --print target-list` lists the known ones",
        ),
        case(
            "empty triple",
            musl,
            &["plan", "--target", ""],
            2,
            "unknown target triple ``",
        ),
        case(
            "unknown config key",
            "tragets = []",
            &["plan"],
            2,
            "unknown field `tragets`",
        ),
        case(
            "wrong type in config",
            "targets = \"x86_64-unknown-linux-musl\"",
            &["plan"],
            2,
            "invalid type: string",
        ),
        case("empty matrix", "targets = []", &["dist"], 2, "`targets` is empty"),
        case(
            "bins entry that does not exist",
            "bins = [\"tol\"]",
            &["dist"],
            2,
            "`bins` names `tol`, which is not a bin target",
        ),
        case("empty bins", "bins = []", &["plan"], 2, "`bins` is empty"),
        case(
            "include file missing",
            "include = [\"CHANGES.md\"]",
            &["dist"],
            2,
            "`include` names CHANGES.md",
        ),
        case(
            "unknown route",
            "[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nroute = \"gcc\"",
            &["plan"],
            2,
            "unknown variant `gcc`",
        ),
        case(
            "per-target table for a typo'd triple",
            "[workspace.metadata.dist.target.x86_64-unknown-linux-mus]\nroute = \"zig\"",
            &["plan"],
            2,
            "did you mean `x86_64-unknown-linux-musl`?",
        ),
        case(
            "manifest path that is not a file",
            musl,
            &["plan", "--manifest-path", "/nonexistent/Cargo.toml"],
            2,
            "is not a file",
        ),
        case(
            "manifest path that is not a workspace",
            musl,
            &["plan", "--manifest-path", "README.md"],
            2,
            "cannot read the workspace",
        ),
        case(
            "output directory is a file",
            musl,
            &["dist", "--out", "README.md"],
            2,
            "is a file: remove it or pass --out DIR",
        ),
        case(
            "output directory cannot be created",
            musl,
            &["dist", "--out", "/proc/no/such/dir"],
            2,
            "cannot create the output directory",
        ),
        case(
            "missing linker with provisioning off",
            "targets = [\"aarch64-apple-darwin\"]",
            &["dist", "--no-provision"],
            2,
            "provisioning is off",
        ),
        case(
            "MSVC without the licence accepted",
            "targets = [\"x86_64-pc-windows-msvc\"]",
            &["dist"],
            2,
            "accept it with --accept-msvc-license",
        ),
        case(
            "unknown flag",
            musl,
            &["dist", "--tagret", "x"],
            2,
            "unexpected argument '--tagret'",
        ),
        case(
            "unknown command",
            musl,
            &["deploy"],
            2,
            "unrecognized subcommand 'deploy'",
        ),
    ];
    let mut epoch = case(
        "SOURCE_DATE_EPOCH not a number",
        musl,
        &["dist"],
        2,
        "SOURCE_DATE_EPOCH is `yesterday`",
    );
    epoch.env.push(("SOURCE_DATE_EPOCH", "yesterday".into()));
    cases.push(epoch);
    let mut no_provision_env = case(
        "provisioning off by environment",
        "targets = [\"x86_64-apple-darwin\"]",
        &["dist"],
        2,
        "provisioning is off",
    );
    no_provision_env.env.push(("DIST_NO_PROVISION", "1".into()));
    cases.push(no_provision_env);
    cases.push(case(
        "undefined profile",
        musl,
        &["dist", "--profile", "shipping"],
        2,
        "the profile `shipping` is not defined",
    ));

    let cache = tempfile::tempdir().unwrap();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        workspace(dir.path(), case.dist, true);
        run(case, dir.path(), cache.path());
    }
    assert!(cases.len() >= 20);
}

#[test]
fn a_workspace_without_a_bin_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path(), "", false);
    let cache = tempfile::tempdir().unwrap();
    run(
        &case("no bin target", "", &["dist"], 2, "has no bin target to ship"),
        dir.path(),
        cache.path(),
    );
}

#[test]
fn a_non_utf8_workspace_path_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let root: PathBuf = parent.path().join(OsString::from_vec(b"ws-\xfe".to_vec()));
    workspace(&root, "targets = [\"x86_64-unknown-linux-musl\"]", true);
    let cache = tempfile::tempdir().unwrap();
    // cargo itself may refuse the path first; either way it is one clear line and exit 2.
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--dry-run"])
        .current_dir(&root)
        .env("DIST_TOOLS_DIR", cache.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("UTF-8") || stderr.contains("utf-8") || stderr.contains("cannot read the workspace"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
