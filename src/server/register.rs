//! Registering the GitHub App through the manifest flow, and the root page.
//!
//! With no app configured, and registration not turned off, `GET /` asks
//! for the setup token that `warrant serve` wrote to its log at start
//! (entered in the page's form, or given as `?setup=`; see [`setup`]).
//! The browser that presents it gets a cookie, and pages offering forms
//! that POST Warrant's manifest (`app-manifest.yml`, with URLs under
//! `WARRANT_PUBLIC_URL`) to GitHub, for a personal account or an
//! organisation. GitHub creates the app and redirects to
//! `GET /github/manifest/callback?code&state`; the code is exchanged for
//! the app's credentials, which are written to the credentials file
//! ([`app_file`]) and put in use at once: webhooks signed with the new
//! secret are accepted without a restart, and the token is spent.
//!
//! `state` protects the callback from cross-site requests: a random token
//! made for each page, bound to the operator's cookie, kept in memory for
//! an hour, and accepted once, with that cookie only.

mod setup;

use std::path::PathBuf;
use std::sync::RwLock;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use tokio::sync::watch;

use super::auth::{cookie, same_origin};
use super::{AppState, page};
use crate::config::{GithubAppConfig, Secret, ServeConfig};
use crate::forge::github::app_file;
use crate::forge::github::checks::AppCredentials;
use crate::forge::github::client::GithubClient;

pub use setup::new_token as new_setup_token;

/// The setup token's form is one short field; anything longer is not it,
/// and an anonymous request buffers no more.
const MAX_SETUP_FORM: usize = 1024;

/// `/` and GitHub's redirect back.
pub(super) fn routes() -> Router<AppState> {
    let setup = post(setup).layer(DefaultBodyLimit::max(MAX_SETUP_FORM));
    Router::new()
        .route("/", get(root).merge(setup))
        .route("/github/manifest/callback", get(callback))
}

/// The manifest as the repository ships it; tests check it.
pub const APP_MANIFEST_YML: &str = include_str!("../../app-manifest.yml");

/// The app manifest's fields (GitHub's names).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppManifest {
    pub name: String,
    pub url: String,
    pub description: String,
    pub hook_attributes: HookAttributes,
    pub redirect_url: String,
    /// Where GitHub may send people back after signing in (`/auth/...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callback_urls: Vec<String>,
    pub public: bool,
    pub default_permissions: std::collections::BTreeMap<String, String>,
    pub default_events: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookAttributes {
    pub url: String,
    pub active: bool,
}

impl AppManifest {
    /// `app-manifest.yml` as shipped.
    pub fn shipped() -> anyhow::Result<AppManifest> {
        marked_yaml::from_yaml(0, APP_MANIFEST_YML)
            .map_err(|err| anyhow::anyhow!("app-manifest.yml: {err}"))
    }

    /// The manifest for a server reached at `public_url`.
    pub fn for_server(public_url: &str) -> anyhow::Result<AppManifest> {
        let mut manifest = AppManifest::shipped()?;
        manifest.url = public_url.to_owned();
        manifest.hook_attributes.url = format!("{public_url}/webhooks/github");
        manifest.redirect_url = format!("{public_url}/github/manifest/callback");
        manifest.callback_urls = vec![format!("{public_url}/auth/github/callback")];
        Ok(manifest)
    }
}

/// What the root page and the callback need; shared by every request.
#[derive(Debug)]
pub struct Registration {
    public_url: Option<String>,
    api_url: String,
    app_file: PathBuf,
    /// The configured app's id, for the status page.
    app_id: RwLock<Option<u64>>,
    /// Who may register: closed unless [`Registration::with_setup_token`].
    gate: setup::Gate,
    /// The app registered while running, for whatever acts as the app.
    registered: watch::Sender<Option<GithubAppConfig>>,
}

impl Registration {
    /// Offers no registration until [`Registration::with_setup_token`].
    pub fn new(public_url: Option<String>, api_url: String, app_file: PathBuf) -> Registration {
        Registration {
            public_url,
            api_url,
            app_file,
            app_id: RwLock::new(None),
            gate: setup::Gate::default(),
            registered: watch::Sender::new(None),
        }
    }

    /// Offers to register an app to whoever presents `token` (while no app
    /// is configured). The caller logs it, and shows it nowhere else.
    pub fn with_setup_token(mut self, token: Secret) -> Registration {
        self.gate = setup::Gate::open(token);
        self
    }

    /// Sees the app registered at `/` while the server runs (`None` until
    /// then), so that workers started without an app can take it up
    /// without a restart.
    pub fn subscribe(&self) -> watch::Receiver<Option<GithubAppConfig>> {
        self.registered.subscribe()
    }

    /// Offers no registration: [`Registration::with_setup_token`] decides.
    pub fn from_config(config: &ServeConfig) -> Registration {
        let registration = Registration::new(
            config.public_url.clone(),
            config.github_api_url.clone(),
            config.github_app_file.clone(),
        );
        *write(&registration.app_id) = config.github.as_ref().map(|app| app.app_id);
        registration
    }

