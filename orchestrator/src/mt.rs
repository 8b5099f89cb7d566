//! The `mt.exe` that lld-link calls to merge Windows application manifests.
//!
//! A build script that embeds a manifest (`/MANIFEST:EMBED /MANIFESTINPUT:file`, as ripgrep's
//! does for long paths and UTF-8) makes lld-link merge its own default manifest (the UAC
//! `trustInfo`) with the input. lld-link merges in-process only when LLVM was built with
//! libxml2; rust-lld is not, so it runs `mt.exe /manifest default /manifest input… /nologo
//! /out:merged` from PATH, reads `merged` back and embeds it itself, as the RT_MANIFEST
//! resource (id 1). Microsoft's mt.exe does not run on Linux, so on the windows-msvc route the
//! plan puts a link named `mt.exe` to the running xtask on PATH, and `cli::parse` answers
//! that name by merging here. The merge follows LLVM's own merger (the one lld-link uses
//! with libxml2): the root `assembly` elements merge; a child merges into an existing child
//! of the same name when both are of the kinds mt.exe merges (`trustInfo`, `security`,
//! `application`, …) in a Microsoft manifest namespace, and is appended otherwise; an
//! attribute present on both must agree; comments go. The output declares each namespace
//! where it is first needed, so every element keeps its namespace wherever it moved.
//!
//! Why not hand lld-link the manifest as a compiled resource (RT_MANIFEST, id 1) instead:
//! the flags come from the project's build script, and lld-link merges as soon as
//! `/MANIFESTINPUT` is on its command line, so it would still call mt.exe; a resource
//! beside its own id 1 is a duplicate; and taking the build script's flags away would need
//! a wrapper around the linker that drops lld-link's default part (the UAC level) or
//! merges it all the same.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The name lld-link looks up on PATH.
pub const PROGRAM: &str = "mt.exe";

/// When this process was started as `mt.exe` (a link to the xtask), merges the manifests
/// lld-link names and returns the exit code; None for any other name.
pub fn run_if_called_as_mt() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let argv0 = args.next()?;
    if Path::new(&argv0).file_name()? != PROGRAM {
        return None;
    }
    Some(match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mt.exe (the release orchestrator's manifest merger): {err:#}");
            ExitCode::FAILURE
        }
    })
}

/// `/manifest FILE…` (each file may follow its own `/manifest`), `/out:FILE`, `/nologo`:
/// what lld-link passes. Anything else is an mt.exe feature this merger does not have.
fn run(args: impl Iterator<Item = OsString>) -> Result<()> {
    let mut inputs: Vec<PathBuf> = Vec::new();
    let mut out = None;
    let mut after_manifest = false;
    for arg in args {
        let text = arg.to_string_lossy();
        let option = text.strip_prefix('/').or_else(|| text.strip_prefix('-'));
        let lower = option.map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("manifest") => after_manifest = true,
            Some("nologo") => after_manifest = false,
            Some(o) if o.starts_with("out:") => {
                out = Some(PathBuf::from(&text[5..]));
                after_manifest = false;
            }
            // A Linux path starts with '/': after /manifest an argument is a file.
            _ if after_manifest => inputs.push(PathBuf::from(arg)),
            _ => bail!("unsupported argument {text:?}: this mt.exe only merges manifests (/manifest FILE… /out:FILE), as lld-link asks"),
        }
    }
    let Some(out) = out else { bail!("no /out:FILE given") };
    if inputs.is_empty() {
        bail!("no /manifest FILE given");
    }
    let texts = inputs
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading the manifest {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let named: Vec<(&Path, &str)> = inputs
        .iter()
        .map(PathBuf::as_path)
        .zip(texts.iter().map(String::as_str))
        .collect();
    let merged = merge(&named)?;
    std::fs::write(&out, merged).with_context(|| format!("writing the merged manifest {}", out.display()))
}

const ASM_V1: &str = "urn:schemas-microsoft-com:asm.v1";

/// The namespaces whose elements mt.exe merges (LLVM's list).
const MS_NAMESPACES: [&str; 5] = [
    ASM_V1,
    "urn:schemas-microsoft-com:asm.v2",
    "urn:schemas-microsoft-com:asm.v3",
    "http://schemas.microsoft.com/SMI/2005/WindowsSettings",
    "urn:schemas-microsoft-com:compatibility.v1",
];

/// The elements mt.exe merges with a namesake instead of appending (LLVM's list).
const MERGEABLE: [&str; 9] = [
    "application",
    "assembly",
    "assemblyIdentity",
    "compatibility",
    "noInherit",
    "requestedExecutionLevel",
    "requestedPrivileges",
    "security",
    "trustInfo",
];

