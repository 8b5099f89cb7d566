//! Bad input, one case each: the exit code (2 for a usage or config mistake), a single
//! line on stderr naming the problem and the fix, no panic, and nothing in the output
//! directory. Every case runs the real xtask binary on a real fixture workspace.

use crate::harness::{expect_usage_error, xtask, Workspace};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

struct Case {
    name: &'static str,
    /// `[workspace.metadata.dist]` body.
    dist: &'static str,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
    /// What the one line on stderr says; the exit code is 2.
    says: &'static str,
}

fn case(name: &'static str, dist: &'static str, args: &[&str], says: &'static str) -> Case {
    Case {
        name,
        dist,
        args: args.iter().map(OsString::from).collect(),
        env: Vec::new(),
        says,
    }
}

/// A one-package workspace at `root` with a `dist` profile; `with_bin: false` leaves it a
/// library only.
fn workspace(ws: &Workspace, dist: &str, with_bin: bool) {
    ws.write_tool(
        "0.1.0",
        &format!("[profile.dist]\ninherits = \"release\"\n\n[workspace.metadata.dist]\n{dist}"),
    );
    if !with_bin {
        ws.remove("tool/src/main.rs")
            .write("tool/src/lib.rs", "pub fn f() {}\n");
    }
}

/// Runs the case in `root` (no --manifest-path: the workspace is found from the working
/// directory) with an empty tool cache.
fn run(case: &Case, root: &Path, cache: &Path) {
    let out_dir = root.join("dist");
    let mut xtask = xtask(&case.args)
        .cwd(root)
        .env("DIST_TOOLS_DIR", cache)
        .env_remove("DIST_ACCEPT_MSVC_LICENSE");
    for (key, value) in &case.env {
        xtask = xtask.env(key, value);
    }
    // Shown above the assertion's message when a case fails.
    eprintln!("case: {}", case.name);
    let before = tree(root);
    let output = xtask.run();
    expect_usage_error(&output, case.says);
    let name = case.name;
    // Nothing new anywhere in the workspace (dist/, an --out directory, target/, logs),
    // except the lock file `cargo metadata` writes for a workspace without one; and nothing
    // in the tool cache.
    let written: Vec<String> = tree(root)
        .into_iter()
        .filter(|p| !before.contains(p) && p != "Cargo.lock")
        .collect();
    assert!(written.is_empty(), "{name}: wrote {written:?}");
    assert_eq!(tree(cache), Vec::<String>::new(), "{name}: wrote to the tool cache");
    assert!(
        !out_dir.exists() || out_dir.is_file() || std::fs::read_dir(&out_dir).unwrap().next().is_none(),
        "{name}: wrote to dist/"
    );
}

