//! minisign signatures over `SHA256SUMS`: the key pair `cargo xtask keygen` makes, the
//! secret key a release run reads from the environment, and the check `verify` makes with
//! the public key the config (or `--public-key`) names. The files are minisign's own
//! formats, so `minisign -Vm SHA256SUMS -P <key>` checks a release without this tool.
//!
//! An Ed25519 signature in minisign is made with random noise, so the `.minisig` bytes
//! differ between runs over the same SHA256SUMS; a run keeps the existing signature when
//! it still verifies, and the archives (what a rebuild compares) never depend on it.

use crate::UsageError;
use anyhow::{Context, Result};
use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// The signature beside SHA256SUMS, named as minisign names it.
pub const SIGNATURE_FILE: &str = "SHA256SUMS.minisig";
/// The secret key itself (the text of the key file): what a CI secret holds.
pub const KEY_ENV: &str = "DIST_MINISIGN_KEY";
/// The path of the secret key file.
pub const KEY_FILE_ENV: &str = "DIST_MINISIGN_KEY_FILE";
/// The password of an encrypted secret key (keys from `keygen` have none).
pub const PASSWORD_ENV: &str = "DIST_MINISIGN_PASSWORD";

/// A secret key ready to sign, with its public key.
pub struct SigningKey {
    secret: SecretKey,
    pub public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public.to_base64())
    }
}

/// The key pair's files as `keygen` writes them: `minisign.key` (unencrypted, mode 0600)
/// and `minisign.pub`; refuses to overwrite either. Returns the public key's one line.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let secret_path = dir.join("minisign.key");
    let public_path = dir.join("minisign.pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(UsageError::new(format!(
                "{} exists: move it away or pass another --out DIR (a new key pair would orphan every signature made with it)",
                path.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let pair = minisign::KeyPair::generate_unencrypted_keypair().context("generating a minisign key pair")?;
    let public = pair.pk.to_base64();
    let secret_box = pair
        .sk
        .to_box(Some("release-orchestrator secret key"))
        .context("encoding the secret key")?;
    write_private(&secret_path, secret_box.into_string().as_bytes())?;
    let public_box = pair.pk.to_box().context("encoding the public key")?;
    std::fs::write(&public_path, public_box.into_string())
        .with_context(|| format!("writing {}", public_path.display()))?;
    Ok((secret_path, public_path, public))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The signing key from `DIST_MINISIGN_KEY` (the key file's text) or
/// `DIST_MINISIGN_KEY_FILE` (its path), None when neither is set. With `expected` (the
/// config's public key), a key of another pair is refused before anything is built.
pub fn key_from_env(expected: Option<&str>) -> Result<Option<SigningKey>> {
    let nonempty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (text, from) = match (nonempty(KEY_ENV), nonempty(KEY_FILE_ENV)) {
        (Some(text), _) => (text, format!("${KEY_ENV}")),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                UsageError::new(format!(
                    "cannot read the secret key file {path} (${KEY_FILE_ENV}): {e}: fix the path or unset it"
                ))
            })?;
            (text, path)
        }
        (None, None) => return Ok(None),
    };
    let key = secret_key(&text, nonempty(PASSWORD_ENV), &from)?;
    if let Some(expected) = expected {
        let configured = public_key(expected)?;
        if configured.to_base64() != key.public.to_base64() {
            return Err(UsageError::new(format!(
                "the secret key in {from} is not the pair of minisign-public-key {}: its public key is {}; set the right secret or change the config",
                expected.trim(),
                key.public.to_base64()
            )));
        }
    }
    Ok(Some(key))
}

/// A secret key from the text of a minisign key file (`from` names it in errors).
pub fn secret_key(text: &str, password: Option<String>, from: &str) -> Result<SigningKey> {
    let bad = |e: minisign::PError| UsageError::new(format!("{from} is not a minisign secret key: {e}"));
    let boxed = SecretKeyBox::from_string(text.trim()).map_err(bad)?;
    // from_box would prompt on the terminal for a missing password: never in a release run.
    let secret = match (SecretKey::from_unencrypted_box(boxed.clone()), password) {
        (Ok(secret), _) => secret,
        (Err(e), _) if !e.to_string().contains("encrypted") => return Err(bad(e)),
        (Err(_), Some(password)) => SecretKey::from_box(boxed, Some(password)).map_err(|e| {
            UsageError::new(format!(
                "cannot decrypt the secret key in {from}: {e}: check ${PASSWORD_ENV}"
            ))
        })?,
        (Err(_), None) => {
            return Err(UsageError::new(format!(
                "the secret key in {from} is encrypted: set ${PASSWORD_ENV} to its password"
            )))
        }
    };
    let public = PublicKey::from_secret_key(&secret).map_err(bad)?;
    Ok(SigningKey { secret, public })
}

