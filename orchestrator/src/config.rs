//! Stage 1, config: reads `[workspace.metadata.dist]` through `cargo metadata`, applies the
//! command-line overrides and checks everything a user can get wrong before anything runs.

use crate::deps::{self, GraphCache, NativeCode, TargetGraph};
use crate::model::{self, ArchiveFormat, AssetKind, Bin, Family, Features, GlibcVersion, MacosVersion, Route, Target};
use crate::runner::{Cmd, Runner};
use crate::UsageError;
use anyhow::{Context, Result};
use cargo_metadata::Metadata;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[workspace.metadata.dist]` as written. Every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDist {
    targets: Option<Vec<String>>,
    profile: Option<String>,
    include: Option<Vec<PathBuf>>,
    bins: Option<Vec<String>>,
    smoke_args: Option<Vec<String>>,
    smoke_expect: Option<String>,
    /// The generated CI workflow wraps rustc in sccache.
    sccache: Option<bool>,
    /// Embed each binary's dependency list with cargo-auditable (default: on).
    auditable: Option<bool>,
    /// The project accepts Microsoft's licence for the MSVC CRT and Windows SDK libraries
    /// its windows-msvc builds link against (as --accept-msvc-license does for one run).
    accept_msvc_license: Option<bool>,
    /// The archives' names without the extension: `{name}`, `{bin}`, `{version}`, `{target}`.
    archive_name: Option<String>,
    /// Archive format of every non-Windows target without its own `format`.
    unix_format: Option<ArchiveFormat>,
    /// Archive format of every Windows target without its own `format`.
    windows_format: Option<ArchiveFormat>,
    /// A command that prints one shell's completion script: `{bin}` is the built binary,
    /// `{shell}` the shell's name.
    completions: Option<Vec<String>>,
    /// The shells to generate completions for.
    completion_shells: Option<Vec<String>>,
    /// A command that prints the man page (roff); `{bin}` is the built binary.
    man: Option<Vec<String>>,
    /// Cargo features every target is built with (as `--features`).
    features: Option<Vec<String>>,
    /// Build with every feature (as `--all-features`).
    all_features: Option<bool>,
    /// Build without the default features (as `--no-default-features`).
    no_default_features: Option<bool>,
    /// The dist profile this tool defines where the workspace has none aborts on panic.
    /// Off by default: something in the graph may rely on unwinding (catch_unwind).
    panic_abort: Option<bool>,
    /// The oldest macOS every Apple target without its own `macos-min` runs on.
    #[serde(default, deserialize_with = "macos_min")]
    macos_min: Option<MacosVersion>,
    /// The minisign public key (`RW…`, the second line of minisign.pub) whose secret half
    /// signs SHA256SUMS: `verify` and the installers check the signature with it.
    minisign_public_key: Option<String>,
    /// Where the install scripts download the archives from: `{version}` and `{name}` are
    /// replaced. Default: the GitHub release of tag `v{version}` when the package's
    /// `repository` is on github.com.
    installer_base_url: Option<String>,
    /// "build-std": every target without its own `size-mode` rebuilds std for size on the
    /// pinned nightly (docs/SIZE.md).
    size_mode: Option<SizeMode>,
    /// The nightly the size mode builds with (default [`crate::toolchain::SIZE_NIGHTLY`]).
    size_toolchain: Option<String>,
    /// "immediate-abort": the size mode's std panics without formatting a message.
    panic: Option<PanicMode>,
    /// "mimalloc": musl targets (and targets that set `allocator` themselves) are built with
    /// the shipped packages' `mimalloc` feature (docs/SIZE.md, the allocator).
    allocator: Option<Allocator>,
    /// A macOS SDK (MacOSX.sdk directory, relative to the workspace root) the Apple targets
    /// link against instead of the generated stubs; SDKROOT, when set, wins.
    macos_sdk: Option<PathBuf>,
    #[serde(default)]
    target: BTreeMap<Target, TargetConfig>,
}

/// `size-mode`: how far the build goes for a small binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeMode {
    /// The stable build with the size profile.
    Off,
    /// std and panic_abort rebuilt from rust-src with std's `optimize_for_size` feature
    /// (nightly `-Z build-std`).
    BuildStd,
}

/// `panic`: the only value is the one that needs the size mode's rebuilt std.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PanicMode {
    ImmediateAbort,
}

/// `allocator`: the global allocator of the shipped binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    /// The platform's malloc (musl's own on musl targets).
    System,
    /// The mimalloc crate, through the shipped package's `mimalloc` feature.
    Mimalloc,
}

/// The size mode as planned: the nightly that builds and whether panics abort at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeSettings {
    pub toolchain: String,
    pub immediate_abort: bool,
}

/// `[workspace.metadata.dist.target.<triple>]`: settings for one target.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetConfig {
    /// Overrides the automatic linker route.
    pub route: Option<Route>,
    /// Cargo features this target is built with on top of the workspace-wide `features`
    /// (a feature that builds only here, e.g. an allocator written in C).
    pub features: Option<Vec<String>>,
    /// The GitHub Actions runner label its CI job runs on (default: ubuntu-latest).
    pub runner: Option<String>,
    /// The archive format: "tar.gz", "tar.xz", "tar.zst" or "zip".
    pub format: Option<ArchiveFormat>,
    /// Highest GLIBC_x.y a -gnu binary may require (default 2.17, as manylinux2014).
    #[serde(default, deserialize_with = "glibc_max")]
    pub glibc_max: Option<GlibcVersion>,
    /// Largest binary size in bytes.
    pub max_size: Option<u64>,
    /// Shared libraries a linux binary may need beyond glibc's own (`*` ends a prefix).
    pub allow_libs: Option<Vec<String>>,
    /// DLLs a Windows binary may import beyond the system's (`*` ends a prefix).
    pub allow_dlls: Option<Vec<String>>,
    /// Dylib paths a macOS binary may load beyond /usr/lib and /System (`*` ends a prefix).
    pub allow_dylibs: Option<Vec<String>>,
    /// A linux binary may ask for an executable stack (PT_GNU_STACK with PF_X); default false.
    pub allow_exec_stack: Option<bool>,
    /// RPATH/RUNPATH entries a linux binary may carry beyond those under `$ORIGIN` (`*` ends
    /// a prefix).
    pub allow_rpath: Option<Vec<String>>,
    /// The oldest macOS an Apple binary runs on: the build's MACOSX_DEPLOYMENT_TARGET, and
    /// no slice may require a newer one. Unset: the workspace-wide `macos-min`, else the
    /// oldest the toolchain supports for the target ([`resolve_macos_min`]).
    #[serde(default, deserialize_with = "macos_min")]
    pub macos_min: Option<MacosVersion>,
    /// This target's own `size-mode` ("off" keeps a target out of a workspace-wide one).
    pub size_mode: Option<SizeMode>,
    /// This target's own `allocator` ("system" keeps musl's malloc under a workspace-wide one).
    pub allocator: Option<Allocator>,
    /// A macOS binary may leave imports to flat lookup (`-undefined dynamic_lookup`), not
    /// bound to the library that defines them; default false.
    pub allow_flat_lookup: Option<bool>,
    /// windows-msvc: which C runtime is linked into the binary ([`WindowsCrt`]).
    pub windows_crt: Option<WindowsCrt>,
}

/// How a windows-msvc binary gets its C runtime. Both need nothing the system lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsCrt {
    /// The default: vcruntime linked in, the Universal CRT imported from Windows itself
    /// (api-ms-win-crt-*.dll, a part of Windows since 10, the oldest these targets run on):
    /// about 75 KB less than `static` per binary. The "hybrid CRT" Microsoft documents and
    /// the static_vcruntime crate applies; never vcruntime140.dll, which is not Windows'.
    Hybrid,
    /// Both runtimes linked in (`+crt-static` alone): a binary that imports no CRT at all.
    Static,
}

impl WindowsCrt {
    /// The runtime `target` gets: its setting, else hybrid where Windows brings the UCRT
    /// (every windows-msvc target but the `-win7-` ones, which predate it).
    pub fn for_target(target: &Target, settings: Option<&TargetConfig>) -> WindowsCrt {
        match settings.and_then(|s| s.windows_crt) {
            Some(crt) => crt,
            None if target.triple().contains("-win7-") => WindowsCrt::Static,
            None => WindowsCrt::Hybrid,
        }
    }
}

/// `glibc-max`, refused with the key's name when it is not a version.
fn glibc_max<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<GlibcVersion>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("glibc-max is `{text}`: write a glibc version such as \"2.17\"")))
}

/// `macos-min`, refused with the key's name when it is not a version.
fn macos_min<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<MacosVersion>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "macos-min is `{text}`: write a macOS version such as \"11.0\" or \"10.12\""
        ))
    })
}

/// Sets `macos-min` for every Apple target in `targets` that has none of its own: the
/// workspace-wide `macos-min`, else `lowest(target)`, the oldest macOS the toolchain
/// supports for it (`rustc --print deployment-target`: 11.0 for aarch64, the first macOS
/// on Apple silicon; 10.12 for x86_64 since rustc 1.74). The build's
/// MACOSX_DEPLOYMENT_TARGET and the `macos-min` rule both read the result.
pub fn resolve_macos_min(
    per_target: &mut BTreeMap<Target, TargetConfig>,
    workspace: Option<MacosVersion>,
    targets: &[Target],
    mut lowest: impl FnMut(&Target) -> Result<MacosVersion>,
) -> Result<()> {
    // A universal target's slices have their own minimums.
    for target in targets
        .iter()
        .filter(|t| t.family() == Family::AppleDarwin && !t.is_universal())
    {
        let settings = per_target.entry(target.clone()).or_default();
        if settings.macos_min.is_none() {
            settings.macos_min = Some(match workspace {
                Some(version) => version,
                None => lowest(target)?,
            });
        }
    }
    Ok(())
}

/// [`read`], while the toolchain's rustc prints the oldest macOS of the Apple targets a
/// config most often ships (the default matrix's two and any `--target`); then every Apple
/// target still without a `macos-min` gets its toolchain's. The queries (one rustc start
/// each) run beside `cargo metadata` instead of after it; unused when the config sets
/// `macos-min`.
fn read_with_macos_min(
    runner: &Runner,
    manifest_path: Option<&Path>,
    toolchain: &Toolchain,
    overrides: Overrides,
) -> Result<(Metadata, Config)> {
    let likely = crate::toolchain::likely_apple_targets(overrides.targets.iter().filter_map(|t| t.parse().ok()));
    let (read, mut lowest) =
        crate::toolchain::beside_deployment_targets(runner, &toolchain.query_cmd("rustc"), likely, || {
            read(runner, manifest_path, toolchain, overrides)
        });
    let (meta, mut config) = read?;
    let targets = config.targets.clone();
    resolve_macos_min(&mut config.target_config, None, &targets, |target| {
        lowest
            .remove(target)
            .unwrap_or_else(|| toolchain.deployment_target(runner, target))
    })?;
    Ok((meta, config))
}

/// The shells `completion-shells` may name, and the file each script is installed as
/// (the names ripgrep and clap_complete use: bash-completion loads `<bin>.bash`, zsh's
/// fpath `_<bin>`, fish `<bin>.fish`).
const SHELLS: [(&str, &str); 5] = [
    ("bash", "{bin}.bash"),
    ("elvish", "{bin}.elv"),
    ("fish", "{bin}.fish"),
    ("powershell", "_{bin}.ps1"),
    ("zsh", "_{bin}"),
];

/// A file generated by running a command after the build, packed beside the binaries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Generated {
    /// Path inside the archive's top directory, e.g. `complete/app.bash` or `doc/app.1`.
    pub path: String,
    /// Shell completions or a man page.
    pub kind: AssetKind,
    /// The bin target whose build `{bin}` stands for.
    pub bin: String,
    /// Program and arguments; `{bin}` is still to be replaced by the built binary's path.
    pub command: Vec<String>,
}

/// What `verify` needs from the config, readable without a toolchain or bin targets.
#[derive(Debug, Default, Clone)]
pub struct VerifySettings {
    pub profile: String,
    /// What the profile's `strip` setting promises (see [`profile_strip`]).
    pub strip: Strip,
    pub per_target: BTreeMap<Target, TargetConfig>,
    /// The workspace-wide `macos-min` (see [`resolve_macos_min`]).
    pub macos_min: Option<MacosVersion>,
    /// The workspace the settings come from; none for loose files outside any workspace.
    pub workspace_root: Option<PathBuf>,
    /// `minisign-public-key`: SHA256SUMS.minisig must verify with it.
    pub minisign_public_key: Option<String>,
    /// The manifest's record of the artifact being verified: how its Apple binaries were
    /// linked and what the crates declared (policy::Policy::apple_imports).
    pub apple_imports: Option<crate::apple::AppleImports>,
}

impl VerifySettings {
    /// The same settings for binaries built with another profile (a manifest's).
    pub fn for_profile(&self, profile: &str) -> Result<VerifySettings> {
        let strip = match &self.workspace_root {
            Some(root) => effective_strip(root, profile)?,
            None => self.strip,
        };
        Ok(VerifySettings {
            profile: profile.to_string(),
            strip,
            ..self.clone()
        })
    }
}

/// Reads the profile and the per-target settings, checking every value a user can get wrong.
pub fn verify_settings(meta: &Metadata) -> Result<VerifySettings> {
    let where_ = format!(
        "[workspace.metadata.dist] in {}",
        meta.workspace_root.join("Cargo.toml")
    );
    let raw = raw_dist(meta, &where_)?;
    let root = meta.workspace_root.clone().into_std_path_buf();
    let profile = raw.profile.unwrap_or_else(|| "dist".into());
    Ok(VerifySettings {
        strip: effective_strip(&root, &profile)?,
        profile,
        per_target: raw.target,
        macos_min: raw.macos_min,
        workspace_root: Some(root),
        minisign_public_key: raw.minisign_public_key,
        apple_imports: None,
    })
}

/// What a build with `profile` strips: the profile's own setting, or, for a "dist" profile
/// the workspace does not define, the tool's size profile, which strips symbols.
pub fn effective_strip(root: &Path, profile: &str) -> Result<Strip> {
    if profile == "dist" && check_profile(root, profile).is_err() {
        return Ok(Strip::Symbols);
    }
    profile_strip(root, profile)
}

/// The `opt-level` a build with `profile` compiles at, as cargo resolves it ("0" to "3", "s"
/// or "z"): the profile's own key or an inherited one, else its built-in base's (release and
/// bench 3, dev and test 0).
pub fn profile_opt_level(root: &Path, profile: &str) -> Result<String> {
    if let Some((_, value)) = profile_lookup(root, profile, "opt-level")? {
        let text = match value {
            StripValue::Text(t) | StripValue::Other(t) => t,
            StripValue::Bool(b) => b.to_string(),
        };
        return Ok(text.trim_matches('"').to_string());
    }
    let mut name = profile.to_string();
    // profile_lookup refuses a cycle; the bound only keeps this loop finite.
    for _ in 0..64 {
        match name.as_str() {
            "release" | "bench" => return Ok("3".into()),
            "dev" | "test" => return Ok("0".into()),
            _ => {}
        }
        match profile_lookup(root, &name, "inherits")? {
            Some((_, StripValue::Text(parent))) => name = parent,
            _ => break,
        }
    }
    Err(UsageError::new(format!(
        "profile `{profile}` inherits from no built-in profile: add `inherits = \"release\"` to [profile.{profile}]"
    )))
}

