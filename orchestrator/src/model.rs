//! The leaf of the crate: what a target triple means — OS family (which decides route and
//! linkage policy), binary format, CPU architecture, executable suffix, archive format — and
//! the small closed vocabularies the stages share: linker route, archive format, smoke
//! status, asset kind, glibc version. It imports nothing from the crate. Code elsewhere asks
//! a [`Target`] instead of looking inside the triple string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The seed's release matrix: the default when the config names no targets.
pub const DEFAULT_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// The one target that is not a rustc triple: a universal (fat) Mach-O made from the
/// x86_64 and aarch64 apple-darwin builds, which the config adds to the matrix for it.
pub const UNIVERSAL2: &str = "universal2-apple-darwin";

/// Text that is not what it was meant to be: says what it is and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    text: String,
    expected: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not {}", self.text, self.expected)
    }
}

impl std::error::Error for ParseError {}

fn parse_error(text: &str, expected: &'static str) -> ParseError {
    ParseError {
        text: text.to_string(),
        expected,
    }
}

/// Serialises a value as its Display text.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    LinuxMusl,
    LinuxGnu,
    WindowsMsvc,
    WindowsGnu,
    AppleDarwin,
    Other,
}

impl Family {
    pub fn is_linux(self) -> bool {
        matches!(self, Family::LinuxMusl | Family::LinuxGnu)
    }

    pub fn is_windows(self) -> bool {
        matches!(self, Family::WindowsMsvc | Family::WindowsGnu)
    }
}

/// A binary's container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Elf,
    Pe,
    MachO,
    Unknown,
}

/// A target triple, parsed once: `<arch>-<vendor>-<os>[-<env>]`, or rustc's two-part
/// `<arch>-<os>` (`avr-none`, `wasm32-wasip1`). It compares, orders, hashes and serialises
/// as the triple string, so it keys maps exactly as the string did.
#[derive(Clone, Debug)]
pub struct Target {
    triple: String,
    family: Family,
}

impl Target {
    pub fn parse(triple: &str) -> Result<Target, ParseError> {
        let parts: Vec<&str> = triple.split('-').collect();
        let well_formed = (2..=4).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'));
        if !well_formed {
            return Err(parse_error(triple, "a target triple such as x86_64-unknown-linux-musl"));
        }
        // The same families as the substring tests this replaced ("-linux-musl", …), for
        // every triple of `rustc --print target-list` (1.95: 320 triples).
        let family = match parts.as_slice() {
            [_, _, "linux", env] if env.starts_with("musl") => Family::LinuxMusl,
            [_, _, "linux", env] if env.starts_with("gnu") => Family::LinuxGnu,
            [_, _, "windows", "msvc"] => Family::WindowsMsvc,
            [_, _, "windows", env] if env.starts_with("gnu") => Family::WindowsGnu,
            [_, "apple", "darwin"] => Family::AppleDarwin,
            _ => Family::Other,
        };
        Ok(Target {
            triple: triple.to_string(),
            family,
        })
    }

    /// The first triple of a known family in a file name
    /// (`app-1.0-x86_64-unknown-linux-musl.tar.gz`), whatever the name around it.
    pub fn find_in(file_name: &str) -> Option<Target> {
        let mut parts: Vec<&str> = file_name.split('-').collect();
        // The last part carries the extension: `musl.tar.gz`.
        if let Some(last) = parts.last_mut() {
            *last = last.split('.').next().unwrap_or_default();
        }
        (0..parts.len()).find_map(|start| {
            [4, 3]
                .iter()
                .filter_map(|&len| parts.get(start..start + len))
                .filter_map(|window| Target::parse(&window.join("-")).ok())
                .find(|t| t.family != Family::Other)
        })
    }

    pub fn triple(&self) -> &str {
        &self.triple
    }

    /// The targets whose binaries make this one's (a universal Mach-O's slices, in the
    /// order lipo writes them); empty for a target that cargo builds itself.
    pub fn slices(&self) -> Vec<Target> {
        match self.triple == UNIVERSAL2 {
            true => ["x86_64-apple-darwin", "aarch64-apple-darwin"]
                .iter()
                .map(|t| Target::parse(t).expect("a well-formed triple"))
                .collect(),
            false => Vec::new(),
        }
    }

