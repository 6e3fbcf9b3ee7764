//! The GitHub API client: authentication, retries and request counting in
//! one place, under the operations Warrant needs (see `pulls`, `teams`,
//! `checks`).
//!
//! It speaks HTTP with reqwest rather than octocrab: the evaluation budget
//! (3 requests) needs every attempt counted and retried by one policy that
//! honours `Retry-After` and rate-limit resets, the GraphQL query needs its
//! own response structs anyway, and the REST calls left are four small
//! ones.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::{AppKey, InstallationToken, InstallationTokens};
use super::teams::TeamCache;
use crate::forge::http::{self, Failed, HttpCore};
use crate::forge::retry::{ApiStats, RetryPolicy};

/// A GitHub App installation, as webhooks name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstallationId(pub u64);

/// Why a GitHub call failed. The messages are for logs, not for people on
/// a pull request.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: String,
        path: String,
        message: String,
    },
    #[error("could not reach GitHub ({method} {path}): {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("GitHub's GraphQL API refused the query: {0}")]
    Graphql(String),
    #[error("unexpected response to {path}: {message}")]
    Decode { path: String, message: String },
    #[error("the GitHub App key: {0}")]
    Key(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// An argument GitHub would refuse, caught before asking.
    #[error("{0}")]
    Invalid(String),
}

impl GithubError {
    /// The HTTP status GitHub answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `POST /app/installations/{id}/access_tokens`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A client for one GitHub App on one GitHub (github.com or an Enterprise
/// Server).
pub struct GithubClient {
    core: HttpCore,
    rest_base: String,
    graphql_url: String,
    /// `None` before the app exists (manifest registration).
    app: Option<AppKey>,
    tokens: InstallationTokens,
    pub(crate) teams: TeamCache,
    /// The name of the organisation's repository that keeps
    /// `warrant-org.yml` (`.github` unless the operator names another).
    pub(crate) org_repository: String,
}

impl GithubClient {
    /// `api_base_url` is the REST root: `https://api.github.com`, or
    /// `https://HOST/api/v3` on GitHub Enterprise Server.
    pub fn new(
        api_base_url: &str,
        app_id: u64,
        private_key_pem: &[u8],
    ) -> Result<Self, GithubError> {
        let mut client = Self::unauthenticated(api_base_url)?;
        client.app = Some(AppKey::new(app_id, private_key_pem)?);
        Ok(client)
    }

    /// Like [`GithubClient::new`], with a key the server's config has
    /// already read and checked.
    pub fn with_app_key(api_base_url: &str, app: AppKey) -> Result<Self, GithubError> {
        let mut client = Self::unauthenticated(api_base_url)?;
        client.app = Some(app);
        Ok(client)
    }

