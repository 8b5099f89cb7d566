//! The install scripts written beside the archives: `install.sh` (POSIX sh, for every
//! non-Windows archive) and `install.ps1` (PowerShell, for the Windows ones). Each carries
//! this release's archive names, SHA-256s and binaries, picks the archive for the machine,
//! checks the download's SHA-256 and, when a public key is configured and minisign is
//! installed, the signature of SHA256SUMS. The scripts are templates beside this file
//! (`install.sh`, `install.ps1`); only quoted values are filled in, each checked to need no
//! escaping.

use super::manifest::Manifest;
use crate::model::{AssetKind, Family};
use anyhow::{bail, Result};

pub const SH: &str = "install.sh";
pub const PS1: &str = "install.ps1";

const SH_TEMPLATE: &str = include_str!("install.sh");
const PS1_TEMPLATE: &str = include_str!("install.ps1");

/// What the scripts need beyond the manifest.
pub struct Settings<'a> {
    /// Where the release's files are downloaded from, without a trailing slash.
    pub base_url: Option<&'a str>,
    /// The minisign public key whose signature over SHA256SUMS the scripts check.
    pub public_key: Option<&'a str>,
}

/// One archive as a script lists it.
struct Listed<'a> {
    triple: &'a str,
    arch: String,
    family: Family,
    name: &'a str,
    sha256: &'a str,
    bins: Vec<&'a str>,
}

/// Every value goes between single quotes (sh) or into a single-quoted PowerShell string:
/// it must hold nothing that ends or escapes one, nor whitespace that splits a list.
fn plain(value: &str) -> Result<&str> {
    if value
        .chars()
        .any(|c| c == '\'' || c == '\\' || c == '"' || c == '`' || c == '$' || c.is_whitespace())
    {
        bail!("`{value}` cannot go into an install script: it holds a quote, a backslash, `$` or whitespace");
    }
    Ok(value)
}

fn listed(manifest: &Manifest) -> Result<Vec<Listed<'_>>> {
    let mut out = Vec::new();
    for artifact in &manifest.artifacts {
        let Some(target) = artifact.target_triples.first() else {
            continue;
        };
        let bins: Vec<&str> = artifact
            .assets
            .iter()
            .filter(|a| a.kind == AssetKind::Executable)
            .map(|a| plain(&a.path))
            .collect::<Result<_>>()?;
        out.push(Listed {
            triple: plain(target.triple())?,
            arch: target.triple().split('-').next().unwrap_or_default().to_string(),
            family: target.family(),
            name: plain(&artifact.name)?,
            sha256: plain(artifact.sha256().unwrap_or_default())?,
            bins,
        });
    }
    // musl before gnu for the same machine: the static build runs on any Linux.
    out.sort_by_key(|l| (l.family != Family::LinuxMusl, l.triple.to_string()));
    Ok(out)
}

/// The `uname -m` values of a Rust architecture.
fn uname_machines(arch: &str) -> String {
    match arch {
        "x86_64" => "x86_64 | */amd64".into(),
        "aarch64" => "aarch64 | */arm64".into(),
        "i586" | "i686" => "i?86".into(),
        "armv7" => "armv7*".into(),
        "arm" => "armv6*".into(),
        "riscv64gc" => "riscv64".into(),
        "powerpc64le" => "ppc64le".into(),
        other => other.into(),
    }
}