/// Every path under `dir`, relative to it, sorted (directories included).
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn each_mistake_exits_2_with_one_line_and_writes_nothing() {
    let musl = "targets = [\"x86_64-unknown-linux-musl\"]";
    let mut cases = vec![
        case(
            "typo'd triple",
            musl,
            &["dist", "--target", "x86_64-unknown-linux-muls"],
            "did you mean `x86_64-unknown-linux-musl`?",
        ),
        case(
            "unknown triple",
            musl,
            &["dist", "--target", "sparc-acme-plan9"],
            "`rustc --print target-list` lists the known ones",
        ),
        case(
            "empty triple",
            musl,
            &["plan", "--target", ""],
            "unknown target triple ``",
        ),
        case(
            "unknown config key",
            "tragets = []",
            &["plan"],
            "unknown field `tragets`",
        ),
        case(
            "wrong type in config",
            "targets = \"x86_64-unknown-linux-musl\"",
            &["plan"],
            "invalid type: string",
        ),
        case("empty matrix", "targets = []", &["dist"], "`targets` is empty"),
        case(
            "unknown archive-name placeholder",
            "targets = [\"x86_64-unknown-linux-musl\"]\narchive-name = \"{bin}-{ver}-{target}\"",
            &["dist"],
            "has `{ver}`, which is not a placeholder: use {name}, {bin}, {version}, {target}",
        ),
        case(
            "archive-name that is a path",
            "targets = [\"x86_64-unknown-linux-musl\"]\narchive-name = \"../{target}\"",
            &["dist"],
            "gives x86_64-unknown-linux-musl the name `../x86_64-unknown-linux-musl.tar.gz`, not a safe file name",
        ),
        case(
            "bins entry that does not exist",
            "bins = [\"tol\"]",
            &["dist"],
            "`bins` names `tol`, which is not a bin target",
        ),
        case("empty bins", "bins = []", &["plan"], "`bins` is empty"),
        case(
            "include file missing",
            "include = [\"CHANGES.md\"]",
            &["dist"],
            "`include` names CHANGES.md",
        ),
        case(
            "unknown route",
            "[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nroute = \"gcc\"",
            &["plan"],
            "unknown variant `gcc`",
        ),
        case(
            "per-target table for a typo'd triple",
            "[workspace.metadata.dist.target.x86_64-unknown-linux-mus]\nroute = \"zig\"",
            &["plan"],
            "did you mean `x86_64-unknown-linux-musl`?",
        ),
        case(
            "manifest path that is not a file",
            musl,
            &["plan", "--manifest-path", "/nonexistent/Cargo.toml"],
            "is not a file",
        ),
        case(
            "manifest path that is not a workspace",
            musl,
            &["plan", "--manifest-path", "README.md"],
            "cannot read the workspace",
        ),
        case(
            "output directory is a file",
            musl,
            &["dist", "--out", "README.md"],
            "is a file: remove it or pass --out DIR",
        ),
        case(
            "output directory cannot be created",
            musl,
            &["dist", "--out", "/proc/no/such/dir"],
            "cannot create the output directory",
        ),
        case(
            "missing linker with provisioning off",
            "targets = [\"aarch64-apple-darwin\"]",
            &["dist", "--no-provision"],
            "provisioning is off",
        ),
        case(
            "MSVC without the licence accepted",
            "targets = [\"x86_64-pc-windows-msvc\"]",
            &["dist"],
            "accept it with --accept-msvc-license",
        ),
        case(
            "unknown flag",
            musl,
            &["dist", "--tagret", "x"],
            "unexpected argument '--tagret'",
        ),
        case("unknown command", musl, &["deploy"], "unrecognized subcommand 'deploy'"),
    ];
    let mut epoch = case(
        "SOURCE_DATE_EPOCH not a number",
        musl,
        &["dist"],
        "SOURCE_DATE_EPOCH is `yesterday`",
    );
    epoch.env.push(("SOURCE_DATE_EPOCH", "yesterday".into()));
    cases.push(epoch);
    let mut no_provision_env = case(
        "provisioning off by environment",
        "targets = [\"x86_64-apple-darwin\"]",
        &["dist"],
        "provisioning is off",
    );
    no_provision_env.env.push(("DIST_NO_PROVISION", "1".into()));
    cases.push(no_provision_env);
    cases.push(case(
        "undefined profile",
        musl,
        &["dist", "--profile", "shipping"],
        "the profile `shipping` is not defined",
    ));

    let cache = tempfile::tempdir().unwrap();
    for case in &cases {
        let ws = Workspace::empty();
        workspace(&ws, case.dist, true);
        run(case, ws.root(), cache.path());
    }
    // docs/RELIABILITY.md's table: these 24 and the two tests below.
    assert_eq!(cases.len(), 24);
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "two cases with one name");
}

#[test]
fn a_workspace_without_a_bin_target_is_refused() {
    let ws = Workspace::empty();
    workspace(&ws, "", false);
    let cache = tempfile::tempdir().unwrap();
    run(
        &case("no bin target", "", &["dist"], "has no bin target to ship"),
        ws.root(),
        cache.path(),
    );
}

#[test]
fn a_non_utf8_workspace_path_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let ws = Workspace::at(&parent.path().join(OsString::from_vec(b"ws-\xfe".to_vec())));
    workspace(&ws, "targets = [\"x86_64-unknown-linux-musl\"]", true);
    let cache = tempfile::tempdir().unwrap();
    let output = xtask(["dist", "--dry-run"])
        .cwd(ws.root())
        .env("DIST_TOOLS_DIR", cache.path())
        .run();
    // cargo refuses the path before the xtask's own UTF-8 check can: `cargo metadata` fails.
    expect_usage_error(&output, "cannot read the workspace");
    assert!(
        output.stderr.contains("path contains invalid UTF-8 characters"),
        "not the UTF-8 refusal:\n{output}"
    );
}
