//! `cargo xtask size`: which crates take the space in a shipped binary, like cargo-bloat.
//! The dist profile strips symbols, so the binary is built once more with `strip = false`
//! into its own target dir (the shipped one is untouched), and the ELF symbol table's sizes
//! are summed per crate, the crate read from the demangled name.

use crate::build;
use crate::config::Overrides;
use crate::context::Context;
use crate::flags::{self, Global};
use crate::model::{Format, Target};
use crate::plan::{self, Plan};
use crate::runner::Runner;
use crate::ui::{cell, human_size, table};
use crate::UsageError;
use anyhow::{anyhow, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Symbols that do not demangle as Rust: musl's libc, compiler-rt and the app's own C code.
pub const NOT_RUST: &str = "[C: libc, compiler-rt, the app's C code]";

/// The crates std links in to print backtraces (symbolisation, DWARF, decompression).
pub const BACKTRACE_CRATES: [&str; 5] = ["gimli", "addr2line", "rustc_demangle", "miniz_oxide", "object"];

/// The space one binary's symbols take, per crate, largest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Breakdown {
    pub file_size: u64,
    /// The bytes of the sections loaded at run time: what stays when the binary is stripped
    /// (the rest of an unstripped file is mostly the prebuilt std's debug info).
    pub loaded_size: u64,
    /// The sum of all sized function and data symbols (the rest is headers, tables, padding).
    pub symbols_size: u64,
    pub crates: Vec<(String, u64)>,
}

/// Sums an ELF binary's sized symbols per crate. Needs the symbol table: a stripped binary
/// is an error that says how to get one.
pub fn breakdown(bytes: &[u8]) -> Result<Breakdown, String> {
    let elf = goblin::elf::Elf::parse(bytes).map_err(|e| format!("not an ELF binary: {e}"))?;
    if elf.syms.is_empty() {
        return Err("the binary has no symbol table: build it with strip = false".into());
    }
    let mut crates: BTreeMap<String, u64> = BTreeMap::new();
    for sym in elf
        .syms
        .iter()
        .filter(|s| s.st_size > 0 && matches!(s.st_type(), goblin::elf::sym::STT_FUNC | goblin::elf::sym::STT_OBJECT))
    {
        let name = elf.strtab.get_at(sym.st_name).unwrap_or("");
        *crates.entry(crate_of(name)).or_default() += sym.st_size;
    }
    let mut crates: Vec<(String, u64)> = crates.into_iter().collect();
    crates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let loaded_size = elf
        .section_headers
        .iter()
        .filter(|s| {
            s.sh_flags & u64::from(goblin::elf::section_header::SHF_ALLOC) != 0
                && s.sh_type != goblin::elf::section_header::SHT_NOBITS
        })
        .map(|s| s.sh_size)
        .sum();
    Ok(Breakdown {
        file_size: bytes.len() as u64,
        loaded_size,
        symbols_size: crates.iter().map(|c| c.1).sum(),
        crates,
    })
}

/// The crate a symbol belongs to: the first path segment of its demangled name; for a
/// trait impl `<T as Trait>::f`, T's crate, or the trait's when T is a primitive or generic.
pub fn crate_of(symbol: &str) -> String {
    let Ok(demangled) = rustc_demangle::try_demangle(symbol) else {
        return NOT_RUST.into();
    };
    let name = format!("{demangled:#}");
    let first_crate = |path: &str| {
        let path = path.trim_start_matches(['<', '&', '*', '[', '(', ' ']);
        let path = ["mut ", "const ", "dyn "]
            .iter()
            .fold(path, |p, prefix| p.strip_prefix(prefix).unwrap_or(p));
        let ident: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        (!ident.is_empty() && path[ident.len()..].starts_with("::")).then_some(ident)
    };
    match name.strip_prefix('<').and_then(|rest| rest.split_once(" as ")) {
        Some((ty, tr)) => first_crate(ty).or_else(|| first_crate(tr)),
        None => first_crate(&name),
    }
    .unwrap_or_else(|| "[other Rust]".into())
}

/// Builds every target of `plan` with the plan's own commands, plus `extra` cargo arguments
/// and in `target_dir` when given; returns each target's first binary.
pub fn build_plan(
    runner: &Runner,
    plan: &Plan,
    extra: &[String],
    target_dir: Option<&std::path::Path>,
) -> Result<BTreeMap<Target, PathBuf>> {
    let mut binaries = BTreeMap::new();
    build::install_toolchain(runner, plan, &|m| eprintln!("{m}"))?;
    build::install_size_toolchain(runner, plan, &|m| eprintln!("{m}"))?;
    for (index, group) in plan.builds.iter().enumerate() {
        let jobs: Vec<&plan::Job> = plan
            .jobs
            .iter()
            .filter(|j| j.build == index && j.slices.is_empty())
            .collect();
        for job in &jobs {
            build::install(runner, job, &group.log, |m| eprintln!("{m}"))?;
        }
        let mut group = group.clone();
        group.cmd = group.cmd.args(extra.iter().cloned());
        if let Some(dir) = target_dir {
            group.cmd = group.cmd.env("CARGO_TARGET_DIR", crate::runner::path_arg(dir)?);
            group.log = dir.join(format!("{}.log", group.route()));
        }
        let wanted: Vec<(&Target, &[String])> = jobs.iter().map(|j| (&j.target, j.binaries.as_slice())).collect();
        for (target, outcome) in build::build(runner, &group, &wanted, |_| {})? {
            let paths = outcome.with_context(|| format!("building {target} for the measurement"))?;
            let first = paths
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("cargo reported no binary for {target}"))?;
            binaries.insert(target, first);
        }
    }
    Ok(binaries)
}