/// install.sh for the manifest's non-Windows archives; None when it has none.
pub fn sh(manifest: &Manifest, settings: &Settings) -> Result<Option<String>> {
    let archives: Vec<Listed> = listed(manifest)?
        .into_iter()
        .filter(|l| !l.family.is_windows())
        .collect();
    if archives.is_empty() {
        return Ok(None);
    }
    let mut table = Vec::new();
    let mut detect = Vec::new();
    for l in &archives {
        table.push(format!(
            "        {}) echo '{} {} {}' ;;",
            l.triple,
            l.name,
            l.sha256,
            l.bins.join(" ")
        ));
        let os = match l.family {
            Family::LinuxMusl | Family::LinuxGnu => "Linux",
            Family::AppleDarwin => "Darwin",
            _ => continue,
        };
        // `Linux/x86_64 | */amd64` reads as two patterns: give each its OS.
        let patterns: Vec<String> = uname_machines(&l.arch)
            .split(" | ")
            .map(|m| format!("{os}/{}", m.trim_start_matches("*/")))
            .collect();
        detect.push(format!("        {}) echo {} ;;", patterns.join(" | "), l.triple));
    }
    // Two Linux builds for one machine: the first (musl) wins, the other stays a --target.
    let mut seen = std::collections::BTreeSet::new();
    detect.retain(|line| seen.insert(line.split(')').next().unwrap_or_default().to_string()));
    Ok(Some(fill(
        SH_TEMPLATE,
        manifest,
        settings,
        &table.join("\n"),
        &detect.join("\n"),
    )?))
}

/// install.ps1 for the manifest's Windows archives; None when it has none.
pub fn ps1(manifest: &Manifest, settings: &Settings) -> Result<Option<String>> {
    let archives: Vec<Listed> = listed(manifest)?
        .into_iter()
        .filter(|l| l.family.is_windows())
        .collect();
    if archives.is_empty() {
        return Ok(None);
    }
    let table: Vec<String> = archives
        .iter()
        .map(|l| {
            let bins: Vec<String> = l.bins.iter().map(|b| format!("'{b}'")).collect();
            format!(
                "    '{}' = @{{ Name = '{}'; Sha256 = '{}'; Bins = @({}) }}",
                l.triple,
                l.name,
                l.sha256,
                bins.join(", ")
            )
        })
        .collect();
    Ok(Some(fill(PS1_TEMPLATE, manifest, settings, &table.join("\n"), "")?))
}

