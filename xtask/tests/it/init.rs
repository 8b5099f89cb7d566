//! `xtask init` on copies of the three project shapes made in temp dirs (diff without
//! writing, the files it writes, cargo accepting the result, idempotence, refusals), and end
//! to end on a real crates.io CLI: init, then that project's own `cargo xtask dist`,
//! `verify`, `plan` and `doctor`.

use crate::harness::{self, repo_root, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Run {
    harness::xtask(args).run()
}

fn text(output: impl AsRef<[u8]>) -> String {
    String::from_utf8_lossy(output.as_ref()).into_owned()
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Every file under `root` with its bytes (target/ aside).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "target" {
                    dirs.push(path);
                }
            } else {
                files.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

const SINGLE: &str = "# The tool.\n[package]\nname = \"tool\"\nversion = \"0.2.0\"   # bumped by hand\nedition = \"2021\"\n\n[dependencies]\n# none yet\n";

const ROOT_PACKAGE: &str = "[package]\nname = \"tool\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[workspace]\nmembers = [\"helper\"]   # the library\n\n# Ours, kept as is.\n[profile.dist]\ninherits = \"release\"\ndebug = 1\n";

const VIRTUAL: &str = "[workspace]\nresolver = \"2\"\nmembers = [\n    \"tool\",\n    \"helper\",\n]\n\n[workspace.package]\nversion = \"0.2.0\"\n";

/// The three shapes: (name, files, the root Cargo.toml).
fn shapes() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let main = "fn main() {\n    println!(\"tool\");\n}\n";
    let helper = "[package]\nname = \"helper\"\nversion = \"0.2.0\"\nedition = \"2021\"\n";
    vec![
        ("single package", vec![("Cargo.toml", SINGLE), ("src/main.rs", main)]),
        (
            "workspace with a root package",
            vec![
                ("Cargo.toml", ROOT_PACKAGE),
                ("src/main.rs", main),
                ("helper/Cargo.toml", helper),
                ("helper/src/lib.rs", ""),
                (".gitignore", "/target\n/dist\n"),
                (".cargo/config.toml", "# Local settings.\n[build]\njobs = 2\n"),
            ],
        ),
        (
            "virtual workspace",
            vec![
                ("Cargo.toml", VIRTUAL),
                (
                    "tool/Cargo.toml",
                    "[package]\nname = \"tool\"\nversion.workspace = true\nedition = \"2021\"\n",
                ),
                ("tool/src/main.rs", main),
                ("helper/Cargo.toml", helper),
                ("helper/src/lib.rs", ""),
                (".gitignore", "/target"),
            ],
        ),
    ]
}

/// `cargo metadata --no-deps` of the project: cargo accepts what init wrote.
fn metadata(root: &Path) -> serde_json::Value {
    let out = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo rejects the project:\n{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn init_gives_each_project_shape_an_xtask_and_a_second_run_changes_nothing() {
    let repo = repo_root().to_path_buf();
    for (shape, files) in shapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, &files);
        let before = snapshot(root);
        let root_arg = root.to_str().unwrap();

        // --dry-run: the diff of every file, nothing written.
        let dry = xtask(&["init", root_arg, "--dry-run", "--path", repo.to_str().unwrap()]);
        let stdout = text(&dry.stdout);
        assert!(dry.status.success(), "{shape}: {}", text(&dry.stderr));
        for header in [
            "--- a/Cargo.toml\n+++ b/Cargo.toml\n",
            "--- /dev/null\n+++ b/xtask/Cargo.toml\n",
            "--- /dev/null\n+++ b/xtask/src/main.rs\n",
            "+[workspace.metadata.dist]\n",
            "+xtask = \"run --package xtask --\"\n",
        ] {
            assert!(stdout.contains(header), "{shape}: no `{header}` in the diff:\n{stdout}");
        }
        assert!(stdout.contains("nothing written (--dry-run)"), "{shape}: {stdout}");
        assert_eq!(snapshot(root), before, "{shape}: --dry-run wrote something");

        let run = xtask(&["init", root_arg, "--path", repo.to_str().unwrap()]);
        assert!(run.status.success(), "{shape}: {}", text(&run.stderr));
        let after = snapshot(root);
        let manifest = String::from_utf8(after[Path::new("Cargo.toml")].clone()).unwrap();
        let original = files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        match shape {
            // Everything the user wrote stays, byte for byte; the new tables follow it.
            "single package" => {
                assert!(manifest.starts_with(original), "{manifest}");
                assert!(
                    manifest.contains("\n[workspace]\nmembers = [\".\", \"xtask\"]\n"),
                    "{manifest}"
                );
                assert!(manifest.contains("\n[profile.dist]\ninherits = \"release\"\nlto = \"fat\"\n"));
            }
            "workspace with a root package" => {
                let expected = original.replace("[\"helper\"]", "[\"helper\", \"xtask\"]");
                assert!(manifest.starts_with(&expected), "{manifest}");
                assert_eq!(
                    manifest.matches("[profile.dist]").count(),
                    1,
                    "the user's profile is never replaced:\n{manifest}"
                );
                // The existing .gitignore already ignores /dist; the config gains the alias.
                assert_eq!(after[Path::new(".gitignore")], b"/target\n/dist\n");
                assert_eq!(
                    after[Path::new(".cargo/config.toml")],
                    b"# Local settings.\n[build]\njobs = 2\n\n# `cargo xtask <command>` builds and runs the xtask/ package.\n[alias]\nxtask = \"run --package xtask --\"\n"
                );
            }
            _ => {
                let expected = original.replace("    \"helper\",\n", "    \"helper\",\n    \"xtask\",\n");
                assert!(manifest.starts_with(&expected), "{manifest}");
                assert_eq!(
                    after[Path::new(".gitignore")],
                    b"/target\n# Release archives written by `cargo xtask dist`.\n/dist/\n"
                );
            }
        }
        assert!(manifest.contains("\n# accept-msvc-license = true\n"), "{manifest}");
        let xtask_manifest = String::from_utf8(after[Path::new("xtask/Cargo.toml")].clone()).unwrap();
        assert!(
            xtask_manifest.contains("release-orchestrator = { path = ") && xtask_manifest.contains("orchestrator\" }"),
            "{xtask_manifest}"
        );

        // Cargo reads the result: xtask is a member and the project is its own workspace root.
        let meta = metadata(root);
        let names: Vec<&str> = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"xtask") && names.contains(&"tool"),
            "{shape}: {names:?}"
        );
        assert_eq!(
            Path::new(meta["workspace_root"].as_str().unwrap()),
            root.canonicalize().unwrap()
        );
        let xtask_pkg = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "xtask")
            .unwrap();
        let dep = xtask_pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "release-orchestrator")
            .expect("xtask depends on the library");
        assert_eq!(
            Path::new(dep["path"].as_str().unwrap()),
            repo.join("orchestrator").canonicalize().unwrap(),
            "the path dependency resolves to this checkout's library"
        );

        // Idempotent: nothing to do, nothing written, also in JSON.
        let again = xtask(&["init", root_arg, "--path", repo.to_str().unwrap()]);
        assert!(again.status.success(), "{shape}: {}", text(&again.stderr));
        assert!(
            text(&again.stdout).starts_with("nothing to do:"),
            "{}",
            text(&again.stdout)
        );
        assert_eq!(snapshot(root), after, "{shape}: the second run changed files");
        let json = xtask(&["init", root_arg, "--json", "--dry-run"]);
        let json = json.json();
        assert_eq!(json["changes"], serde_json::json!([]), "{shape}");
    }
}