    /// GitHub's web address, where the registration page's forms post.
    pub(crate) fn github_web_url(&self) -> String {
        github_web_url(&self.api_url)
    }

    /// The configured app's id, when known (set through the variables or
    /// the file, or registered while running).
    fn app_id(&self) -> Option<u64> {
        *self.app_id.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Cookies are `Secure` (and `__Host-`) when browsers reach the server
    /// over https.
    fn secure(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// The operator's cookie value, if the request carries one that
    /// presented the setup token.
    fn operator<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        cookie::read(headers, setup::COOKIE, self.secure())
            .filter(|value| self.gate.is_operator(value))
    }
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// GitHub's web address from its API's: `api.github.com` is
/// `github.com`, and GitHub Enterprise Server serves its API under
/// `/api/v3` on the web host.
pub fn github_web_url(api_url: &str) -> String {
    let api_url = api_url.trim_end_matches('/');
    if let Some(rest) = api_url.strip_prefix("https://api.github.com") {
        if rest.is_empty() {
            return "https://github.com".into();
        }
    }
    api_url
        .strip_suffix("/api/v3")
        .unwrap_or(api_url)
        .to_owned()
}

/// An organisation login as GitHub allows it: letters, digits and single
/// hyphens, not at either end, at most 39 characters.
fn is_org_name(org: &str) -> bool {
    !org.is_empty()
        && org.len() <= 39
        && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !org.starts_with('-')
        && !org.ends_with('-')
        && !org.contains("--")
}

const STYLE: &str = include_str!("../../templates/style.css");

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    github_web_url: String,
    /// The manifest as JSON.
    manifest: String,
    personal_action: String,
    org: String,
    org_action: Option<String>,
}

/// The page before the setup token: asks for it, or for a public URL.
#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    github_web_url: String,
    needs_public_url: bool,
    problem: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "registered.html")]
struct RegisteredPage {
    slug: String,
    html_url: String,
    install_url: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    /// Whether a GitHub App is configured; its id when known.
    github: bool,
    app_id: Option<u64>,
}

#[derive(Template)]
#[template(path = "failed.html")]
struct FailedPage {
    message: &'static str,
}

fn failed(status: StatusCode, message: &'static str) -> Response {
    page(status, &FailedPage { message })
}

#[derive(Deserialize)]
struct RootQuery {
    org: Option<String>,
    /// The setup token, for a link the operator opens from the log.
    setup: Option<String>,
}

/// `GET /`: a status page, unless this server offers to register an app;
/// then the setup token's form, or to a browser that presented it, the
/// registration forms.
async fn root(
    State(state): State<AppState>,
    Query(query): Query<RootQuery>,
    headers: HeaderMap,
) -> Response {
    let registration = &state.registration;
    if state.app_configured() || !registration.gate.is_open() {
        return status_page(&state);
    }
    if registration.public_url.is_none() {
        return setup_page(registration, StatusCode::OK, None);
    }
    if let Some(token) = query.setup {
        return present_token(registration, &token);
    }
    match registration.operator(&headers) {
        Some(operator) => register_page(registration, operator, query.org),
        None => setup_page(registration, StatusCode::OK, None),
    }
}

#[derive(Deserialize)]
struct SetupForm {
    setup: String,
}

/// `POST /`: the setup token's form, from this server's own page (a
/// browser on another site is refused, as for every form).
async fn setup(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let registration = &state.registration;
    if state.app_configured() || !registration.gate.is_open() {
        return status_page(&state);
    }
    if registration.public_url.is_none() {
        return setup_page(registration, StatusCode::OK, None);
    }
    if !same_origin(&headers, registration.public_url.as_deref()) {
        return setup_page(
            registration,
            StatusCode::FORBIDDEN,
            Some("This form did not come from this server's page."),
        );
    }
    match serde_urlencoded::from_bytes::<SetupForm>(&body) {
        Ok(form) => present_token(registration, &form.setup),
        Err(_) => setup_page(
            registration,
            StatusCode::BAD_REQUEST,
            Some("Enter the setup token."),
        ),
    }
}

/// Lets the browser that presents the setup token register, through a
/// cookie, and sends it back to `/` (so that the token leaves the address
/// bar); any other token gets the form again.
fn present_token(registration: &Registration, token: &str) -> Response {
    if !registration.gate.admits(token.trim()) {
        tracing::warn!("registration refused: not the setup token");
        return setup_page(
            registration,
            StatusCode::FORBIDDEN,
            Some("That is not the setup token of this server."),
        );
    }
    let operator = registration.gate.admit();
    tracing::info!("the setup token was presented: this browser may register the app");
    let cookie = cookie::set(
        setup::COOKIE,
        &operator,
        setup::LIFETIME.as_secs(),
        registration.secure(),
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_owned()),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
    )
        .into_response()
}

fn status_page(state: &AppState) -> Response {
    let github = state.app_configured();
    let app_id = state.registration.app_id().filter(|_| github);
    page(StatusCode::OK, &StatusPage { github, app_id })
}