#[derive(Debug, Clone, PartialEq)]
struct Element {
    namespace: Option<String>,
    name: String,
    /// The prefix the input wrote, reused in the output where it is free.
    prefix: Option<String>,
    attributes: Vec<Attribute>,
    children: Vec<Child>,
}

#[derive(Debug, Clone, PartialEq)]
struct Attribute {
    namespace: Option<String>,
    prefix: Option<String>,
    name: String,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Child {
    Element(Element),
    Text(String),
}

impl Element {
    fn mergeable(&self) -> bool {
        MERGEABLE.contains(&self.name.as_str())
            && self.namespace.as_deref().is_some_and(|ns| MS_NAMESPACES.contains(&ns))
    }
}

/// Merges the manifests in order (lld-link's default first) into one document.
fn merge(manifests: &[(&Path, &str)]) -> Result<String> {
    let mut merged: Option<Element> = None;
    for (path, text) in manifests {
        let doc =
            roxmltree::Document::parse(text).with_context(|| format!("{} is not well-formed XML", path.display()))?;
        let root = element(doc.root_element(), text);
        if root.name != "assembly" || root.namespace.as_deref() != Some(ASM_V1) {
            bail!(
                "{} is not a Windows application manifest: its root is <{}>, not <assembly xmlns=\"{ASM_V1}\">",
                path.display(),
                root.name
            );
        }
        match &mut merged {
            None => merged = Some(root),
            Some(into) => merge_into(into, root).with_context(|| format!("merging {}", path.display()))?,
        }
    }
    let root = merged.context("no manifest to merge")?;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    write(&root, &mut Vec::new(), 0, &mut out);
    Ok(out)
}

/// The element as data; comments and whitespace-only text are dropped, as mt.exe does.
fn element(node: roxmltree::Node, source: &str) -> Element {
    let prefix_of = |qname: &str| qname.split_once(':').map(|(p, _)| p.to_string());
    // The tag as written: `<qname` up to the first space, `/` or `>`.
    let tag = &source[node.range()];
    let qname: &str = tag[1..]
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or_default();
    Element {
        namespace: node.tag_name().namespace().map(str::to_string),
        name: node.tag_name().name().to_string(),
        prefix: prefix_of(qname),
        attributes: node
            .attributes()
            .map(|a| Attribute {
                namespace: a.namespace().map(str::to_string),
                prefix: prefix_of(&source[a.range_qname()]),
                name: a.name().to_string(),
                value: a.value().to_string(),
            })
            .collect(),
        children: node
            .children()
            .filter_map(|c| {
                if c.is_element() {
                    Some(Child::Element(element(c, source)))
                } else {
                    c.text()
                        .filter(|t| c.is_text() && !t.trim().is_empty())
                        .map(|t| Child::Text(t.to_string()))
                }
            })
            .collect(),
    }
}

fn merge_into(into: &mut Element, from: Element) -> Result<()> {
    for attribute in from.attributes {
        // By local name, as mt.exe compares them.
        match into.attributes.iter().find(|a| a.name == attribute.name) {
            Some(a) if a.value != attribute.value => bail!(
                "conflicting values for the attribute {} of <{}>: {:?} and {:?}",
                attribute.name,
                into.name,
                a.value,
                attribute.value
            ),
            Some(_) => {}
            None => into.attributes.push(attribute),
        }
    }
    for child in from.children {
        if let Child::Element(e) = &child {
            let namesake = into.children.iter_mut().find_map(|c| match c {
                Child::Element(x) if e.mergeable() && x.mergeable() && x.name == e.name => Some(x),
                _ => None,
            });
            if let Some(existing) = namesake {
                let Child::Element(e) = child else { unreachable!() };
                merge_into(existing, e)?;
                continue;
            }
        }
        into.children.push(child);
    }
    Ok(())
}

/// Namespace bindings in scope while writing: (prefix, None for the default; namespace).
type Scope = Vec<(Option<String>, String)>;

fn lookup<'a>(scope: &'a Scope, prefix: Option<&str>) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p.as_deref() == prefix)
        .map(|(_, ns)| ns.as_str())
}

/// A non-default prefix bound to `namespace` and not shadowed since.
fn prefix_for(scope: &Scope, namespace: &str) -> Option<String> {
    scope
        .iter()
        .rev()
        .filter_map(|(p, _)| p.as_deref())
        .find(|p| lookup(scope, Some(p)) == Some(namespace))
        .map(str::to_string)
}