/// A cargo profile's `strip` setting: what the built binary must have lost.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Strip {
    /// `strip = false` / "none", or not set: nothing is promised. (Cargo 1.77+ strips the
    /// debug info by default where the profile has none of its own; the rule holds a binary
    /// only to what the profile says.)
    #[default]
    None,
    /// `strip = "debuginfo"`: no debug sections (a symbol table may stay).
    DebugInfo,
    /// `strip = true` / "symbols": no symbol table and no debug sections.
    Symbols,
}

/// The `strip` setting of `profile` as cargo resolves it: the profile's own key, else the
/// one it `inherits` from (the built-in `bench` inherits `release`, `test` inherits `dev`),
/// down to a built-in profile, which strips nothing unless configured. Each profile is read
/// from `CARGO_PROFILE_<NAME>_*` variables, then the `.cargo/config.toml` files from
/// `root` upwards and in CARGO_HOME, then the workspace's Cargo.toml, the order in which
/// cargo lets one override the other. An undefined profile strips nothing (config.rs
/// refuses it before a build; `verify` may meet one in an old manifest).
pub fn profile_strip(root: &Path, profile: &str) -> Result<Strip> {
    match profile_lookup(root, profile, "strip")? {
        None => Ok(Strip::None),
        Some((where_, value)) => match value {
            StripValue::Bool(true) => Ok(Strip::Symbols),
            StripValue::Bool(false) => Ok(Strip::None),
            StripValue::Text(t) => match t.as_str() {
                "true" | "symbols" => Ok(Strip::Symbols),
                "false" | "none" => Ok(Strip::None),
                "debuginfo" => Ok(Strip::DebugInfo),
                _ => Err(UsageError::new(format!(
                    "{where_}: strip = \"{t}\" is not a setting cargo knows: write true, false, \"symbols\", \"debuginfo\" or \"none\""
                ))),
            },
            StripValue::Other(t) => Err(UsageError::new(format!(
                "{where_}: strip = {t} is not a setting cargo knows: write true, false, \"symbols\", \"debuginfo\" or \"none\""
            ))),
        },
    }
}

/// The profile settings that shape the code, as cargo resolves them for `profile` (see
/// [`profile_strip`] for the order of sources); a key set nowhere is cargo's default for
/// the built-in profile the chain ends in, written "default".
pub fn profile_settings(root: &Path, profile: &str) -> Result<BTreeMap<String, String>> {
    let mut settings = BTreeMap::new();
    for key in [
        "opt-level",
        "lto",
        "codegen-units",
        "strip",
        "panic",
        "debug",
        "overflow-checks",
        "debug-assertions",
    ] {
        let value = match profile_lookup(root, profile, key)? {
            None => "default".to_string(),
            Some((_, StripValue::Bool(b))) => b.to_string(),
            Some((_, StripValue::Text(t) | StripValue::Other(t))) => t,
        };
        settings.insert(key.to_string(), value);
    }
    Ok(settings)
}

/// `key` of `profile` or of the profiles it inherits from: where it was set and its value.
fn profile_lookup(root: &Path, profile: &str, key_wanted: &str) -> Result<Option<(String, StripValue)>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in root.ancestors() {
        files.push(dir.join(".cargo/config.toml"));
        files.push(dir.join(".cargo/config"));
    }
    if let Some(home) = cargo_home_dir() {
        files.push(home.join("config.toml"));
    }
    files.push(root.join("Cargo.toml"));
    let mut layers: Vec<(PathBuf, toml_edit::DocumentMut)> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let doc = text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|e| UsageError::new(format!("{} is not valid TOML: {e}", file.display())))?;
        layers.push((file, doc));
    }
    // (where it was set, the value as text or as a TOML item)
    let lookup = |name: &str, key: &str| -> Option<(String, StripValue)> {
        let var = format!(
            "CARGO_PROFILE_{}_{}",
            name.to_uppercase().replace('-', "_"),
            key.to_uppercase()
        );
        if let Ok(value) = std::env::var(&var) {
            return Some((var, StripValue::Text(value)));
        }
        layers.iter().find_map(|(file, doc)| {
            let item = doc.get("profile")?.get(name)?.get(key)?;
            let value = match (item.as_bool(), item.as_str()) {
                (Some(b), _) => StripValue::Bool(b),
                (_, Some(s)) => StripValue::Text(s.to_string()),
                _ => StripValue::Other(item.to_string().trim().to_string()),
            };
            Some((format!("[profile.{name}] in {}", file.display()), value))
        })
    };
    let mut name = profile.to_string();
    let mut seen = Vec::new();
    loop {
        if let Some(found) = lookup(&name, key_wanted) {
            return Ok(Some(found));
        }
        seen.push(name.clone());
        let parent = match lookup(&name, "inherits") {
            Some((_, StripValue::Text(parent))) => parent,
            Some((where_, _)) => {
                return Err(UsageError::new(format!("{where_}: `inherits` must name a profile")));
            }
            None => match name.as_str() {
                "bench" => "release".to_string(),
                "test" => "dev".to_string(),
                _ => return Ok(None),
            },
        };
        if seen.contains(&parent) {
            return Err(UsageError::new(format!(
                "the profiles {} inherit from each other in a cycle",
                seen.join(" -> ")
            )));
        }
        name = parent;
    }
}

enum StripValue {
    Bool(bool),
    Text(String),
    Other(String),
}

fn cargo_home_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

fn raw_dist(meta: &Metadata, where_: &str) -> Result<RawDist> {
    match meta.workspace_metadata.get("dist") {
        None | Some(serde_json::Value::Null) => Ok(RawDist::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            // serde names no path: find the target table the mistake is in, if it is in one.
            let table = value["target"]
                .as_object()
                .into_iter()
                .flatten()
                .find_map(|(triple, table)| {
                    TargetConfig::deserialize(table)
                        .err()
                        .map(|e| format!("[target.{triple}] {e}"))
                });
            UsageError::new(format!("{where_}: {}", table.unwrap_or_else(|| e.to_string())))
        }),
    }
}

/// What the command line can override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub targets: Vec<String>,
    pub profile: Option<String>,
    pub out_dir: Option<PathBuf>,
    /// `--features` (replaces the config's `features` when given), `--all-features` and
    /// `--no-default-features` (each turns its setting on).
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    /// The workspace-wide `size-mode` and `allocator`, in place of the config's (a target's
    /// own setting still wins): the bench measures them on a project that sets neither.
    pub size_mode: Option<SizeMode>,
    pub allocator: Option<Allocator>,
    pub panic: Option<PanicMode>,
}

impl Overrides {
    /// Only these targets, everything else from the config.
    pub fn for_targets(targets: Vec<String>) -> Overrides {
        Overrides {
            targets,
            ..Overrides::default()
        }
    }
}

/// The toolchain that builds the workspace (toolchain.rs); kept here for its old path.
pub use crate::toolchain::Toolchain;

