//! SIGINT during a build: the cargo child and everything under it end too, no orphan is
//! left writing into the target directory, and the tool exits 130.

use crate::harness::{Workspace, MUSL_RELEASE};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A workspace whose build script records its pid and then sleeps: a build that lasts. It
/// builds in its own target directory: the sleeping build holds that directory's lock.
/// With `ignore_sigint`, the build script ignores SIGINT first (signal(2) declared by hand:
/// a build script of a fixture has no libc crate), as a process stuck in a long C build
/// can: only the kill after the grace period ends it.
fn slow_workspace(ignore_sigint: bool) -> Workspace {
    let ws = Workspace::tool("0.1.0", MUSL_RELEASE);
    let ignore = if ignore_sigint {
        "extern \"C\" {\n        fn signal(signum: i32, handler: usize) -> usize;\n    }\n    // SIGINT is 2, SIG_IGN is 1 on Linux.\n    unsafe { signal(2, 1) };\n    "
    } else {
        ""
    };
    ws.write(
        "tool/build.rs",
        &format!(
            r#"fn main() {{
    {ignore}let file = std::env::var("SLEEPER_PID_FILE").unwrap();
    std::fs::write(file, std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}}
"#
        ),
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

/// Starts `dist` on a slow workspace, waits for its build script, sends SIGINT and returns
/// the build script's pid, how long the tool took to exit after the signal, and its stderr.
fn interrupt_a_build(ignore_sigint: bool) -> (String, Duration, String) {
    let ws = slow_workspace(ignore_sigint);
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
    let took = interrupted.elapsed();
    let output = xtask.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: stopped 1 running command(s)"), "{stderr}");
    (sleeper, took, stderr)
}

/// The build script is gone within `within` of the tool's exit.
fn assert_gone(sleeper: &str, within: Duration) {
    let gone = Instant::now();
    while running(sleeper) {
        assert!(
            gone.elapsed() < within,
            "the build script {sleeper} outlived the tool: an orphan"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_stops_the_build_and_its_children_and_exits_130() {
    let (sleeper, _, _) = interrupt_a_build(false);
    assert_gone(&sleeper, Duration::from_secs(5));
}

/// The kill path: a child that ignores SIGINT survives the signal the handler passes on,
/// and is killed (SIGKILL to its process group) once the two seconds of grace are over.
#[test]
fn a_child_that_ignores_sigint_is_killed_after_the_grace_period() {
    let (sleeper, took, stderr) = interrupt_a_build(true);
    // Killed, not orphaned: gone at once, not after its 120 s sleep.
    assert_gone(&sleeper, Duration::from_millis(500));
    assert!(
        took >= Duration::from_millis(1900),
        "the tool exited {took:?} after SIGINT: the child did not ignore it, so the kill path did not run\n{stderr}"
    );
}
