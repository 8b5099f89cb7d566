//! What a user can check in a release: the real `cargo xtask dist` of a clone of this
//! repository's `app` (which compiles C) for the host's musl target, signed with a key pair
//! from `cargo xtask keygen`; then the SBOM read back, `verify` with the key (and with
//! files changed under it), and the generated install.sh run with dash in a temporary HOME
//! against the release served from a directory (file://) and over HTTP (python3 -m
//! http.server), with and without minisign on PATH.

use crate::harness::{check_sums, expect_exit, expect_ok, read_manifest, repo_root, run_ok, xtask, MUSL};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory on PATH with the programs install.sh uses, and no minisign.
fn path_without_minisign(dir: &Path) -> PathBuf {
    let bin = dir.join("bin-no-minisign");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "uname",
        "mktemp",
        "cp",
        "rm",
        "mkdir",
        "chmod",
        "mv",
        "cut",
        "grep",
        "tar",
        "gzip",
        "sha256sum",
        "curl",
        "cat",
    ] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
    }
    bin
}

/// Where `tool` is on this machine's PATH.
fn which(tool: &str) -> String {
    let found = run_ok(Command::new("sh").args(["-c", &format!("command -v {tool}")])).stdout;
    String::from_utf8(found).unwrap().trim().to_string()
}

/// Runs install.sh with dash: HOME is `home`, PATH is `path`.
fn install(script: &Path, home: &Path, path: &str, args: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(home).unwrap();
    // By its path: a child's PATH is where std looks the program up, and `path` may lack it.
    Command::new(which("dash"))
        .arg(script)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .output()
        .unwrap()
}

