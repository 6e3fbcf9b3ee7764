//! The security headers every response carries, pages or not: a strict
//! `Content-Security-Policy`, no framing, no MIME sniffing, and no
//! `Referer` leaving the server (audit addresses name repositories and
//! filters). The referrer policy is `same-origin`, not `no-referrer`:
//! under `no-referrer` browsers send `Origin: null` with the pages' own
//! forms, which the CSRF check ([`super::auth::csrf`]) rightly refuses.
//!
//! The pages need little: one inline `<style>` (the stylesheet compiled
//! into the binary, allowed by its SHA-256 rather than `'unsafe-inline'`),
//! links, and forms that post to this server or, on the registration page,
//! to GitHub. No script, image, font or frame is allowed anywhere.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The stylesheet every page inlines, byte for byte.
const STYLE: &str = include_str!("../../templates/style.css");

/// The headers, built once when the router is.
#[derive(Clone, Debug)]
pub(super) struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    /// `github_web_url` is where the registration page's forms post.
    pub(super) fn new(github_web_url: &str) -> SecurityHeaders {
        let csp = content_security_policy(github_web_url);
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            // A URL with characters a header cannot carry: forms post to
            // this server only.
            HeaderValue::from_str(&content_security_policy("")).expect("an ASCII policy")
        });
        SecurityHeaders { csp }
    }
}

/// The policy: nothing but the pages' own stylesheet, forms to this server
/// and to GitHub, and no framing.
fn content_security_policy(github_web_url: &str) -> String {
    let style = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    let github = github_web_url.trim();
    let github = if github.is_empty() || github.contains([';', ',', ' ', '\'']) {
        String::new()
    } else {
        format!(" {github}")
    };
    format!(
        "default-src 'none'; style-src 'sha256-{style}'; img-src 'self'; \
         form-action 'self'{github}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Middleware that sets the headers on every response.
pub(super) async fn apply(
    State(headers): State<SecurityHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let set = response.headers_mut();
    set.insert(header::CONTENT_SECURITY_POLICY, headers.csp.clone());
    set.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_pages_stylesheet_by_hash_and_forms_to_github() {
        let csp = content_security_policy("https://ghe.example.com");
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(
            csp.contains("form-action 'self' https://ghe.example.com;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }

    #[test]
    fn a_url_that_would_widen_the_policy_is_left_out() {
        let csp = content_security_policy("https://x.example; script-src *");
        assert!(csp.contains("form-action 'self';"), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
    }
}
