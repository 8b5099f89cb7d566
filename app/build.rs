//! Bakes build facts into the binary so `app --version` can report them and the release
//! smoke tests can prove which target, profile and commit a shipped binary came from, and
//! compiles the C part of the program.

fn main() {
    // cargo tells build scripts the target; the profile it reports is only "debug" or
    // "release", so the orchestrator passes the real profile name (e.g. "dist") and commit.
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let profile = std::env::var("DIST_PROFILE")
        .or_else(|_| std::env::var("PROFILE"))
        .unwrap_or_else(|_| "unknown".into());
    let commit = std::env::var("DIST_COMMIT").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=APP_TARGET={target}");
    println!("cargo:rustc-env=APP_PROFILE={profile}");
    println!("cargo:rustc-env=APP_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=DIST_PROFILE");
    println!("cargo:rerun-if-env-changed=DIST_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/crc32.c");

    // The cc crate picks the C compiler for the target (CC_<triple>, then the usual names),
    // which is what the release routes set up.
    cc::Build::new().file("csrc/crc32.c").warnings(true).compile("appcrc");
}