fn setup_page(
    registration: &Registration,
    status: StatusCode,
    problem: Option<&'static str>,
) -> Response {
    let asking = SetupPage {
        github_web_url: github_web_url(&registration.api_url),
        needs_public_url: registration.public_url.is_none(),
        problem,
    };
    page(status, &asking)
}

/// The registration forms, with states bound to `operator`'s browser.
fn register_page(registration: &Registration, operator: &str, org: Option<String>) -> Response {
    let web = github_web_url(&registration.api_url);
    let org = org.unwrap_or_default().trim().to_owned();
    let public_url = registration.public_url.as_deref().unwrap_or_default();
    let manifest = match AppManifest::for_server(public_url) {
        Ok(manifest) => serde_json::to_string(&manifest).unwrap_or_default(),
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "the shipped manifest is broken");
            return failed(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
        }
    };
    let state = registration.gate.new_state(operator);
    let org_action = is_org_name(&org)
        .then(|| format!("{web}/organizations/{org}/settings/apps/new?state={state}"));
    page(
        StatusCode::OK,
        &RegisterPage {
            personal_action: format!("{web}/settings/apps/new?state={state}"),
            github_web_url: web,
            manifest,
            org,
            org_action,
        },
    )
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /github/manifest/callback`: GitHub's redirect after it created the
/// app. Exchanges the code, keeps the credentials, and switches to them.
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    if state.app_configured() {
        return failed(StatusCode::CONFLICT, "A GitHub App is already configured.");
    }
    let registration = &state.registration;
    if !registration.gate.is_open() {
        tracing::warn!("manifest callback on a server that offers no registration");
        return failed(
            StatusCode::FORBIDDEN,
            "This server does not register a GitHub App.",
        );
    }
    let (Some(code), Some(token)) = (query.code, query.state) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "GitHub's redirect must carry a code and a state.",
        );
    };
    let operator = cookie::read(&headers, setup::COOKIE, registration.secure());
    if !registration.gate.take_state(&token, operator) {
        tracing::warn!(
            cookie = operator.is_some(),
            "manifest callback with an unknown, expired or used state, or from another browser"
        );
        return failed(
            StatusCode::FORBIDDEN,
            "This registration was not started from this server's page in this browser, expired or was already completed.",
        );
    }
    let (credentials, app) = match exchange_and_keep(registration, &code).await {
        Ok(registered) => registered,
        Err(response) => return response,
    };
    tracing::info!(app_id = credentials.id, slug = %credentials.slug, file = %registration.app_file.display(), "GitHub App registered: the setup token is spent");
    *write(&registration.app_id) = Some(credentials.id);
    *write(&state.github_secrets) = app.webhook_secrets.clone();
    registration.gate.close();
    registration.registered.send_replace(Some(app));
    let html_url = credentials.html_url.trim_end_matches('/').to_owned();
    let mut response = page(
        StatusCode::OK,
        &RegisteredPage {
            slug: credentials.slug,
            install_url: format!("{html_url}/installations/new"),
            html_url,
        },
    );
    let clear = cookie::clear(setup::COOKIE, registration.secure());
    if let Ok(clear) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Exchanges the manifest code for the new app's credentials, checks them
/// and writes them to the credentials file; the error is the page to show.
async fn exchange_and_keep(
    registration: &Registration,
    code: &str,
) -> Result<(AppCredentials, GithubAppConfig), Response> {
    let exchanged = match GithubClient::unauthenticated(&registration.api_url) {
        Ok(client) => client.convert_manifest(code).await,
        Err(err) => Err(err),
    };
    let credentials = exchanged.map_err(|err| {
        tracing::error!(error = %err, "GitHub did not exchange the manifest code");
        failed(
            StatusCode::BAD_GATEWAY,
            "GitHub did not exchange the code for the app's credentials (an hour old, or already used?).",
        )
    })?;
    let app = GithubAppConfig::from_credentials(&credentials, &registration.api_url).map_err(
        |problem| {
            tracing::error!(app_id = credentials.id, %problem, "GitHub returned unusable credentials");
            failed(
                StatusCode::BAD_GATEWAY,
                "GitHub returned credentials Warrant cannot use; see the server's log.",
            )
        },
    )?;
    app_file::save(&registration.app_file, &credentials).map_err(|err| {
        tracing::error!(
            error = format!("{err:#}"),
            app_id = credentials.id,
            "cannot keep the app's credentials"
        );
        failed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The app was created on GitHub but its credentials could not be written; see the server's log.",
        )
    })?;
    Ok((credentials, app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_url_derives_from_the_api_url() {
        assert_eq!(
            github_web_url("https://api.github.com"),
            "https://github.com"
        );
        assert_eq!(
            github_web_url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com"
        );
        assert_eq!(github_web_url("http://127.0.0.1:9/"), "http://127.0.0.1:9");
    }

    #[test]
    fn organisation_names_are_checked_before_use_in_a_url() {
        assert!(is_org_name("octo-org"));
        for bad in ["", "-a", "a-", "a--b", "a/b", "a?b", "<script>"] {
            assert!(!is_org_name(bad), "{bad}");
        }
    }
}