#[derive(Debug, Clone)]
pub struct Config {
    pub manifest_path: PathBuf,
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Name and version of the package that owns the first shipped binary: the archive name.
    pub name: String,
    pub version: String,
    pub profile: String,
    pub targets: Vec<Target>,
    /// Absolute paths of the extra files packed beside the binaries.
    pub include: Vec<PathBuf>,
    /// The workspace members' directories (where their build scripts run).
    pub member_dirs: Vec<PathBuf>,
    pub bins: Vec<Bin>,
    /// Completion scripts and man pages to generate, per shipped bin.
    pub generated: Vec<Generated>,
    pub unix_format: Option<ArchiveFormat>,
    pub windows_format: Option<ArchiveFormat>,
    /// `archive-name`: the archives' file names without the extension, with placeholders
    /// ([`ARCHIVE_PLACEHOLDERS`]); checked for every target when the config is read.
    pub archive_name: String,
    pub commit: String,
    /// What the run should say before it starts: a release that records no real commit or
    /// dates its files 1970, and how to fix it.
    pub warnings: Vec<String>,
    /// Per target, what its dependency graph compiles natively and which Apple frameworks it
    /// links (deps/, the same answer the audit gives): the routes rest on it.
    pub native: BTreeMap<String, NativeCode>,
    /// Arguments for the smoke run of each runnable binary, and text its output must hold
    /// (`{target}` stands for the triple); no expectation means exit status 0 is enough.
    pub smoke_args: Vec<String>,
    pub smoke_expect: Option<String>,
    pub target_config: BTreeMap<Target, TargetConfig>,
    /// Whether the generated CI workflow caches compilation with sccache.
    pub sccache: bool,
    /// Whether the binaries carry their dependency list (cargo-auditable's `.dep-v0`).
    pub auditable: bool,
    /// Tracked files differ from `commit` (`git status`): the manifest says so, and the
    /// archives cannot be rebuilt from the commit alone.
    pub dirty: bool,
    /// `accept-msvc-license = true` in the config.
    pub accept_msvc_license: bool,
    /// `macos-sdk`, resolved against the workspace root (see plan::AppleLink).
    pub macos_sdk: Option<PathBuf>,
    /// The one timestamp every archive entry carries: SOURCE_DATE_EPOCH, else the commit time.
    pub source_date_epoch: u64,
    /// Where per-target graphs resolved from this workspace's inputs are kept between runs
    /// (deps/cache.rs); None for a config not read from a workspace.
    pub graph_cache: Option<GraphCache>,
    /// The features every target is built with; a target's own `features` add to them
    /// ([`Config::features_for`]).
    pub features: Features,
    /// The `profile.<name>.*` settings this tool gives cargo (`--config`) because the
    /// workspace defines no such profile (only for "dist"); empty when the workspace's wins.
    pub tool_profile: Vec<(String, String)>,
    /// What the profile strips ([`effective_strip`]), read once: the linker's own strip flags
    /// (/DEBUG:NONE, -s) and the verification rule both follow it.
    pub strip: Strip,
    /// The profile's `opt-level` ([`profile_opt_level`]): what C code is compiled at where
    /// the cc crate's own flags are off (the MSVC route).
    pub opt_level: String,
    /// `minisign-public-key`, checked to be a key when read.
    pub minisign_public_key: Option<String>,
    /// Where the install scripts download from, placeholders replaced; None: nowhere known
    /// (the scripts then need `--base-url`).
    pub installer_base_url: Option<String>,
    /// The size mode's nightly and panic setting, when any target uses it
    /// ([`Config::size_mode`] says which).
    pub size: Option<SizeSettings>,
    /// The workspace-wide `size-mode` and `allocator` (a target's own wins).
    pub size_mode: SizeMode,
    pub allocator: Option<Allocator>,
}

/// The size profile this tool defines as `dist` where the workspace has none: the settings
/// this repository's own [profile.dist] has (smallest binary, no symbols), passed as
/// `--config profile.dist.<key>=<value>`. `panic = "abort"` only with `panic-abort = true`.
/// `debug = false` because the strip drops debug info anyway, and a release profile that
/// keeps some (ripgrep's `debug = 1`) would only make every build slower.
pub fn tool_profile(panic_abort: bool) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = [
        ("inherits", "\"release\""),
        ("lto", "\"fat\""),
        ("codegen-units", "1"),
        ("opt-level", "\"z\""),
        ("debug", "false"),
        ("strip", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if panic_abort {
        settings.push(("panic".into(), "\"abort\"".into()));
    }
    settings
}

/// The installers' download base: the config's, else the GitHub release of the tag the
/// generated workflow releases (`v{version}`) when the package's repository is on GitHub.
fn installer_base_url(raw: Option<&str>, owner: &cargo_metadata::Package, where_: &str) -> Result<Option<String>> {
    let fill = |url: &str| {
        url.replace("{version}", &owner.version.to_string())
            .replace("{name}", owner.name.as_str())
            .trim_end_matches('/')
            .to_string()
    };
    if let Some(url) = raw {
        if url.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '`' || c == '$') {
            return Err(UsageError::new(format!(
                "{where_}: installer-base-url `{url}` holds a space, a quote, `$` or a backtick: write a plain URL"
            )));
        }
        return Ok(Some(fill(url)));
    }
    let github = owner
        .repository
        .as_deref()
        .map(|r| r.trim_end_matches('/').trim_end_matches(".git"))
        .filter(|r| r.starts_with("https://github.com/") && r.split('/').count() == 5)
        .filter(|r| r.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c)));
    Ok(github.map(|repo| fill(&format!("{repo}/releases/download/v{{version}}"))))
}

/// Runs `cargo metadata` for the workspace at `manifest_path` (or the current directory).
pub fn metadata(runner: &Runner, manifest_path: Option<&Path>) -> Result<Metadata> {
    // With dependencies: the shipped bins' packages and their versions come from it.
    metadata_with(runner, manifest_path, Cmd::new("cargo"), true)
}

/// [`metadata`], and what [`graph_cache`] needs of it: the JSON cargo printed.
/// `with_deps: false` reads the workspace's own packages only (`--no-deps`, a quarter of the
/// time), enough for the config but not for a graph cache.
pub fn metadata_with_json(
    runner: &Runner,
    manifest_path: Option<&Path>,
    with_deps: bool,
) -> Result<(Metadata, String)> {
    metadata_json(runner, manifest_path, Cmd::new("cargo"), with_deps)
}

/// The cache for the per-target graphs that plain `cargo` resolves for the workspace of
/// [`metadata_with_json`] (deps/cache.rs), in its target directory.
pub fn graph_cache(runner: &Runner, manifest_path: Option<&Path>, meta: &Metadata, json: &str) -> GraphCache {
    let root = meta.workspace_root.as_std_path();
    // rustup picks the toolchain from the workspace's files, as for cargo itself.
    let rustc = runner
        .query(&Cmd::new("rustc").arg("-vV").cwd(root))
        .unwrap_or_default();
    let manifest = root.join("Cargo.toml");
    let dir = meta.target_directory.as_std_path().join("dist-tools").join("graphs");
    GraphCache::new(
        dir,
        json,
        &Cmd::new("cargo"),
        manifest_path.unwrap_or(&manifest),
        &rustc,
    )
}

/// The same with `cargo` as the toolchain starts it, from the workspace's directory so its
/// `.cargo/config.toml` applies (a `build.target-dir` there moves the target directory).
/// `with_deps: false` reads only the workspace's own packages (`--no-deps`), which is quicker.
fn metadata_with(runner: &Runner, manifest_path: Option<&Path>, cargo: Cmd, with_deps: bool) -> Result<Metadata> {
    metadata_json(runner, manifest_path, cargo, with_deps).map(|(meta, _)| meta)
}

/// `cargo metadata --format-version 1` with `cargo`, keeping its hands off the target
/// directory's `.rustc_info.json`. That file caches what rustc answered about each target
/// for one rustc and wrapper; the builds run with cargo-auditable as the wrapper and
/// metadata without, so every metadata run replaced the builds' answers and every build
/// asked rustc again (+0.15 s on git-absorb's no-op `dist`). Metadata's own answers were
/// never reused anyway: the next build replaced them in turn.
pub(crate) fn metadata_cmd(cargo: Cmd) -> Cmd {
    cargo
        .env("CARGO_CACHE_RUSTC_INFO", "0")
        .args(["metadata", "--format-version", "1"])
}

/// [`metadata_with`], and the JSON cargo printed (what the graph cache's key is made of).
fn metadata_json(
    runner: &Runner,
    manifest_path: Option<&Path>,
    cargo: Cmd,
    with_deps: bool,
) -> Result<(Metadata, String)> {
    let mut cmd = metadata_cmd(cargo);
    if !with_deps {
        cmd = cmd.arg("--no-deps");
    }
    if let Some(dir) = manifest_path.and_then(Path::parent).filter(|d| d.is_dir()) {
        cmd = cmd.cwd(dir);
    }
    if let Some(path) = manifest_path {
        if !path.is_file() {
            return Err(UsageError::new(format!(
                "--manifest-path {} is not a file: point it at a workspace's Cargo.toml",
                path.display()
            )));
        }
        cmd = cmd.arg("--manifest-path").arg(crate::runner::path_arg(path)?);
    }
    let json = runner
        .query(&cmd)
        .map_err(|e| UsageError::new(format!("cannot read the workspace (is this a Cargo workspace?): {e:#}")))?;
    let meta =
        cargo_metadata::MetadataCommand::parse(&json).context("cargo metadata printed JSON this tool cannot read")?;
    Ok((meta, json))
}

/// The commit being released and its time (`git log -1`). Outside git, the commit that
/// `cargo package` recorded in `.cargo_vcs_info.json` (a source unpacked from crates.io),
/// without a time; outside both, neither.
pub fn commit(runner: &Runner, workspace_root: &Path) -> (Option<String>, Option<u64>) {
    let cmd = Cmd::new("git")
        .args(["log", "-1", "--format=%H %ct"])
        .cwd(workspace_root);
    let out = runner.query(&cmd).unwrap_or_default();
    if let Some((hash, time)) = out.trim().split_once(' ') {
        return (Some(hash.to_string()), time.parse().ok());
    }
    let vcs_info = std::fs::read(workspace_root.join(".cargo_vcs_info.json")).ok();
    let sha1 = vcs_info
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|info| info["git"]["sha1"].as_str().map(str::to_string));
    (sha1, None)
}

/// Whether tracked files differ from HEAD (untracked files are not built unless named,
/// and a build's own output is usually ignored); false outside git.
fn dirty(runner: &Runner, workspace_root: &Path) -> bool {
    let cmd = Cmd::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .cwd(workspace_root);
    runner.query(&cmd).is_ok_and(|out| !out.trim().is_empty())
}

/// SOURCE_DATE_EPOCH (the reproducible-builds convention) wins over the commit time; None
/// when there is neither.
fn source_date_epoch(commit_time: Option<u64>) -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value.trim().parse().map(Some).map_err(|_| {
            UsageError::new(format!("SOURCE_DATE_EPOCH is `{value}`: it must be whole seconds since 1970, like `git log -1 --format=%ct` prints"))
        }),
        Err(_) => Ok(commit_time),
    }
}

/// The warnings for a release without a commit or without a date, each with its fix.
fn provenance_warnings(root: &Path, commit: Option<&str>, date: Option<u64>) -> Vec<String> {
    let mut warnings = Vec::new();
    if commit.is_none() {
        warnings.push(format!(
            "{} is not a git checkout (and has no .cargo_vcs_info.json): manifest.json and REPORT.md record commit `unknown`; build from a git clone of the release commit",
            root.display()
        ));
    }
    if date.is_none() {
        warnings.push(format!(
            "no commit time for {}: every archive entry is dated 1970-01-01; build from a git checkout, or set SOURCE_DATE_EPOCH to the release's time in seconds (`git log -1 --format=%ct` prints it)",
            root.display()
        ));
    }
    warnings
}

