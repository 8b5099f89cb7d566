//! `app`: counts lines, words and bytes of files (or standard input), like a small `wc`.
//! It is the program the release orchestrator ships; `app --version` names the target,
//! profile and commit it was built from, which the release smoke tests check.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage: app [--json] [--crc] [FILE]...
Counts lines, words and bytes of each FILE, or of standard input when none is given.

  --json       one JSON object per input instead of columns
  --crc        also the CRC-32 of each input (as `cksum -a crc32b` prints it)
  --version    the version, target, profile and commit of this build
  --help       this text";

extern "C" {
    /// From csrc/crc32.c: folds `len` bytes into a running CRC-32.
    fn app_crc32_update(crc: u32, data: *const u8, len: usize) -> u32;
}

fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: the pointer and length come from one live slice; the C code only reads it.
    unsafe { app_crc32_update(crc, data.as_ptr(), data.len()) }
}

// Printed by the hidden `--completions SHELL` and `--man` flags, which the release
// orchestrator runs to pack completion scripts and a man page beside the binary. Static
// text keeps the app std-only; the options are few enough to list by hand.
const BASH: &str = r#"_app() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--json --crc --version --help" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _app app
"#;

const FISH: &str = "\
complete -c app -l json -d 'one JSON object per input instead of columns'
complete -c app -l crc -d 'also the CRC-32 of each input'
complete -c app -s V -l version -d 'the version, target, profile and commit of this build'
complete -c app -s h -l help -d 'print help'
";

const ZSH: &str = "\
#compdef app
_arguments \\
  '--json[one JSON object per input instead of columns]' \\
  '--crc[also the CRC-32 of each input]' \\
  '(-V --version)'{-V,--version}'[the version, target, profile and commit of this build]' \\
  '(-h --help)'{-h,--help}'[print help]' \\
  '*:file:_files'
";

const MAN: &str = r#".TH APP 1
.SH NAME
app \- count lines, words and bytes
.SH SYNOPSIS
.B app
[\fB\-\-json\fR] [\fB\-\-crc\fR] [\fIFILE\fR]...
.SH DESCRIPTION
Counts lines, words and bytes of each FILE, or of standard input when none is given.
.SH OPTIONS
.TP
.B \-\-json
One JSON object per input instead of columns.
.TP
.B \-\-crc
Also the CRC-32 of each input, as cksum -a crc32b prints it.
.TP
.BR \-V ", " \-\-version
The version, target, profile and commit of this build.
.TP
.BR \-h ", " \-\-help
Print help.
.SH EXIT STATUS
0 on success, 2 when an input cannot be read or an option is unknown.
"#;

fn completions(shell: Option<&str>) -> Result<&'static str, String> {
    match shell {
        Some("bash") => Ok(BASH),
        Some("fish") => Ok(FISH),
        Some("zsh") => Ok(ZSH),
        other => Err(format!(
            "--completions needs one of bash, fish, zsh (got {})",
            other.unwrap_or("nothing")
        )),
    }
}

#[derive(Default, Clone, Copy, PartialEq, Debug)]
struct Counts {
    lines: u64,
    words: u64,
    bytes: u64,
    crc: u32,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.lines += other.lines;
        self.words += other.words;
        self.bytes += other.bytes;
        self.crc = 0; // a CRC of several inputs is not their sum; the total has none
    }
}

/// Streams the input in chunks so large files never sit in memory; a word may span chunks.
fn count(input: impl Read) -> io::Result<Counts> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut counts = Counts::default();
    let mut in_word = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(counts);
        }
        for &byte in chunk {
            if byte == b'\n' {
                counts.lines += 1;
            }
            let space = byte.is_ascii_whitespace();
            if !space && !in_word {
                counts.words += 1;
            }
            in_word = !space;
        }
        counts.crc = crc32_update(counts.crc, chunk);
        let n = chunk.len();
        counts.bytes += n as u64;
        reader.consume(n);
    }
}

fn version() -> String {
    format!(
        "app {} ({} {} {})",
        env!("CARGO_PKG_VERSION"),
        env!("APP_TARGET"),
        env!("APP_PROFILE"),
        env!("APP_COMMIT"),
    )
}

#[derive(Clone, Copy)]
struct Style {
    json: bool,
    crc: bool,
}

fn print_counts(out: &mut impl Write, style: Style, c: Counts, name: &str) -> io::Result<()> {
    let show_crc = style.crc && name != "total";
    if style.json {
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        let crc = if show_crc {
            format!(",\"crc32\":\"{:08x}\"", c.crc)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{{\"name\":\"{name}\",\"lines\":{},\"words\":{},\"bytes\":{}{crc}}}",
            c.lines, c.words, c.bytes
        )
    } else if show_crc {
        writeln!(out, "{:>8} {:>8} {:>8} {:08x} {name}", c.lines, c.words, c.bytes, c.crc)
    } else {
        writeln!(out, "{:>8} {:>8} {:>8} {name}", c.lines, c.words, c.bytes)
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut style = Style {
        json: false,
        crc: false,
    };
    let mut files = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--completions" => {
                print!("{}", completions(args.next().as_deref())?);
                return Ok(());
            }
            "--man" => {
                print!("{MAN}");
                return Ok(());
            }
            "--version" | "-V" => {
                println!("{}", version());
                return Ok(());
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--json" => style.json = true,
            "--crc" => style.crc = true,
            flag if flag.starts_with('-') && flag != "-" => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ => files.push(arg),
        }
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let write_err = |e: io::Error| format!("cannot write output: {e}");
    if files.is_empty() {
        let c = count(io::stdin().lock()).map_err(|e| format!("standard input: {e}"))?;
        return print_counts(&mut out, style, c, "-").map_err(write_err);
    }
    let mut total = Counts::default();
    for name in &files {
        let c = if name == "-" {
            count(io::stdin().lock())
        } else {
            std::fs::File::open(name).and_then(count)
        }
        .map_err(|e| format!("{name}: {e}"))?;
        print_counts(&mut out, style, c, name).map_err(write_err)?;
        total += c;
    }
    if files.len() > 1 {
        print_counts(&mut out, style, total, "total").map_err(write_err)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("app: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_wc() {
        let c = count(&b"one two\n  three\nfour"[..]).unwrap();
        assert_eq!((c.lines, c.words, c.bytes), (2, 4, 20));
    }

    #[test]
    fn words_span_chunk_boundaries() {
        let mut text = vec![b'a'; 64 * 1024 + 10];
        text[100] = b' ';
        let c = count(&text[..]).unwrap();
        assert_eq!(c.words, 2);
    }

    #[test]
    fn crc32_from_c_matches_the_standard_check_value() {
        // The CRC-32 check value of "123456789", split across calls like chunks are.
        let crc = crc32_update(crc32_update(0, b"1234"), b"56789");
        assert_eq!(crc, 0xcbf4_3926);
    }

    #[test]
    fn completions_exist_for_the_configured_shells_only() {
        for shell in ["bash", "fish", "zsh"] {
            assert!(completions(Some(shell)).unwrap().contains("json"), "{shell}");
        }
        assert!(completions(Some("tcsh")).unwrap_err().contains("tcsh"));
        assert!(completions(None).is_err());
    }

    #[test]
    fn version_names_the_target() {
        assert!(version().contains(env!("APP_TARGET")));
    }
}