    /// Made from other targets' builds, not by cargo (`slices` is not empty).
    pub fn is_universal(&self) -> bool {
        self.triple == UNIVERSAL2
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The format its binaries come in.
    pub fn format(&self) -> Format {
        match self.family {
            Family::LinuxMusl | Family::LinuxGnu => Format::Elf,
            Family::WindowsMsvc | Family::WindowsGnu => Format::Pe,
            Family::AppleDarwin => Format::MachO,
            Family::Other => Format::Unknown,
        }
    }

    /// The CPU architecture component, normalised to the names inspection reports.
    pub fn arch(&self) -> &str {
        match self.triple.split('-').next().unwrap_or_default() {
            "i586" | "i686" => "x86",
            "armv7" | "arm" | "armv5te" | "armv7a" | "thumbv7neon" => "arm",
            other => other,
        }
    }

    /// The suffix of its executables' file names.
    pub fn exe_suffix(&self) -> &'static str {
        if self.family.is_windows() {
            ".exe"
        } else {
            ""
        }
    }

    /// What its users unpack without extra tools: zip on Windows, tar.gz elsewhere.
    pub fn archive_format(&self) -> ArchiveFormat {
        if self.family.is_windows() {
            ArchiveFormat::Zip
        } else {
            ArchiveFormat::TarGz
        }
    }
}

impl FromStr for Target {
    type Err = ParseError;

    fn from_str(triple: &str) -> Result<Target, ParseError> {
        Target::parse(triple)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.triple)
    }
}

serde_as_text!(Target);

// Equality, order and hash are the triple's (the family follows from it), which is what
// lets a `BTreeMap<Target, _>` be looked up with a `&str` through `Borrow<str>`.
impl PartialEq for Target {
    fn eq(&self, other: &Target) -> bool {
        self.triple == other.triple
    }
}

impl Eq for Target {}

impl PartialEq<str> for Target {
    fn eq(&self, other: &str) -> bool {
        self.triple == other
    }
}

impl PartialEq<&str> for Target {
    fn eq(&self, other: &&str) -> bool {
        self.triple == *other
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Target) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Target) -> Ordering {
        self.triple.cmp(&other.triple)
    }
}

impl Hash for Target {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.triple.hash(state)
    }
}

impl Borrow<str> for Target {
    fn borrow(&self) -> &str {
        &self.triple
    }
}

/// The known triple closest to a mistyped one, if any is close enough to be a typo.
pub fn closest<'a>(wrong: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(wrong, k), k.as_str()))
        .filter(|&(distance, _)| distance <= wrong.len() / 3 + 1)
        .min()
        .map(|(_, k)| k)
}

/// How a target is linked on this (x86_64 Linux) host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// The host's `cc`, with Rust's self-contained CRT objects for musl.
    Native,
    /// The `rust-lld` that ships with rustc; enough for pure-Rust static musl binaries.
    RustLld,
    /// zig as the C compiler and linker, through cargo-zigbuild.
    Zig,
    /// rust-lld in lld-link mode with the MSVC CRT and Windows SDK import libraries.
    Msvc,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Route::Native => "native",
            Route::RustLld => "rust-lld",
            Route::Zig => "zig",
            Route::Msvc => "msvc",
        })
    }
}

/// The container and compression of a release archive, for writing and reading alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ArchiveFormat {
    #[serde(rename = "tar.gz")]
    TarGz,
    #[serde(rename = "tar.xz")]
    TarXz,
    #[serde(rename = "tar.zst")]
    TarZst,
    #[serde(rename = "zip")]
    Zip,
}

impl ArchiveFormat {
    pub const ALL: [ArchiveFormat; 4] = [
        ArchiveFormat::TarGz,
        ArchiveFormat::TarXz,
        ArchiveFormat::TarZst,
        ArchiveFormat::Zip,
    ];

    /// The extension this tool writes, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::TarXz => "tar.xz",
            ArchiveFormat::TarZst => "tar.zst",
            ArchiveFormat::Zip => "zip",
        }
    }

    /// The format a file name says, in any case, short forms (`.tgz`, `.txz`, `.tzst`)
    /// included; None for anything else.
    pub fn from_name(file_name: &str) -> Option<ArchiveFormat> {
        let name = file_name.to_ascii_lowercase();
        let short = |format: ArchiveFormat| match format {
            ArchiveFormat::TarGz => ".tgz",
            ArchiveFormat::TarXz => ".txz",
            ArchiveFormat::TarZst => ".tzst",
            ArchiveFormat::Zip => ".zip",
        };
        ArchiveFormat::ALL
            .into_iter()
            .find(|&f| name.ends_with(&format!(".{}", f.extension())) || name.ends_with(short(f)))
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The smoke run of a target's binaries, as the manifest records it. A failing run fails
/// the target instead, so no artifact records one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmokeStatus {
    /// Ran natively (no emulator) or under the named emulator, and passed.
    Passed { emulator: Option<String> },
    /// Not run: a Linux binary for another CPU whose emulator is not on PATH.
    EmulatorMissing(String),
    /// Not run: nothing on this host executes it (Windows and macOS binaries).
    NoRunner,
}

