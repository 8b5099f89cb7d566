//! Apple frameworks from Linux with no SDK: a bin that calls CoreFoundation, Security and
//! libobjc through its own extern blocks links against the stubs the plan writes, loads the
//! libraries by the install names macOS has, and passes verify's two-level proof; without
//! the declaration nothing names the framework and the link fails; left to flat lookup, the
//! binary builds but fails the `two-level` rule.

use crate::harness::{executable_asset, expect_ok, read_manifest, Workspace};

const AARCH64: &str = "aarch64-apple-darwin";
const CORE_FOUNDATION: &str = "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation";
const SECURITY: &str = "/System/Library/Frameworks/Security.framework/Versions/A/Security";

/// The bin; `cf_link` is the attribute line over the CoreFoundation block.
fn main_rs(cf_link: &str) -> String {
    format!(
        r#"use std::os::raw::{{c_char, c_void}};

#[cfg(target_os = "macos")]
{cf_link}
extern "C" {{
    fn CFStringCreateWithCString(alloc: *const c_void, s: *const c_char, encoding: u32) -> *const c_void;
    fn CFStringGetLength(s: *const c_void) -> isize;
}}

#[cfg(target_os = "macos")]
#[link(name = "Security", kind = "framework")]
extern "C" {{
    fn SecRandomCopyBytes(rnd: *const c_void, count: usize, bytes: *mut u8) -> i32;
}}

#[cfg(target_os = "macos")]
#[link(name = "objc", kind = "dylib")]
extern "C" {{
    fn objc_getClass(name: *const c_char) -> *const c_void;
}}

#[cfg(target_os = "macos")]
fn main() {{
    unsafe {{
        let s = CFStringCreateWithCString(std::ptr::null(), c"tool".as_ptr(), 0x0800_0100);
        let mut buf = [0u8; 4];
        let random = SecRandomCopyBytes(std::ptr::null(), buf.len(), buf.as_mut_ptr());
        let class = objc_getClass(c"NSObject".as_ptr());
        println!("tool {{}} {{random}} {{}}", CFStringGetLength(s), class.is_null());
    }}
}}

#[cfg(not(target_os = "macos"))]
fn main() {{}}
"#
    )
}

const DECLARED: &str = r#"#[link(name = "CoreFoundation", kind = "framework")]"#;