/// The config, and the per-target dependency graphs when it needed them (empty when nothing
/// anywhere compiles native code): later stages (the SBOMs) reuse them rather than resolve
/// each target again.
pub fn load(
    runner: &Runner,
    manifest_path: Option<&Path>,
    toolchain: &Toolchain,
    overrides: Overrides,
) -> Result<(Config, Vec<TargetGraph>)> {
    let (meta, mut config) = read_with_macos_min(runner, manifest_path, toolchain, overrides)?;
    // Every target's graph is part of the whole workspace's: when that compiles no native
    // code, no target's does, and resolving each target (a `cargo metadata` each) is skipped.
    // The whole workspace's graph has the default features only: with features selected
    // anywhere, every target is resolved.
    let features = !config.features.is_empty() || config.target_config.values().any(|t| t.features.is_some());
    let mut graphs = Vec::new();
    if features || deps::native_anywhere(&meta, &config.bins, config.graph_cache.as_ref())? {
        graphs = resolve_graphs(runner, manifest_path, toolchain, &mut config)?;
    }
    Ok((config, graphs))
}

/// The config, and the per-target dependency graphs its native-code answers come from,
/// resolved with each target's features as the dist build selects them: the audit reports
/// on the very graphs the routes are chosen from.
pub fn load_with_graphs(
    runner: &Runner,
    manifest_path: Option<&Path>,
    toolchain: &Toolchain,
    overrides: Overrides,
) -> Result<(Config, Vec<TargetGraph>)> {
    let (_, mut config) = read_with_macos_min(runner, manifest_path, toolchain, overrides)?;
    let graphs = resolve_graphs(runner, manifest_path, toolchain, &mut config)?;
    Ok((config, graphs))
}

/// The workspace's metadata and the config without its per-target native code.
fn read(
    runner: &Runner,
    manifest_path: Option<&Path>,
    toolchain: &Toolchain,
    overrides: Overrides,
) -> Result<(Metadata, Config)> {
    let cargo = toolchain.query_cmd("cargo");
    let (meta, json) = metadata_json(runner, manifest_path, cargo.clone(), true)?;
    let root = meta.workspace_root.as_std_path();
    let (commit, time) = commit(runner, root);
    let date = source_date_epoch(time)?;
    let warnings = provenance_warnings(root, commit.as_deref(), date);
    let mut config = from_metadata(&meta, toolchain, overrides, commit.unwrap_or_else(|| "unknown".into()))?;
    config.source_date_epoch = date.unwrap_or(0);
    config.dirty = dirty(runner, root);
    config.warnings = warnings;
    let manifest = manifest_path.unwrap_or(&config.manifest_path);
    let cache_dir = config.target_dir.join("dist-tools").join("graphs");
    config.graph_cache = Some(GraphCache::new(
        cache_dir,
        &json,
        &cargo,
        manifest,
        &toolchain.identity(),
    ));
    Ok((meta, config))
}

/// Resolves every target's graph, with the features its build selects, and records what
/// each compiles natively: a feature that pulls in C (an allocator) moves the route.
fn resolve_graphs(
    runner: &Runner,
    manifest_path: Option<&Path>,
    toolchain: &Toolchain,
    config: &mut Config,
) -> Result<Vec<TargetGraph>> {
    // Features name the package of the manifest the user pointed at, as with cargo itself.
    let manifest = manifest_path.unwrap_or(&config.manifest_path).to_path_buf();
    // One resolution per distinct feature selection, each for the targets that build with it.
    let mut groups: BTreeMap<Features, Vec<String>> = BTreeMap::new();
    // A universal target has no graph of its own: its slices' graphs are its code.
    for target in config.targets.iter().filter(|t| !t.is_universal()) {
        groups
            .entry(config.features_for(target))
            .or_default()
            .push(target.triple().to_string());
    }
    let mut graphs = Vec::new();
    for (features, triples) in groups {
        let loaded = deps::load(
            runner,
            &toolchain.query_cmd("cargo"),
            &manifest,
            &triples,
            &config.bins,
            &features.cargo_flags(),
            config.graph_cache.as_ref(),
        )?;
        graphs.extend(loaded);
    }
    // In the matrix's order, as the plan lists the jobs.
    graphs.sort_by_key(|g| config.targets.iter().position(|t| t.triple() == g.target));
    config.native = graphs.iter().map(|g| (g.target.clone(), g.native_code())).collect();
    Ok(graphs)
}

/// The highest `rust-version` of the shipped packages, and which package declares it.
pub fn shipped_rust_version(
    runner: &Runner,
    manifest_path: Option<&Path>,
    dir: &Path,
) -> Result<(Option<cargo_metadata::semver::Version>, String)> {
    let mut cargo = Cmd::new("cargo");
    if dir.is_dir() {
        cargo = cargo.cwd(dir);
    }
    let meta = metadata_with(runner, manifest_path, cargo, false)?;
    let shipped = shipped_packages(&meta);
    let best = meta
        .workspace_packages()
        .into_iter()
        .filter(|p| shipped.iter().any(|s| s == p.name.as_str()))
        .filter_map(|p| p.rust_version.clone().map(|v| (v, p.name.to_string())))
        .max_by(|a, b| a.0.cmp(&b.0));
    Ok(match best {
        Some((version, owner)) => (Some(version), owner),
        None => (None, String::new()),
    })
}

/// The packages whose bins the config ships (every workspace package with a bin when the
/// config cannot be read: its mistakes are reported later, by [`from_metadata`]).
fn shipped_packages(meta: &Metadata) -> Vec<String> {
    let where_ = "[workspace.metadata.dist]";
    let bins = raw_dist(meta, where_).and_then(|raw| resolve_bins(meta, raw.bins, where_));
    match bins {
        Ok(bins) => bins.into_iter().map(|b| b.package).collect(),
        Err(_) => meta.workspace_packages().iter().map(|p| p.name.to_string()).collect(),
    }
}

/// Builds the config from already-read metadata; every check a user can fail is here. The
/// per-target native code is left to [`load`], which resolves each target's graph.
pub fn from_metadata(meta: &Metadata, toolchain: &Toolchain, overrides: Overrides, commit: String) -> Result<Config> {
    let workspace_root = meta.workspace_root.clone().into_std_path_buf();
    let manifest_path = workspace_root.join("Cargo.toml");
    let where_ = format!("[workspace.metadata.dist] in {}", manifest_path.display());
    let raw = raw_dist(meta, &where_)?;

    let targets = resolve_targets(&raw, &overrides, toolchain, &where_)?;
    let profile = overrides
        .profile
        .or(raw.profile.clone())
        .unwrap_or_else(|| "dist".into());
    if profile.is_empty() {
        return Err(UsageError::new(format!(
            "{where_}: `profile` is empty: name a cargo profile such as \"dist\""
        )));
    }
    // The size profile is this tool's default: where the workspace has no [profile.dist],
    // the tool defines it for the build (an existing one wins).
    let tool_profile = match check_profile(&workspace_root, &profile) {
        Ok(()) => Vec::new(),
        Err(_) if profile == "dist" => tool_profile(raw.panic_abort.unwrap_or(false)),
        Err(e) => return Err(e),
    };
    // What the profile really strips and optimises for, whatever its name.
    let strip = effective_strip(&workspace_root, &profile)?;
    let opt_level = match tool_profile.iter().find(|(k, _)| k == "opt-level") {
        Some((_, value)) => value.trim_matches('"').to_string(),
        None => profile_opt_level(&workspace_root, &profile)?,
    };
    let bins = resolve_bins(meta, raw.bins.clone(), &where_)?;
    let owner = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == bins[0].package)
        .context("the package of the first binary vanished from cargo metadata")?;
    let include = resolve_include(&workspace_root, raw.include.clone(), &where_)?;
    for triple in raw.target.keys() {
        let known = toolchain.known_targets.iter().any(|k| triple == k.as_str()) || triple.is_universal();
        if !targets.contains(triple) && !known {
            return Err(UsageError::new(format!(
                "{where_}: [target.{triple}] names an unknown target triple{}",
                model::closest(triple.triple(), &toolchain.known_targets)
                    .map(|c| format!(": did you mean `{c}`?"))
                    .unwrap_or_default()
            )));
        }
    }
    for (triple, target) in &raw.target {
        if let Some(runner) = &target.runner {
            check_runner_label(runner)
                .map_err(|why| UsageError::new(format!("{where_}: [target.{triple}] runner = \"{runner}\" {why}")))?;
        }
    }
    let mut target_config = raw.target.clone();
    // The workspace-wide macos-min; `load` asks the toolchain for the targets still without.
    if let Some(version) = raw.macos_min {
        resolve_macos_min(&mut target_config, Some(version), &targets, |_| Ok(version))?;
    }
    let features = Features::new(
        if overrides.features.is_empty() {
            raw.features.as_deref().unwrap_or_default()
        } else {
            &overrides.features
        },
        overrides.all_features || raw.all_features.unwrap_or(false),
        overrides.no_default_features || raw.no_default_features.unwrap_or(false),
    );
    let size_mode = overrides.size_mode.or(raw.size_mode).unwrap_or(SizeMode::Off);
    let size_used = targets
        .iter()
        .any(|t| target_config.get(t).and_then(|c| c.size_mode).unwrap_or(size_mode) == SizeMode::BuildStd);
    let panic = overrides.panic.or(raw.panic);
    if !size_used && (panic.is_some() || raw.size_toolchain.is_some()) {
        return Err(UsageError::new(format!(
            "{where_}: `panic` and `size-toolchain` belong to the size mode, and no target uses it: add size-mode = \"build-std\" (docs/SIZE.md), or remove them"
        )));
    }
    let size = size_used.then(|| SizeSettings {
        toolchain: raw
            .size_toolchain
            .clone()
            .unwrap_or_else(|| crate::toolchain::SIZE_NIGHTLY.to_string()),
        immediate_abort: panic == Some(PanicMode::ImmediateAbort),
    });
    let allocator = overrides.allocator.or(raw.allocator);
    resolve_allocator(&mut target_config, &targets, allocator, meta, &bins, &where_)?;
    let out_dir = match overrides.out_dir {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => std::env::current_dir()
            .context("reading the current directory")?
            .join(dir),
        None => workspace_root.join("dist"),
    };
    let macos_sdk = raw.macos_sdk.as_ref().map(|sdk| workspace_root.join(sdk));
    let config = Config {
        generated: resolve_generated(&raw, &bins, &where_)?,
        archive_name: raw
            .archive_name
            .clone()
            .unwrap_or_else(|| DEFAULT_ARCHIVE_NAME.to_string()),
        warnings: Vec::new(),
        unix_format: raw.unix_format,
        windows_format: raw.windows_format,
        manifest_path,
        target_dir: meta.target_directory.clone().into_std_path_buf(),
        out_dir,
        name: owner.name.to_string(),
        version: owner.version.to_string(),
        workspace_root,
        profile,
        targets,
        include,
        member_dirs: meta
            .workspace_packages()
            .iter()
            .filter_map(|p| p.manifest_path.parent().map(|d| d.as_std_path().to_path_buf()))
            .collect(),
        bins,
        commit,
        native: BTreeMap::new(),
        smoke_args: raw.smoke_args.unwrap_or_else(|| vec!["--version".into()]),
        smoke_expect: raw.smoke_expect,
        target_config,
        sccache: raw.sccache.unwrap_or(false),
        auditable: raw.auditable.unwrap_or(true),
        dirty: false,
        accept_msvc_license: raw.accept_msvc_license.unwrap_or(false),
        macos_sdk,
        source_date_epoch: 0,
        graph_cache: None,
        features,
        tool_profile,
        strip,
        opt_level,
        minisign_public_key: match &raw.minisign_public_key {
            Some(key) => Some(
                crate::sign::public_key(key)
                    .map_err(|e| UsageError::new(format!("{where_}: minisign-public-key: {e:#}")))?
                    .to_base64(),
            ),
            None => None,
        },
        installer_base_url: installer_base_url(raw.installer_base_url.as_deref(), owner, &where_)?,
        size,
        size_mode,
        allocator,
    };
    config.check_archive_names(&where_)?;
    Ok(config)
}

