//! The CycloneDX 1.6 SBOM written beside each archive (`<archive stem>.cdx.json`): the
//! archive itself as the described component (with its SHA-256), every Rust package built
//! for its target (the graph deps/ resolves with `cargo metadata --filter-platform`, so the
//! plan, the audit and the SBOM agree), and every C/C++/assembly library a package's build
//! compiles into the binary (deps/'s native-code detector), with where its sources came from.
//!
//! Plain serde structs rather than the cyclonedx-bom crate: that crate models every field of
//! every spec version, with XML, validation and its own dependency tree, for a document of a
//! dozen fields this module writes and a test reads back.
//!
//! Deterministic: no clock and no random serial. The timestamp is the release's
//! SOURCE_DATE_EPOCH, the serial number a UUID made from the SHA-256 of the document
//! without it, and every list is sorted.

use crate::deps::{Evidence, TargetGraph};
use crate::model::Bin;
use anyhow::{Context, Result};
use cargo_metadata::{DependencyKind, Package, PackageId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const SPEC_VERSION: &str = "1.6";
/// Names of this tool's properties, in the `name` namespace CycloneDX leaves to producers.
const PROP: &str = "release-orchestrator";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: String,
    pub spec_version: String,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Component>,
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Component,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hash {
    pub alg: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct License {
    pub expression: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    pub depends_on: Vec<String>,
}

fn property(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: format!("{PROP}:{name}"),
        value: value.into(),
    }
}

/// What the SBOM describes beyond the graph: the archive it sits beside.
pub struct Subject<'a> {
    pub app_name: &'a str,
    pub app_version: &'a str,
    pub target: &'a str,
    pub archive: &'a str,
    pub archive_sha256: &'a str,
    pub commit: &'a str,
    pub source_date_epoch: u64,
    pub bins: &'a [Bin],
}

/// The `checksum` of every registry package in the workspace's Cargo.lock, by (name, version).
pub fn lock_checksums(lock: &str) -> BTreeMap<(String, String), String> {
    let mut sums = BTreeMap::new();
    let Ok(doc) = lock.parse::<toml_edit::DocumentMut>() else {
        return sums;
    };
    let Some(packages) = doc.get("package").and_then(|p| p.as_array_of_tables()) else {
        return sums;
    };
    for pkg in packages {
        let field = |k: &str| pkg.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let (Some(name), Some(version), Some(sum)) = (field("name"), field("version"), field("checksum")) {
            sums.insert((name, version), sum);
        }
    }
    sums
}

/// The purl of a package: `pkg:cargo/NAME@VERSION` for crates.io; another registry or a git
/// source rides along as a qualifier; a path package (the workspace's own) has none.
fn purl(pkg: &Package) -> Option<String> {
    let source = pkg.source.as_ref()?;
    let base = format!("pkg:cargo/{}@{}", pkg.name, pkg.version);
    if source.is_crates_io() {
        return Some(base);
    }
    let repr = source.repr.as_str();
    let (key, url) = match repr.split_once('+') {
        Some(("git", rest)) => ("vcs_url", format!("git+{rest}")),
        Some((_, rest)) => ("repository_url", rest.to_string()),
        None => ("repository_url", repr.to_string()),
    };
    Some(format!("{base}?{key}={}", percent(&url)))
}

/// Percent-encodes a purl qualifier value (RFC 3986 unreserved characters stay).
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn rust_ref(pkg: &Package) -> String {
    format!("rust:{}@{}", pkg.name, pkg.version)
}

/// The upstream version a crate's build metadata carries (`zstd-sys 2.0.15+zstd.1.5.7` →
/// 1.5.7, `openssl-src 300.5.4+3.5.4` → 3.5.4), if any.
fn upstream_version(version: &cargo_metadata::semver::Version) -> Option<String> {
    let build = version.build.as_str();
    let start = build
        .split('.')
        .position(|p| p.starts_with(|c: char| c.is_ascii_digit()))?;
    Some(build.split('.').skip(start).collect::<Vec<_>>().join("."))
}

