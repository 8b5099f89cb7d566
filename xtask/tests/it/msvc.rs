//! The windows-msvc route on things real projects do: a build script that embeds an
//! application manifest (as ripgrep's does, for long paths), and C that includes the CRT's
//! and the Windows SDK's headers, and calls a POSIX name only OLDNAMES.lib defines.

use crate::harness::*;

/// The manifest the fixture embeds: long-path aware, like ripgrep's.
const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- Remove (most) legacy path limits -->
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0" xmlns:asmv3="urn:schemas-microsoft-com:asm.v3">
    <asmv3:application>
        <asmv3:windowsSettings xmlns:ws2="http://schemas.microsoft.com/SMI/2016/WindowsSettings">
            <ws2:longPathAware>true</ws2:longPathAware>
        </asmv3:windowsSettings>
    </asmv3:application>
</assembly>
"#;

/// A bin `winapp` whose build script embeds MANIFEST on windows-msvc (with /WX, as ripgrep
/// does) and compiles C that uses <ctype.h>, <stdio.h> and <windows.h>.
fn fixture() -> Workspace {
    let ws = Workspace::empty();
    ws.write(
        "Cargo.toml",
        "[package]\nname = \"winapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\ncc = \"1\"\n",
    )
    .write("pkg/windows/Manifest.xml", MANIFEST)
    .write(
        "build.rs",
        r#"fn main() {
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap();
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap();
    if target_os == "windows" && target_env == "msvc" {
        let manifest = std::env::current_dir().unwrap().join("pkg/windows/Manifest.xml");
        println!("cargo:rustc-link-arg-bin=winapp=/MANIFEST:EMBED");
        println!("cargo:rustc-link-arg-bin=winapp=/MANIFESTINPUT:{}", manifest.display());
        println!("cargo:rustc-link-arg-bin=winapp=/WX");
    }
    cc::Build::new().file("csrc/shout.c").compile("shout");
}
"#,
    )
    .write(
        "csrc/shout.c",
        "#include <ctype.h>\n#include <io.h>\n#include <stdio.h>\n#include <windows.h>\n\n\
         int shout(int c) {\n    char pid[16];\n    snprintf(pid, sizeof pid, \"%lu\", GetCurrentProcessId());\n    /* A POSIX name, as libgit2 calls it: only OLDNAMES.lib defines it. */\n    if (c == 0) close(-1);\n    return toupper(c) + (pid[0] == 0);\n}\n",
    )
    .write(
        "src/main.rs",
        "extern \"C\" {\n    fn shout(c: i32) -> i32;\n}\n\nfn main() {\n    let c = unsafe { shout('a' as i32) } as u8 as char;\n    println!(\"winapp {c}\");\n}\n",
    )
    .write("README.md", "winapp\n")
    .lock();
    ws
}

#[test]
fn a_manifest_and_c_against_the_windows_headers_build_and_read_back() {
    let ws = fixture();
    let out = ws.path("dist");
    let run = ws
        .xtask(["dist", "--target", "x86_64-pc-windows-msvc", "--accept-msvc-license"])
        .arg("--out")
        .arg(&out)
        .run();
    expect_ok(&run);
    let manifest = read_manifest(&out);
    let assets = manifest["artifacts"][0]["assets"].as_array().unwrap();
    let exe = assets.iter().find(|a| a["kind"] == "executable").unwrap();
    // The RT_MANIFEST resource, read back from the binary: the input's setting, in its
    // namespace, merged with lld-link's default (the UAC level).
    let embedded = exe["inspection"]["pe"]["manifest"]
        .as_str()
        .unwrap_or_else(|| panic!("no manifest: {exe}"));
    assert!(
        embedded.contains(
            r#"<ws2:longPathAware xmlns:ws2="http://schemas.microsoft.com/SMI/2016/WindowsSettings">true</ws2:longPathAware>"#
        ),
        "{embedded}"
    );
    assert!(
        embedded.contains(r#"<asmv3:application xmlns:asmv3="urn:schemas-microsoft-com:asm.v3">"#),
        "{embedded}"
    );
    assert!(
        embedded.contains(r#"<requestedExecutionLevel level="asInvoker""#),
        "{embedded}"
    );
    // verify says so of the archive, and passes it.
    let archive = out.join(manifest["artifacts"][0]["name"].as_str().unwrap());
    let verified = xtask(["verify"]).arg(&archive).run();
    let table = expect_ok(&verified);
    assert!(
        table.contains(&format!("manifest embedded ({} bytes)", embedded.len())),
        "{verified}"
    );
    assert!(table.contains("PASS"), "{verified}");
    // The C code compiled for Windows is in the binary: it imports what <windows.h> declared.
    assert!(
        exe["inspection"]["needed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "KERNEL32.dll"),
        "{exe}"
    );
}