/// The names `archive-name` may use, and what each stands for.
pub const ARCHIVE_PLACEHOLDERS: [(&str, &str); 4] = [
    ("name", "the package that owns the first shipped binary"),
    ("bin", "the first shipped binary"),
    ("version", "that package's version"),
    ("target", "the target triple"),
];

/// ripgrep's naming: `ripgrep-14.1.1-x86_64-unknown-linux-musl`.
pub const DEFAULT_ARCHIVE_NAME: &str = "{name}-{version}-{target}";

/// The runner a target's CI job uses: its `runner` key, else ubuntu-latest, since every
/// route works from Linux.
pub fn runner_for<'a>(config: &'a Config, target: &str) -> &'a str {
    config
        .target_config
        .get(target)
        .and_then(|t| t.runner.as_deref())
        .unwrap_or("ubuntu-latest")
}

/// A runner label goes into the generated workflow as YAML text: only the characters
/// GitHub's labels use, so it can never open an expression or a new YAML node.
fn check_runner_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("is empty: name a runner label such as \"ubuntu-latest\"");
    }
    if !label.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err("is not a runner label: use letters, digits, '-', '_' and '.' only, such as \"macos-latest\"");
    }
    Ok(())
}

/// Cargo knows a custom profile only from `[profile.<name>]` in the root manifest or a
/// cargo config file (or CARGO_PROFILE_<NAME>_* variables); without one the build fails
/// after the output directory exists, so it is checked here, before anything runs.
fn check_profile(root: &Path, profile: &str) -> Result<()> {
    if ["dev", "release", "test", "bench"].contains(&profile) {
        return Ok(());
    }
    let env_prefix = format!("CARGO_PROFILE_{}_", profile.to_uppercase().replace('-', "_"));
    if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with(&env_prefix)) {
        return Ok(());
    }
    let mut files = vec![root.join("Cargo.toml")];
    for dir in root.ancestors() {
        files.push(dir.join(".cargo/config.toml"));
        files.push(dir.join(".cargo/config"));
    }
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        files.push(home.join("config.toml"));
    }
    let key = format!("profile.{profile}");
    let defined = files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|l| {
                let l = l.trim_start().trim_start_matches('[').trim_start();
                l.starts_with(&format!("{key}]"))
                    || l.starts_with(&format!("{key}."))
                    || l.starts_with(&format!("{key} "))
            })
        })
    });
    if defined {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "the profile `{profile}` is not defined in {}: add [profile.{profile}] with inherits = \"release\", or pass --profile release",
            root.join("Cargo.toml").display()
        )))
    }
}

impl Config {
    /// The file name of `target`'s archive: `archive-name` filled in, and the extension.
    pub fn archive_name(&self, target: &Target) -> String {
        let mut name = self.archive_name.clone();
        for (key, value) in [
            ("name", self.name.as_str()),
            ("bin", self.bins[0].name.as_str()),
            ("version", self.version.as_str()),
            ("target", target.triple()),
        ] {
            name = name.replace(&format!("{{{key}}}"), value);
        }
        format!("{name}.{}", self.format_for(target).extension())
    }

    /// The start of every archive name of this app whatever its version and target: what
    /// `archive-name` expands to before its first `{version}` or `{target}` (empty when it
    /// starts with one). Archives with it that a run did not make are stale.
    pub fn archive_prefix(&self) -> String {
        let cut = ["{version}", "{target}"]
            .iter()
            .filter_map(|p| self.archive_name.find(p))
            .min()
            .unwrap_or(self.archive_name.len());
        self.archive_name[..cut]
            .replace("{name}", &self.name)
            .replace("{bin}", &self.bins[0].name)
    }

    /// `archive-name` must use known placeholders only, name each target's archive apart
    /// (`{target}`), and give every target a plain file name (package/names.rs).
    fn check_archive_names(&self, where_: &str) -> Result<()> {
        let template = &self.archive_name;
        let known: Vec<String> = ARCHIVE_PLACEHOLDERS.iter().map(|(k, _)| format!("{{{k}}}")).collect();
        let mut rest = template.as_str();
        while let Some(open) = rest.find(['{', '}']) {
            let placeholder = rest[open..].find('}').map(|close| &rest[open..=open + close]);
            match placeholder {
                Some(p) if rest[open..].starts_with('{') && known.iter().any(|k| k == p) => {
                    rest = &rest[open + p.len()..];
                }
                _ => {
                    let found = placeholder.unwrap_or(&rest[open..]);
                    return Err(UsageError::new(format!(
                        "{where_}: `archive-name = \"{template}\"` has `{found}`, which is not a placeholder: use {}",
                        known.join(", ")
                    )));
                }
            }
        }
        if !template.contains("{target}") {
            return Err(UsageError::new(format!(
                "{where_}: `archive-name = \"{template}\"` has no `{{target}}`: every target's archive would get the same name"
            )));
        }
        for target in &self.targets {
            let name = self.archive_name(target);
            let top = name.trim_end_matches(&format!(".{}", self.format_for(target).extension()));
            let safe = crate::package::names::check_archive_name(&name)
                .and_then(|()| crate::package::names::check_entry_name(top))
                .and_then(
                    |()| match name.chars().find(|c| c.is_control() || "<>:\"|?*".contains(*c)) {
                        Some(c) => Err(anyhow::anyhow!(
                            "`{name}` holds {c:?}, which Windows or a shell cannot keep in a file name"
                        )),
                        None => Ok(()),
                    },
                );
            if let Err(e) = safe {
                return Err(UsageError::new(format!(
                    "{where_}: `archive-name = \"{template}\"` gives {target} the name `{name}`, not a safe file name ({e:#}): use letters, digits, '-', '_' and '.'"
                )));
            }
        }
        Ok(())
    }

    /// Whether the profile strips anything: the linker then gets its own strip flags.
    pub fn strips(&self) -> bool {
        self.strip != Strip::None
    }

    /// What `target`'s graph compiles natively. Nothing when no graph was resolved for it:
    /// [`load`] resolves none when the whole workspace holds no native code, and a config from
    /// [`from_metadata`] alone has none.
    pub fn native_code(&self, target: &Target) -> &NativeCode {
        static NONE: NativeCode = NativeCode {
            compiled: Vec::new(),
            frameworks: Vec::new(),
            framework_names: Vec::new(),
            apple_libraries: std::collections::BTreeMap::new(),
            apple_declared: std::collections::BTreeMap::new(),
            script_os_tests: std::collections::BTreeMap::new(),
        };
        self.native.get(target.triple()).unwrap_or(&NONE)
    }

    /// The features `target` is built with: the workspace-wide ones and its own.
    pub fn features_for(&self, target: &Target) -> Features {
        match self.target_config.get(target).and_then(|t| t.features.as_ref()) {
            Some(own) => self.features.with(own),
            None => self.features.clone(),
        }
    }

    /// Whether `target` is built in the size mode (its own `size-mode`, else the workspace's).
    pub fn size_mode(&self, target: &Target) -> bool {
        let own = self.target_config.get(target).and_then(|c| c.size_mode);
        own.unwrap_or(self.size_mode) == SizeMode::BuildStd
    }

    /// The allocator `target` ships with: its own `allocator`, else the workspace's for
    /// musl targets (the only libc whose malloc the switch is for), else the system's.
    pub fn allocator_for(&self, target: &Target) -> Allocator {
        let own = self.target_config.get(target).and_then(|c| c.allocator);
        let workspace = self.allocator.filter(|_| target.family() == Family::LinuxMusl);
        own.or(workspace).unwrap_or(Allocator::System)
    }

    /// The archive format of `target`: its own `format`, else `unix-format` /
    /// `windows-format`, else the platform's usual one.
    pub fn format_for(&self, target: &Target) -> ArchiveFormat {
        let windows = target.family().is_windows();
        self.target_config
            .get(target)
            .and_then(|t| t.format)
            .or(if windows { self.windows_format } else { self.unix_format })
            .unwrap_or_else(|| target.archive_format())
    }
}

/// The lines a shipped package needs for `allocator = "mimalloc"`: a global allocator is
/// declared in the binary's own code (`#[global_allocator]`), which no build flag can add,
/// so the switch turns on a feature the package declares once.
pub const MIMALLOC_SNIPPET: &str = "in the package's Cargo.toml, `mimalloc = { version = \"0.1\", optional = true }` under [dependencies]; \
     in the bin's main.rs, `#[cfg(feature = \"mimalloc\")] #[global_allocator] static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;`";

/// Adds the shipped packages' `mimalloc` feature to every target whose allocator is
/// mimalloc, after checking each package declares it and its bin installs the allocator:
/// a switch that built the crate without using it would ship musl's malloc under its name.
fn resolve_allocator(
    target_config: &mut BTreeMap<Target, TargetConfig>,
    targets: &[Target],
    workspace: Option<Allocator>,
    meta: &Metadata,
    bins: &[Bin],
    where_: &str,
) -> Result<()> {
    let wants = |t: &Target, c: Option<&TargetConfig>| {
        let own = c.and_then(|c| c.allocator);
        own.or(workspace.filter(|_| t.family() == Family::LinuxMusl)) == Some(Allocator::Mimalloc)
    };
    let chosen: Vec<&Target> = targets.iter().filter(|t| wants(t, target_config.get(*t))).collect();
    if chosen.is_empty() {
        return Ok(());
    }
    let mut features = Vec::new();
    for bin in bins {
        let pkg = meta
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == bin.package)
            .context("a shipped package vanished from cargo metadata")?;
        let declared = pkg.features.contains_key("mimalloc") && pkg.dependencies.iter().any(|d| d.name == "mimalloc");
        let src = pkg
            .targets
            .iter()
            .find(|t| t.is_bin() && t.name == bin.name)
            .map(|t| t.src_path.clone().into_std_path_buf());
        let code = src
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let installed = code.contains("global_allocator") && code.contains("MiMalloc");
        if !declared || !installed {
            return Err(UsageError::new(format!(
                "{where_}: allocator = \"mimalloc\" for {} needs package {} to declare it ({}): add, {MIMALLOC_SNIPPET}",
                chosen.iter().map(|t| t.triple()).collect::<Vec<_>>().join(", "),
                bin.package,
                match (declared, &src) {
                    (false, _) => "it has no `mimalloc` feature enabling the mimalloc crate".to_string(),
                    (true, Some(p)) => format!("{} installs no MiMalloc as #[global_allocator]", p.display()),
                    (true, None) => format!("its bin {} has no source file", bin.name),
                }
            )));
        }
        let feature = format!("{}/mimalloc", bin.package);
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    for target in chosen {
        let own = target_config.entry(target.clone()).or_default();
        let list = own.features.get_or_insert_with(Vec::new);
        for f in &features {
            if !list.contains(f) {
                list.push(f.clone());
            }
        }
    }
    Ok(())
}