fn said(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The installed app runs and reports the target it was built for.
fn assert_runs(bin: &Path) {
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success(), "{}", said(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(MUSL), "{}", said(&out));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_signed_release_with_sboms_and_an_installer_that_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("checkout");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(repo_root())
            .arg(&checkout),
    );

    // keygen, and the public key into the config.
    let keys = dir.path().join("keys");
    let made = xtask(["keygen", "--out"]).arg(&keys).run();
    let said_keygen = expect_ok(&made).to_string();
    let public = std::fs::read_to_string(keys.join("minisign.pub")).unwrap();
    let public = public.lines().nth(1).unwrap().trim().to_string();
    assert!(
        said_keygen.contains(&format!("minisign-public-key = \"{public}\"")),
        "{said_keygen}"
    );
    expect_exit(&xtask(["keygen", "--out"]).arg(&keys).run(), 2, "exists");
    let manifest_toml = checkout.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_toml).unwrap();
    let text = text.replacen(
        "profile = \"dist\"\n",
        &format!("profile = \"dist\"\nminisign-public-key = \"{public}\"\n"),
        1,
    );
    std::fs::write(&manifest_toml, text).unwrap();

    let out = dir.path().join("dist");
    let dist = || {
        xtask(["dist", "--target", MUSL, "--out"])
            .arg(&out)
            .manifest(&checkout)
            .target_dir(&checkout.join("target"))
            .env("DIST_MINISIGN_KEY_FILE", keys.join("minisign.key"))
            .run()
    };
    expect_ok(&dist());
    check_sums(&out);

    // The SBOM: listed in the manifest and SHA256SUMS, CycloneDX 1.6, the app's own C.
    let manifest = read_manifest(&out);
    let artifact = &manifest["artifacts"][0];
    let sbom_name = artifact["sbom"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        sbom_name,
        format!("app-{}-{MUSL}.cdx.json", manifest["app_version"].as_str().unwrap())
    );
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    for name in [sbom_name.as_str(), "install.sh"] {
        assert!(
            sums.lines().any(|l| l.ends_with(&format!("  {name}"))),
            "{name} in SHA256SUMS:\n{sums}"
        );
    }
    assert!(
        !out.join("install.ps1").exists(),
        "no Windows archive, no PowerShell installer"
    );
    let sbom_bytes = std::fs::read(out.join(&sbom_name)).unwrap();
    let sbom: Value = serde_json::from_slice(&sbom_bytes).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.6");
    assert_eq!(
        sbom["metadata"]["component"]["hashes"][0]["content"], artifact["checksums"]["sha256"],
        "the SBOM names the archive it describes"
    );
    let components = sbom["components"].as_array().unwrap();
    let named = |name: &str| components.iter().filter(|c| c["name"] == name).collect::<Vec<_>>();
    assert!(
        named("cc").is_empty(),
        "cc only runs on the build machine: {components:#?}"
    );
    let c_part = named("app")
        .into_iter()
        .find(|c| c["bom-ref"].as_str().unwrap().starts_with("native:"))
        .unwrap_or_else(|| panic!("the app's C is listed: {components:#?}"));
    let props = c_part["properties"].to_string();
    assert!(props.contains("1 C file(s) shipped in the app"), "{props}");
    assert!(props.contains("cc::Build::compile"), "{props}");

    // A second run changes no byte of the SBOM or the signature.
    let sig = std::fs::read(out.join("SHA256SUMS.minisig")).unwrap();
    expect_ok(&dist());
    assert_eq!(
        std::fs::read(out.join(&sbom_name)).unwrap(),
        sbom_bytes,
        "deterministic SBOM"
    );
    assert_eq!(std::fs::read(out.join("SHA256SUMS.minisig")).unwrap(), sig);

    // verify: the signature with the configured key; a changed SBOM; another key.
    let verify = |extra: &[&str]| {
        xtask(["verify", "--out"])
            .arg(&out)
            .args(extra)
            .manifest(&checkout)
            .run()
    };
    let passed = verify(&[]);
    assert!(expect_ok(&passed).contains("SHA256SUMS.minisig"), "{passed}");
    let mut changed = sbom_bytes.clone();
    changed.extend_from_slice(b" ");
    std::fs::write(out.join(&sbom_name), &changed).unwrap();
    let failed = verify(&[]);
    assert_eq!(failed.code(), Some(1), "{failed}");
    assert!(failed.stdout.contains("[sbom]"), "{failed}");
    std::fs::write(out.join(&sbom_name), &sbom_bytes).unwrap();
    expect_ok(&verify(&[]));
    let other = dir.path().join("other-keys");
    expect_ok(&xtask(["keygen", "--out"]).arg(&other).run());
    let wrong = verify(&["--public-key", other.join("minisign.pub").to_str().unwrap()]);
    assert_eq!(wrong.code(), Some(1), "{wrong}");
    assert!(wrong.stdout.contains("[signature]"), "{wrong}");

    // A secret key that is not the configured key's pair is refused before any build.
    let mismatch = xtask(["dist", "--target", MUSL, "--out"])
        .arg(&out)
        .manifest(&checkout)
        .target_dir(&checkout.join("target"))
        .env("DIST_MINISIGN_KEY_FILE", other.join("minisign.key"))
        .run();
    expect_exit(&mismatch, 2, "is not the pair of minisign-public-key");

    // install.sh, served from the directory, without minisign: installs, and says the
    // signature was not checked.
    let script = out.join("install.sh");
    let no_minisign = path_without_minisign(dir.path());
    let home = dir.path().join("home-file");
    let base = format!("file://{}", out.display());
    let done = install(&script, &home, no_minisign.to_str().unwrap(), &["--base-url", &base]);
    assert!(done.status.success(), "{}", said(&done));
    assert!(
        said(&done).contains("signature of SHA256SUMS was NOT checked"),
        "{}",
        said(&done)
    );
    assert_runs(&home.join(".local/bin/app"));
    let refused = install(
        &script,
        &dir.path().join("home-strict"),
        no_minisign.to_str().unwrap(),
        &["--base-url", &base, "--require-signature"],
    );
    assert!(!refused.status.success(), "{}", said(&refused));

    // With minisign (Debian's) on PATH, over HTTP: the signature is checked.
    let system_path = std::env::var("PATH").unwrap();
    let has_minisign = Command::new("sh")
        .args(["-c", "command -v minisign"])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    let mut server = Command::new("python3")
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first
        .split(" port ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("python3 -m http.server said {first:?}"))
        .to_string();
    let home = dir.path().join("home-http");
    let to = dir.path().join("elsewhere/bin");
    let done = install(
        &script,
        &home,
        &system_path,
        &[
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
            "--to",
            to.to_str().unwrap(),
        ],
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(done.status.success(), "{}", said(&done));
    assert_runs(&to.join("app"));
    if has_minisign {
        assert!(said(&done).contains("signature checked"), "{}", said(&done));
    } else {
        eprintln!("minisign is not on PATH: the installer's signature check was not exercised");
    }

    // A changed archive is never installed; nor is one whose SHA256SUMS no longer matches
    // its signature (with minisign).
    let bad = dir.path().join("bad");
    copy_dir(&out, &bad);
    let archive = bad.join(artifact["name"].as_str().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let home = dir.path().join("home-bad");
    let refused = install(
        &bad.join("install.sh"),
        &home,
        no_minisign.to_str().unwrap(),
        &["--base-url", &format!("file://{}", bad.display())],
    );
    assert!(!refused.status.success(), "{}", said(&refused));
    assert!(said(&refused).contains("not installed"), "{}", said(&refused));
    assert!(!home.join(".local/bin/app").exists());
    if has_minisign {
        let forged = dir.path().join("forged");
        copy_dir(&out, &forged);
        let sums = std::fs::read_to_string(forged.join("SHA256SUMS")).unwrap();
        std::fs::write(forged.join("SHA256SUMS"), format!("{sums}{}  extra\n", "0".repeat(64))).unwrap();
        let home = dir.path().join("home-forged");
        let refused = install(
            &forged.join("install.sh"),
            &home,
            &system_path,
            &["--base-url", &format!("file://{}", forged.display())],
        );
        assert!(!refused.status.success(), "{}", said(&refused));
        assert!(said(&refused).contains("does not verify"), "{}", said(&refused));
        assert!(!home.join(".local/bin/app").exists());
    }
}
