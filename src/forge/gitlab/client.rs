//! The GitLab API client: authentication, retries and request counting in
//! one place, under the operations Warrant needs (see `merge_requests`,
//! `members`, `statuses`).
//!
//! It speaks REST v4 and GraphQL (`graphql`) with reqwest, like the GitHub
//! client, and shares its [`RetryPolicy`] and [`ApiStats`]: every attempt
//! is counted, and a 429 or an exhausted `RateLimit-Remaining` waits for
//! GitLab's `Retry-After` or `RateLimit-Reset`. The token is sent in
//! `PRIVATE-TOKEN` (REST) or as a bearer token (GraphQL) and appears in no
//! error or log line.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::members::MemberCache;
use crate::forge::cache::TtlCache;
use crate::forge::http::{self, Failed, HttpCore};
use crate::forge::retry::{ApiStats, RetryPolicy};
use crate::ids::Login;

/// Why a GitLab call failed. The messages are for logs, not for people on
/// a merge request.
#[derive(Debug, thiserror::Error)]
pub enum GitlabError {
    #[error("GitLab answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: String,
        path: String,
        message: String,
    },
    #[error("could not reach GitLab ({method} {path}): {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("unexpected response to {path}: {message}")]
    Decode { path: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// An argument GitLab would refuse, caught before asking.
    #[error("{0}")]
    Invalid(String),
}

impl GitlabError {
    /// The HTTP status GitLab answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitlabError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn decode(path: &str, message: impl ToString) -> Self {
        GitlabError::Decode {
            path: path.to_owned(),
            message: message.to_string(),
        }
    }
}

/// A client for one GitLab (gitlab.com or a self-managed instance), acting
/// as the account whose token it holds.
pub struct GitlabClient {
    core: HttpCore,
    api_base: String,
    token: String,
    pub(crate) members: MemberCache,
    /// What each project's external status checks say of Warrant's.
    pub(crate) project_checks: TtlCache<super::statuses::ProjectCheck>,
    /// The `warrant` external status check of each merge request whose
    /// project scopes it to protected branches.
    pub(crate) status_checks: TtlCache<Option<u64>>,
    /// The name of the top-level group's project that keeps
    /// `warrant-org.yml` (`gitlab-profile` unless the operator names
    /// another).
    pub(crate) org_repository: String,
}

/// Items per page: GitLab's maximum, so a list costs as few requests as it
/// can.
pub(crate) const PER_PAGE: usize = 100;

impl std::fmt::Debug for GitlabClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabClient")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl GitlabClient {
    /// `base_url` is the web root (`https://gitlab.com`, or
    /// `https://gitlab.example.com`); the API is `{base_url}/api/v4`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, GitlabError> {
        if token.trim().is_empty() {
            return Err(GitlabError::Invalid("the GitLab token is empty".into()));
        }
        let core =
            HttpCore::new().map_err(|e| GitlabError::Invalid(format!("HTTP client: {e}")))?;
        Ok(GitlabClient {
            core,
            api_base: format!("{}/api/v4", base_url.trim_end_matches('/')),
            token: token.to_owned(),
            members: MemberCache::default(),
            project_checks: TtlCache::new(super::statuses::STATUS_CHECK_TTL),
            status_checks: TtlCache::new(super::statuses::STATUS_CHECK_TTL),
            org_repository: crate::policy::GITLAB_ORG_REPOSITORY.to_owned(),
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    /// Names the top-level group's project that keeps the organisation
    /// policy, in place of `gitlab-profile`.
    pub fn with_org_repository(mut self, name: &str) -> Self {
        self.org_repository = name.to_owned();
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.core.retry = retry;
        self
    }

    /// How long group members and project maintainers are cached.
    pub fn with_group_cache(mut self, ttl: Duration) -> Self {
        self.members = MemberCache::new(ttl);
        self
    }

    /// Request counters and the last rate-limit budget seen.
    pub fn stats(&self) -> Arc<ApiStats> {
        self.core.stats.clone()
    }

    /// `{base_url}/api/v4`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// A GET of one JSON document.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GitlabError> {
        let resp = self.send(Method::GET, path, None).await?;
        json(path, resp).await
    }

    /// A GET of a list, every page of it up to `max_pages`; says whether
    /// the list ended within them. `path` carries no `page`/`per_page`.
    pub(crate) async fn get_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        max_pages: usize,
    ) -> Result<(Vec<T>, bool), GitlabError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = 1;
        while page <= max_pages {
            let paged = format!("{path}{sep}per_page={PER_PAGE}&page={page}");
            let resp = self.send(Method::GET, &paged, None).await?;
            let next = next_page(&resp);
            let list: Vec<T> = json(&paged, resp).await?;
            // Without `x-next-page` (GitLab omits it on very large lists),
            // a full page means there may be more.
            let more = next.unwrap_or(list.len() == PER_PAGE);
            items.extend(list);
            if !more {
                return Ok((items, true));
            }
            page += 1;
        }
        Ok((items, false))
    }

    /// Sends with retries; a non-success final answer is an error.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, GitlabError> {
        let mut req: RequestBuilder = self
            .core
            .http
            .request(method.clone(), format!("{}{path}", self.api_base))
            .header("PRIVATE-TOKEN", &self.token)
            .header("accept", "application/json");
        if let Some(body) = body {
            req = req.json(body);
        }
        self.core
            .send(&method, path, req)
            .await
            .map_err(|f| failed(&method, path, f))
    }

    /// A POST of a GraphQL query to `{base_url}/api/graphql`, with
    /// retries; `name` names it in the counters and errors.
    pub(crate) async fn send_graphql(
        &self,
        name: &str,
        body: &serde_json::Value,
    ) -> Result<Response, GitlabError> {
        let root = self.api_base.trim_end_matches("/v4");
        let req = self
            .core
            .http
            .post(format!("{root}/graphql"))
            // GitLab documents the bearer header for GraphQL.
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .json(body);
        self.core
            .send(&Method::POST, name, req)
            .await
            .map_err(|f| failed(&Method::POST, name, f))
    }

    /// The token's own account (`GET /user`): Warrant's identity on this
    /// GitLab.
    pub async fn current_user(&self) -> Result<Login, GitlabError> {
        let user: UserRef = self.get("/user").await?;
        Login::parse(&user.username).map_err(|e| GitlabError::decode("/user", e))
    }
}

