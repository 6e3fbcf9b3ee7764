//! Registering the GitHub App through the manifest flow, and the root page.
//!
//! With no app configured, `GET /` offers forms that POST Warrant's
//! manifest (`app-manifest.yml`, with URLs under `WARRANT_PUBLIC_URL`) to
//! GitHub, for a personal account or an organisation. GitHub creates the
//! app and redirects to `GET /github/manifest/callback?code&state`; the
//! code is exchanged for the app's credentials, which are written to the
//! credentials file ([`app_file`]) and put in use at once: webhooks signed
//! with the new secret are accepted without a restart.
//!
//! `state` protects the callback from cross-site requests: a random token
//! made for each page, kept in memory for an hour, and accepted once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use tokio::sync::watch;

use super::{AppState, page};
use crate::config::{GithubAppConfig, ServeConfig};
use crate::forge::github::app_file;
use crate::forge::github::checks::AppCredentials;
use crate::forge::github::client::GithubClient;

/// The manifest as the repository ships it; tests check it.
pub const APP_MANIFEST_YML: &str = include_str!("../../app-manifest.yml");

/// As long as GitHub's manifest code is valid: a state older than that
/// cannot come back with a usable code.
const STATE_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Bounds the memory that loading `/` repeatedly can take.
const MAX_PENDING_STATES: usize = 1_000;

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
    /// Pending `state` tokens and when they were made.
    states: Mutex<HashMap<String, Instant>>,
    /// The app registered while running, for whatever acts as the app.
    registered: watch::Sender<Option<GithubAppConfig>>,
}

impl Registration {
    pub fn new(public_url: Option<String>, api_url: String, app_file: PathBuf) -> Registration {
        Registration {
            public_url,
            api_url,
            app_file,
            app_id: RwLock::new(None),
            states: Mutex::new(HashMap::new()),
            registered: watch::Sender::new(None),
        }
    }

    /// Sees the app registered at `/` while the server runs (`None` until
    /// then), so that workers started without an app can take it up
    /// without a restart.
    pub fn subscribe(&self) -> watch::Receiver<Option<GithubAppConfig>> {
        self.registered.subscribe()
    }

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

    fn new_state(&self) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let now = Instant::now();
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.retain(|_, made| now.duration_since(*made) < STATE_LIFETIME);
        if states.len() >= MAX_PENDING_STATES {
            let oldest = states.iter().min_by_key(|(_, made)| **made);
            if let Some(oldest) = oldest.map(|(token, _)| token.clone()) {
                states.remove(&oldest);
            }
        }
        states.insert(token.clone(), now);
        token
    }

    /// Whether `token` was handed out, is fresh, and not yet used; uses it.
    fn take_state(&self, token: &str) -> bool {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states
            .remove(token)
            .is_some_and(|made| made.elapsed() < STATE_LIFETIME)
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
    app_file: String,
    /// The manifest as JSON; `None` without a public URL.
    manifest: Option<String>,
    personal_action: String,
    org: String,
    org_action: Option<String>,
}

#[derive(Template)]
#[template(path = "registered.html")]
struct RegisteredPage {
    slug: String,
    app_file: String,
    html_url: String,
    install_url: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
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
pub(super) struct RootQuery {
    org: Option<String>,
}

/// `GET /`: the registration page, or a status page once an app is
/// configured.
pub(super) async fn root(
    State(state): State<AppState>,
    Query(query): Query<RootQuery>,
) -> Response {
    if state.app_configured() {
        let app_id = state.registration.app_id();
        return page(StatusCode::OK, &StatusPage { app_id });
    }
    let registration = &state.registration;
    let web = github_web_url(&registration.api_url);
    let org = query.org.unwrap_or_default().trim().to_owned();
    let manifest = match registration
        .public_url
        .as_deref()
        .map(AppManifest::for_server)
    {
        Some(Ok(manifest)) => Some(serde_json::to_string(&manifest).unwrap_or_default()),
        Some(Err(err)) => {
            tracing::error!(error = format!("{err:#}"), "the shipped manifest is broken");
            return failed(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
        }
        None => None,
    };
    let (personal_action, org_action) = if manifest.is_some() {
        let token = registration.new_state();
        let org_action = is_org_name(&org)
            .then(|| format!("{web}/organizations/{org}/settings/apps/new?state={token}"));
        (format!("{web}/settings/apps/new?state={token}"), org_action)
    } else {
        (String::new(), None)
    };
    page(
        StatusCode::OK,
        &RegisterPage {
            github_web_url: web,
            app_file: registration.app_file.display().to_string(),
            manifest,
            personal_action,
            org,
            org_action,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /github/manifest/callback`: GitHub's redirect after it created the
/// app. Exchanges the code, keeps the credentials, and switches to them.
pub(super) async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if state.app_configured() {
        return failed(StatusCode::CONFLICT, "A GitHub App is already configured.");
    }
    let (Some(code), Some(token)) = (query.code, query.state) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "GitHub's redirect must carry a code and a state.",
        );
    };
    let registration = &state.registration;
    if !registration.take_state(&token) {
        tracing::warn!("manifest callback with an unknown, expired or used state");
        return failed(
            StatusCode::FORBIDDEN,
            "This registration was not started from this server's page, expired or was already completed.",
        );
    }
    let (credentials, app) = match exchange_and_keep(registration, &code).await {
        Ok(registered) => registered,
        Err(response) => return response,
    };
    tracing::info!(app_id = credentials.id, slug = %credentials.slug, file = %registration.app_file.display(), "GitHub App registered");
    *write(&registration.app_id) = Some(credentials.id);
    *write(&state.github_secrets) = app.webhook_secrets.clone();
    registration.registered.send_replace(Some(app));
    let html_url = credentials.html_url.trim_end_matches('/').to_owned();
    page(
        StatusCode::OK,
        &RegisteredPage {
            slug: credentials.slug,
            app_file: registration.app_file.display().to_string(),
            install_url: format!("{html_url}/installations/new"),
            html_url,
        },
    )
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

    #[test]
    fn a_state_is_accepted_once() {
        let registration = Registration::new(None, String::new(), PathBuf::new());
        let token = registration.new_state();
        assert!(registration.take_state(&token));
        assert!(!registration.take_state(&token));
        assert!(!registration.take_state("made-up"));
    }
}
