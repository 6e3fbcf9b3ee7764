//! Signed checkpoints of the audit trail: for every chain, its size and
//! [Merkle root](super::merkle), with the time, the Warrant instance and
//! the hash of the previous checkpoint, signed with Ed25519 by a key the
//! database does not hold (see `docs/audit.md`, "Checkpoints").
//!
//! A checkpoint is published as one line of JSON ([`SignedCheckpoint`]):
//!
//! ```text
//! {"format":"warrant-audit-checkpoint/v1","seq":3,"at":1790000000123,
//!  "instance":"https://warrant.example.com","previous":"<64 hex>",
//!  "chains":[{"forge":"github","repo":"acme/app","size":42,"root":"<64 hex>"}],
//!  "key":"ed25519:<base64>","signature":"<base64>"}
//! ```
//!
//! What is signed is the line without `key` and `signature`, as compact
//! JSON with the fields in that order ([`Checkpoint::canonical`]); the
//! checkpoint's hash, which the next one names as `previous`, is the
//! SHA-256 of those same bytes, in hex. The first checkpoint's `previous`
//! is [`GENESIS`](super::GENESIS).

pub mod keys;
pub mod verify;
pub mod write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use keys::{PublicKey, SigningKey};

/// The `format` of every checkpoint: a new encoding is a new format.
pub const FORMAT: &str = "warrant-audit-checkpoint/v1";

/// One chain's state in a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    /// `github` or `gitlab`.
    pub forge: String,
    pub repo: String,
    /// How many events the chain had: its Merkle tree's size.
    pub size: u64,
    /// The Merkle root of those events, lowercase hex.
    pub root: String,
}

/// What a checkpoint states, and signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// 1 for the first checkpoint, then one more each time.
    pub seq: u64,
    /// When it was written, in unix milliseconds (UTC).
    pub at: i64,
    /// The instance that wrote it: its public URL (empty when unset).
    pub instance: String,
    /// The previous checkpoint's hash; [`super::GENESIS`] for the first.
    pub previous: String,
    /// Every chain with events, ordered by forge and repository.
    pub chains: Vec<ChainState>,
}

impl Checkpoint {
    /// The signed bytes: compact JSON, fields in declaration order.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint serialises")
    }

    /// The checkpoint's hash, which the next one names: SHA-256 of the
    /// canonical bytes, lowercase hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// The state of `forge`/`repo`, if the checkpoint names that chain.
    pub fn chain(&self, forge: &str, repo: &str) -> Option<&ChainState> {
        self.chains
            .iter()
            .find(|c| c.forge == forge && c.repo == repo)
    }

    /// Signs it.
    pub fn sign(self, key: &SigningKey) -> SignedCheckpoint {
        let signature = key.sign(self.canonical().as_bytes());
        SignedCheckpoint {
            key: key.public().to_string(),
            signature,
            checkpoint: self,
        }
    }
}

/// A checkpoint with its signature, as stored and published: one JSON line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// The public key that signed it, for information: a verifier uses the
    /// key it trusts, never this one.
    pub key: String,
    /// The Ed25519 signature of the canonical bytes, in base64.
    pub signature: String,
}

impl SignedCheckpoint {
    /// The JSON line, without its newline.
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint serialises")
    }

    /// Reads one line; an error says what is wrong with it.
    pub fn parse(line: &str) -> Result<SignedCheckpoint, String> {
        let signed: SignedCheckpoint =
            serde_json::from_str(line).map_err(|e| format!("not a checkpoint: {e}"))?;
        if signed.checkpoint.format != FORMAT {
            return Err(format!(
                "format `{}` is not {FORMAT}",
                signed.checkpoint.format
            ));
        }
        Ok(signed)
    }

    /// Whether `key` signed it.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        key.verifies(self.checkpoint.canonical().as_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::GENESIS;

    pub(crate) fn checkpoint(seq: u64, previous: &str) -> Checkpoint {
        Checkpoint {
            format: FORMAT.to_owned(),
            seq,
            at: 1_790_000_000_123,
            instance: "https://w.example.com".to_owned(),
            previous: previous.to_owned(),
            chains: vec![ChainState {
                forge: "github".to_owned(),
                repo: "acme/app".to_owned(),
                size: 3,
                root: "ab".repeat(32),
            }],
        }
    }

    #[test]
    fn the_canonical_form_is_compact_json_in_field_order() {
        let text = checkpoint(1, GENESIS).canonical();
        assert_eq!(
            text,
            format!(
                r#"{{"format":"warrant-audit-checkpoint/v1","seq":1,"at":1790000000123,"instance":"https://w.example.com","previous":"{GENESIS}","chains":[{{"forge":"github","repo":"acme/app","size":3,"root":"{}"}}]}}"#,
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn a_signed_line_round_trips_and_verifies_only_with_its_key_and_contents() {
        let key = SigningKey::generate();
        let signed = checkpoint(1, GENESIS).sign(&key);
        let line = signed.line();
        assert!(
            line.ends_with(&format!(
                r#","key":"{}","signature":"{}"}}"#,
                key.public(),
                signed.signature
            )),
            "{line}"
        );
        let parsed = SignedCheckpoint::parse(&line).unwrap();
        assert_eq!(parsed, signed);
        assert!(parsed.signed_by(&key.public()));
        assert!(!parsed.signed_by(&SigningKey::generate().public()));
        let mut altered = parsed.clone();
        altered.checkpoint.chains[0].size = 2;
        assert!(!altered.signed_by(&key.public()));
        assert_ne!(altered.checkpoint.hash(), parsed.checkpoint.hash());
    }

    #[test]
    fn the_signed_bytes_are_the_line_up_to_its_key_closed() {
        let signed = checkpoint(2, &"7".repeat(64)).sign(&SigningKey::generate());
        let line = signed.line();
        let cut = line.rfind(r#","key":"#).unwrap();
        assert_eq!(format!("{}}}", &line[..cut]), signed.checkpoint.canonical());
    }

    #[test]
    fn a_line_of_another_format_is_refused() {
        let mut c = checkpoint(1, GENESIS);
        c.format = "warrant-audit-checkpoint/v9".to_owned();
        let line = c.sign(&SigningKey::generate()).line();
        let err = SignedCheckpoint::parse(&line).unwrap_err();
        assert!(err.contains("is not warrant-audit-checkpoint/v1"), "{err}");
        assert!(SignedCheckpoint::parse("{}").is_err());
    }
}
