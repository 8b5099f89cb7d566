//! Fixture workspaces for the integration tests: real packages on disk that the real
//! xtask binary builds with the real cargo.

use std::path::Path;

/// A workspace with one package `tool` (version 0.1.0) whose main.rs is `main_rs`,
/// `[workspace.metadata.dist]` set to `dist`, and a README.md.
pub fn workspace(root: &Path, dist: &str, main_rs: &str) {
    std::fs::create_dir_all(root.join("tool/src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n{dist}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("tool/Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(root.join("tool/src/main.rs"), main_rs).unwrap();
    std::fs::write(root.join("README.md"), "tool\n").unwrap();
}

/// The musl target of this host, with the release profile (no [profile.dist] needed).
pub const MUSL_RELEASE: &str = "targets = [\"x86_64-unknown-linux-musl\"]\nprofile = \"release\"";

pub const HELLO: &str = "fn main() { println!(\"tool\"); }\n";