    /// A client with no app identity, for the manifest exchange that
    /// creates the app.
    pub fn unauthenticated(api_base_url: &str) -> Result<Self, GithubError> {
        let core = HttpCore::new().map_err(|e| GithubError::Key(format!("HTTP client: {e}")))?;
        let rest_base = api_base_url.trim_end_matches('/').to_owned();
        Ok(GithubClient {
            core,
            graphql_url: graphql_url(&rest_base),
            rest_base,
            app: None,
            tokens: InstallationTokens::default(),
            teams: TeamCache::default(),
            org_repository: crate::policy::GITHUB_ORG_REPOSITORY.to_owned(),
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.core.retry = retry;
        self
    }

    /// Replaces the team cache (its lifetime).
    pub fn with_team_cache(mut self, teams: TeamCache) -> Self {
        self.teams = teams;
        self
    }

    /// Names the organisation's repository that keeps the organisation
    /// policy, in place of `.github`.
    pub fn with_org_repository(mut self, name: &str) -> Self {
        self.org_repository = name.to_owned();
        self
    }

    /// Request counters and the last rate-limit budget seen.
    pub fn stats(&self) -> Arc<ApiStats> {
        self.core.stats.clone()
    }

    /// The app's id, when the client has the app's key.
    pub fn app_id(&self) -> Option<u64> {
        self.app.as_ref().map(AppKey::app_id)
    }

    pub fn rest_base(&self) -> &str {
        &self.rest_base
    }

    pub fn graphql_url(&self) -> &str {
        &self.graphql_url
    }

    /// An installation token, from the cache or freshly exchanged.
    pub async fn installation_token(
        &self,
        installation: InstallationId,
    ) -> Result<String, GithubError> {
        self.tokens
            .get(installation, || self.exchange_token(installation))
            .await
    }

    async fn exchange_token(
        &self,
        installation: InstallationId,
    ) -> Result<InstallationToken, GithubError> {
        let path = format!("/app/installations/{}/access_tokens", installation.0);
        let app = self
            .app
            .as_ref()
            .ok_or_else(|| GithubError::Key("no app id and private key configured".into()))?;
        let jwt = app.jwt(Utc::now())?;
        let req = self.core.http.post(self.url(&path)).bearer_auth(jwt);
        let token: TokenReply = self.send_json(Method::POST, &path, req).await.map_err(
            |e| match e {
                GithubError::Status {
                    status: 401,
                    message,
                    ..
                } => GithubError::Key(format!(
                    "GitHub refused the JWT of app {} ({message}): is the private key the app's?",
                    app.app_id()
                )),
                e => e,
            },
        )?;
        Ok(InstallationToken {
            token: token.token,
            expires_at: token.expires_at,
        })
    }

    /// The app's slug (`GET /app`, as the app): its bot is `{slug}[bot]`.
    pub async fn app_slug(&self) -> Result<String, GithubError> {
        #[derive(Deserialize)]
        struct App {
            slug: String,
        }
        let app = self
            .app
            .as_ref()
            .ok_or_else(|| GithubError::Key("no app id and private key configured".into()))?;
        let req = self
            .core
            .http
            .get(self.url("/app"))
            .bearer_auth(app.jwt(Utc::now())?);
        let reply: App = self.send_json(Method::GET, "/app", req).await?;
        Ok(reply.slug)
    }

    pub(crate) fn http_post(&self, path: &str) -> RequestBuilder {
        self.core.http.post(self.url(path))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.rest_base, path)
    }

    /// A REST request as the installation.
    pub(crate) async fn rest<T: DeserializeOwned>(
        &self,
        installation: InstallationId,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GithubError> {
        let url = self.url(path);
        self.as_installation(installation, method, &url, path, body)
            .await
    }

    /// Sends as the installation. A token GitHub no longer accepts (the
    /// app was reinstalled, the token revoked) is forgotten and the request
    /// made once more with a fresh one.
    async fn as_installation<T: DeserializeOwned>(
        &self,
        installation: InstallationId,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GithubError> {
        for _ in 0..2 {
            let token = self.installation_token(installation).await?;
            let mut req = self
                .core
                .http
                .request(method.clone(), url)
                .bearer_auth(token);
            if let Some(body) = body {
                req = req.json(body);
            }
            match self.send_json(method.clone(), path, req).await {
                Err(e) if e.status() == Some(401) => self.tokens.forget(installation),
                result => return result,
            }
        }
        Err(GithubError::Key(format!(
            "GitHub refused two fresh tokens of installation {}",
            installation.0
        )))
    }

    /// A GraphQL query as the installation; `data` or the errors.
    pub(crate) async fn graphql<T: DeserializeOwned>(
        &self,
        installation: InstallationId,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, GithubError> {
        #[derive(Deserialize)]
        struct Reply<T> {
            data: Option<T>,
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }
        let body = serde_json::json!({ "query": query, "variables": variables });
        let url = &self.graphql_url;
        let mut reply: Reply<T> = self
            .as_installation(installation, Method::POST, url, "/graphql", Some(&body))
            .await?;
        reply
            .errors
            .retain(|e| !is_missing_organization(e) && !is_missing_org_repository(e));
        match (reply.data, reply.errors.is_empty()) {
            (Some(data), true) => Ok(data),
            (_, false) => Err(GithubError::Graphql(
                serde_json::Value::Array(reply.errors).to_string(),
            )),
            (None, true) => Err(GithubError::Graphql("no data".into())),
        }
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        req: RequestBuilder,
    ) -> Result<T, GithubError> {
        let resp = self.send(&method, path, req).await?;
        http::json(resp).await.map_err(|f| failed(&method, path, f))
    }

    /// Sends with retries; a non-success final answer is an error.
    pub(crate) async fn send(
        &self,
        method: &Method,
        path: &str,
        req: RequestBuilder,
    ) -> Result<Response, GithubError> {
        let req = req
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        self.core
            .send(method, path, req)
            .await
            .map_err(|f| failed(method, path, f))
    }
}

/// The organisation's repository (`orgPolicy`) that does not exist or
/// that the installation cannot see: no organisation policy, not a failed
/// query.
fn is_missing_org_repository(error: &serde_json::Value) -> bool {
    error["type"] == "NOT_FOUND" && error["path"] == serde_json::json!(["orgPolicy"])
}

/// A team alias (`tN`) whose organization does not exist: GitHub answers
/// `null` with an error, which is not a failure of the query but a team
/// with no members.
fn is_missing_organization(error: &serde_json::Value) -> bool {
    let alias = error["path"][0].as_str().unwrap_or_default();
    error["type"] == "NOT_FOUND"
        && error["path"].as_array().is_some_and(|p| p.len() == 1)
        && alias
            .strip_prefix('t')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A request's failure, in GitHub's terms.
fn failed(method: &Method, path: &str, failure: Failed) -> GithubError {
    let (method, path) = (method.to_string(), path.to_owned());
    match failure {
        Failed::Transport(message) => GithubError::Transport {
            method,
            path,
            message,
        },
        Failed::Status { status, message } => GithubError::Status {
            status,
            method,
            path,
            message,
        },
        Failed::Decode(message) => GithubError::Decode { path, message },
    }
}

/// The GraphQL endpoint for a REST root: `https://api.github.com` →
/// `https://api.github.com/graphql`; on Enterprise Server
/// `https://HOST/api/v3` → `https://HOST/api/graphql`.
pub fn graphql_url(rest_base: &str) -> String {
    let base = rest_base.trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

#[cfg(test)]
mod tests {
    use super::graphql_url;

    #[test]
    fn graphql_url_is_derived_for_github_com_and_enterprise_server() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://api.github.com/"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.com/api/v3"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000/graphql"
        );
    }
}