#[test]
fn frameworks_link_through_generated_stubs_and_bind_two_level() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{AARCH64}\"]\nprofile = \"release\"\n"),
    );
    ws.write("tool/src/main.rs", &main_rs(DECLARED));
    ws.lock();

    // The plan says where the libraries come from: stubs, one per library, with the
    // install names of the facts.
    let plan = ws.xtask(["plan", "--json"]).run();
    let plan: serde_json::Value = serde_json::from_str(expect_ok(&plan)).unwrap();
    let apple = &plan["jobs"][0]["apple_link"];
    assert_eq!(apple["kind"], "stubs", "{apple}");
    let libraries = apple["libraries"].to_string();
    for name in [CORE_FOUNDATION, SECURITY, "/usr/lib/libobjc.A.dylib"] {
        assert!(libraries.contains(name), "{libraries}");
    }
    assert!(plan["jobs"][0]["blocked"].is_null(), "{}", plan["jobs"][0]);

    expect_ok(&ws.xtask(["dist"]).run());
    let manifest = read_manifest(&ws.path("dist"));
    let artifact = &manifest["artifacts"][0];
    assert!(
        artifact["apple_link"]
            .as_str()
            .unwrap()
            .starts_with("stubs generated from"),
        "{artifact}"
    );
    let exe = executable_asset(artifact);
    let slice = &exe["inspection"]["macho"]["slices"][0];
    assert_eq!(slice["two_level"], true);
    let cf = slice["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == CORE_FOUNDATION)
        .unwrap_or_else(|| panic!("no CoreFoundation load command: {slice}"));
    assert_eq!(cf["compatibility"], "150.0");
    // The facts place CFString's functions; SecRandomCopyBytes and objc_getClass only the
    // crate's #[link] does, and the manifest records that for verify.
    let declared = &artifact["apple_imports"]["declared"];
    assert_eq!(artifact["apple_imports"]["stubs"], true, "{artifact}");
    assert_eq!(declared["_SecRandomCopyBytes"][0]["library"], SECURITY, "{declared}");
    assert_eq!(declared["_SecRandomCopyBytes"][0]["crates"][0], "tool", "{declared}");
    assert_eq!(declared["_objc_getClass"][0]["library"], "/usr/lib/libobjc.A.dylib");
    assert!(
        declared.get("_printf").is_none(),
        "only the crates' declarations: {declared}"
    );
    // verify re-reads the binary from the archive: the two-level proof passes, and counts
    // each library's proven binds.
    let verified = ws.xtask(["verify"]).run();
    assert!(expect_ok(&verified).contains("PASS"), "{verified}");
    let verified = ws.xtask(["verify", "--json"]).run();
    let rows: serde_json::Value = serde_json::from_str(expect_ok(&verified)).unwrap();
    let proven = &rows[0]["binds"][0]["proven"];
    assert_eq!(proven[CORE_FOUNDATION], 2, "{}", rows[0]["binds"]);
    assert_eq!(proven[SECURITY], 1, "{}", rows[0]["binds"]);
    assert!(
        proven["/usr/lib/libobjc.A.dylib"].as_u64() >= Some(1),
        "{}",
        rows[0]["binds"]
    );
    assert_eq!(rows[0]["binds"][0]["not_proven"], 0, "{}", rows[0]["binds"]);
    // A record that puts SecRandomCopyBytes elsewhere than the binary binds it fails, and
    // names where the expectation comes from; a manifest from before the record passes on
    // the facts alone, the declared binds counted as not proven.
    let manifest_path = ws.path("dist/manifest.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&original).unwrap();
    edited["artifacts"][0]["apple_imports"]["declared"]["_SecRandomCopyBytes"][0]["library"] = CORE_FOUNDATION.into();
    std::fs::write(&manifest_path, edited.to_string()).unwrap();
    let out = ws.xtask(["verify", "--json"]).run();
    assert_eq!(out.code(), Some(1), "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        rows[0]["failures"][0]["message"].as_str().unwrap().contains("binds symbols to another library than the crates' #[link] declares (_SecRandomCopyBytes to /System/Library/Frameworks/Security.framework/Versions/A/Security, expected /System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation by tool)"),
        "{out}"
    );
    edited["artifacts"][0].as_object_mut().unwrap().remove("apple_imports");
    std::fs::write(&manifest_path, edited.to_string()).unwrap();
    let verified = ws.xtask(["verify", "--json"]).run();
    let rows: serde_json::Value = serde_json::from_str(expect_ok(&verified)).unwrap();
    assert!(
        rows[0]["binds"][0]["proven"].get(SECURITY).is_none(),
        "{}",
        rows[0]["binds"]
    );
    std::fs::write(&manifest_path, original).unwrap();

    // A config key naming an SDK: zig links against it (SDKROOT), and no stub is written.
    ws.write(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n\
             targets = [\"{AARCH64}\"]\nprofile = \"release\"\nmacos-sdk = \"MacOSX.sdk\"\n"
        ),
    );
    let plan = ws.xtask(["plan", "--json"]).env_remove("SDKROOT").run();
    let plan: serde_json::Value = serde_json::from_str(expect_ok(&plan)).unwrap();
    let sdk = ws.path("MacOSX.sdk").display().to_string();
    assert_eq!(plan["jobs"][0]["apple_link"]["kind"], "sdk", "{}", plan["jobs"][0]);
    assert_eq!(plan["jobs"][0]["apple_link"]["path"], sdk.as_str());
    assert_eq!(plan["builds"][0]["cmd"]["env"]["SDKROOT"], sdk.as_str());
    assert!(plan["builds"][0]["prepare"].is_null(), "{}", plan["builds"][0]);
    ws.write(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"tool\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n\
             targets = [\"{AARCH64}\"]\nprofile = \"release\"\n"
        ),
    );

    // Without its declaration nothing links CoreFoundation: zig cannot resolve the calls.
    ws.write("tool/src/main.rs", &main_rs(""));
    let out = ws.xtask(["dist"]).run();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("_CFStringGetLength"), "{out}");

    // Left to flat lookup (`-undefined dynamic_lookup`), it links and verify refuses it.
    ws.write(
        "tool/build.rs",
        "fn main() {\n    if std::env::var(\"TARGET\").unwrap().contains(\"apple\") {\n        \
         println!(\"cargo:rustc-link-arg=-undefined\");\n        println!(\"cargo:rustc-link-arg=dynamic_lookup\");\n    }\n}\n",
    );
    let out = ws.xtask(["dist"]).run();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("fails verification for aarch64-apple-darwin, not packed: [two-level] the aarch64 slice leaves 2 import(s) to flat lookup (_CFStringCreateWithCString, _CFStringGetLength)"),
        "{out}"
    );
}

