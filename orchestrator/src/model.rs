//! What a target triple tells us: the OS family (which decides route and linkage policy),
//! the binary format and the CPU architecture the binary must carry.

use serde::{Deserialize, Serialize};

/// The seed's release matrix: the default when the config names no targets.
pub const DEFAULT_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

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
}
