//! Release binaries built by other projects' pipelines, as they ship inside their PyPI
//! wheels (just, ruff and typos; one wheel per platform, about 30 MB in all): `verify` holds
//! each to its own target's rules and passes it, and fails it for another target. They are
//! what the facts in orchestrator/facts/ are for: the manylinux builds need libgcc_s.so.1,
//! ruff's Windows build imports combase.dll, which no SDK import library names.
//!
//! The wheels come the way the tool's own do (tools::provision: pip download, the SHA-256
//! pinned here, unpacked into the tool cache), so a second run downloads nothing.

use crate::harness::{expect_report, expect_rule, xtask};
use release_orchestrator::runner::Runner;
use release_orchestrator::tools::{self, Provision, Wheel};
use std::path::PathBuf;

/// One wheel: the platform tag pip downloads it for, the binary inside, its target, and a
/// wrong target with the rule that target's check breaks.
struct Case {
    wheel: Wheel,
    platform: &'static str,
    target: &'static str,
    wrong: (&'static str, &'static str, &'static str),
}

const fn just(sha256: &'static str, program: &'static str) -> Wheel {
    Wheel {
        tool: "just",
        package: "rust-just",
        version: "1.59.0",
        sha256,
        program: Some(program),
    }
}

const JUST: &str = "rust_just-1.59.0.data/scripts/just";
const JUST_EXE: &str = "rust_just-1.59.0.data/scripts/just.exe";

const CASES: [Case; 8] = [
    Case {
        wheel: just("55a22dbd38fb3491d221da1e45184d09460526fae73b845eb9cdfbefcf06822b", JUST),
        platform: "musllinux_1_2_x86_64",
        target: "x86_64-unknown-linux-musl",
        wrong: ("aarch64-unknown-linux-musl", "arch", "architecture is x86_64"),
    },
    Case {
        wheel: just("58b64060b424f6a6ced877b4664122f9ac454d1302d97b73b170557b6c11568d", JUST),
        platform: "musllinux_1_2_aarch64",
        target: "aarch64-unknown-linux-musl",
        wrong: ("x86_64-unknown-linux-musl", "arch", "architecture is aarch64"),
    },
    // manylinux2014 builds: libgcc_s.so.1 (Rust's unwinder), librt, libpthread, libdl.
    Case {
        wheel: just("3ee47f26e3aff917107602d57a08ede20df447f78dc4f9ceb08e57a883c56eb9", JUST),
        platform: "manylinux_2_17_x86_64",
        target: "x86_64-unknown-linux-gnu",
        wrong: ("x86_64-unknown-linux-musl", "musl-static", "has a dynamic loader"),
    },
    Case {
        wheel: just("a305aa91fc425c44e3bcc7d5faae7b8c1503091d8e79aae1f6801dbdca478e20", JUST),
        platform: "manylinux_2_17_aarch64",
        target: "aarch64-unknown-linux-gnu",
        wrong: ("aarch64-unknown-linux-musl", "musl-static", "libgcc_s.so.1"),
    },
    // Linked with +crt-static; imports combase.dll through windows-sys's raw-dylib.
    Case {
        wheel: Wheel {
            tool: "ruff",
            package: "ruff",
            version: "0.17.6",
            sha256: "9cd2fd9923e9806b8b6b67a3469e2258e84bd4d21e45d5a1a690afdfb9c8e57d",
            program: Some("ruff-0.17.6.data/scripts/ruff.exe"),
        },
        platform: "win_amd64",
        target: "x86_64-pc-windows-msvc",
        wrong: ("x86_64-unknown-linux-gnu", "format", "the file is Pe"),
    },
    Case {
        wheel: Wheel {
            tool: "typos",
            package: "typos",
            version: "1.52.0",
            sha256: "b7ef28f4503bd5d25ba987d33af0c6acf5a7e63d5c2ff1c025ae7fa6ae56c07c",
            program: Some("typos-1.52.0.data/scripts/typos.exe"),
        },
        platform: "win_amd64",
        target: "x86_64-pc-windows-msvc",
        wrong: ("aarch64-pc-windows-msvc", "arch", "architecture is x86_64"),
    },
    Case {
        wheel: just("68795a4da5ffb65ed79a79ffaa8cdb06b7db15feba82a36fb0855a3eb964eb24", JUST),
        platform: "macosx_10_12_x86_64",
        target: "x86_64-apple-darwin",
        wrong: ("aarch64-apple-darwin", "arch", "architecture is x86_64"),
    },
    Case {
        wheel: just("105f7d21ff3a36ffbe1c2039bcac2c63b92941a11e3531ecdff3e4b6411f87d4", JUST),
        platform: "macosx_11_0_arm64",
        target: "aarch64-apple-darwin",
        wrong: ("x86_64-apple-darwin", "arch", "architecture is aarch64"),
    },
];

/// The binary out of `wheel` for `platform`, provisioned into the tool cache's test-wheels/.
fn binary(wheel: Wheel, platform: &str) -> PathBuf {
    let cache = tools::cache_dir().unwrap().join("test-wheels");
    let provision = Provision::new(&cache, wheel).unwrap().for_platform(platform);
    tools::provision(&Runner::default(), &provision, &|line| eprintln!("{line}"))
        .unwrap_or_else(|e| panic!("{} {} for {platform}: {e:#}", wheel.package, wheel.version));
    let program = provision.program().unwrap();
    assert!(
        program.is_file(),
        "{} holds no {}",
        provision.dir.display(),
        program.display()
    );
    program
}

/// `verify --target <triple> <binary>`, outside any workspace: the defaults apply.
fn verify(target: &str, binary: &PathBuf) -> crate::harness::Run {
    let outside = tempfile::tempdir().unwrap();
    xtask(["verify", "--target", target])
        .arg(binary)
        .cwd(outside.path())
        .run()
}

#[test]
fn release_binaries_from_other_pipelines_pass_for_their_target_and_fail_for_another() {
    for case in &CASES {
        let binary = binary(case.wheel, case.platform);
        expect_report(&verify(case.target, &binary), 0, "PASS");
        let (wrong, rule, says) = case.wrong;
        expect_rule(&verify(wrong, &binary), rule, says);
    }
}

#[test]
fn a_dynamic_crt_fails_only_static_crt() {
    // just's Windows build links the C runtime dynamically (VCRUNTIME140.dll and the UCRT's
    // API sets); the rest of what it imports, combase.dll included, is Windows'.
    let binary = binary(
        just(
            "75bde89d36bb0c7b35fb9cecefb303f154dc320d4b5b8c832c5ad0bf1904077b",
            JUST_EXE,
        ),
        "win_amd64",
    );
    let out = verify("x86_64-pc-windows-msvc", &binary);
    expect_rule(&out, "static-crt", "VCRUNTIME140.dll");
    assert!(out.stdout.contains("combase.dll"), "{out}");
    assert!(!out.stdout.contains("[system-dlls]"), "{out}");
}