fn write(e: &Element, scope: &mut Scope, depth: usize, out: &mut String) {
    let outer = scope.len();
    // The declarations this element writes; each also enters the scope.
    let mut declared: Scope = Vec::new();
    fn declare(scope: &mut Scope, declared: &mut Scope, prefix: Option<String>, ns: &str) {
        scope.push((prefix.clone(), ns.to_string()));
        declared.push((prefix, ns.to_string()));
    }
    let element_prefix = match &e.namespace {
        None => {
            if lookup(scope, None).is_some_and(|ns| !ns.is_empty()) {
                declare(scope, &mut declared, None, "");
            }
            None
        }
        Some(ns) if lookup(scope, e.prefix.as_deref()) == Some(ns.as_str()) => e.prefix.clone(),
        Some(ns) if lookup(scope, None) == Some(ns.as_str()) => None,
        Some(ns) => match prefix_for(scope, ns) {
            Some(p) => Some(p),
            None => {
                declare(scope, &mut declared, e.prefix.clone(), ns);
                e.prefix.clone()
            }
        },
    };
    let mut attributes = Vec::new();
    for a in &e.attributes {
        let qname = match &a.namespace {
            None => a.name.clone(),
            Some(ns) => {
                let prefix = prefix_for(scope, ns).unwrap_or_else(|| {
                    // The input's prefix, unless this element already binds it otherwise.
                    let taken = |p: &str| {
                        declared.iter().any(|(d, _)| d.as_deref() == Some(p)) || element_prefix.as_deref() == Some(p)
                    };
                    let p = a.prefix.clone().filter(|p| !taken(p)).unwrap_or_else(|| {
                        (0..)
                            .map(|i| format!("ns{i}"))
                            .find(|p| !taken(p))
                            .expect("a free prefix")
                    });
                    declare(scope, &mut declared, Some(p.clone()), ns);
                    p
                });
                format!("{prefix}:{}", a.name)
            }
        };
        attributes.push((qname, &a.value));
    }
    let qname = match &element_prefix {
        Some(p) => format!("{p}:{}", e.name),
        None => e.name.clone(),
    };
    let indent = "  ".repeat(depth);
    out.push_str(&format!("{indent}<{qname}"));
    for (prefix, ns) in &declared {
        match prefix {
            Some(p) => out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(ns, true))),
            None => out.push_str(&format!(" xmlns=\"{}\"", escape(ns, true))),
        }
    }
    for (name, value) in attributes {
        out.push_str(&format!(" {name}=\"{}\"", escape(value, true)));
    }
    let only_elements = e.children.iter().all(|c| matches!(c, Child::Element(_)));
    if e.children.is_empty() {
        out.push_str("/>\n");
    } else if only_elements {
        out.push_str(">\n");
        for child in &e.children {
            if let Child::Element(c) = child {
                write(c, scope, depth + 1, out);
            }
        }
        out.push_str(&format!("{indent}</{qname}>\n"));
    } else {
        // Mixed content keeps its text exactly: no indentation inside.
        out.push('>');
        for child in &e.children {
            match child {
                Child::Text(t) => out.push_str(&escape(t, false)),
                Child::Element(c) => {
                    let mut inner = String::new();
                    write(c, scope, 0, &mut inner);
                    out.push_str(inner.trim_end());
                }
            }
        }
        out.push_str(&format!("</{qname}>\n"));
    }
    scope.truncate(outer);
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lld-link's default manifest, as it writes it for /MANIFEST:EMBED.
    const DEFAULT: &str = "<?xml version=\"1.0\" standalone=\"yes\"?>\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v1\"\n          manifestVersion=\"1.0\">\n  <trustInfo>\n    <security>\n      <requestedPrivileges>\n         <requestedExecutionLevel level='asInvoker' uiAccess='false'/>\n      </requestedPrivileges>\n    </security>\n  </trustInfo>\n</assembly>\n";

    /// ripgrep 15.2.0's pkg/windows/Manifest.xml, shortened: prefixes, a default namespace
    /// per element, comments, and the same element twice.
    const RIPGREP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- a comment -->
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0" xmlns:asmv3="urn:schemas-microsoft-com:asm.v3">
    <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
        <application>
            <!-- Windows 10 and 11 --><supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
        </application>
    </compatibility>
    <asmv3:application>
        <asmv3:windowsSettings xmlns="http://schemas.microsoft.com/SMI/2019/WindowsSettings">
            <activeCodePage>UTF-8</activeCodePage>
        </asmv3:windowsSettings>
    </asmv3:application>
    <asmv3:application>
        <asmv3:windowsSettings xmlns:ws2="http://schemas.microsoft.com/SMI/2016/WindowsSettings">
            <ws2:longPathAware>true</ws2:longPathAware>
        </asmv3:windowsSettings>
    </asmv3:application>
