//! `cargo xtask keygen`: a minisign key pair for signing releases, and what to do with each
//! half.

use crate::flags::{self, Global};
use anyhow::Result;

impl flags::Keygen {
    pub(crate) fn run(self, _global: &Global) -> Result<()> {
        let dir = self.out.unwrap_or_else(|| ".".into());
        let (secret, public_path, public) = crate::sign::keygen(&dir)?;
        println!(
            "wrote {} (secret, unencrypted: keep it out of the repository)",
            secret.display()
        );
        println!("wrote {}", public_path.display());
        println!();
        println!("Add the public key to [workspace.metadata.dist] in Cargo.toml:");
        println!("    minisign-public-key = \"{public}\"");
        println!(
            "and give dist or merge the secret key: ${} (the file's text, e.g. a CI secret) or ${} (its path).",
            crate::sign::KEY_ENV,
            crate::sign::KEY_FILE_ENV
        );
        Ok(())
    }
}
