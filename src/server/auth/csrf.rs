//! Cross-site request forgery: every form that changes something is a POST
//! carrying a token only this server's pages know, from a browser that says
//! the request came from this site.
//!
//! - The token is the HMAC of the session id under the session key
//!   ([`Session::csrf_token`](super::super::access::Session::csrf_token)):
//!   nothing to store, different for every session, and useless to anyone
//!   who cannot read the page (which SameSite=Lax cookies and the same-origin
//!   policy keep from other sites). A page puts it in a hidden field named
//!   [`CSRF_FIELD`].
//! - [`same_origin`] refuses a POST whose `Sec-Fetch-Site` is not
//!   `same-origin`, or whose `Origin` is not the server's own. A request
//!   with neither header (an old browser, a script) still needs the token.
//!
//! A handler takes [`CsrfForm<T>`] instead of a form: it is the signed-in
//! viewer and the form, both checked, or a 403. Requests with a bearer token
//! need no CSRF token: no other site can make a browser send that header.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::server::AppState;
use crate::server::access::Viewer;

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Forms are small; anything larger is not one of Warrant's.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A POSTed form, checked against cross-site request forgery, with who
/// sent it (a signed-in user or a bearer token).
#[derive(Debug)]
pub struct CsrfForm<T> {
    pub viewer: Viewer,
    pub form: T,
}

/// Whether the browser says that this request comes from the server's own
/// pages. `public_url` is the server's origin when configured; otherwise
/// the `Host` the request was sent to stands for it.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" {
            return false;
        }
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    match public_url {
        Some(url) => origin == origin_of(url),
        None => text("host").is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }),
    }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form did not come from Warrant's own page, or the page is out of date: reload it and try again.",
    )
        .into_response()
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let public_url = state.access.public_url();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        let checked = match &viewer {
            Viewer::Token { .. } => true,
            Viewer::User { session, .. } => {
                let fields: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
                let token = fields
                    .iter()
                    .find(|(name, _)| name == CSRF_FIELD)
                    .map(|(_, value)| value.as_str())
                    .unwrap_or_default();
                same_origin(&parts.headers, public_url)
                    && session.check_csrf(&state.access.key, token)
            }
            Viewer::Public => false,
        };
        if !checked {
            tracing::warn!(path = %parts.uri.path(), "form refused: CSRF check failed");
            return Err(forbidden());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| (StatusCode::BAD_REQUEST, "Malformed form.").into_response())?;
        Ok(CsrfForm { viewer, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    const PUBLIC: Option<&str> = Some("https://w.example.com");

    #[test]
    fn a_post_from_the_servers_own_page_passes() {
        let own = headers(&[
            ("origin", "https://w.example.com"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(same_origin(&own, PUBLIC));
        assert!(same_origin(&headers(&[]), PUBLIC));
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        for pairs in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")],
            &[("origin", "https://w.example.com.evil.example")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[
                ("origin", "https://w.example.com"),
                ("sec-fetch-site", "cross-site"),
            ],
        ] {
            assert!(!same_origin(&headers(pairs), PUBLIC), "{pairs:?}");
        }
    }

    #[test]
    fn without_a_public_url_the_host_stands_for_the_origin() {
        let own = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(same_origin(&own, None));
        let other = headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(!same_origin(&other, None));
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin_of("https://w.example.com/warrant"),
            "https://w.example.com"
        );
        assert_eq!(origin_of("http://h:8080"), "http://h:8080");
    }
}
