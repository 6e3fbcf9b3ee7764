//! Signed cookies: a value and its HMAC-SHA256 under the session key, so
//! that a cookie the server did not make is refused before anything is
//! looked up, and the cookie headers with the attributes they need.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The session cookie: the session id, signed.
pub(crate) const SESSION_COOKIE: &str = "warrant_session";

/// The sign-in cookie: the OAuth `state`, where to go next, and until
/// when, signed. Lives only across the round trip to GitHub.
pub(crate) const SIGN_IN_COOKIE: &str = "warrant_sign_in";

/// The key cookies and CSRF tokens are signed with. `Debug` prints
/// nothing of it.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

impl SessionKey {
    pub fn new(key: impl Into<Vec<u8>>) -> SessionKey {
        SessionKey(key.into())
    }

    /// A fresh random key, hex-encoded as the store keeps it.
    pub fn random_hex() -> String {
        hex::encode(rand::random::<[u8; 32]>())
    }

    /// Hex HMAC-SHA256 of `purpose` and `value`. The purpose keeps a
    /// signature made for one use (a CSRF token) from passing for another
    /// (a cookie).
    pub(crate) fn sign(&self, purpose: &str, value: &str) -> String {
        hex::encode(self.mac(purpose, value).finalize().into_bytes())
    }

    /// Whether `signature` is [`SessionKey::sign`]'s, compared in constant
    /// time.
    pub(crate) fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        self.mac(purpose, value).verify_slice(&signature).is_ok()
    }

    fn mac(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    /// `value.signature`, the form a signed cookie takes.
    pub(crate) fn signed_value(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.sign(purpose, value))
    }

    /// The value of a signed cookie, if its signature is right.
    pub(crate) fn open<'a>(&self, purpose: &str, cookie: &'a str) -> Option<&'a str> {
        let (value, signature) = cookie.rsplit_once('.')?;
        self.verify(purpose, value, signature).then_some(value)
    }
}

/// A random secret of 32 bytes, hex-encoded: session ids and OAuth states.
pub(crate) fn random_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Hex SHA-256, the form in which the store keeps secrets.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The name a cookie goes by: `__Host-` and `base` when browsers reach the
/// server over https, `base` otherwise. Browsers accept a `__Host-` cookie
/// only if it is `Secure`, has `Path=/` and no `Domain`, so no page of a
/// sibling host (`evil.example.com` beside `warrant.example.com`) and no
/// plain-http answer can plant or shadow it. Plain http cannot carry the
/// prefix: browsers drop a `__Host-` cookie that is not `Secure`.
pub(crate) fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of the cookie `base` (under its [`name`]) in the request, if
/// sent. Over https a cookie without the prefix is ignored: anyone able to
/// set a cookie for the domain could have set it.
pub(crate) fn read<'a>(headers: &'a HeaderMap, base: &str, secure: bool) -> Option<&'a str> {
    let name = name(base, secure);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the cookie `base`: path `/`, no `Domain`,
/// HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
/// POSTs, still sent when GitHub redirects back), and Secure with the
/// `__Host-` prefix when the server is reached over https.
pub(crate) fn set(base: &str, value: &str, max_age_secs: u64, secure: bool) -> String {
    let name = name(base, secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear(base: &str, secure: bool) -> String {
    set(base, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn a_signed_value_opens_with_its_key_and_purpose_only() {
        let cookie = key().signed_value("session", "abc");
        assert_eq!(key().open("session", &cookie), Some("abc"));
        assert_eq!(key().open("csrf", &cookie), None);
        let other = SessionKey::new(b"another key entirely, 32 bytes!!".to_vec());
        assert_eq!(other.open("session", &cookie), None);
    }

    #[test]
    fn a_tampered_value_or_signature_is_refused() {
        let cookie = key().signed_value("session", "abc");
        let (value, signature) = cookie.split_once('.').unwrap();
        assert_eq!(key().open("session", &format!("abd.{signature}")), None);
        let mut flipped = signature.to_owned();
        flipped.replace_range(0..1, if &signature[..1] == "0" { "1" } else { "0" });
        assert_eq!(key().open("session", &format!("{value}.{flipped}")), None);
        assert_eq!(key().open("session", value), None);
        assert_eq!(key().open("session", &format!("{value}.zz")), None);
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "a=1; warrant_session_x=2; warrant_session=3"
                .parse()
                .unwrap(),
        );
        assert_eq!(read(&headers, SESSION_COOKIE, false), Some("3"));
        assert_eq!(read(&headers, "b", false), None);
    }

    #[test]
    fn over_https_only_the_host_prefixed_cookie_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "warrant_session=planted; __Host-warrant_session=own"
                .parse()
                .unwrap(),
        );
        assert_eq!(read(&headers, SESSION_COOKIE, true), Some("own"));
        headers.insert(COOKIE, "warrant_session=planted".parse().unwrap());
        assert_eq!(read(&headers, SESSION_COOKIE, true), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_host_prefixed_and_secure_on_https() {
        let cookie = set("n", "v", 60, true);
        assert_eq!(
            cookie,
            "__Host-n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            set("n", "v", 60, false),
            "n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        assert!(clear("n", false).contains("Max-Age=0"));
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        assert_eq!(format!("{:?}", key()), "SessionKey(***)");
    }
}