/// The package `tool` of `ws`: a main that prints what the C function `c_entry` returns,
/// and the cc crate for the build script the test writes with the C.
fn c_tool(ws: &Workspace) -> &Workspace {
    ws.write(
        "tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\ncc = \"1\"\n",
    )
    .write(
        "tool/src/main.rs",
        "extern \"C\" {\n    fn c_entry(x: i32) -> i32;\n}\n\nfn main() {\n    println!(\"tool {}\", unsafe { c_entry(1) });\n}\n",
    )
}

/// C compiled with hidden visibility across two files, as libgit2, zlib and ring are: the
/// call from one object to the other goes through a GOT slot, which zig's linker names
/// with the callee's local symbol in the indirect symbol table. rustc's strip keeps such
/// symbols; the build strips again after making the slots local, so `[stripped]` passes
/// and the re-signed arm64 binary still matches its code signature.
#[test]
fn c_with_hidden_symbols_across_objects_is_stripped_and_still_signed() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!(
            "[workspace.metadata.dist]\ntargets = [\"{AARCH64}\"]\nprofile = \"release\"\n\n[profile.release]\nstrip = true\n"
        ),
    );
    c_tool(&ws)
    .write(
        "tool/build.rs",
        "fn main() {\n    cc::Build::new().files([\"c/table.c\", \"c/entry.c\"]).flag(\"-fvisibility=hidden\").compile(\"hidden\");\n}\n",
    )
    .write(
        "tool/c/table.c",
        "int hidden_table[4] = {1, 2, 3, 4};\nint hidden_twice(int x) { return 2 * x; }\n",
    )
    .write(
        "tool/c/entry.c",
        "extern int hidden_table[4];\nextern int hidden_twice(int);\nint (*volatile pick)(int);\n\
         __attribute__((visibility(\"default\"))) int c_entry(int x) { pick = hidden_twice; return pick(hidden_table[x & 3]); }\n",
    )
    .lock();

    let out = ws.xtask(["dist"]).run();
    expect_ok(&out);
    let manifest = read_manifest(&ws.path("dist"));
    let exe = executable_asset(&manifest["artifacts"][0]);
    assert_eq!(exe["inspection"]["stripped"], true, "{exe}");
    let slice = &exe["inspection"]["macho"]["slices"][0];
    assert_eq!(slice["signature"]["status"], "valid", "{slice}");
    let verified = ws.xtask(["verify"]).run();
    assert!(expect_ok(&verified).contains("PASS"), "{verified}");

    // A no-op rerun: cargo puts the unstripped copy back, and the kept strip of that same
    // binary replaces it without running the strip again; the archive is the same. Cargo's
    // cache of rustc's answers stays as the build left it (the config's `cargo metadata`
    // used to replace it, and the build then asked rustc again).
    let rustc_info = ws.path("target/.rustc_info.json");
    let cached = std::fs::read(&rustc_info).unwrap();
    let modified = std::fs::metadata(&rustc_info).unwrap().modified().unwrap();
    let again = ws.xtask(["-v", "dist"]).run();
    expect_ok(&again);
    assert_eq!(std::fs::read(&rustc_info).unwrap(), cached, "{again}");
    assert_eq!(
        std::fs::metadata(&rustc_info).unwrap().modified().unwrap(),
        modified,
        "{again}"
    );
    assert!(!again.stderr.contains("rust-objcopy"), "stripped again:\n{again}");
    assert!(again.stderr.contains("archive unchanged, reused"), "{again}");
    let verified = ws.xtask(["verify"]).run();
    assert!(expect_ok(&verified).contains("PASS"), "{verified}");
}

