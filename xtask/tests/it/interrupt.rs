//! SIGINT during a build: the cargo child and everything under it end too, no orphan is
//! left writing into the target directory, and the tool exits 130.

use crate::harness::{Workspace, MUSL_RELEASE};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A workspace whose build script records its pid and then sleeps: a build that lasts. It
/// builds in its own target directory: the sleeping build holds that directory's lock.
fn slow_workspace() -> Workspace {
    let ws = Workspace::tool("0.1.0", MUSL_RELEASE);
    ws.write(
        "tool/build.rs",
        r#"fn main() {
    let file = std::env::var("SLEEPER_PID_FILE").unwrap();
    std::fs::write(file, std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}
"#,
    );
    ws
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
    let ws = slow_workspace();
    let pid_file = ws.path("sleeper.pid");
    let mut xtask = ws
        .xtask(["dist"])
        .env("SLEEPER_PID_FILE", &pid_file)
        .spawn(Stdio::null(), Stdio::piped());

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