/// The C/C++ library a native package compiles into the binary: named by its `links` key
/// (else the package without `-sys`), versioned by the `-src` crate's or its own build
/// metadata; a crate that is not a -sys wrapper compiles its own code, at its own version.
fn native_component(graph: &TargetGraph, pkg: &Package, evidence: &Evidence) -> Component {
    let name = evidence
        .links
        .clone()
        .unwrap_or_else(|| pkg.name.trim_end_matches("-sys").to_string());
    let src = evidence.src_crate().and_then(|src| {
        graph
            .reached
            .keys()
            .map(|id| &graph.meta[id])
            .find(|p| p.name.as_str() == src)
    });
    let version = match src {
        Some(src) => upstream_version(&src.version),
        None => {
            upstream_version(&pkg.version).or_else(|| (!pkg.name.ends_with("-sys")).then(|| pkg.version.to_string()))
        }
    };
    let f = &evidence.files;
    let sources = match src {
        Some(src) => format!("the sources of the {} {} crate", src.name, src.version),
        None => {
            let kinds: Vec<String> = [(f.c_sources, "C"), (f.cpp_sources, "C++"), (f.asm_sources, "assembly")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, k)| format!("{n} {k}"))
                .collect();
            format!(
                "{} file(s) shipped in the {} {} crate",
                kinds.join(", "),
                pkg.name,
                pkg.version
            )
        }
    };
    let mut properties = vec![
        property("compiled-by", format!("{} {}", pkg.name, pkg.version)),
        property("sources", sources),
    ];
    if !f.compile_calls.is_empty() {
        properties.push(property("build", f.compile_calls.join(", ")));
    }
    if version.is_none() {
        properties.push(property(
            "version-unknown",
            format!("{} does not say which upstream release it bundles", pkg.name),
        ));
    }
    Component {
        kind: "library".into(),
        bom_ref: Some(format!(
            "native:{name}@{}:{}",
            version.as_deref().unwrap_or("unknown"),
            pkg.name
        )),
        name,
        version,
        description: Some(format!(
            "C/C++/assembly compiled into the binary by the build script of {}",
            pkg.name
        )),
        purl: None,
        hashes: Vec::new(),
        licenses: Vec::new(),
        properties,
    }
}