fn fill(template: &str, manifest: &Manifest, settings: &Settings, archives: &str, detect: &str) -> Result<String> {
    Ok(template
        .replace("@APP@", plain(&manifest.app_name)?)
        .replace("@VERSION@", plain(&manifest.app_version)?)
        .replace("@BASE_URL@", plain(settings.base_url.unwrap_or_default())?)
        .replace("@PUBLIC_KEY@", plain(settings.public_key.unwrap_or_default())?)
        .replace("@ARCHIVES@", archives)
        .replace("@DETECT@", detect))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArchiveFormat, ArtifactKind, Route, SmokeStatus, Target};
    use crate::package::manifest::{Artifact, Asset};
    use std::collections::BTreeMap;

    fn manifest(triples: &[&str]) -> Manifest {
        let artifacts = triples
            .iter()
            .map(|t| {
                let target: Target = t.parse().unwrap();
                let windows = target.family().is_windows();
                let ext = if windows { "zip" } else { "tar.gz" };
                let exe = format!("app{}", target.exe_suffix());
                Artifact {
                    name: format!("app-1.2.3-{t}.{ext}"),
                    kind: ArtifactKind::ExecutableZip,
                    target_triples: vec![target],
                    format: if windows {
                        ArchiveFormat::Zip
                    } else {
                        ArchiveFormat::TarGz
                    },
                    route: Route::Native,
                    features: Default::default(),
                    size: 1,
                    checksums: BTreeMap::from([("sha256".into(), format!("{:0>64}", t.len()))]),
                    smoke: SmokeStatus::NoRunner,
                    input_sha256: String::new(),
                    assets: vec![Asset {
                        name: exe.clone(),
                        path: exe,
                        kind: AssetKind::Executable,
                        size: 1,
                        sha256: String::new(),
                        inspection: None,
                    }],
                    sbom: None,
                    build: None,
                    apple_link: None,
                    apple_imports: None,
                }
            })
            .collect();
        Manifest {
            format_version: 1,
            dist_version: "0".into(),
            app_name: "app".into(),
            app_version: "1.2.3".into(),
            commit: "c".into(),
            source_date_epoch: 0,
            profile: "dist".into(),
            artifacts,
            failed: Vec::new(),
            installers: Vec::new(),
            provenance: None,
        }
    }

    const SETTINGS: Settings = Settings {
        base_url: Some("https://github.com/o/app/releases/download/v1.2.3"),
        public_key: Some("RWQkey"),
    };

    /// pwsh is not obtainable here (no Debian package; npm's `pwsh` downloads it from GitHub
    /// at install time), so the PowerShell script is checked by reading it: every
    /// placeholder filled, brackets balanced outside strings, the Windows archives listed
    /// with their hashes and nothing else.
    #[test]
    fn the_powershell_script_lists_the_windows_archives_and_is_balanced() {
        let m = manifest(&[
            "x86_64-pc-windows-msvc",
            "aarch64-pc-windows-msvc",
            "x86_64-unknown-linux-musl",
        ]);
        let text = ps1(&m, &SETTINGS).unwrap().unwrap();
        for placeholder in ["@APP@", "@VERSION@", "@BASE_URL@", "@PUBLIC_KEY@", "@ARCHIVES@"] {
            assert!(!text.contains(placeholder), "{placeholder} left in");
        }
        for a in &m.artifacts[..2] {
            let line = format!(
                "'{}' = @{{ Name = '{}'; Sha256 = '{}'; Bins = @('app.exe') }}",
                a.target_triples[0],
                a.name,
                a.sha256().unwrap()
            );
            assert!(text.contains(&line), "{line}\n{text}");
        }
        assert!(!text.contains("linux"), "only Windows archives");
        assert!(text.contains("$PublicKey = 'RWQkey'"));
        assert!(text.contains("[string]$BaseUrl = 'https://github.com/o/app/releases/download/v1.2.3'"));
        assert_balanced(&text);
        assert!(ps1(&manifest(&["x86_64-unknown-linux-musl"]), &SETTINGS)
            .unwrap()
            .is_none());
    }

    /// Brackets balance outside single- and double-quoted strings and `#` comments.
    fn assert_balanced(text: &str) {
        let mut stack = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let mut quote: Option<char> = None;
            for c in line.chars() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(c),
                    (None, '#') => break,
                    (None, '(' | '{' | '[') => stack.push((c, n + 1)),
                    (None, ')' | '}' | ']') => {
                        let (open, at) = stack
                            .pop()
                            .unwrap_or_else(|| panic!("line {}: {c} closes nothing", n + 1));
                        let want = match c {
                            ')' => '(',
                            '}' => '{',
                            _ => '[',
                        };
                        assert_eq!(open, want, "line {}: {c} closes the {open} of line {at}", n + 1);
                    }
                    _ => {}
                }
            }
            assert!(quote.is_none(), "line {}: a string is not closed: {line}", n + 1);
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    #[test]
    fn the_sh_script_detects_each_unix_target_and_prefers_musl() {
        let m = manifest(&[
            "x86_64-unknown-linux-gnu",
            "x86_64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc",
        ]);
        let text = sh(&m, &SETTINGS).unwrap().unwrap();
        assert!(
            text.contains("        Linux/x86_64 | Linux/amd64) echo x86_64-unknown-linux-musl ;;"),
            "{text}"
        );
        assert!(
            !text.contains("echo x86_64-unknown-linux-gnu ;;"),
            "gnu stays a --target"
        );
        assert!(text.contains("        Darwin/aarch64 | Darwin/arm64) echo aarch64-apple-darwin ;;"));
        assert!(text.contains("x86_64-unknown-linux-gnu) echo 'app-1.2.3-x86_64-unknown-linux-gnu.tar.gz"));
        assert!(!text.contains("windows"));
        let mut bad = m.clone();
        bad.app_name = "it's".into();
        assert!(sh(&bad, &SETTINGS).is_err(), "a quote never reaches the script");
    }
}
