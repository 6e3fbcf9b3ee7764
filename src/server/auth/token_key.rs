//! The key that seals signed-in users' GitHub tokens before they are
//! stored (`WARRANT_TOKEN_KEY`), so that a copy of the database (a backup,
//! a dump, a stolen file) holds no token anyone can use.
//!
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): authenticated, so
//! a sealed token that was altered or moved opens to nothing, and with a
//! 192-bit nonce that can be drawn at random for every seal without a
//! counter shared between replicas. The sealed token is bound to its
//! session (the SHA-256 of the session id is the associated data): copied
//! into another session's row, it does not open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::config::Secret;

/// Marks the format of a sealed token, so that a later one can be told
/// apart: `v1.` and base64url of the nonce and the ciphertext.
const FORMAT: &str = "v1.";

const NONCE_LEN: usize = 24;

/// The key, 32 bytes. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct TokenKey(XChaCha20Poly1305);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// Why a `WARRANT_TOKEN_KEY` is refused; the message never quotes it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not 32 bytes in hex (64 characters 0-9, a-f); make one with `openssl rand -hex 32`")]
pub struct BadTokenKey;

impl TokenKey {
    /// A key from 64 hex characters.
    pub fn from_hex(hex: &str) -> Result<TokenKey, BadTokenKey> {
        let bytes = hex::decode(hex.trim()).map_err(|_| BadTokenKey)?;
        if bytes.len() != 32 {
            return Err(BadTokenKey);
        }
        Ok(TokenKey(XChaCha20Poly1305::new(Key::from_slice(&bytes))))
    }

    /// `token` sealed for the session whose id hashes to `session_hash`.
    pub fn seal(&self, token: &str, session_hash: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload {
            msg: token.as_bytes(),
            aad: session_hash.as_bytes(),
        };
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("sealing a token in memory does not fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{FORMAT}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The token `sealed` holds, if it was sealed with this key for this
    /// session; `None` for anything else (another key, another session,
    /// an altered value, or a token stored in clear by an older Warrant).
    pub(crate) fn open(&self, sealed: &str, session_hash: &str) -> Option<Secret> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(FORMAT)?).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: session_hash.as_bytes(),
        };
        let token = self.0.decrypt(XNonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(token).ok().map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: char) -> TokenKey {
        TokenKey::from_hex(&byte.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn a_sealed_token_opens_with_its_key_for_its_session_only() {
        let sealed = key('a').seal("ghu_secret", "session-1");
        assert!(!sealed.contains("ghu_secret"), "{sealed}");
        assert_eq!(
            key('a').open(&sealed, "session-1").unwrap().expose(),
            "ghu_secret"
        );
        assert_eq!(key('b').open(&sealed, "session-1"), None);
        assert_eq!(key('a').open(&sealed, "session-2"), None);
        // Sealed twice, never alike: the nonce is fresh.
        assert_ne!(sealed, key('a').seal("ghu_secret", "session-1"));
    }

    #[test]
    fn an_altered_or_clear_token_opens_to_nothing() {
        let sealed = key('a').seal("ghu_secret", "s");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for wrong in [altered.as_str(), "ghu_secret", "v1.", "v1.!!", ""] {
            assert_eq!(key('a').open(wrong, "s"), None, "{wrong}");
        }
    }

    #[test]
    fn a_key_is_32_bytes_of_hex_and_never_printed() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(62), &"a".repeat(66)] {
            assert_eq!(TokenKey::from_hex(bad).unwrap_err(), BadTokenKey, "{bad}");
        }
        assert_eq!(format!("{:?}", key('a')), "TokenKey(***)");
    }
}
