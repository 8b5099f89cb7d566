//! What every command knows before it runs anything, loaded once in stage order: the
//! toolchain, the config (stage 1), what this machine offers, and the plan (stage 2).

use crate::config::{self, Config, Overrides, Toolchain};
use crate::deps::TargetGraph;
use crate::model::Target;
use crate::plan::{self, Host, Plan};
use crate::runner::Runner;
use crate::tools;
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// The workspace, read and planned. Commands take it by reference; nothing in it changes
/// once loaded.
#[derive(Debug, Clone)]
pub struct Context {
    pub runner: Runner,
    /// The manifest the caller named (a member's Cargo.toml selects that package for
    /// `--features`, as with cargo); None: the workspace around the current directory.
    pub manifest_path: Option<PathBuf>,
    pub toolchain: Toolchain,
    pub config: Config,
    pub host: Host,
    pub plan: Plan,
    /// Every target's resolved dependency graph: always with [`Context::load_with_graphs`]
    /// (the audit reads them), and with [`Context::load`] when the config needed them
    /// (native code somewhere, or features selected); the SBOMs reuse them.
    pub graphs: Vec<TargetGraph>,
    /// The workspace-wide feature flags, as cargo takes them (a target's own `features`
    /// add to them: [`Config::features_for`]).
    pub feature_flags: Vec<String>,
}

impl Context {
    /// Reads the workspace at `manifest_path` (None: the one around the current directory)
    /// with the command line's `overrides`, and plans its jobs. Runs only queries
    /// (`rustc --print`, `cargo metadata`, `git`), never a build.
    pub fn load(runner: Runner, manifest_path: Option<&Path>, overrides: Overrides) -> Result<Context> {
        let manifest_path = absolute(manifest_path)?;
        let manifest_path = manifest_path.as_deref();
        let toolchain = workspace_toolchain(&runner, manifest_path)?;
        let (config, graphs) = config::load(&runner, manifest_path, &toolchain, overrides)?;
        Context::plan(runner, manifest_path, toolchain, config, graphs)
    }

    /// As [`Context::load`], and keeps every target's dependency graph, resolved with the
    /// features each target's build selects (the overrides' and the config's).
    pub fn load_with_graphs(runner: Runner, manifest_path: Option<&Path>, overrides: Overrides) -> Result<Context> {
        let manifest_path = absolute(manifest_path)?;
        let manifest_path = manifest_path.as_deref();
        let toolchain = workspace_toolchain(&runner, manifest_path)?;
        let (config, graphs) = config::load_with_graphs(&runner, manifest_path, &toolchain, overrides)?;
        Context::plan(runner, manifest_path, toolchain, config, graphs)
    }

    fn plan(
        runner: Runner,
        manifest_path: Option<&Path>,
        toolchain: Toolchain,
        config: Config,
        graphs: Vec<TargetGraph>,
    ) -> Result<Context> {
        let feature_flags = config.features.cargo_flags();
        let mut host = detect_host(&config.targets)?;
        if let Some(size) = &config.size {
            host.size_toolchain = Some(Toolchain::for_size(&runner, &size.toolchain, &toolchain.host)?);
        }
        let plan = plan::plan(&config, &toolchain, &host)?;
        Ok(Context {
            runner,
            manifest_path: manifest_path.map(Path::to_path_buf),
            toolchain,
            config,
            host,
            plan,
            graphs,
            feature_flags,
        })
    }

    /// The same workspace planned again for other overrides (another target or profile),
    /// reusing the toolchain already detected.
    pub fn replan(&self, overrides: Overrides) -> Result<Context> {
        let (config, graphs) = config::load(&self.runner, self.manifest_path.as_deref(), &self.toolchain, overrides)?;
        Context::plan(
            self.runner,
            self.manifest_path.as_deref(),
            self.toolchain.clone(),
            config,
            graphs,
        )
    }
}

/// The toolchain that builds the workspace: its own, chosen from its toolchain file or the
/// shipped packages' `rust-version` (which the config stage knows).
/// A relative `--manifest-path` names a file from the caller's directory; cargo runs from the
/// workspace's own (so its .cargo/config.toml applies), where the same relative path would
/// point elsewhere.
pub(crate) fn absolute(manifest_path: Option<&Path>) -> Result<Option<PathBuf>> {
    manifest_path
        .map(|p| std::path::absolute(p).with_context(|| format!("resolving --manifest-path {}", p.display())))
        .transpose()
}

fn workspace_toolchain(runner: &Runner, manifest_path: Option<&Path>) -> Result<Toolchain> {
    Toolchain::for_workspace(runner, manifest_path, |dir| {
        config::shipped_rust_version(runner, manifest_path, dir)
    })
}

/// What this machine offers the plan: the tool cache, a user's MSVC directory and Apple
/// SDK, and which emulators are on PATH for smoke runs.
pub fn detect_host(targets: &[Target]) -> Result<Host> {
    let mut emulators: Vec<String> = targets.iter().map(plan::emulator_name).collect();
    emulators.sort();
    emulators.dedup();
    Ok(Host {
        tools: tools::cache_dir()?,
        msvc_dir: std::env::var_os("DIST_MSVC_DIR").map(Into::into),
        on_path: emulators
            .into_iter()
            .filter(|e| crate::runner::find_on_path(e).is_some())
            .collect(),
        sdkroot: std::env::var_os("SDKROOT").map(Into::into),
        xtask: std::env::current_exe().context("finding the running xtask's own path")?,
        path: std::env::var_os("PATH"),
        run: run_name(),
        size_toolchain: None,
    })
}

/// This run's name: its start in Unix seconds (names sort by time) and the process id
/// (two runs in one second differ).
fn run_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{now}-{}", std::process::id())
}
