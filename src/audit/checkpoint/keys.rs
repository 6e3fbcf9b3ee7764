//! The checkpoints' Ed25519 keys, and their text forms.
//!
//! Ed25519 (RFC 8032) because its signatures are small (64 bytes) and
//! deterministic, verification needs nothing but the 32-byte public key,
//! and it is what transparency logs sign checkpoints with (Certificate
//! Transparency's successors, Sigstore Rekor, Go's checksum database):
//! an auditor's tools check it without anything of Warrant's.
//! `ed25519-dalek` is the maintained Rust implementation (RustCrypto's
//! `ed25519` traits, constant-time, zeroized secrets), and already in the
//! build through `jsonwebtoken`.
//!
//! - The public key is written `ed25519:<base64 of its 32 bytes>`.
//! - The key file (`WARRANT_AUDIT_SIGNING_KEY`, made by `warrant audit
//!   keygen` with mode 0600) holds one line, `warrant-audit-signing-key
//!   ed25519:<base64 of the 32-byte secret seed>`.

use std::fmt;
use std::path::Path;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _};

/// How the key file's line starts.
const FILE_PREFIX: &str = "warrant-audit-signing-key ed25519:";

/// How a public key's text form starts.
const PUBLIC_PREFIX: &str = "ed25519:";

/// The key that signs checkpoints. Its `Debug` shows the public key only.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

/// The key that verifies checkpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl SigningKey {
    /// A new random key, from the operating system's generator.
    pub fn generate() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature of `message`, in base64.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }

    /// The key file's contents.
    pub fn to_file_text(&self) -> String {
        format!("{FILE_PREFIX}{}\n", STANDARD.encode(self.0.to_bytes()))
    }

    /// Reads a key file's contents.
    pub fn parse_file_text(text: &str) -> anyhow::Result<SigningKey> {
        let Some(seed) = text.trim().strip_prefix(FILE_PREFIX) else {
            bail!("not a Warrant audit signing key (make one with `warrant audit keygen`)");
        };
        let seed: [u8; 32] = STANDARD
            .decode(seed)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .context("the key is not 32 bytes in base64")?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Reads the key file at `path`.
    pub fn read(path: &Path) -> anyhow::Result<SigningKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        SigningKey::parse_file_text(&text).with_context(|| path.display().to_string())
    }

    /// Writes a new key file at `path`, readable by its owner only, and
    /// never over an existing file: a lost key is a broken checkpoint
    /// chain, so replacing one must be deliberate.
    pub fn write_new(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(self.to_file_text().as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public())
    }
}

impl PublicKey {
    /// Reads `ed25519:<base64>`.
    pub fn parse(text: &str) -> anyhow::Result<PublicKey> {
        let Some(key) = text.trim().strip_prefix(PUBLIC_PREFIX) else {
            bail!(
                "`{}` is not a public key such as ed25519:<base64>",
                text.trim()
            );
        };
        let bytes: [u8; 32] = STANDARD
            .decode(key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .context("the public key is not 32 bytes in base64")?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| anyhow::anyhow!("the public key is not a point of Ed25519"))
    }

    /// A public key given as its text, or as a file that holds it.
    pub fn from_argument(argument: &str) -> anyhow::Result<PublicKey> {
        if argument.trim().starts_with(PUBLIC_PREFIX) {
            return PublicKey::parse(argument);
        }
        let text = std::fs::read_to_string(argument).with_context(|| {
            format!("`{argument}` is neither a public key (ed25519:...) nor a file holding one")
        })?;
        PublicKey::parse(&text).with_context(|| argument.to_owned())
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    /// Strict: no malleable or small-order forms are accepted.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = STANDARD
            .decode(signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        let signature = Signature::from_bytes(&bytes);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_round_trips_and_is_written_for_its_owner_only_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let key = SigningKey::generate();
        key.write_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = SigningKey::read(&path).unwrap();
        assert_eq!(read.public(), key.public());
        let again = SigningKey::generate().write_new(&path).unwrap_err();
        assert!(format!("{again:#}").contains("cannot create"), "{again:#}");
        assert_eq!(SigningKey::read(&path).unwrap().public(), key.public());
    }

    #[test]
    fn the_public_key_round_trips_through_its_text_form() {
        let key = SigningKey::generate();
        let text = key.public().to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 44,
            "{text}"
        );
        assert_eq!(PublicKey::parse(&text).unwrap(), key.public());
        assert!(PublicKey::parse("ed25519:AAAA").is_err());
        assert!(PublicKey::parse("rsa:AAAA").is_err());
        assert!(!format!("{key:?}").contains(&STANDARD.encode(key.0.to_bytes())));
    }

    #[test]
    fn a_signature_verifies_for_its_message_and_key_only() {
        let key = SigningKey::generate();
        let signature = key.sign(b"checkpoint");
        assert!(key.public().verifies(b"checkpoint", &signature));
        assert!(!key.public().verifies(b"checkpoinT", &signature));
        assert!(
            !SigningKey::generate()
                .public()
                .verifies(b"checkpoint", &signature)
        );
        assert!(!key.public().verifies(b"checkpoint", "not base64!"));
    }

    #[test]
    fn a_file_that_is_not_a_key_says_how_to_make_one() {
        let err = SigningKey::parse_file_text("-----BEGIN PRIVATE KEY-----").unwrap_err();
        assert!(err.to_string().contains("warrant audit keygen"), "{err}");
    }
}