const NO_RUNNER: &str = "not run (no runner): this host cannot execute it";
const EMULATOR_HINT: &str = " is missing (Debian: apt-get install qemu-user)";

impl SmokeStatus {
    /// How the run goes, or why there is none, without the verdict: what the plan shows.
    pub fn note(&self) -> String {
        match self {
            SmokeStatus::Passed { emulator: None } => "runs natively".into(),
            SmokeStatus::Passed {
                emulator: Some(emulator),
            } => format!("runs under {emulator}"),
            SmokeStatus::EmulatorMissing(emulator) => format!("not run: {emulator}{EMULATOR_HINT}"),
            SmokeStatus::NoRunner => NO_RUNNER.into(),
        }
    }
}

impl fmt::Display for SmokeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmokeStatus::Passed { .. } => write!(f, "passed ({})", self.note()),
            _ => f.write_str(&self.note()),
        }
    }
}

impl FromStr for SmokeStatus {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<SmokeStatus, ParseError> {
        let passed = text.strip_prefix("passed (").and_then(|t| t.strip_suffix(')'));
        let status = match passed {
            Some("runs natively") => Some(SmokeStatus::Passed { emulator: None }),
            Some(how) => how.strip_prefix("runs under ").map(|e| SmokeStatus::Passed {
                emulator: Some(e.to_string()),
            }),
            None if text == NO_RUNNER => Some(SmokeStatus::NoRunner),
            None => text
                .strip_prefix("not run: ")
                .and_then(|t| t.strip_suffix(EMULATOR_HINT))
                .map(|e| SmokeStatus::EmulatorMissing(e.to_string())),
        };
        status.ok_or_else(|| parse_error(text, "a smoke status this tool writes"))
    }
}

serde_as_text!(SmokeStatus);

/// What an archive holds, in cargo-dist's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArtifactKind {
    /// cargo-dist's kind for an archive of binaries, whatever its format.
    #[serde(rename = "executable-zip")]
    ExecutableZip,
}

/// What a file inside an archive is, in cargo-dist's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    Executable,
    Readme,
    License,
    Changelog,
    ShellCompletions,
    ManPage,
    Misc,
}

impl AssetKind {
    /// The kind of an include file, from its name, as cargo-dist names them.
    pub fn of_include(file_name: &str) -> AssetKind {
        let upper = file_name.to_uppercase();
        if upper.starts_with("README") {
            AssetKind::Readme
        } else if upper.starts_with("LICEN") || upper.starts_with("COPYING") {
            AssetKind::License
        } else if upper.starts_with("CHANGELOG") {
            AssetKind::Changelog
        } else {
            AssetKind::Misc
        }
    }
}

/// A version of glibc-style symbol versioning, as in `GLIBC_2.17` or `GLIBCXX_3.4.29`:
/// numbers separated by dots, ordered numerically part by part (2.2.5 < 2.17 < 2.17.1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion(Vec<u32>);

impl FromStr for GlibcVersion {
    type Err = ParseError;

    /// "2.17" → 2.17; an error for GLIBC_PRIVATE's "PRIVATE" and anything else not a version.
    fn from_str(text: &str) -> Result<GlibcVersion, ParseError> {
        text.split('.')
            .map(|part| part.parse().ok())
            .collect::<Option<Vec<u32>>>()
            .map(GlibcVersion)
            .ok_or_else(|| parse_error(text, "a glibc version such as 2.17"))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

serde_as_text!(GlibcVersion);

/// A macOS version as MACOSX_DEPLOYMENT_TARGET and LC_BUILD_VERSION write it: "11.0",
/// "10.12", "10.12.1". Compared numerically, a missing part counting as 0 (11 = 11.0);
/// shown as major.minor, with the patch level only when it is not 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacosVersion([u32; 3]);

impl MacosVersion {
    pub fn new(major: u32, minor: u32, patch: u32) -> MacosVersion {
        MacosVersion([major, minor, patch])
    }

    /// Major, minor and patch.
    pub fn parts(self) -> [u32; 3] {
        self.0
    }
}

impl FromStr for MacosVersion {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<MacosVersion, ParseError> {
        let bad = || parse_error(text, "a macOS version such as 11.0 or 10.12");
        let mut parts = [0u32; 3];
        for (index, part) in text.split('.').enumerate() {
            // Digits only: u32's parser would take "+11".
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *parts.get_mut(index).ok_or_else(bad)? = part.parse().map_err(|_| bad())?;
        }
        Ok(MacosVersion(parts))
    }
}

impl fmt::Display for MacosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        match patch {
            0 => write!(f, "{major}.{minor}"),
            _ => write!(f, "{major}.{minor}.{patch}"),
        }
    }
}

