//! SIGINT during a build: the cargo child and everything under it end too, no orphan is
//! left writing into the target directory, and the tool exits 130.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A workspace whose build script records its pid and then sleeps: a build that lasts.
fn slow_workspace(root: &Path) {
    common::workspace(root, common::MUSL_RELEASE, common::HELLO);
    std::fs::write(
        root.join("tool/build.rs"),
        r#"fn main() {
    let file = std::env::var("SLEEPER_PID_FILE").unwrap();
    std::fs::write(file, std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}
"#,
    )
    .unwrap();
}

/// Alive and not a zombie.
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z')
    })
}

#[test]
fn sigint_stops_the_build_and_its_children_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    slow_workspace(dir.path());
    let pid_file = dir.path().join("sleeper.pid");
    let mut xtask = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .env("SLEEPER_PID_FILE", &pid_file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let started = Instant::now();
    while !pid_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the build script never started"
        );
        assert!(
            xtask.try_wait().unwrap().is_none(),
            "xtask ended before the build script ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    let sleeper = std::fs::read_to_string(&pid_file).unwrap();
    assert!(running(&sleeper));

    let kill = Command::new("kill")
        .args(["-INT", &xtask.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let interrupted = Instant::now();
    let status = loop {
        if let Some(status) = xtask.try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(10),
            "xtask did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = xtask.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: stopped 1 running command(s)"), "{stderr}");
    let gone = Instant::now();
    while running(&sleeper) {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the build script {sleeper} outlived the tool: an orphan"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