#[test]
fn json_dry_run_lists_each_change_with_its_diff_and_git_source() {
    let dir = tempfile::tempdir().unwrap();
    let (_, files) = shapes().remove(0);
    write(dir.path(), &files);
    let out = xtask(&[
        "init",
        dir.path().to_str().unwrap(),
        "--dry-run",
        "--json",
        "--git",
        "https://example.invalid/release-orchestrator.git",
        "--rev",
        "v0.1.0",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = out.json();
    assert_eq!(report["shape"], "single-package");
    assert_eq!(report["dry_run"], true);
    let changes = report["changes"].as_array().unwrap();
    let paths: Vec<&str> = changes.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "xtask/src/main.rs",
            "xtask/Cargo.toml",
            ".cargo/config.toml",
            ".gitignore",
            "Cargo.toml"
        ]
    );
    let xtask_toml = &changes[1];
    assert_eq!(xtask_toml["action"], "create");
    assert!(
        xtask_toml["diff"].as_str().unwrap().contains(
            "+release-orchestrator = { git = \"https://example.invalid/release-orchestrator.git\", rev = \"v0.1.0\" }\n"
        ),
        "{xtask_toml}"
    );
    assert_eq!(changes[4]["action"], "change");
    assert!(!dir.path().join("xtask").exists());
}