/// zlib up to 1.3.0 (bundled by older libz-sys, which cross builds compile: on a Mac it
/// links macOS's zlib) defines `fdopen(fd,mode)` as NULL on Apple targets before stdio.h,
/// and current SDK headers then fail to parse. The same lines as zutil.h's, from a build.rs.
#[test]
fn c_with_old_zlibs_fdopen_macro_compiles_for_apple() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{AARCH64}\"]\n"),
    );
    c_tool(&ws)
    .write(
        "tool/build.rs",
        "fn main() {\n    cc::Build::new().file(\"c/gz.c\").compile(\"gz\");\n}\n",
    )
    .write(
        "tool/c/gz.c",
        "#include <TargetConditionals.h>\n\
         #if defined(MACOS) || defined(TARGET_OS_MAC)\n#  ifndef fdopen\n#    define fdopen(fd,mode) NULL /* No fdopen() */\n#  endif\n#endif\n\
         #include <stdio.h>\nint c_entry(int x) { return x + 1; }\n",
    )
    .lock();

    let out = ws.xtask(["dist"]).run();
    expect_ok(&out);
    let verified = ws.xtask(["verify"]).run();
    assert!(expect_ok(&verified).contains("PASS"), "{verified}");
    // zig's `cc -E` for macOS leaves the cc crate's probe as an empty .o in the build
    // script's directory: the build removes it from the workspace.
    let litter: Vec<String> = std::fs::read_dir(ws.path("tool"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".o"))
        .collect();
    assert!(litter.is_empty(), "{litter:?}");
}

/// A build script that compiles its C only `#[cfg(target_os = "macos")]`, as
/// network-interface 1.1.4 does. In a build script that is the host's answer, so the macOS
/// build links without the C: the plan names the test for the Apple target only, and the
/// failed link's error points at it.
#[test]
fn a_build_script_testing_the_hosts_os_is_named_when_the_link_fails() {
    let ws = Workspace::tool(
        "0.1.0",
        &format!("[workspace.metadata.dist]\ntargets = [\"{AARCH64}\", \"x86_64-unknown-linux-musl\"]\n"),
    );
    c_tool(&ws)
        .write(
            "tool/build.rs",
            "fn main() {\n    #[cfg(any(target_os = \"macos\", target_os = \"ios\"))]\n    cc::Build::new().file(\"c/entry.c\").compile(\"entry\");\n}\n",
        )
        .write("tool/c/entry.c", "int c_entry(int x) { return x + 1; }\n")
        .lock();
    let plan = ws.xtask(["plan", "--json"]).run();
    expect_ok(&plan);
    let plan = plan.json();
    let jobs = plan["jobs"].as_array().unwrap();
    let tests = |triple: &str| jobs.iter().find(|j| j["target"] == triple).unwrap()["host_os_tests"].clone();
    assert_eq!(
        tests(AARCH64),
        serde_json::json!([r#"tool: cfg(any(target_os = "macos", target_os = "ios"))"#])
    );
    assert!(
        tests("x86_64-unknown-linux-musl").is_null(),
        "false on Linux and on musl alike"
    );
    // The audit reports it for the Apple target.
    let audit = ws.xtask(["audit", "--target", AARCH64]).run();
    expect_ok(&audit);
    assert!(
        audit
            .stdout
            .contains("build scripts that decide with cfg tests answering otherwise")
            && audit
                .stdout
                .contains(r#"tool: cfg(any(target_os = "macos", target_os = "ios"))"#),
        "{}",
        audit.stdout
    );

    let out = ws.xtask(["dist", "--target", AARCH64]).run();
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("_c_entry"),
        "the link names the missing symbol: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("note: these build scripts decide with cfg tests")
            && out
                .stderr
                .contains(r#"tool: cfg(any(target_os = "macos", target_os = "ios"))"#),
        "{}",
        out.stderr
    );
}
