//! A build script's `cfg` tests of the OS, answered for the host that runs the script and
//! for the target it builds. Inside a build script `#[cfg(target_os = "macos")]` is the
//! host's answer (cargo hands the target's over as CARGO_CFG_TARGET_OS): where the two
//! answers differ, a cross build takes another branch than a native build on the target
//! would. network-interface 1.1.4 compiles its C only under such a test, so its macOS build
//! on Linux links without it (`undefined symbol: _lladdr`).

use crate::model::{Family, Target};

/// A target's cfg values that concern the OS, as `rustc --print cfg` gives them.
struct OsCfg {
    os: &'static str,
    family: &'static str,
    vendor: &'static str,
    env: &'static str,
}

fn os_cfg(target: &Target) -> Option<OsCfg> {
    let (os, family, vendor, env) = match target.family() {
        Family::LinuxMusl => ("linux", "unix", "unknown", "musl"),
        Family::LinuxGnu => ("linux", "unix", "unknown", "gnu"),
        Family::WindowsMsvc => ("windows", "windows", "pc", "msvc"),
        Family::WindowsGnu => ("windows", "windows", "pc", "gnu"),
        Family::AppleDarwin => ("macos", "unix", "apple", ""),
        Family::Other => return None,
    };
    Some(OsCfg {
        os,
        family,
        vendor,
        env,
    })
}

/// A cfg predicate: `any(…)`, `all(…)`, `not(…)`, `name` or `name = "value"`.
#[derive(Debug, PartialEq)]
enum Predicate {
    Any(Vec<Predicate>),
    All(Vec<Predicate>),
    Not(Box<Predicate>),
    Is(String, Option<String>),
}

/// Parses the text between `cfg(` and its closing parenthesis; None when it is not a
/// predicate (a macro's tokens, an unbalanced quote).
fn parse(text: &str) -> Option<Predicate> {
    let tokens = tokens(text)?;
    let mut at = 0;
    let predicate = predicate(&tokens, &mut at)?;
    (at == tokens.len()).then_some(predicate)
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Punct(char),
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' | ')' | ',' | '=' => tokens.push(Token::Punct(c)),
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        c => value.push(c),
                    }
                }
                tokens.push(Token::Text(value));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            _ => return None,
        }
    }
    Some(tokens)
}

fn predicate(tokens: &[Token], at: &mut usize) -> Option<Predicate> {
    let Token::Word(word) = tokens.get(*at)? else {
        return None;
    };
    *at += 1;
    match tokens.get(*at) {
        Some(Token::Punct('(')) => {
            *at += 1;
            let mut inner = Vec::new();
            while tokens.get(*at) != Some(&Token::Punct(')')) {
                inner.push(predicate(tokens, at)?);
                if tokens.get(*at) == Some(&Token::Punct(',')) {
                    *at += 1;
                }
            }
            *at += 1;
            match word.as_str() {
                "any" => Some(Predicate::Any(inner)),
                "all" => Some(Predicate::All(inner)),
                "not" if inner.len() == 1 => inner.pop().map(|p| Predicate::Not(Box::new(p))),
                _ => None,
            }
        }
        Some(Token::Punct('=')) => {
            let Some(Token::Text(value)) = tokens.get(*at + 1) else {
                return None;
            };
            *at += 2;
            Some(Predicate::Is(word.clone(), Some(value.clone())))
        }
        _ => Some(Predicate::Is(word.clone(), None)),
    }
}

impl Predicate {
    /// The OS answer for `cfg`, None for a name this reading does not know (a feature,
    /// target_arch, debug_assertions …).
    fn os_answer(name: &str, value: Option<&str>, cfg: &OsCfg) -> Option<bool> {
        match (name, value) {
            ("unix", None) => Some(cfg.family == "unix"),
            ("windows", None) => Some(cfg.family == "windows"),
            ("target_os", Some(v)) => Some(cfg.os == v),
            ("target_family", Some(v)) => Some(cfg.family == v),
            ("target_vendor", Some(v)) => Some(cfg.vendor == v),
            ("target_env", Some(v)) => Some(cfg.env == v),
            _ => None,
        }
    }