serde_as_text!(MacosVersion);

/// A binary to ship: the bin target and the package that owns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bin {
    pub package: String,
    pub name: String,
}

/// The cargo features a build selects, as `--features`, `--all-features` and
/// `--no-default-features` select them. Features are kept sorted and unique, so two jobs
/// with the same selection compare equal (and share one cargo run).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Features {
    /// Features to activate (`package/feature` names one of a dependency or a member).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub all_features: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_default_features: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Features {
    /// From the words cargo's `--features` takes (space or comma separated, repeatable).
    pub fn new(features: &[String], all_features: bool, no_default_features: bool) -> Features {
        Features {
            enabled: Vec::new(),
            all_features,
            no_default_features,
        }
        .with(features)
    }

    /// These features and `more`.
    pub fn with(&self, more: &[String]) -> Features {
        let mut enabled = self.enabled.clone();
        enabled.extend(
            more.iter()
                .flat_map(|f| f.split([' ', ',']))
                .filter(|f| !f.is_empty())
                .map(str::to_string),
        );
        enabled.sort();
        enabled.dedup();
        Features {
            enabled,
            ..self.clone()
        }
    }

    /// Cargo's defaults: no flag at all.
    pub fn is_empty(&self) -> bool {
        self == &Features::default()
    }

    /// The flags exactly as cargo takes them, for `cargo metadata` and `cargo build` alike.
    pub fn cargo_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if !self.enabled.is_empty() {
            flags.extend(["--features".to_string(), self.enabled.join(",")]);
        }
        if self.all_features {
            flags.push("--all-features".into());
        }
        if self.no_default_features {
            flags.push("--no-default-features".into());
        }
        flags
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        if self.all_features {
            words.push("all features".to_string());
        } else if !self.enabled.is_empty() {
            words.push(self.enabled.join(", "));
        }
        if self.no_default_features {
            words.push("no default features".into());
        }
        if words.is_empty() {
            words.push("default features".into());
        }
        write!(f, "{}", words.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_split_sorted_and_given_to_cargo_as_one_flag() {
        let features = Features::new(&["b,a".into(), "c a".into()], false, true);
        assert_eq!(features.enabled, ["a", "b", "c"]);
        assert_eq!(features.cargo_flags(), ["--features", "a,b,c", "--no-default-features"]);
        assert_eq!(features.to_string(), "a, b, c; no default features");
        assert!(Features::new(&[], false, false).is_empty());
        assert!(Features::default().cargo_flags().is_empty());
        assert_eq!(
            Features::default().with(&["x".into()]),
            Features::new(&["x".into()], false, false)
        );
        assert_eq!(Features::new(&[], true, false).cargo_flags(), ["--all-features"]);
    }

    fn target(triple: &str) -> Target {
        Target::parse(triple).unwrap()
    }

    #[test]
    fn families_of_the_default_matrix() {
        let families: Vec<Family> = DEFAULT_TARGETS.iter().map(|t| target(t).family()).collect();
        assert_eq!(
            families,
            [
                Family::LinuxMusl,
                Family::LinuxMusl,
                Family::WindowsMsvc,
                Family::AppleDarwin,
                Family::AppleDarwin
            ]
        );
        assert_eq!(target("armv7-unknown-linux-musleabihf").family(), Family::LinuxMusl);
        assert_eq!(target("x86_64-unknown-linux-gnux32").family(), Family::LinuxGnu);
        assert_eq!(target("x86_64-pc-windows-gnullvm").family(), Family::WindowsGnu);
        assert_eq!(target("aarch64-uwp-windows-msvc").family(), Family::WindowsMsvc);
        assert_eq!(target("x86_64-linux-android").family(), Family::Other);
        assert_eq!(target("avr-none").family(), Family::Other);
    }

    #[test]
    fn formats_suffixes_and_archives_follow_the_family() {
        let facts = |t: &str| {
            let t = target(t);
            (t.format(), t.exe_suffix(), t.archive_format())
        };
        assert_eq!(
            facts("x86_64-unknown-linux-musl"),
            (Format::Elf, "", ArchiveFormat::TarGz)
        );
        assert_eq!(facts("i686-pc-windows-gnu"), (Format::Pe, ".exe", ArchiveFormat::Zip));
        assert_eq!(
            facts("x86_64-pc-windows-msvc"),
            (Format::Pe, ".exe", ArchiveFormat::Zip)
        );
        assert_eq!(facts("aarch64-apple-darwin"), (Format::MachO, "", ArchiveFormat::TarGz));
        assert_eq!(
            facts("wasm32-unknown-unknown"),
            (Format::Unknown, "", ArchiveFormat::TarGz)
        );
    }

    #[test]
    fn architectures_are_normalised_as_inspection_names_them() {
        assert_eq!(target("i686-pc-windows-msvc").arch(), "x86");
        assert_eq!(target("i586-unknown-linux-musl").arch(), "x86");
        assert_eq!(target("armv7-unknown-linux-musleabihf").arch(), "arm");
        assert_eq!(target("thumbv7neon-unknown-linux-gnueabihf").arch(), "arm");
        assert_eq!(target("aarch64-apple-darwin").arch(), "aarch64");
        assert_eq!(target("x86_64-unknown-linux-musl").arch(), "x86_64");
    }

    #[test]
    fn malformed_triples_are_refused() {
        for bad in [
            "",
            "x86_64",
            "x86_64--linux-musl",
            "a-b-c-d-e",
            "x86_64 unknown-linux",
            "../x-y",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.to_string().contains("is not a target triple"), "{bad}: {err}");
        }
        let err = serde_json::from_str::<Target>("\"x86_64\"").unwrap_err();
        assert!(err.to_string().contains("`x86_64` is not a target triple"), "{err}");
    }

    #[test]
    fn a_target_is_its_triple_in_json_maps_and_order() {
        let t = target("x86_64-pc-windows-msvc");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"x86_64-pc-windows-msvc\"");
        assert_eq!(serde_json::from_str::<Target>("\"x86_64-pc-windows-msvc\"").unwrap(), t);
        assert_eq!(t.to_string(), "x86_64-pc-windows-msvc");
        let mut map = std::collections::BTreeMap::new();
        for triple in DEFAULT_TARGETS {
            map.insert(target(triple), triple.len());
        }
        assert_eq!(map.get("x86_64-pc-windows-msvc"), Some(&22));
        let order: Vec<&str> = map.keys().map(Target::triple).collect();
        let mut sorted = DEFAULT_TARGETS.to_vec();
        sorted.sort();
        assert_eq!(order, sorted, "ordered as the strings are");
    }

    #[test]
    fn targets_are_found_in_archive_names() {
        let found = |name: &str| Target::find_in(name).map(|t| t.to_string());
        assert_eq!(
            found("app-1.0.0-aarch64-unknown-linux-musl.tar.gz").as_deref(),
            Some("aarch64-unknown-linux-musl")
        );
        assert_eq!(
            found("my-tool-2.1-x86_64-pc-windows-msvc.zip").as_deref(),
            Some("x86_64-pc-windows-msvc")
        );
        assert_eq!(
            found("my-tool-2.1-aarch64-apple-darwin.TAR.XZ").as_deref(),
            Some("aarch64-apple-darwin")
        );
        assert_eq!(
            found("app-1.0-armv7-unknown-linux-musleabihf.tar.gz").as_deref(),
            Some("armv7-unknown-linux-musleabihf")
        );
        assert_eq!(found("app-1.0-wasm32-unknown-unknown.tar.gz"), None);
        assert_eq!(found("app.zip"), None);
    }

    #[test]
    fn typo_finds_the_intended_triple() {
        let known: Vec<String> = DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            closest("x86_64-unknown-linux-mus", &known),
            Some("x86_64-unknown-linux-musl")
        );
        assert_eq!(closest("aarch64-apple-drawin", &known), Some("aarch64-apple-darwin"));
        assert_eq!(closest("sparc", &known), None);
    }

    #[test]
    fn archive_formats_round_trip_through_names_and_json() {
        for format in ArchiveFormat::ALL {
            let name = format!("app-1.0-x86_64-unknown-linux-musl.{format}");
            assert_eq!(ArchiveFormat::from_name(&name), Some(format), "{name}");
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.extension()));
            assert_eq!(serde_json::from_str::<ArchiveFormat>(&json).unwrap(), format);
        }
        assert_eq!(ArchiveFormat::from_name("a.TAR.XZ"), Some(ArchiveFormat::TarXz));
        assert_eq!(ArchiveFormat::from_name("a.tgz"), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::from_name("a.tzst"), Some(ArchiveFormat::TarZst));
        assert_eq!(ArchiveFormat::from_name("a.exe"), None);
        assert_eq!(ArchiveFormat::from_name("a.gz"), None);
        assert!(serde_json::from_str::<ArchiveFormat>("\"rar\"").is_err());
    }

    #[test]
    fn glibc_versions_order_numerically() {
        let v = |s: &str| s.parse::<GlibcVersion>().unwrap();
        assert!(v("2.2.5") < v("2.17"));
        assert!(v("2.17") < v("2.17.1"));
        assert!(v("2.9") < v("2.10"));
        assert!(v("2.34") > v("2.17"));
        assert_eq!(v("2.17"), v("2.17"));
        assert_eq!(v("2.2.5").to_string(), "2.2.5");
        assert_eq!(serde_json::to_string(&v("2.17")).unwrap(), "\"2.17\"");
        for bad in ["PRIVATE", "", "2.", "new", "2.x"] {
            let err = bad.parse::<GlibcVersion>().unwrap_err();
            assert!(err.to_string().contains("glibc version"), "{bad}: {err}");
        }
    }

    #[test]
    fn macos_versions_order_numerically() {
        let v = |s: &str| s.parse::<MacosVersion>().unwrap();
        assert!(v("10.12") < v("11.0"));
        assert!(v("10.9") < v("10.12"));
        assert!(v("11.0") < v("11.0.1"));
        assert_eq!(v("11"), v("11.0"));
        assert_eq!(v("11").to_string(), "11.0");
        assert_eq!(v("10.12.1").to_string(), "10.12.1");
        assert_eq!(serde_json::to_string(&v("15.0")).unwrap(), "\"15.0\"");
        for bad in ["", "11.", "eleven", "11.0.0.1", "-1", "+11.0", " 11.0"] {
            let err = bad.parse::<MacosVersion>().unwrap_err();
            assert!(err.to_string().contains("a macOS version"), "{bad}: {err}");
        }
    }

    #[test]
    fn smoke_statuses_keep_the_manifest_text() {
        let cases = [
            (SmokeStatus::Passed { emulator: None }, "passed (runs natively)"),
            (
                SmokeStatus::Passed {
                    emulator: Some("qemu-aarch64".into()),
                },
                "passed (runs under qemu-aarch64)",
            ),
            (
                SmokeStatus::EmulatorMissing("qemu-riscv64".into()),
                "not run: qemu-riscv64 is missing (Debian: apt-get install qemu-user)",
            ),
            (
                SmokeStatus::NoRunner,
                "not run (no runner): this host cannot execute it",
            ),
        ];
        for (status, text) in cases {
            assert_eq!(status.to_string(), text);
            assert_eq!(text.parse::<SmokeStatus>().unwrap(), status);
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{text}\""));
        }
        assert_eq!(
            SmokeStatus::Passed {
                emulator: Some("qemu-aarch64".into())
            }
            .note(),
            "runs under qemu-aarch64"
        );
        assert!("passed".parse::<SmokeStatus>().is_err());
        assert!("failed (runs natively)".parse::<SmokeStatus>().is_err());
    }

    #[test]
    fn asset_kinds_keep_cargo_dist_names() {
        let kinds: Vec<AssetKind> = [
            "README.md",
            "LICENSE-MIT",
            "licence.txt",
            "COPYING",
            "CHANGELOG.md",
            "notes.txt",
        ]
        .iter()
        .map(|n| AssetKind::of_include(n))
        .collect();
        assert_eq!(
            kinds,
            [
                AssetKind::Readme,
                AssetKind::License,
                AssetKind::License,
                AssetKind::License,
                AssetKind::Changelog,
                AssetKind::Misc
            ]
        );
        let json =
            serde_json::to_string(&[AssetKind::Executable, AssetKind::ShellCompletions, AssetKind::ManPage]).unwrap();
        assert_eq!(json, r#"["executable","shell-completions","man-page"]"#);
        assert_eq!(
            serde_json::to_string(&ArtifactKind::ExecutableZip).unwrap(),
            "\"executable-zip\""
        );
    }
}