/// Expands `completions` × `completion-shells` and `man` into one file per bin and shell.
fn resolve_generated(raw: &RawDist, bins: &[Bin], where_: &str) -> Result<Vec<Generated>> {
    let check = |key: &str, command: &[String], needs_shell: bool| -> Result<()> {
        if command.first().is_none_or(|p| p.is_empty()) {
            return Err(UsageError::new(format!(
                "{where_}: `{key}` is empty: give a program and its arguments, e.g. [\"{{bin}}\", \"--{key}\"]"
            )));
        }
        if needs_shell && !command.iter().any(|a| a.contains("{shell}")) {
            return Err(UsageError::new(format!(
                "{where_}: `{key}` has no `{{shell}}` argument: every shell would get the same script"
            )));
        }
        Ok(())
    };
    let mut generated = Vec::new();
    if let Some(command) = &raw.completions {
        check("completions", command, true)?;
        let shells = raw
            .completion_shells
            .clone()
            .unwrap_or_else(|| vec!["bash".into(), "fish".into(), "zsh".into()]);
        for shell in shells {
            let Some((_, file)) = SHELLS.iter().find(|(name, _)| *name == shell) else {
                let known: Vec<&str> = SHELLS.iter().map(|(name, _)| *name).collect();
                return Err(UsageError::new(format!(
                    "{where_}: `completion-shells` names `{shell}`, which this tool cannot name a file for (known: {})",
                    known.join(", ")
                )));
            };
            for bin in bins {
                generated.push(Generated {
                    path: format!("complete/{}", file.replace("{bin}", &bin.name)),
                    kind: AssetKind::ShellCompletions,
                    bin: bin.name.clone(),
                    command: command.iter().map(|a| a.replace("{shell}", &shell)).collect(),
                });
            }
        }
    } else if raw.completion_shells.is_some() {
        return Err(UsageError::new(format!(
            "{where_}: `completion-shells` without `completions`: add the command that prints a script"
        )));
    }
    if let Some(command) = &raw.man {
        check("man", command, false)?;
        for bin in bins {
            generated.push(Generated {
                path: format!("doc/{}.1", bin.name),
                kind: AssetKind::ManPage,
                bin: bin.name.clone(),
                command: command.clone(),
            });
        }
    }
    Ok(generated)
}

fn resolve_targets(raw: &RawDist, overrides: &Overrides, toolchain: &Toolchain, where_: &str) -> Result<Vec<Target>> {
    let (targets, source) = if !overrides.targets.is_empty() {
        (overrides.targets.clone(), "--target")
    } else if let Some(targets) = &raw.targets {
        (targets.clone(), "`targets` in [workspace.metadata.dist]")
    } else {
        (
            model::DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect(),
            "the default matrix",
        )
    };
    if targets.is_empty() {
        return Err(UsageError::new(format!(
            "{where_}: `targets` is empty: list at least one target triple, or remove the key for the default matrix"
        )));
    }
    let mut unique: Vec<Target> = Vec::new();
    for target in targets {
        if target == model::UNIVERSAL2 {
            // Made from its two slices: each is built (once) as a target of its own,
            // before it, whether or not the matrix lists it.
            let universal: Target = target.parse().expect("a well-formed triple");
            for slice in universal.slices() {
                if !unique.contains(&slice) {
                    unique.push(slice);
                }
            }
            unique.retain(|t| *t != universal);
            unique.push(universal);
            continue;
        }
        if !toolchain.known_targets.contains(&target) {
            let hint = match model::closest(&target, &toolchain.known_targets) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "`rustc --print target-list` lists the known ones".into(),
            };
            return Err(UsageError::new(format!(
                "unknown target triple `{target}` (from {source}): {hint}"
            )));
        }
        let target = Target::parse(&target).map_err(|e| UsageError::new(format!("{e} (from {source})")))?;
        if !unique.contains(&target) {
            unique.push(target);
        }
    }
    Ok(unique)
}