    /// Whether it tests the OS at all.
    fn tests_os(&self) -> bool {
        match self {
            Predicate::Any(all) | Predicate::All(all) => all.iter().any(Predicate::tests_os),
            Predicate::Not(p) => p.tests_os(),
            Predicate::Is(name, value) => matches!(
                (name.as_str(), value),
                ("unix" | "windows", None) | ("target_os" | "target_family" | "target_vendor" | "target_env", Some(_))
            ),
        }
    }

    /// Its value on `cfg`, with every name it does not know taken as `unknown`.
    fn eval(&self, cfg: &OsCfg, unknown: bool) -> bool {
        match self {
            Predicate::Any(all) => all.iter().any(|p| p.eval(cfg, unknown)),
            Predicate::All(all) => all.iter().all(|p| p.eval(cfg, unknown)),
            Predicate::Not(p) => !p.eval(cfg, unknown),
            Predicate::Is(name, value) => Predicate::os_answer(name, value.as_deref(), cfg).unwrap_or(unknown),
        }
    }
}

/// Whether `text` (what a `cfg(…)` holds) is a predicate that tests the OS.
pub fn tests_os(text: &str) -> bool {
    parse(text).is_some_and(|p| p.tests_os())
}

/// Whether the predicate `text` can answer otherwise on `host` than on `target`: with the
/// names it does not know all false, or all true. Unreadable text, or a target whose OS
/// this reading does not know, is never flagged.
pub fn differs(text: &str, host: &Target, target: &Target) -> bool {
    let (Some(predicate), Some(host), Some(target)) = (parse(text), os_cfg(host), os_cfg(target)) else {
        return false;
    };
    [false, true]
        .into_iter()
        .any(|unknown| predicate.eval(&host, unknown) != predicate.eval(&target, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(triple: &str) -> Target {
        triple.parse().unwrap()
    }

    #[test]
    fn os_tests_differ_where_the_host_and_target_answer_otherwise() {
        let linux = t("x86_64-unknown-linux-gnu");
        let (mac, windows, musl) = (
            t("aarch64-apple-darwin"),
            t("x86_64-pc-windows-msvc"),
            t("aarch64-unknown-linux-musl"),
        );
        // network-interface 1.1.4's build.rs, as written.
        let bsd = r#"any( target_os = "macos", target_os = "ios", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd", target_os = "dragonfly" )"#;
        assert!(differs(bsd, &linux, &mac));
        assert!(!differs(bsd, &linux, &windows), "false on both");
        assert!(!differs(bsd, &linux, &musl));
        // A script that picks the host's path separator answers the same for a macOS build.
        assert!(!differs("windows", &linux, &mac));
        assert!(differs("windows", &linux, &windows));
        assert!(differs("unix", &linux, &windows));
        assert!(!differs("unix", &linux, &mac));
        assert!(differs(r#"not(target_os = "linux")"#, &linux, &mac));
        assert!(differs(r#"target_env = "musl""#, &linux, &musl));
        // A feature may be on or off: the OS half still decides.
        assert!(differs(
            r#"all(feature = "bundled", target_vendor = "apple")"#,
            &linux,
            &mac
        ));
        assert!(!differs(
            r#"all(feature = "bundled", target_arch = "x86_64")"#,
            &linux,
            &mac
        ));
    }

    #[test]
    fn only_predicates_that_test_the_os_count() {
        assert!(tests_os(r#"any(target_os = "macos", feature = "x")"#));
        assert!(tests_os("not(windows)"));
        assert!(!tests_os(r#"feature = "vendored""#));
        assert!(!tests_os("test"));
        // Not a predicate: a string left open, a stray token.
        assert!(!tests_os(r#"target_os = "macos"#));
        assert!(!tests_os("windows; 1"));
        assert_eq!(
            parse(r#"all(unix, not(target_os = "macos"))"#),
            Some(Predicate::All(vec![
                Predicate::Is("unix".into(), None),
                Predicate::Not(Box::new(Predicate::Is("target_os".into(), Some("macos".into())))),
            ]))
        );
    }
}