#[test]
fn conflicts_are_refused_with_exit_2_one_line_and_nothing_written() {
    let main = ("src/main.rs", "fn main() {}\n");
    let package = ("Cargo.toml", SINGLE);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                package,
                main,
                ("xtask/Cargo.toml", "[package]\nname = \"tasks\"\nversion = \"0.1.0\"\n"),
            ],
            "is not an xtask built on release-orchestrator: move it aside",
        ),
        (
            vec![
                package,
                main,
                (
                    ".cargo/config.toml",
                    "[alias]\nxtask = \"run --manifest-path tools/Cargo.toml --\"\n",
                ),
            ],
            "its `xtask` alias runs `run --manifest-path tools/Cargo.toml --`",
        ),
        (
            vec![
                ("Cargo.toml", "[workspace]\nmembers = [\"xtask\", \"tool\"]\n"),
                ("tool/Cargo.toml", "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n"),
                ("tool/src/main.rs", "fn main() {}\n"),
                ("xtask/Cargo.toml", "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\n"),
                ("xtask/src/main.rs", "fn main() {}\n"),
            ],
            "already has an xtask package",
        ),
        (
            vec![
                ("Cargo.toml", "[package]\nname = \"lib-only\"\nversion = \"0.1.0\"\n"),
                ("src/lib.rs", ""),
            ],
            "has no bin target to ship",
        ),
        (
            vec![
                ("Cargo.toml", "[workspace]\nmembers = [\"tool\"]\n"),
                ("tool/Cargo.toml", "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n"),
                ("tool/src/main.rs", "fn main() {}\n"),
            ],
            "is a member of the workspace at",
        ),
        (vec![("README.md", "no manifest\n")], "is not a Cargo project"),
    ];
    for (files, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &files);
        // The member case points init at the member, not at the workspace.
        let target = if expected.contains("member of") {
            dir.path().join("tool")
        } else {
            dir.path().to_path_buf()
        };
        let before = snapshot(dir.path());
        let out = xtask(&[
            "init",
            target.to_str().unwrap(),
            "--path",
            repo_root().to_str().unwrap(),
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "not one line:\n{stderr}");
        assert!(stderr.contains(expected), "expected `{expected}`:\n{stderr}");
        assert_eq!(snapshot(dir.path()), before, "{expected}: a refused init wrote files");
    }
    // --path must be the library.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[package, main]);
    let out = xtask(&[
        "init",
        dir.path().to_str().unwrap(),
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not the release-orchestrator library"));
}

/// Downloads a crate's published `.crate` archive the way cargo does (into its registry
/// cache) and returns its path: a throwaway package depending on exactly that version,
/// then `cargo fetch`.
fn fetch_crate(work: &Path, name: &str, version: &str) -> PathBuf {
    write(
        work,
        &[
            (
                "fetch/Cargo.toml",
                &format!(
                    "[package]\nname = \"fetch-{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{name} = \"={version}\"\n\n[workspace]\n"
                ),
            ),
            ("fetch/src/lib.rs", ""),
        ],
    );
    let out = Command::new("cargo")
        .args(["fetch", "--manifest-path"])
        .arg(work.join("fetch/Cargo.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo fetch failed:\n{}", text(&out.stderr));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let file = format!("{name}-{version}.crate");
    std::fs::read_dir(cargo_home.join("registry/cache"))
        .unwrap()
        .map(|registry| registry.unwrap().path().join(&file))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{file} not in {}/registry/cache after cargo fetch",
                cargo_home.display()
            )
        })
}

/// `cargo <args>` in `dir`, as a user of that project types it.
fn cargo_in(dir: &Path, target_dir: &Path, args: &[&str]) -> Output {
    Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap()
}

