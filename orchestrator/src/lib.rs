//! The release orchestrator: builds, proves and packs a Rust workspace's release binaries
//! for every target of its matrix, from one Linux machine.
//!
//! See docs/ARCHITECTURE.md for the stages: config → plan → build → inspect → package → report.

pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deps;
pub mod flags;
pub mod inspect;
pub mod model;
pub mod package;
pub mod plan;
pub mod report;
pub mod runner;
pub mod tools;
pub mod ui;

/// A mistake the user can fix (bad flag, bad config, bad path): exit code 2, one line.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    // Returns the anyhow::Error carrying it: every caller wants to return that directly.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(UsageError(message.into()))
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
