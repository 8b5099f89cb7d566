//! Timing of a no-op `cargo xtask dist` rerun against cargo's own no-op build of the same
//! job. Run on demand: `cargo test -p xtask --test it -- bench:: --ignored --nocapture`.
//! BENCH_WORKSPACE=<dir with Cargo.toml> and BENCH_TARGETS=<t1,t2> measure another
//! workspace (e.g. this repository) instead of a fresh one-binary fixture.

use crate::harness::{expect_ok, run_ok, xtask, Workspace, Xtask};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const RUNS: u32 = 5;

fn fixture() -> Workspace {
    let ws = Workspace::tool("1.0.0", "[profile.dist]\ninherits = \"release\"\nstrip = true\n");
    ws.write("tool/src/main.rs", "fn main() {\n    println!(\"tool\");\n}\n")
        .write("README.md", "# tool\n")
        .lock();
    ws
}

fn bench_xtask(root: &Path, command: &str, targets: &[String]) -> Xtask {
    let mut cmd = xtask([command]).manifest(root);
    for target in targets {
        cmd = cmd.args(["--target", target]);
    }
    cmd.env("SOURCE_DATE_EPOCH", "1700000000")
}

/// Mean wall time of `RUNS` calls.
fn time(mut run: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..RUNS {
        run();
    }
    start.elapsed().as_secs_f64() / f64::from(RUNS)
}

#[test]
#[ignore = "a benchmark: prints timings, run on demand"]
fn noop_rerun_against_cargo_noop() {
    let temp = tempfile::tempdir().unwrap();
    let mut fixture_ws = None;
    let root = match std::env::var_os("BENCH_WORKSPACE") {
        Some(dir) => PathBuf::from(dir),
        None => fixture_ws.insert(fixture()).root().to_path_buf(),
    };
    let targets: Vec<String> = std::env::var("BENCH_TARGETS")
        .unwrap_or_else(|_| "x86_64-unknown-linux-musl".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let out = temp.path().join("bench-dist");
    let dist = || {
        let run = bench_xtask(&root, "dist", &targets).arg("--out").arg(&out).run();
        expect_ok(&run);
    };
    dist();

    // cargo's no-op: exactly the build commands of the plan, with their environment.
    let plan = bench_xtask(&root, "plan", &targets).arg("--json").run();
    expect_ok(&plan);
    let plan: Value = plan.json();
    let builds: Vec<Value> = plan["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["cmd"].clone())
        .collect();
    let cargo = time(|| {
        for build in &builds {
            let mut cmd = Command::new(build["program"].as_str().unwrap());
            cmd.args(build["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()));
            // Like the xtask's: the workspace's own target directory.
            cmd.env_remove("CARGO_TARGET_DIR");
            // The plan leaves out an empty `env` and `env_remove`.
            for (k, v) in build["env"].as_object().into_iter().flatten() {
                cmd.env(k, v.as_str().unwrap());
            }
            for k in build["env_remove"].as_array().into_iter().flatten() {
                cmd.env_remove(k.as_str().unwrap());
            }
            if let Some(dir) = build["cwd"].as_str() {
                cmd.current_dir(dir);
            }
            run_ok(&mut cmd);
        }
    });
    let rerun = time(dist);
    println!("workspace: {}  targets: {}", root.display(), targets.join(","));
    println!("cargo no-op build of the plan's jobs: {:.3} s (mean of {RUNS})", cargo);
    println!(
        "no-op `cargo xtask dist` rerun:     {:.3} s (mean of {RUNS}; the xtask binary itself, without `cargo run`)",
        rerun
    );
}