/// A user as GitLab embeds it in other objects: the part Warrant reads.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct UserRef {
    pub username: String,
}

/// Usernames GitLab gives the bot users it creates, which no person can
/// register: `project_<id>_bot_<hex>` and `group_<id>_bot_<hex>` for
/// access tokens (older instances: `project_<id>_bot<n>`), and
/// `service_account_...` for service accounts. They count as bots whatever
/// GitLab's `bot` flag says.
pub fn reserved_bot_username(username: &str) -> bool {
    let u = username.to_ascii_lowercase();
    if u.starts_with("service_account_") {
        return true;
    }
    ["project_", "group_"].iter().any(|prefix| {
        u.strip_prefix(prefix).is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with("_bot")
        })
    })
}

/// `/projects/group%2Fsub%2Fproject`.
pub(crate) fn project_path(project: &str) -> Result<String, GitlabError> {
    let ok = project.contains('/') && project.split('/').all(|part| !part.is_empty());
    if !ok {
        return Err(GitlabError::Invalid(format!(
            "`{project}` is not a project's full path (`group/project`)"
        )));
    }
    Ok(format!("/projects/{}", crate::urls::encode(project)))
}

/// Whether GitLab says there is a next page: `x-next-page` is empty on the
/// last; `None` when the header is absent.
fn next_page(resp: &Response) -> Option<bool> {
    let value = resp.headers().get("x-next-page")?.to_str().ok()?;
    Some(!value.trim().is_empty())
}

pub(crate) async fn json<T: DeserializeOwned>(
    path: &str,
    resp: Response,
) -> Result<T, GitlabError> {
    http::json(resp)
        .await
        .map_err(|f| failed(&Method::GET, path, f))
}

/// A request's failure, in GitLab's terms.
fn failed(method: &Method, path: &str, failure: Failed) -> GitlabError {
    let (method, path) = (method.to_string(), path.to_owned());
    match failure {
        Failed::Transport(message) => GitlabError::Transport {
            method,
            path,
            message,
        },
        Failed::Status { status, message } => GitlabError::Status {
            status,
            method,
            path,
            message,
        },
        Failed::Decode(message) => GitlabError::Decode { path, message },
    }
}

/// Standard base64 (with or without padding, line breaks ignored), as
/// GitLab encodes file contents.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let digits: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(digits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_project_path_is_one_segment() {
        assert_eq!(
            project_path("group/sub/project").unwrap(),
            "/projects/group%2Fsub%2Fproject"
        );
        assert!(project_path("noslash").is_err());
        assert!(project_path("group//project").is_err());
    }

    #[test]
    fn reserved_bot_usernames_are_recognised() {
        for bot in [
            "project_123_bot_4f0c2a",
            "project_7_bot1",
            "group_42_bot_deadbeef",
            "service_account_group_9_abc",
        ] {
            assert!(reserved_bot_username(bot), "{bot}");
        }
        for user in ["project_bot", "projectx_1_bot", "group_lead", "alice"] {
            assert!(!reserved_bot_username(user), "{user}");
        }
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8h").unwrap(), b"hello!");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("IyA9PSBTY2hlbWEgSW5mb3...").is_none());
    }
}