</assembly>"#;

    fn merged(inputs: &[&str]) -> Result<String> {
        let named: Vec<(&Path, &str)> = inputs.iter().map(|t| (Path::new("m.manifest"), *t)).collect();
        merge(&named)
    }

    /// Each element as (namespace, name, text), in document order: what a reader of the
    /// manifest sees, whatever the prefixes.
    fn meaning(xml: &str) -> Vec<(String, String, String)> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        doc.descendants()
            .filter(|n| n.is_element())
            .map(|n| {
                let text = n
                    .children()
                    .filter_map(|c| c.text())
                    .collect::<String>()
                    .trim()
                    .to_string();
                (
                    n.tag_name().namespace().unwrap_or_default().to_string(),
                    n.tag_name().name().to_string(),
                    text,
                )
            })
            .collect()
    }

    #[test]
    fn the_default_and_ripgreps_manifest_merge_keeping_every_namespace() {
        let out = merged(&[DEFAULT, RIPGREP]).unwrap();
        let found = meaning(&out);
        let has = |ns: &str, name: &str, text: &str| {
            assert!(
                found.iter().any(|(n, e, t)| n == ns && e == name && t == text),
                "no <{name}> in {ns} with {text:?}:\n{out}"
            )
        };
        has(ASM_V1, "requestedExecutionLevel", "");
        has("urn:schemas-microsoft-com:compatibility.v1", "supportedOS", "");
        has(
            "http://schemas.microsoft.com/SMI/2019/WindowsSettings",
            "activeCodePage",
            "UTF-8",
        );
        has(
            "http://schemas.microsoft.com/SMI/2016/WindowsSettings",
            "longPathAware",
            "true",
        );
        // The two asm.v3 <application>s became one, as mt.exe merges them; each trustInfo once.
        let count = |name: &str, ns: &str| found.iter().filter(|(n, e, _)| e == name && n == ns).count();
        assert_eq!(count("application", "urn:schemas-microsoft-com:asm.v3"), 1, "{out}");
        assert_eq!(count("windowsSettings", "urn:schemas-microsoft-com:asm.v3"), 2, "{out}");
        assert_eq!(count("trustInfo", ASM_V1), 1, "{out}");
        assert!(!out.contains("comment"), "{out}");
        eprintln!("{out}");
    }

    #[test]
    fn a_user_trust_info_merges_into_the_default_and_conflicts_are_refused() {
        let user = r#"<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0"><trustInfo xmlns="urn:schemas-microsoft-com:asm.v3"><security><requestedPrivileges><requestedExecutionLevel level="asInvoker"/></requestedPrivileges></security></trustInfo></assembly>"#;
        let out = merged(&[DEFAULT, user]).unwrap();
        assert_eq!(out.matches("<trustInfo").count(), 1, "{out}");
        assert_eq!(out.matches("requestedExecutionLevel").count(), 1, "{out}");
        let admin = user.replace("asInvoker", "requireAdministrator");
        let err = format!("{:#}", merged(&[DEFAULT, &admin]).unwrap_err());
        assert!(err.contains("conflicting values for the attribute level"), "{err}");
    }

    #[test]
    fn text_and_attributes_are_escaped_and_non_manifests_refused() {
        let user = r#"<assembly xmlns="urn:schemas-microsoft-com:asm.v1" xmlns:x="urn:x" x:a="1 &amp; &quot;2&quot;"><description>a &lt;b&gt; &amp; c</description></assembly>"#;
        let out = merged(&[DEFAULT, user]).unwrap();
        let doc = roxmltree::Document::parse(&out).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute(("urn:x", "a")), Some("1 & \"2\""), "{out}");
        let description = root.descendants().find(|n| n.has_tag_name("description")).unwrap();
        assert_eq!(description.text(), Some("a <b> & c"));
        let err = format!("{:#}", merged(&[DEFAULT, "<html/>"]).unwrap_err());
        assert!(err.contains("not a Windows application manifest"), "{err}");
        assert!(merged(&[DEFAULT, "<assembly"]).is_err());
    }

    #[test]
    fn arguments_as_lld_link_passes_them() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, out) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("out"));
        std::fs::write(&a, DEFAULT).unwrap();
        // Editors on Windows start UTF-8 files with a byte-order mark.
        std::fs::write(&b, format!("\u{feff}{RIPGREP}")).unwrap();
        let args: Vec<OsString> = vec![
            "/manifest".into(),
            a.clone().into(),
            "/manifest".into(),
            b.into(),
            "/nologo".into(),
            format!("/out:{}", out.display()).into(),
        ];
        run(args.into_iter()).unwrap();
        assert!(std::fs::read_to_string(&out).unwrap().contains("longPathAware"));
        let err = run(vec![OsString::from("/inputresource:x.exe;#1")].into_iter()).unwrap_err();
        assert!(format!("{err}").contains("unsupported argument"), "{err}");
        assert!(
            run(vec![OsString::from("/manifest"), a.into()].into_iter()).is_err(),
            "no /out"
        );
    }
}
