//! GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, an
//! HMAC-SHA256 of the raw body keyed with the webhook secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebhookSecrets;

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed with `secret`, as
/// GitHub signs a webhook (`X-Hub-Signature-256`) and as Warrant signs its
/// own alerts (`Warrant-Signature-256`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` has the shape of a signature: `sha256=` and the 64 hex
/// digits of an HMAC-SHA256. Checked before the body is read, so that a
/// header which cannot verify anything costs no memory.
pub(crate) fn well_formed(header: &[u8]) -> bool {
    header
        .strip_prefix(b"sha256=")
        .is_some_and(|hex| hex.len() == 64 && hex.iter().all(u8::is_ascii_hexdigit))
}

/// Whether `header` is a valid signature of `body` under any of `secrets`.
///
/// The comparison is constant-time (`verify_slice`), and every secret is
/// tried even after one matched, so the time taken says nothing about the
/// signature or about which secret is in use.
pub(crate) fn verify(secrets: &WebhookSecrets, header: &[u8], body: &[u8]) -> bool {
    let Some(signature) = header
        .strip_prefix(b"sha256=")
        .and_then(|hex| hex::decode(hex).ok())
    else {
        return false;
    };
    secrets.iter().fold(false, |valid, secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(body);
        mac.verify_slice(&signature).is_ok() | valid
    })
}

/// A verified `header`'s HMAC as lowercase hex: the same for every copy of
/// the body it signs, however the sender cased its digits.
pub(crate) fn replay_key(header: &[u8]) -> String {
    let hex = header.strip_prefix(b"sha256=").unwrap_or(header);
    String::from_utf8_lossy(hex).to_ascii_lowercase()
}

/// Whether `token` (GitLab's `X-Gitlab-Token`, the secret itself) is one of
/// `secrets`.
///
/// Both sides are first turned into fixed-length HMAC tags, so the
/// comparison (`verify_slice`, constant-time) takes as long whatever the
/// token's length or content, and every secret is tried.
pub(crate) fn token_matches(secrets: &WebhookSecrets, token: &[u8]) -> bool {
    const MESSAGE: &[u8] = b"warrant webhook token";
    let mut presented = Hmac::<Sha256>::new_from_slice(token).expect("any key length");
    presented.update(MESSAGE);
    let presented = presented.finalize().into_bytes();
    secrets.iter().fold(false, |valid, secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(MESSAGE);
        mac.verify_slice(&presented).is_ok() | valid
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_a_configured_secret() {
        let secrets = WebhookSecrets::parse_list("old,new");
        assert!(token_matches(&secrets, b"old"));
        assert!(token_matches(&secrets, b"new"));
        assert!(!token_matches(&secrets, b"ne"));
        assert!(!token_matches(&secrets, b"old,new"));
        assert!(!token_matches(&secrets, b""));
        assert!(!token_matches(&WebhookSecrets::default(), b""));
    }

    /// GitHub's documented example: secret "It's a Secret to Everybody",
    /// payload "Hello, World!".
    const GITHUB_EXAMPLE: &[u8] =
        b"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_documented_example_verifies() {
        let secrets = WebhookSecrets::parse_list("It's a Secret to Everybody");
        assert!(verify(&secrets, GITHUB_EXAMPLE, b"Hello, World!"));
        assert!(!verify(&secrets, GITHUB_EXAMPLE, b"Hello, World?"));
    }

    #[test]
    fn a_replay_key_is_the_signatures_digits_in_lower_case() {
        let hex = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(replay_key(GITHUB_EXAMPLE), hex);
        let upper = format!("sha256={}", hex.to_ascii_uppercase());
        let secrets = WebhookSecrets::parse_list("It's a Secret to Everybody");
        assert!(verify(&secrets, upper.as_bytes(), b"Hello, World!"));
        assert_eq!(replay_key(upper.as_bytes()), hex);
    }

    #[test]
    fn any_configured_secret_verifies() {
        let secrets = WebhookSecrets::parse_list("old,It's a Secret to Everybody");
        assert!(verify(&secrets, GITHUB_EXAMPLE, b"Hello, World!"));
    }

    #[test]
    fn only_sha256_and_64_hex_digits_is_well_formed() {
        assert!(well_formed(GITHUB_EXAMPLE));
        let upper = String::from_utf8_lossy(&GITHUB_EXAMPLE[7..]).to_ascii_uppercase();
        assert!(well_formed(format!("sha256={upper}").as_bytes()));
        for header in [
            &b""[..],
            b"sha256=",
            b"sha256=00",
            b"sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
            &GITHUB_EXAMPLE[7..],
            &[GITHUB_EXAMPLE, b"0"].concat(),
            &[&GITHUB_EXAMPLE[..70], b"zz"].concat(),
        ] {
            assert!(!well_formed(header), "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn malformed_headers_and_no_secrets_never_verify() {
        let secrets = WebhookSecrets::parse_list("It's a Secret to Everybody");
        for header in [
            &b""[..],
            b"sha256=",
            b"sha256=zz",
            b"sha1=757107ea",
            &GITHUB_EXAMPLE[7..],
        ] {
            assert!(!verify(&secrets, header, b"Hello, World!"));
        }
        assert!(!verify(
            &WebhookSecrets::default(),
            GITHUB_EXAMPLE,
            b"Hello, World!"
        ));
    }
}