fn resolve_bins(meta: &Metadata, wanted: Option<Vec<String>>, where_: &str) -> Result<Vec<Bin>> {
    // The orchestrator itself is never shipped.
    let available: Vec<Bin> = meta
        .workspace_packages()
        .into_iter()
        .filter(|p| p.name.as_str() != "xtask")
        .flat_map(|p| {
            p.targets.iter().filter(|t| t.is_bin()).map(|t| Bin {
                package: p.name.to_string(),
                name: t.name.clone(),
            })
        })
        .collect();
    let bins = match wanted {
        None => available.clone(),
        Some(names) if names.is_empty() => {
            return Err(UsageError::new(format!(
                "{where_}: `bins` is empty: name at least one bin target, or remove the key to ship them all"
            )))
        }
        Some(names) => {
            let mut bins = Vec::new();
            for name in names {
                let bin = available.iter().find(|b| b.name == name).cloned().ok_or_else(|| {
                    let names: Vec<&str> = available.iter().map(|b| b.name.as_str()).collect();
                    UsageError::new(format!(
                        "{where_}: `bins` names `{name}`, which is not a bin target of this workspace (bin targets: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ))
                })?;
                bins.push(bin);
            }
            bins
        }
    };
    if bins.is_empty() {
        return Err(UsageError::new(format!(
            "the workspace at {} has no bin target to ship (xtask does not count): add a package with a src/main.rs",
            meta.workspace_root
        )));
    }
    Ok(bins)
}

fn resolve_include(root: &Path, wanted: Option<Vec<PathBuf>>, where_: &str) -> Result<Vec<PathBuf>> {
    match wanted {
        Some(paths) => paths
            .into_iter()
            .map(|p| {
                let full = root.join(&p);
                if full.is_file() {
                    Ok(full)
                } else {
                    Err(UsageError::new(format!(
                        "{where_}: `include` names {}, which is not a file in {}: fix the path or remove it",
                        p.display(),
                        root.display()
                    )))
                }
            })
            .collect(),
        None => {
            // The files a user expects beside a binary: README, licences, changelog.
            let mut found = Vec::new();
            let entries = std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {}", root.display()))?;
                let name = entry.file_name().to_string_lossy().to_uppercase();
                let wanted = ["README", "LICENSE", "LICENCE", "COPYING", "CHANGELOG"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix));
                if wanted && entry.path().is_file() {
                    found.push(entry.path());
                }
            }
            found.sort();
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain() -> Toolchain {
        Toolchain::fixed(
            "x86_64-unknown-linux-gnu".parse().unwrap(),
            PathBuf::from("/nonexistent"),
            [
                "x86_64-unknown-linux-musl",
                "x86_64-unknown-linux-gnu",
                "aarch64-unknown-linux-musl",
            ]
            .iter()
            .chain(model::DEFAULT_TARGETS.iter())
            .map(|s| s.to_string())
            .collect(),
        )
    }

    /// A real workspace on disk, read by the real `cargo metadata`.
    fn workspace(dist: &str) -> (tempfile::TempDir, Metadata) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[workspace]\nmembers = [\"tool\", \"xtask\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\n\n[workspace.metadata.dist]\n{dist}\n"
            ),
        )
        .unwrap();
        for (pkg, version) in [("tool", "1.2.3"), ("xtask", "0.0.0")] {
            std::fs::create_dir_all(root.join(pkg).join("src")).unwrap();
            std::fs::write(
                root.join(pkg).join("Cargo.toml"),
                format!("[package]\nname = \"{pkg}\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
            )
            .unwrap();
            std::fs::write(root.join(pkg).join("src/main.rs"), "fn main() {}\n").unwrap();
        }
        std::fs::write(root.join("README.md"), "hi\n").unwrap();
        std::fs::write(root.join("LICENSE-MIT"), "mit\n").unwrap();
        let meta = metadata(&Runner::default(), Some(&root.join("Cargo.toml"))).unwrap();
        (dir, meta)
    }

    fn load_from(dist: &str, overrides: Overrides) -> Result<Config> {
        let (_dir, meta) = workspace(dist);
        from_metadata(&meta, &toolchain(), overrides, "abc".into())
    }

    fn usage_message(result: Result<Config>) -> String {
        let err = result.unwrap_err();
        assert!(err.is::<UsageError>(), "not a usage error: {err:#}");
        err.to_string()
    }

    #[test]
    fn defaults_ship_every_bin_but_xtask_for_the_seed_matrix() {
        let (dir, meta) = workspace("");
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert_eq!(config.targets, model::DEFAULT_TARGETS);
        assert_eq!(config.profile, "dist");
        assert_eq!(
            config.bins,
            [Bin {
                package: "tool".into(),
                name: "tool".into()
            }]
        );
        assert_eq!((config.name.as_str(), config.version.as_str()), ("tool", "1.2.3"));
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(config.include, [root.join("LICENSE-MIT"), root.join("README.md")]);
        assert_eq!(config.out_dir, root.join("dist"));
    }

    #[test]
    fn config_keys_are_read_and_flags_win() {
        let dist = "targets = [\"x86_64-unknown-linux-musl\"]\nprofile = \"release\"\ninclude = [\"README.md\"]\nbins = [\"tool\"]";
        let config = load_from(dist, Overrides::default()).unwrap();
        assert_eq!(config.targets, ["x86_64-unknown-linux-musl"]);
        assert_eq!(config.profile, "release");
        assert_eq!(config.include.len(), 1);
        let flags = Overrides {
            targets: vec!["aarch64-unknown-linux-musl".into(), "aarch64-unknown-linux-musl".into()],
            profile: Some("dist".into()),
            out_dir: Some("/tmp/out".into()),
            ..Overrides::default()
        };
        let config = load_from(dist, flags).unwrap();
        assert_eq!(
            config.targets,
            ["aarch64-unknown-linux-musl"],
            "flags win and duplicates collapse"
        );
        assert_eq!(config.profile, "dist");
        assert_eq!(config.out_dir, PathBuf::from("/tmp/out"));
    }

    #[test]
    fn size_mode_is_per_target_and_its_settings_need_it() {
        let targets = "targets = [\"x86_64-unknown-linux-musl\", \"x86_64-pc-windows-msvc\"]\n";
        let config = load_from(
            &format!("{targets}size-mode = \"build-std\"\npanic = \"immediate-abort\"\n[workspace.metadata.dist.target.x86_64-pc-windows-msvc]\nsize-mode = \"off\""),
            Overrides::default(),
        )
        .unwrap();
        let [musl, msvc] = &config.targets[..] else { panic!() };
        assert!(config.size_mode(musl) && !config.size_mode(msvc));
        let size = config.size.unwrap();
        assert!(size.immediate_abort && size.toolchain == crate::toolchain::SIZE_NIGHTLY);
        // Off everywhere: no nightly is planned, and its settings are a mistake.
        let off = load_from(targets, Overrides::default()).unwrap();
        assert!(off.size.is_none());
        let message = usage_message(load_from(
            &format!("{targets}size-toolchain = \"nightly\""),
            Overrides::default(),
        ));
        assert!(message.contains("belong to the size mode"), "{message}");
        let message = usage_message(load_from("size-mode = \"tiny\"", Overrides::default()));
        assert!(message.contains("`tiny`") && message.contains("build-std"), "{message}");
    }

    #[test]
    fn the_allocator_switch_needs_the_packages_lines_and_applies_to_musl() {
        let targets = "targets = [\"x86_64-unknown-linux-musl\", \"x86_64-pc-windows-msvc\"]\n";
        let message = usage_message(load_from(
            &format!("{targets}allocator = \"mimalloc\""),
            Overrides::default(),
        ));
        assert!(
            message.contains("package tool")
                && message.contains("no `mimalloc` feature")
                && message.contains(MIMALLOC_SNIPPET),
            "{message}"
        );
        // A target that keeps the system allocator asks nothing of the package.
        let config = load_from(
            &format!("{targets}[workspace.metadata.dist.target.x86_64-pc-windows-msvc]\nallocator = \"system\""),
            Overrides::default(),
        )
        .unwrap();
        assert!(config
            .targets
            .iter()
            .all(|t| config.allocator_for(t) == Allocator::System));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let message = usage_message(load_from("tragets = []", Overrides::default()));
        assert!(message.contains("unknown field `tragets`"), "{message}");
        assert!(message.contains("[workspace.metadata.dist]"), "{message}");
    }

    #[test]
    fn a_wrong_type_is_named() {
        let message = usage_message(load_from(
            "targets = \"x86_64-unknown-linux-musl\"",
            Overrides::default(),
        ));
        assert!(message.contains("expected a sequence"), "{message}");
    }

    #[test]
    fn a_typo_in_a_triple_suggests_the_closest() {
        let flags = Overrides {
            targets: vec!["x86_64-unknown-linux-mussl".into()],
            ..Overrides::default()
        };
        let message = usage_message(load_from("", flags));
        assert!(
            message.contains("did you mean `x86_64-unknown-linux-musl`?"),
            "{message}"
        );
    }

    #[test]
    fn an_undefined_profile_is_refused_before_building() {
        let flags = Overrides {
            profile: Some("shipping".into()),
            ..Overrides::default()
        };
        let message = usage_message(load_from("", flags));
        assert!(message.contains("the profile `shipping` is not defined"), "{message}");
        let flags = Overrides {
            profile: Some("release".into()),
            ..Overrides::default()
        };
        assert!(load_from("", flags).is_ok(), "built-in profiles need no definition");
    }

    #[test]
    fn an_empty_matrix_is_refused() {
        let message = usage_message(load_from("targets = []", Overrides::default()));
        assert!(message.contains("`targets` is empty"), "{message}");
    }

    #[test]
    fn a_missing_bin_lists_the_real_ones() {
        let message = usage_message(load_from("bins = [\"nope\"]", Overrides::default()));
        assert!(
            message.contains("`nope`") && message.contains("bin targets: tool"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_include_file_is_named() {
        let message = usage_message(load_from("include = [\"CHANGES.md\"]", Overrides::default()));
        assert!(message.contains("CHANGES.md"), "{message}");
    }

    #[test]
    fn native_code_is_found_in_each_targets_graph() {
        let musl = &"x86_64-unknown-linux-musl".parse::<Target>().unwrap();
        let one_target = || Overrides {
            targets: vec![musl.to_string()],
            ..Overrides::default()
        };
        let (dir, meta) = workspace("");
        let manifest = dir.path().join("Cargo.toml");
        let (config, _) = load(&Runner::default(), Some(&manifest), &toolchain(), one_target()).unwrap();
        assert_eq!(
            config.native_code(musl),
            &NativeCode::default(),
            "a pure fixture has no C"
        );
        assert!(
            !deps::native_anywhere(&meta, &config.bins, None).unwrap(),
            "so no target is resolved"
        );
        // This repository's app compiles csrc/crc32.c with the cc crate.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join("Cargo.toml");
        let (config, _) = load(&Runner::default(), Some(&here), &toolchain(), one_target()).unwrap();
        assert_eq!(config.native_code(musl).compiled, ["app"]);
    }

    #[test]
    fn a_route_override_is_read_and_checked() {
        let config = load_from(
            "[workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"zig\"",
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            config.target_config["aarch64-unknown-linux-musl"].route,
            Some(Route::Zig)
        );
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.aarch64-unknown-linux-musl]\nroute = \"gcc\"",
            Overrides::default(),
        ));
        assert!(message.contains("unknown variant `gcc`"), "{message}");
    }

    #[test]
    fn runners_default_to_ubuntu_and_labels_are_checked() {
        let config = load_from(
            "sccache = true\n[workspace.metadata.dist.target.aarch64-apple-darwin]\nrunner = \"macos-14\"",
            Overrides::default(),
        )
        .unwrap();
        assert!(config.sccache);
        assert_eq!(runner_for(&config, "aarch64-apple-darwin"), "macos-14");
        assert_eq!(runner_for(&config, "x86_64-unknown-linux-musl"), "ubuntu-latest");
        assert!(!load_from("", Overrides::default()).unwrap().sccache);
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.aarch64-apple-darwin]\nrunner = \"${{ github.head_ref }}\"",
            Overrides::default(),
        ));
        assert!(message.contains("is not a runner label"), "{message}");
    }

    #[test]
    fn formats_come_from_the_target_table_then_the_platform_default() {
        let format_for = |config: &Config, target: &str| config.format_for(&target.parse().unwrap());
        let dist = "unix-format = \"tar.xz\"\n[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nformat = \"tar.zst\"";
        let config = load_from(dist, Overrides::default()).unwrap();
        assert_eq!(format_for(&config, "x86_64-unknown-linux-musl"), ArchiveFormat::TarZst);
        assert_eq!(format_for(&config, "aarch64-unknown-linux-musl"), ArchiveFormat::TarXz);
        assert_eq!(format_for(&config, "x86_64-pc-windows-msvc"), ArchiveFormat::Zip);
        let config = load_from("windows-format = \"tar.gz\"", Overrides::default()).unwrap();
        assert_eq!(format_for(&config, "x86_64-pc-windows-msvc"), ArchiveFormat::TarGz);
        assert_eq!(format_for(&config, "aarch64-apple-darwin"), ArchiveFormat::TarGz);
    }

    #[test]
    fn target_table_mistakes_are_named() {
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.x86_64-unknown-linux-mus]\nformat = \"zip\"",
            Overrides::default(),
        ));
        assert!(
            message.contains("did you mean `x86_64-unknown-linux-musl`?"),
            "{message}"
        );
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nformt = \"zip\"",
            Overrides::default(),
        ));
        assert!(message.contains("unknown field `formt`"), "{message}");
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.x86_64-unknown-linux-musl]\nformat = \"rar\"",
            Overrides::default(),
        ));
        assert!(
            message.contains("unknown variant `rar`") && message.contains("tar.zst"),
            "{message}"
        );
    }

    #[test]
    fn macos_min_is_set_per_target_or_for_the_workspace() {
        let message = usage_message(load_from("macos-min = \"eleven\"", Overrides::default()));
        assert!(
            message.contains("macos-min is `eleven`: write a macOS version such as \"11.0\""),
            "{message}"
        );
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.aarch64-apple-darwin]\nmacos-min = \"11.x\"",
            Overrides::default(),
        ));
        assert!(
            message.contains("[target.aarch64-apple-darwin] macos-min is `11.x`"),
            "{message}"
        );
        let config = load_from(
            "macos-min = \"12.0\"\n[workspace.metadata.dist.target.x86_64-apple-darwin]\nmacos-min = \"10.13\"",
            Overrides::default(),
        )
        .unwrap();
        let min = |t: &str| {
            config
                .target_config
                .get(t)
                .and_then(|c| c.macos_min)
                .map(|v| v.to_string())
        };
        assert_eq!(min("aarch64-apple-darwin").as_deref(), Some("12.0"));
        assert_eq!(min("x86_64-apple-darwin").as_deref(), Some("10.13"), "its own wins");
        assert_eq!(min("x86_64-unknown-linux-musl"), None, "not an Apple target");
        // Without either, `load` asks the toolchain; from_metadata leaves them unset.
        let config = load_from("", Overrides::default()).unwrap();
        assert!(config.target_config.values().all(|c| c.macos_min.is_none()));
    }

    /// The default minimum comes from the real rustc, not from a constant here.
    #[test]
    fn the_toolchain_says_the_oldest_macos_per_target() {
        let rustc = || Cmd::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
        let lowest = |triple: &str| {
            crate::toolchain::deployment_target(&Runner::default(), rustc(), &triple.parse().unwrap()).unwrap()
        };
        assert_eq!(lowest("aarch64-apple-darwin").to_string(), "11.0");
        let x86 = lowest("x86_64-apple-darwin");
        assert!(x86 >= "10.7".parse().unwrap() && x86 < "11.0".parse().unwrap(), "{x86}");
        let mut per_target = BTreeMap::new();
        let targets: Vec<Target> = model::DEFAULT_TARGETS.iter().map(|t| t.parse().unwrap()).collect();
        resolve_macos_min(&mut per_target, None, &targets, |t| Ok(lowest(t.triple()))).unwrap();
        let resolved: Vec<String> = per_target
            .iter()
            .map(|(t, c)| format!("{t} {}", c.macos_min.unwrap()))
            .collect();
        assert_eq!(
            resolved,
            ["aarch64-apple-darwin 11.0", &format!("x86_64-apple-darwin {x86}")]
        );
    }

    #[test]
    fn a_bad_glibc_max_names_its_target_table() {
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"2.x\"",
            Overrides::default(),
        ));
        assert!(
            message.contains("[target.x86_64-unknown-linux-gnu] glibc-max is `2.x`: write a glibc version"),
            "{message}"
        );
        let config = load_from(
            "[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nglibc-max = \"2.28\"",
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            config.target_config["x86_64-unknown-linux-gnu"].glibc_max,
            Some("2.28".parse().unwrap())
        );
        let message = usage_message(load_from(
            "[workspace.metadata.dist.target.\"x86_64 linux\"]\nformat = \"zip\"",
            Overrides::default(),
        ));
        assert!(message.contains("`x86_64 linux` is not a target triple"), "{message}");
    }

    #[test]
    fn completions_and_man_expand_per_shell_and_bin() {
        let dist = "completions = [\"{bin}\", \"--completions\", \"{shell}\"]\ncompletion-shells = [\"zsh\", \"bash\"]\nman = [\"{bin}\", \"--man\"]";
        let config = load_from(dist, Overrides::default()).unwrap();
        let files: Vec<(&str, String)> = config
            .generated
            .iter()
            .map(|g| (g.path.as_str(), g.command.join(" ")))
            .collect();
        assert_eq!(
            files,
            [
                ("complete/_tool", "{bin} --completions zsh".to_string()),
                ("complete/tool.bash", "{bin} --completions bash".to_string()),
                ("doc/tool.1", "{bin} --man".to_string()),
            ]
        );
        let kinds: Vec<AssetKind> = config.generated.iter().map(|g| g.kind).collect();
        assert_eq!(
            kinds,
            [
                AssetKind::ShellCompletions,
                AssetKind::ShellCompletions,
                AssetKind::ManPage
            ]
        );
        assert!(load_from("", Overrides::default()).unwrap().generated.is_empty());
    }

    #[test]
    fn archive_name_fills_its_placeholders_and_names_stale_ones_by_its_prefix() {
        let musl: Target = "x86_64-unknown-linux-musl".parse().unwrap();
        let win: Target = "x86_64-pc-windows-msvc".parse().unwrap();
        let overrides = || Overrides::for_targets(vec![musl.to_string(), win.to_string()]);
        let config = load_from("", overrides()).unwrap();
        assert_eq!(
            config.archive_name(&musl),
            "tool-1.2.3-x86_64-unknown-linux-musl.tar.gz"
        );
        assert_eq!(config.archive_prefix(), "tool-");
        let config = load_from("archive-name = \"{bin}-v{version}-{target}\"", overrides()).unwrap();
        assert_eq!(config.archive_name(&win), "tool-v1.2.3-x86_64-pc-windows-msvc.zip");
        assert_eq!(config.archive_prefix(), "tool-v");
        let config = load_from("archive-name = \"{target}-{name}\"", overrides()).unwrap();
        assert_eq!(config.archive_prefix(), "", "no prefix: only listed archives are stale");
    }

    #[test]
    fn archive_name_mistakes_are_usage_errors() {
        for (template, says) in [
            (
                "{bin}-{vers}-{target}",
                "has `{vers}`, which is not a placeholder: use {name}, {bin}, {version}, {target}",
            ),
            ("{bin}-{version}-{target", "has `{target`, which is not a placeholder"),
            ("{bin}}-{target}", "has `}`, which is not a placeholder"),
            ("{bin}-{version}", "has no `{target}`"),
            ("../{target}", "not a safe file name"),
            (".{target}", "not a safe file name"),
            ("{bin}:{target}", "holds ':'"),
        ] {
            let message = usage_message(load_from(
                &format!("archive-name = \"{template}\""),
                Overrides::default(),
            ));
            assert!(message.contains(says), "{template}: {message}");
            assert_eq!(message.lines().count(), 1, "{message}");
        }
    }

    #[test]
    fn a_source_without_git_takes_the_commit_from_cargo_vcs_info_and_warns_of_the_date() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner::default();
        assert_eq!(commit(&runner, dir.path()), (None, None));
        let warnings = provenance_warnings(dir.path(), None, None);
        assert!(
            warnings[0].contains("is not a git checkout") && warnings[0].contains("commit `unknown`"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("dated 1970-01-01") && warnings[1].contains("set SOURCE_DATE_EPOCH"),
            "{warnings:?}"
        );
        std::fs::write(
            dir.path().join(".cargo_vcs_info.json"),
            r#"{"git": {"sha1": "e89fff89ac9af12e8d4ce9d5fd07beb408ca730f"}, "path_in_vcs": ""}"#,
        )
        .unwrap();
        assert_eq!(
            commit(&runner, dir.path()),
            (Some("e89fff89ac9af12e8d4ce9d5fd07beb408ca730f".into()), None)
        );
        assert!(provenance_warnings(dir.path(), Some("e89f"), Some(1)).is_empty());
    }

    #[test]
    fn completion_mistakes_are_named() {
        for (dist, expect) in [
            ("completions = [\"{bin}\", \"--completions\"]", "no `{shell}` argument"),
            ("completions = []", "`completions` is empty"),
            (
                "completions = [\"{bin}\", \"{shell}\"]\ncompletion-shells = [\"tcsh\"]",
                "names `tcsh`",
            ),
            ("completion-shells = [\"bash\"]", "without `completions`"),
            ("man = []", "`man` is empty"),
        ] {
            let message = usage_message(load_from(dist, Overrides::default()));
            assert!(message.contains(expect), "{dist}: {message}");
        }
    }

    #[test]
    fn a_manifest_path_that_is_not_a_file_is_a_usage_error() {
        let err = metadata(&Runner::default(), Some(Path::new("/nonexistent/Cargo.toml"))).unwrap_err();
        assert!(err.is::<UsageError>());
    }

    /// A workspace whose Cargo.toml holds `profiles`, and optionally a .cargo/config.toml.
    fn strip_of(profiles: &str, cargo_config: Option<&str>, profile: &str) -> Result<Strip> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), format!("[workspace]\n\n{profiles}")).unwrap();
        if let Some(config) = cargo_config {
            std::fs::create_dir(dir.path().join(".cargo")).unwrap();
            std::fs::write(dir.path().join(".cargo/config.toml"), config).unwrap();
        }
        profile_strip(dir.path(), profile)
    }

    #[test]
    fn the_opt_level_is_the_profiles_or_its_built_in_bases() {
        let level = |profiles: &str, profile: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("Cargo.toml"), format!("[workspace]\n\n{profiles}")).unwrap();
            profile_opt_level(dir.path(), profile).unwrap()
        };
        assert_eq!(level("", "release"), "3");
        assert_eq!(level("", "dev"), "0");
        assert_eq!(level("[profile.release]\nopt-level = 2\n", "release"), "2");
        assert_eq!(
            level("[profile.dist]\ninherits = \"release\"\nopt-level = \"s\"\n", "dist"),
            "s"
        );
        assert_eq!(level("[profile.quick]\ninherits = \"dev\"\n", "quick"), "0");
        assert_eq!(
            level(
                "[profile.a]\ninherits = \"b\"\n[profile.b]\ninherits = \"release\"\n",
                "a"
            ),
            "3"
        );
    }

    #[test]
    fn the_strip_setting_is_read_whatever_the_profile_is_named() {
        use Strip::*;
        for (profiles, profile, expect) in [
            // cargo's defaults: no built-in profile strips.
            ("", "release", None),
            ("", "dev", None),
            ("[profile.release]\nstrip = true\n", "release", Symbols),
            ("[profile.release]\nstrip = true\n", "bench", Symbols),
            ("[profile.release]\nstrip = \"symbols\"\n", "release", Symbols),
            ("[profile.release]\nstrip = \"debuginfo\"\n", "release", DebugInfo),
            ("[profile.release]\nstrip = \"none\"\n", "release", None),
            // A custom profile's own key wins over what it inherits, and inheriting follows
            // the chain down to the built-in profile.
            ("[profile.dist]\ninherits = \"release\"\nstrip = true\n", "dist", Symbols),
            ("[profile.dist]\ninherits = \"release\"\nstrip = false\n", "dist", None),
            ("[profile.dist]\ninherits = \"release\"\n", "dist", None),
            (
                "[profile.release]\nstrip = \"debuginfo\"\n[profile.dist]\ninherits = \"release\"\n",
                "dist",
                DebugInfo,
            ),
            (
                "[profile.release]\nstrip = true\n[profile.small]\ninherits = \"release\"\n[profile.ship]\ninherits = \"small\"\n",
                "ship",
                Symbols,
            ),
            ("[profile.dist]\ninherits = \"release\"\nstrip = true\n", "shipping", None),
        ] {
            assert_eq!(strip_of(profiles, Option::None, profile).unwrap(), expect, "{profile} in {profiles}");
        }
    }

    #[test]
    fn the_cargo_config_overrides_the_manifest_profile() {
        let profiles = "[profile.dist]\ninherits = \"release\"\nstrip = false\n";
        let config = "[profile.dist]\nstrip = \"symbols\"\n";
        assert_eq!(strip_of(profiles, Some(config), "dist").unwrap(), Strip::Symbols);
        let only_in_config = "[profile.dist]\ninherits = \"release\"\nstrip = \"debuginfo\"\n";
        assert_eq!(strip_of("", Some(only_in_config), "dist").unwrap(), Strip::DebugInfo);
    }

    #[test]
    fn a_strip_value_cargo_does_not_know_and_an_inherits_cycle_are_usage_errors() {
        for (profiles, expect) in [
            (
                "[profile.dist]\ninherits = \"release\"\nstrip = \"all\"\n",
                "strip = \"all\" is not a setting",
            ),
            (
                "[profile.dist]\ninherits = \"release\"\nstrip = 1\n",
                "strip = 1 is not a setting",
            ),
            (
                "[profile.dist]\ninherits = \"ship\"\n[profile.ship]\ninherits = \"dist\"\n",
                "dist -> ship",
            ),
        ] {
            let err = strip_of(profiles, Option::None, "dist").unwrap_err();
            assert!(err.is::<UsageError>(), "{err:#}");
            assert!(err.to_string().contains(expect), "{err:#}");
        }
    }

    /// A real workspace without [profile.dist], as most projects are.
    fn workspace_without_profile(dist: &str) -> (tempfile::TempDir, Metadata) {
        let (dir, _) = workspace("");
        let manifest = dir.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = text.replace("[profile.dist]\ninherits = \"release\"\n", "");
        std::fs::write(&manifest, format!("{text}{dist}\n")).unwrap();
        let meta = metadata(&Runner::default(), Some(&manifest)).unwrap();
        (dir, meta)
    }

    #[test]
    fn without_a_dist_profile_the_tool_defines_it_and_an_existing_one_wins() {
        let (_dir, meta) = workspace_without_profile("");
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert_eq!(config.profile, "dist");
        assert_eq!(config.tool_profile, tool_profile(false));
        assert!(config.strips());
        assert!(
            !config.tool_profile.iter().any(|(k, _)| k == "panic"),
            "unwinding stays unless asked"
        );
        let (_dir, meta) = workspace_without_profile("panic-abort = true");
        let config = from_metadata(&meta, &toolchain(), Overrides::default(), "abc".into()).unwrap();
        assert!(config.tool_profile.contains(&("panic".into(), "\"abort\"".into())));
        let config = load_from("", Overrides::default()).unwrap();
        assert!(config.tool_profile.is_empty(), "the workspace's [profile.dist] wins");
        // Another undefined profile is still a mistake.
        let (_dir, meta) = workspace_without_profile("");
        let flags = Overrides {
            profile: Some("shipping".into()),
            ..Overrides::default()
        };
        let err = from_metadata(&meta, &toolchain(), flags, "abc".into()).unwrap_err();
        assert!(
            err.to_string().contains("the profile `shipping` is not defined"),
            "{err}"
        );
    }

    #[test]
    fn features_come_from_the_config_the_flags_and_the_target_table() {
        let musl: Target = "x86_64-unknown-linux-musl".parse().unwrap();
        let gnu: Target = "x86_64-unknown-linux-gnu".parse().unwrap();
        let dist = "features = [\"loud\"]\nno-default-features = true\n[workspace.metadata.dist.target.x86_64-unknown-linux-gnu]\nfeatures = [\"jemalloc\"]";
        let config = load_from(dist, Overrides::default()).unwrap();
        assert_eq!(config.features_for(&musl), Features::new(&["loud".into()], false, true));
        assert_eq!(
            config.features_for(&gnu).cargo_flags(),
            ["--features", "jemalloc,loud", "--no-default-features"]
        );
        let flags = Overrides {
            features: vec!["quiet".into()],
            all_features: true,
            ..Overrides::default()
        };
        let config = load_from(dist, flags).unwrap();
        assert_eq!(
            config.features_for(&musl).cargo_flags(),
            ["--features", "quiet", "--all-features", "--no-default-features"],
            "--features replaces the config's list; the switches turn theirs on"
        );
        assert!(load_from("", Overrides::default()).unwrap().features.is_empty());
        let message = usage_message(load_from("features = \"loud\"", Overrides::default()));
        assert!(message.contains("expected a sequence"), "{message}");
    }
}