/// A real CLI from crates.io, as published (hexyl: pure Rust, a `--version` flag, a README
/// and licences to pack), never seen by this tool: init, then its own `cargo xtask`.
#[test]
fn a_crates_io_cli_ships_with_its_own_cargo_xtask_after_init() {
    const TARGET: &str = "x86_64-unknown-linux-musl";
    let (name, version) = ("hexyl", "0.17.0");
    let work = tempfile::tempdir().unwrap();
    let archive = fetch_crate(work.path(), name, version);
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap());
    tar::Archive::new(gz).unpack(work.path()).unwrap();
    let project = work.path().join(format!("{name}-{version}"));
    let original_manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();

    let init = xtask(&[
        "init",
        project.to_str().unwrap(),
        "--path",
        repo_root().to_str().unwrap(),
    ]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    assert!(
        text(&init.stdout).contains("(a single package)"),
        "{}",
        text(&init.stdout)
    );
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.starts_with(&original_manifest), "{manifest}");

    // The xtask compiles the whole library: one target dir, kept between runs, next to the
    // one this test binary was built in.
    let exe = Path::new(env!("CARGO_BIN_EXE_xtask"));
    let target_dir = exe.parent().unwrap().parent().unwrap().join("init-e2e");
    let dist = cargo_in(&project, &target_dir, &["xtask", "dist", "--target", TARGET]);
    let stdout = text(&dist.stdout);
    assert!(dist.status.success(), "dist failed:\n{}\n{stdout}", text(&dist.stderr));
    assert!(stdout.contains("passed (runs natively)"), "{stdout}");

    let top = format!("{name}-{version}-{TARGET}");
    let archive = project.join("dist").join(format!("{top}.tar.gz"));
    assert!(archive.is_file(), "no {}", archive.display());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("dist/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["app_name"], name);
    assert_eq!(manifest["app_version"], version);
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["name"], format!("{top}.tar.gz"));
    let sums = std::fs::read_to_string(project.join("dist/SHA256SUMS")).unwrap();
    let line = format!("{}  {top}.tar.gz\n", artifact["checksums"]["sha256"].as_str().unwrap());
    assert!(sums.contains(&line), "{sums}");
    let mut names = Vec::new();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap());
    for entry in tar::Archive::new(gz).entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    for expected in ["hexyl", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"] {
        assert!(
            names.contains(&format!("{top}/{expected}")),
            "{expected} not packed: {names:?}"
        );
    }
    let binary = artifact["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap();
    assert_eq!(binary["inspection"]["needed"], serde_json::json!([]));
    assert_eq!(binary["inspection"]["stripped"], true);

    // The project's other commands work as they do in this repository.
    let verify = cargo_in(&project, &target_dir, &["xtask", "verify"]);
    assert!(verify.status.success(), "verify failed:\n{}", text(&verify.stderr));
    assert!(text(&verify.stdout).contains("PASS"), "{}", text(&verify.stdout));
    let plan = cargo_in(&project, &target_dir, &["xtask", "plan", "--json"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let targets: Vec<&str> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets.len(), 5, "the default matrix: {targets:?}");
    let doctor = cargo_in(&project, &target_dir, &["xtask", "doctor", "--target", TARGET]);
    assert!(doctor.status.success(), "{}", text(&doctor.stderr));
    let audit = cargo_in(&project, &target_dir, &["xtask", "audit", "--target", TARGET]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    let table = text(&audit.stdout);
    assert!(
        table.lines().any(|l| l.starts_with(TARGET) && l.contains("100%")),
        "every package of a pure-Rust CLI is tier 1 on {TARGET}:\n{table}"
    );

    // And init there again is a no-op, through the project's own xtask too.
    let again = cargo_in(&project, &target_dir, &["xtask", "init"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).starts_with("nothing to do:"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn the_alias_goes_into_a_legacy_cargo_config_which_cargo_reads_first() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut files) = shapes().remove(0);
    files.push((".cargo/config", "[build]\njobs = 1\n"));
    write(dir.path(), &files);
    let out = xtask(&[
        "init",
        dir.path().to_str().unwrap(),
        "--path",
        repo_root().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = std::fs::read_to_string(dir.path().join(".cargo/config")).unwrap();
    assert!(config.starts_with("[build]\njobs = 1\n") && config.ends_with("xtask = \"run --package xtask --\"\n"));
    assert!(!dir.path().join(".cargo/config.toml").exists());
}