/// The SBOM of one archive: `graph` is its target's, `lock` the workspace's Cargo.lock
/// checksums, `tool_version` this tool's.
pub fn bom(
    graph: &TargetGraph,
    subject: &Subject,
    lock: &BTreeMap<(String, String), String>,
    tool_version: &str,
) -> Result<Bom> {
    let resolve = graph
        .meta
        .resolve
        .as_ref()
        .context("cargo metadata returned no resolve graph")?;
    // Only what is built for the target is in the binary: build scripts, proc-macros and
    // their dependencies run on the build machine.
    let shipped: BTreeSet<&PackageId> = graph
        .reached
        .iter()
        .filter(|(_, r)| r.for_target)
        .map(|(id, _)| id)
        .collect();
    let owners: BTreeSet<&str> = subject.bins.iter().map(|b| b.package.as_str()).collect();
    let mut components = Vec::new();
    let mut native_of: BTreeMap<&PackageId, String> = BTreeMap::new();
    let mut root_refs = Vec::new();
    for id in &shipped {
        let pkg = &graph.meta[*id];
        // The packages whose bins are shipped are the application; the rest are libraries.
        let owner = graph.meta.workspace_members.contains(id) && owners.contains(pkg.name.as_str());
        if owner {
            root_refs.push(rust_ref(pkg));
        }
        let evidence = &graph.evidence[*id];
        if evidence.compiles_native() {
            let native = native_component(graph, pkg, evidence);
            native_of.insert(*id, native.bom_ref.clone().unwrap_or_default());
            components.push(native);
        }
        let hashes = lock
            .get(&(pkg.name.to_string(), pkg.version.to_string()))
            .map(|sum| {
                vec![Hash {
                    alg: "SHA-256".into(),
                    content: sum.clone(),
                }]
            })
            .unwrap_or_default();
        let mut properties = Vec::new();
        if pkg.source.is_none() {
            properties.push(property("source", "path (this workspace or a local directory)"));
        }
        components.push(Component {
            kind: if owner { "application" } else { "library" }.into(),
            bom_ref: Some(rust_ref(pkg)),
            name: pkg.name.to_string(),
            version: Some(pkg.version.to_string()),
            description: None,
            purl: purl(pkg),
            hashes,
            licenses: pkg.license.iter().map(|l| License { expression: l.clone() }).collect(),
            properties,
        });
    }
    let archive_ref = format!("archive:{}", subject.archive);
    let mut dependencies = vec![Dependency {
        reference: archive_ref.clone(),
        depends_on: root_refs,
    }];
    for node in resolve.nodes.iter().filter(|n| shipped.contains(&n.id)) {
        let mut depends_on: Vec<String> = node
            .deps
            .iter()
            .filter(|d| shipped.contains(&d.pkg))
            .filter(|d| d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
            .map(|d| rust_ref(&graph.meta[&d.pkg]))
            .collect();
        depends_on.extend(native_of.get(&node.id).cloned());
        depends_on.sort();
        depends_on.dedup();
        dependencies.push(Dependency {
            reference: rust_ref(&graph.meta[&node.id]),
            depends_on,
        });
    }
    for native in native_of.values() {
        dependencies.push(Dependency {
            reference: native.clone(),
            depends_on: Vec::new(),
        });
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    dependencies.sort_by(|a, b| a.reference.cmp(&b.reference));
    for d in &mut dependencies {
        d.depends_on.sort();
    }
    let mut bom = Bom {
        bom_format: "CycloneDX".into(),
        spec_version: SPEC_VERSION.into(),
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(subject.source_date_epoch),
            tools: Tools {
                components: vec![Component {
                    kind: "application".into(),
                    bom_ref: None,
                    name: "release-orchestrator".into(),
                    version: Some(tool_version.into()),
                    description: None,
                    purl: None,
                    hashes: Vec::new(),
                    licenses: Vec::new(),
                    properties: Vec::new(),
                }],
            },
            component: Component {
                kind: "application".into(),
                bom_ref: Some(archive_ref),
                name: subject.app_name.into(),
                version: Some(subject.app_version.into()),
                description: Some(format!("{} for {}", subject.archive, subject.target)),
                purl: None,
                hashes: vec![Hash {
                    alg: "SHA-256".into(),
                    content: subject.archive_sha256.into(),
                }],
                licenses: Vec::new(),
                properties: vec![property("archive", subject.archive), property("target", subject.target)],
            },
            properties: vec![
                property("commit", subject.commit),
                property("source-date-epoch", subject.source_date_epoch.to_string()),
            ],
        },
        components,
        dependencies,
    };
    bom.serial_number = serial(&bom)?;
    Ok(bom)
}

/// One SBOM for a universal binary from its slices' (each made with the universal archive as
/// its subject): every component and dependency edge of either slice, once, in order.
pub fn union(mut boms: Vec<Bom>) -> Result<Bom> {
    if boms.len() == 1 {
        return Ok(boms.remove(0));
    }
    let mut bom = boms.remove(0);
    for other in boms {
        for component in other.components {
            if !bom.components.iter().any(|c| c.bom_ref == component.bom_ref) {
                bom.components.push(component);
            }
        }
        for dep in other.dependencies {
            match bom.dependencies.iter_mut().find(|d| d.reference == dep.reference) {
                Some(mine) => mine.depends_on.extend(dep.depends_on),
                None => bom.dependencies.push(dep),
            }
        }
    }
    bom.components
        .sort_by(|a, b| (&a.bom_ref, &a.name).cmp(&(&b.bom_ref, &b.name)));
    for dep in &mut bom.dependencies {
        dep.depends_on.sort();
        dep.depends_on.dedup();
    }
    bom.dependencies.sort_by(|a, b| a.reference.cmp(&b.reference));
    bom.serial_number = String::new();
    bom.serial_number = serial(&bom)?;
    Ok(bom)
}

/// A UUID (version 5 layout) from the SHA-256 of the document without its serial: the same
/// content always gets the same serial, a different one another.
fn serial(bom: &Bom) -> Result<String> {
    let bytes = serde_json::to_vec(bom).context("serialising the SBOM")?;
    let mut id: [u8; 16] = Sha256::digest(&bytes)[..16].try_into().expect("16 of 32 bytes");
    id[6] = (id[6] & 0x0f) | 0x50;
    id[8] = (id[8] & 0x3f) | 0x80;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Unix seconds as RFC 3339 UTC (civil-from-days, Howard Hinnant's algorithm): no date
/// crate for one timestamp.
pub fn rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The SBOM's file name for an archive: its name without the archive extension.
pub fn file_name(archive: &str, extension: &str) -> String {
    format!("{}.cdx.json", archive.trim_end_matches(&format!(".{extension}")))
}

/// Writes the SBOM as pretty JSON (a trailing newline), unchanged bytes left alone.
pub fn write(path: &Path, bom: &Bom) -> Result<()> {
    let json = serde_json::to_string_pretty(bom).context("serialising the SBOM")?;
    super::write_if_changed(path, format!("{json}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn upstream_versions_come_from_build_metadata() {
        let v = |s: &str| upstream_version(&s.parse().unwrap());
        assert_eq!(v("2.0.15+zstd.1.5.7").as_deref(), Some("1.5.7"));
        assert_eq!(v("300.5.4+3.5.4").as_deref(), Some("3.5.4"));
        assert_eq!(v("1.1.22"), None);
    }

    #[test]
    fn lock_checksums_are_read_by_name_and_version() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";
        let sums = lock_checksums(lock);
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[&("a".to_string(), "1.0.0".to_string())], "abc");
    }

    /// The deps/ fixture: conf-sys compiles C on x86_64 Linux only; hostc-sys only for the
    /// host (never in the binary); the app package is the subject's own.
    #[test]
    fn the_sbom_lists_what_is_built_for_the_target_and_the_c_it_compiles() {
        let dir = crate::deps::fixture::workspace();
        let bins = [Bin {
            package: "app".into(),
            name: "app".into(),
        }];
        let targets = [
            "x86_64-unknown-linux-musl".to_string(),
            "aarch64-unknown-linux-musl".to_string(),
        ];
        let graphs = crate::deps::load(
            &crate::runner::Runner::default(),
            &crate::runner::Cmd::new("cargo"),
            &dir.path().join("Cargo.toml"),
            &targets,
            &bins,
            &[],
            None,
        )
        .unwrap();
        let subject = |target| Subject {
            app_name: "app",
            app_version: "0.1.0",
            target,
            archive: "app-0.1.0-x.tar.gz",
            archive_sha256: "00",
            commit: "abc",
            source_date_epoch: 1_700_000_000,
            bins: &bins,
        };
        let x86 = bom(&graphs[0], &subject(&targets[0]), &BTreeMap::new(), "1").unwrap();
        let names: Vec<(&str, &str)> = x86
            .components
            .iter()
            .map(|c| (c.kind.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("library", "conf"), ("application", "app"), ("library", "conf-sys")],
            "{x86:#?}"
        );
        let conf = &x86.components[0];
        assert!(conf.properties.iter().any(|p| p.value == "conf-sys 0.1.0"), "{conf:?}");
        assert!(
            x86.dependencies
                .iter()
                .any(|d| d.reference == "rust:conf-sys@0.1.0" && d.depends_on == [conf.bom_ref.clone().unwrap()]),
            "{:?}",
            x86.dependencies
        );
        let again = bom(&graphs[0], &subject(&targets[0]), &BTreeMap::new(), "1").unwrap();
        assert_eq!(
            serde_json::to_string(&x86).unwrap(),
            serde_json::to_string(&again).unwrap()
        );
        let arm = bom(&graphs[1], &subject(&targets[1]), &BTreeMap::new(), "1").unwrap();
        assert_eq!(arm.components.len(), 1, "aarch64 links no C: {arm:#?}");
        assert_ne!(arm.serial_number, x86.serial_number);
        assert_eq!(x86.metadata.timestamp, "2023-11-14T22:13:20Z");
    }
}
