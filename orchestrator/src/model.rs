//! What a target triple tells us: the OS family (which decides route and linkage policy),
//! the binary format and the CPU architecture the binary must carry.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The seed's release matrix: the default when the config names no targets.
pub const DEFAULT_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Elf,
    Pe,
    MachO,
    Unknown,
}

pub fn family(triple: &str) -> Family {
    if triple.contains("-linux-musl") {
        Family::LinuxMusl
    } else if triple.contains("-linux-gnu") {
        Family::LinuxGnu
    } else if triple.ends_with("-windows-msvc") {
        Family::WindowsMsvc
    } else if triple.contains("-windows-gnu") {
        Family::WindowsGnu
    } else if triple.ends_with("-apple-darwin") {
        Family::AppleDarwin
    } else {
        Family::Other
    }
}

pub fn format(triple: &str) -> Format {
    match family(triple) {
        Family::LinuxMusl | Family::LinuxGnu => Format::Elf,
        Family::WindowsMsvc | Family::WindowsGnu => Format::Pe,
        Family::AppleDarwin => Format::MachO,
        Family::Other => Format::Unknown,
    }
}

/// The CPU architecture component, normalised to the names inspection reports.
pub fn arch(triple: &str) -> &str {
    match triple.split('-').next().unwrap_or("") {
        "i586" | "i686" => "x86",
        "armv7" | "arm" | "armv5te" | "armv7a" | "thumbv7neon" => "arm",
        other => other,
    }
}

/// The executable suffix for binaries of this target.
pub fn exe_suffix(triple: &str) -> &'static str {
    if triple.contains("-windows") {
        ".exe"
    } else {
        ""
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

    /// What the users of `triple` unpack without extra tools: zip on Windows, tar.gz elsewhere.
    pub fn default_for(triple: &str) -> ArchiveFormat {
        match family(triple) {
            Family::WindowsMsvc | Family::WindowsGnu => ArchiveFormat::Zip,
            _ => ArchiveFormat::TarGz,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_the_default_matrix() {
        let families: Vec<Family> = DEFAULT_TARGETS.iter().map(|t| family(t)).collect();
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
        assert_eq!(family("armv7-unknown-linux-musleabihf"), Family::LinuxMusl);
        assert_eq!(family("x86_64-pc-windows-gnullvm"), Family::WindowsGnu);
        assert_eq!(format("wasm32-unknown-unknown"), Format::Unknown);
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
