//! The corpus: real open-source Rust CLIs from crates.io, each pinned by version and by the
//! SHA-256 of its .crate (the checksum crates.io's index and Cargo.lock record), chosen so
//! that together they cover what real releases meet: C through cc and through
//! configure/make, ring, Apple frameworks, Windows imports beyond kernel32 and an embedded
//! Windows manifest, optional native features, a workspace, and a `rust-version` newer than
//! this repository's toolchain.

/// A crate as crates.io serves it.
#[derive(Debug, Clone, Copy)]
pub struct Crate {
    pub name: &'static str,
    pub version: &'static str,
    pub sha256: &'static str,
}

impl Crate {
    pub fn url(&self) -> String {
        format!(
            "https://static.crates.io/crates/{0}/{0}-{1}.crate",
            self.name, self.version
        )
    }

    pub fn file_name(&self) -> String {
        format!("{}-{}.crate", self.name, self.version)
    }
}

/// One corpus project: a crate, the flags a release engineer would pass, and, for a project
/// whose repository is a workspace, the member crates laid out as the repository does.
#[derive(Debug, Clone, Copy)]
pub struct Project {
    pub name: &'static str,
    pub krate: Crate,
    /// Passed to `dist` and `audit` as `--features`.
    pub features: &'static [&'static str],
    /// Workspace members: (directory under the root, crate). Empty for a single package.
    pub members: &'static [(&'static str, Crate)],
    /// What this project brings to the corpus, as read in its Cargo.lock and sources.
    pub covers: &'static str,
    /// Run by `.ci/run` (`--ci`): small enough for CI's time, and together they cover C.
    pub ci: bool,
}

const fn krate(name: &'static str, version: &'static str, sha256: &'static str) -> Crate {
    Crate { name, version, sha256 }
}

pub const PROJECTS: &[Project] = &[
    Project {
        name: "hexyl",
        krate: krate("hexyl", "0.17.0", "e0df0c7b9afa020673c0942ae257a938b257d79e6395d8f1b8b45898f3391c5e"),
        features: &[],
        members: &[],
        covers: "single package, pure Rust: the baseline",
        ci: true,
    },
    Project {
        name: "git-absorb",
        krate: krate("git-absorb", "0.9.0", "79240767bdb4a478471988f1deb64d2202c94fa627928891a652af44246d0f85"),
        features: &[],
        members: &[],
        covers: "C through cc: libgit2 (libgit2-sys) compiled for every target",
        ci: true,
    },
    Project {
        name: "ripgrep",
        krate: krate("ripgrep", "15.2.0", "a30750b6d0743bfdd2656ebbaf4555aa278c43144b84bc389bcbfa399485ec71"),
        features: &["pcre2"],
        members: &[
            ("crates/grep", krate("grep", "0.4.1", "309217bc53e2c691c314389c7fa91f9cd1a998cda19e25544ea47d94103880c3")),
            ("crates/cli", krate("grep-cli", "0.1.12", "cf32d263c5d5cc2a23ce587097f5ddafdb188492ba2e6fb638eaccdc22453631")),
            ("crates/matcher", krate("grep-matcher", "0.1.9", "f9417543f4870fc8f1c8e1af870afae2431007626d9e703fce6471c468d33847")),
            ("crates/pcre2", krate("grep-pcre2", "0.1.10", "b752bb6f57dd3716e55b63a33ca05b5825c3d66cd427468874a5564af6ca365c")),
            ("crates/printer", krate("grep-printer", "0.3.1", "fd76035e87871f51c1ee5b793e32122b3ccf9c692662d9622ef1686ff5321acb")),
            ("crates/regex", krate("grep-regex", "0.1.14", "0ce0c256c3ad82bcc07b812c15a45ec1d398122e8e15124f96695234db7112ef")),
            ("crates/searcher", krate("grep-searcher", "0.1.17", "72348823a0eafc4bc2e9051064f28b5b42cc100b571b3a35d67918d711efcbc6")),
            ("crates/globset", krate("globset", "0.4.19", "e47d37d2ae4464254884b60ab7071be2b876a9c35b696bd018ddcc76847309cd")),
            ("crates/ignore", krate("ignore", "0.4.29", "d4ffa3a0547a138e59ddd6fa3b7c672ed47e6ad6a3cd177984ff1116aa5ba742")),
        ],
        covers: "a workspace (laid out as its repository: ten crates); optional native feature pcre2 (C through cc); jemalloc through configure/make on musl; embedded Windows manifest (/MANIFEST:EMBED)",
        ci: false,
    },
    Project {
        name: "fd",
        krate: krate("fd-find", "10.5.0", "f35becce49c551724fd26d9824ec01d6578868cecbcc4e3d060658f9f8ad1e4d"),
        features: &["use-jemalloc"],
        members: &[],
        covers: "optional native feature use-jemalloc (configure/make, Linux only); ctrlc → objc2 on Apple",
        ci: false,
    },
    Project {
        name: "hyperfine",
        krate: krate("hyperfine", "2.0.0", "aca5e6f74c882defe4f5faa41fd8be7ff4fb9ebaaf050b62a517490f8632b3c4"),
        features: &[],
        members: &[],
        covers: "rust-version 1.97.0, newer than this repository's 1.95.0; windows-sys job objects",
        ci: false,
    },
    Project {
        name: "dust",
        krate: krate("du-dust", "1.2.7", "f03ee50cf880da85dce8d1bc8e005c906498fb4754512998823f6ef9ae7d997c"),
        features: &[],
        members: &[],
        covers: "sysinfo: the windows crate on Windows, IOKit and CoreFoundation on Apple; rayon threads",
        ci: false,
    },
    Project {
        name: "tlrc",
        krate: krate("tlrc", "1.13.1", "856e74b1c4f20ad37f6412bb31196c1587c8184a4577819a4ca5ac9cbc582157"),
        features: &[],
        members: &[],
        covers: "ring and rustls (C and assembly through cc); ws2_32 on Windows; Security framework on Apple",
        ci: false,
    },
    Project {
        name: "bottom",
        krate: krate("bottom", "0.15.0", "f9bbec11a8e1f1780e16594bf1fe074008de5b25e32cae7de4bd5a40d304b923"),
        features: &[],
        members: &[],
        covers: "the windows crate (COM, WMI, PDH) and sysinfo; core-foundation, IOKit and objc2 on Apple; rust-version 1.95.0; 219 locked packages",
        ci: false,
    },
];