/// Builds the ELF targets without stripping and breaks each binary down by crate.
pub fn measure(ctx: &Context, targets: Vec<String>) -> Result<Vec<(String, Breakdown)>> {
    let config = match targets.is_empty() {
        true => ctx.config.clone(),
        false => ctx.replan(Overrides::for_targets(targets))?.config,
    };
    let elf: Vec<String> = config
        .targets
        .iter()
        .filter(|t| t.format() == Format::Elf)
        .map(Target::to_string)
        .collect();
    if elf.is_empty() {
        return Err(UsageError::new(format!(
            "none of {} is an ELF target: the size breakdown reads ELF symbol tables (Linux targets)",
            config.targets.join(", ")
        )));
    }
    let ctx = ctx.replan(Overrides::for_targets(elf))?;
    let (config, plan) = (&ctx.config, &ctx.plan);
    let dir = config.target_dir.join("bench").join("unstripped");
    eprintln!(
        "building {} with strip = false into {}",
        config.targets.join(", "),
        dir.display()
    );
    let extra = [
        "--config".to_string(),
        format!("profile.{}.strip=false", config.profile),
    ];
    let binaries = build_plan(&ctx.runner, plan, &extra, Some(&dir))?;
    binaries
        .into_iter()
        .map(|(target, path)| {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let found = breakdown(&bytes).map_err(|e| anyhow!("{} ({target}): {e}", path.display()))?;
            Ok((target.to_string(), found))
        })
        .collect()
}

impl flags::Size {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), Overrides::default())?;
        let found = measure(&ctx, self.targets)?;
        print_size(&found, self.top, global.json);
        Ok(())
    }
}

fn size_rows(b: &Breakdown, top: usize) -> Vec<Vec<String>> {
    let pct = |n: u64| format!("{:.1} %", n as f64 * 100.0 / b.loaded_size.max(1) as f64);
    let mut rows: Vec<Vec<String>> = b
        .crates
        .iter()
        .take(top)
        .map(|(name, n)| vec![name.clone(), human_size(*n), pct(*n)])
        .collect();
    let rest: u64 = b.crates.iter().skip(top).map(|c| c.1).sum();
    if b.crates.len() > top {
        rows.push(vec![
            format!("{} more crates", b.crates.len() - top),
            human_size(rest),
            pct(rest),
        ]);
    }
    let other = b.loaded_size.saturating_sub(b.symbols_size);
    rows.push(vec![
        "(no symbol: headers, unwind and relocation tables, strings)".into(),
        human_size(other),
        pct(other),
    ]);
    rows.push(vec![
        "loaded sections (≈ the stripped binary)".into(),
        human_size(b.loaded_size),
        "100.0 %".into(),
    ]);
    rows
}

pub fn size_markdown(found: &[(String, Breakdown)], top: usize) -> String {
    let mut md = String::new();
    for (target, b) in found {
        md += &format!("\n### {target}\n\n| crate | size | share |\n|---|---|---|\n");
        for row in size_rows(b, top) {
            md += &format!("| {} |\n", row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
        }
    }
    md
}

/// `cargo xtask size`: per target, the crates that take the space.
pub fn print_size(found: &[(String, Breakdown)], top: usize, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(found).expect("the breakdown serialises")
        );
        return;
    }
    for (target, b) in found {
        println!(
            "{target} (unstripped file {}, of which loaded {}):",
            human_size(b.file_size),
            human_size(b.loaded_size)
        );
        print!("{}", table(&["crate", "size", "share"], &size_rows(b, top)));
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_come_from_the_demangled_path() {
        assert_eq!(crate_of("_ZN4core3fmt5write17h0123456789abcdefE"), "core");
        assert_eq!(
            crate_of("_ZN60_$LT$alloc..string..String$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE"),
            "alloc"
        );
        // A primitive's impl belongs to the trait's crate.
        assert_eq!(
            crate_of("_ZN44_$LT$$RF$T$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE"),
            "core"
        );
        assert_eq!(crate_of("memcpy"), NOT_RUST);
    }

    #[test]
    fn the_test_binary_breaks_down_into_its_crates() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let found = breakdown(&bytes).unwrap();
        let names: Vec<&str> = found.crates.iter().map(|c| c.0.as_str()).collect();
        for expected in ["release_orchestrator", "core", "goblin", NOT_RUST] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        assert!(
            found.crates.windows(2).all(|w| w[0].1 >= w[1].1),
            "not sorted largest first"
        );
        assert_eq!(found.symbols_size, found.crates.iter().map(|c| c.1).sum::<u64>());
        assert!(
            found.symbols_size < found.loaded_size && found.loaded_size < found.file_size,
            "{found:?}"
        );
    }

    #[test]
    fn a_stripped_binary_says_how_to_get_symbols() {
        // `strip` drops .symtab and keeps a valid ELF: the breakdown must refuse it clearly.
        let dir = tempfile::tempdir().unwrap();
        let stripped = dir.path().join("stripped");
        let exe = std::env::current_exe().unwrap();
        let strip = crate::runner::Cmd::new("strip")
            .arg("-o")
            .arg(stripped.to_str().unwrap())
            .arg(exe.to_str().unwrap());
        Runner::default()
            .run(&strip, None)
            .expect("this test needs binutils' strip (apt-get install binutils)");
        let err = breakdown(&std::fs::read(&stripped).unwrap()).unwrap_err();
        assert!(err.contains("strip = false"), "{err}");
    }
}