/// A public key from its base64 line (`RW…`, as `minisign -P` takes it) or the text of a
/// `.pub` file.
pub fn public_key(text: &str) -> Result<PublicKey> {
    let text = text.trim();
    let parsed = if text.lines().count() > 1 {
        PublicKeyBox::from_string(text).and_then(PublicKey::from_box)
    } else {
        PublicKey::from_base64(text)
    };
    parsed.map_err(|e| {
        UsageError::new(format!(
            "`{text}` is not a minisign public key ({e}): write the `RW…` line of minisign.pub"
        ))
    })
}

/// Signs `<out>/SHA256SUMS` into `<out>/SHA256SUMS.minisig`, unless the signature there
/// already verifies with this key (a rerun that changed nothing rewrites nothing). The
/// trusted comment names the file and the release, never the time.
pub fn sign_sums(out: &Path, key: &SigningKey, release: &str) -> Result<()> {
    let sums_path = out.join("SHA256SUMS");
    let sums = std::fs::read(&sums_path).with_context(|| format!("reading {}", sums_path.display()))?;
    let sig_path = out.join(SIGNATURE_FILE);
    if let Ok(existing) = std::fs::read_to_string(&sig_path) {
        if check(&key.public, &sums, &existing).is_ok() {
            return Ok(());
        }
    }
    let comment = format!("file:SHA256SUMS\trelease:{release}");
    let signature = minisign::sign(
        Some(&key.public),
        &key.secret,
        Cursor::new(&sums),
        Some(&comment),
        Some("signature from release-orchestrator secret key"),
    )
    .with_context(|| format!("signing {}", sums_path.display()))?;
    crate::package::write_if_changed(&sig_path, signature.into_string().as_bytes())
}

/// Checks `signature` (a `.minisig` file's text) over `data` with `public`.
pub fn check(public: &PublicKey, data: &[u8], signature: &str) -> Result<()> {
    let signature =
        SignatureBox::from_string(signature).map_err(|e| anyhow::anyhow!("not a minisign signature: {e}"))?;
    minisign::verify(public, &signature, Cursor::new(data), true, false, false).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `verify`'s check of a release directory: SHA256SUMS.minisig over SHA256SUMS with the
/// public key; an error says what is wrong and what to do.
pub fn verify_sums(out: &Path, public: &str) -> Result<()> {
    let public = public_key(public)?;
    let sums_path = out.join("SHA256SUMS");
    let sig_path = out.join(SIGNATURE_FILE);
    let sums = std::fs::read(&sums_path).with_context(|| format!("reading {}", sums_path.display()))?;
    let signature = std::fs::read_to_string(&sig_path).with_context(|| {
        format!(
            "reading {}: a public key is configured but the release is not signed (dist signs when ${KEY_ENV} or ${KEY_FILE_ENV} is set)",
            sig_path.display()
        )
    })?;
    check(&public, &sums, &signature).with_context(|| {
        format!(
            "{} does not verify {} with the public key {}: the checksums changed after signing, or another key signed them",
            sig_path.display(),
            sums_path.display(),
            public.to_base64()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_secret_key_signs_with_its_password_only() {
        let pair = minisign::KeyPair::generate_encrypted_keypair(Some("hunter2".into())).unwrap();
        let text = pair.sk.to_box(None).unwrap().to_string();
        let key = secret_key(&text, Some("hunter2".into()), "test").unwrap();
        assert_eq!(key.public.to_base64(), pair.pk.to_base64());
        let err = format!("{:#}", secret_key(&text, None, "test").unwrap_err());
        assert!(err.contains(PASSWORD_ENV), "{err}");
        assert!(secret_key(&text, Some("wrong".into()), "test").is_err());
    }

    #[test]
    fn a_signature_verifies_only_its_own_file_with_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let (secret_path, public_path, public) = keygen(dir.path()).unwrap();
        assert!(keygen(dir.path()).is_err(), "never overwrites a key pair");
        let key = secret_key(&std::fs::read_to_string(&secret_path).unwrap(), None, "test").unwrap();
        assert_eq!(key.public.to_base64(), public);
        let pub_file = std::fs::read_to_string(&public_path).unwrap();
        assert_eq!(
            public_key(&pub_file).unwrap().to_base64(),
            public,
            "the .pub file reads too"
        );

        let out = dir.path().join("dist");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("SHA256SUMS"), "00  a.tar.gz\n").unwrap();
        sign_sums(&out, &key, "app 0.1.0").unwrap();
        verify_sums(&out, &public).unwrap();
        let first = std::fs::read(out.join(SIGNATURE_FILE)).unwrap();
        sign_sums(&out, &key, "app 0.1.0").unwrap();
        assert_eq!(
            first,
            std::fs::read(out.join(SIGNATURE_FILE)).unwrap(),
            "kept when it verifies"
        );

        std::fs::write(out.join("SHA256SUMS"), "11  a.tar.gz\n").unwrap();
        let err = format!("{:#}", verify_sums(&out, &public).unwrap_err());
        assert!(err.contains("does not verify"), "{err}");

        let other = tempfile::tempdir().unwrap();
        let (_, _, other_public) = keygen(other.path()).unwrap();
        sign_sums(&out, &key, "app 0.1.0").unwrap();
        assert!(
            verify_sums(&out, &other_public).is_err(),
            "another key's public half fails"
        );
    }
}
