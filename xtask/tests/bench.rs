//! Timing of a no-op `cargo xtask dist` rerun against cargo's own no-op build of the same
//! job. Run on demand: `cargo test -p xtask --test bench -- --ignored --nocapture`.
//! BENCH_WORKSPACE=<dir with Cargo.toml> and BENCH_TARGETS=<t1,t2> measure another
//! workspace (e.g. this repository) instead of a fresh one-binary fixture.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const RUNS: u32 = 5;

fn fixture(root: &Path) {
    let files = [
        ("Cargo.toml", "[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\nstrip = true\n"),
        ("tool/Cargo.toml", "[package]\nname = \"tool\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
        ("tool/src/main.rs", "fn main() {\n    println!(\"tool\");\n}\n"),
        ("README.md", "# tool\n"),
    ];
    for (path, text) in files {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    let lock = Command::new("cargo")
        .args(["generate-lockfile", "--offline", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .status();
    assert!(lock.unwrap().success());
}

fn xtask(manifest: &Path, command: &str, targets: &[String]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg(command).arg("--manifest-path").arg(manifest);
    for target in targets {
        cmd.args(["--target", target]);
    }
    cmd.env("SOURCE_DATE_EPOCH", "1700000000");
    cmd
}

fn run_ok(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let root = match std::env::var_os("BENCH_WORKSPACE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            fixture(temp.path());
            temp.path().to_path_buf()
        }
    };
    let manifest = root.join("Cargo.toml");
    let targets: Vec<String> = std::env::var("BENCH_TARGETS")
        .unwrap_or_else(|_| "x86_64-unknown-linux-musl".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let out = temp.path().join("bench-dist");
    let dist = || {
        let mut cmd = xtask(&manifest, "dist", &targets);
        cmd.arg("--out").arg(&out);
        cmd
    };
    run_ok(dist());

    // cargo's no-op: exactly the build commands of the plan, with their environment.
    let plan = xtask(&manifest, "plan", &targets).arg("--json").output().unwrap();
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let builds: Vec<Value> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["build"].clone())
        .collect();
    let cargo = time(|| {
        for build in &builds {
            let mut cmd = Command::new(build["program"].as_str().unwrap());
            cmd.args(build["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()));
            for (k, v) in build["env"].as_object().unwrap() {
                cmd.env(k, v.as_str().unwrap());
            }
            for k in build["env_remove"].as_array().unwrap() {
                cmd.env_remove(k.as_str().unwrap());
            }
            run_ok(cmd);
        }
    });
    let rerun = time(|| run_ok(dist()));
    println!("workspace: {}  targets: {}", root.display(), targets.join(","));
    println!("cargo no-op build of the plan's jobs: {:.3} s (mean of {RUNS})", cargo);
    println!(
        "no-op `cargo xtask dist` rerun:     {:.3} s (mean of {RUNS}; the xtask binary itself, without `cargo run`)",
        rerun
    );
}
