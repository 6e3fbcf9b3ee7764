//! Signing people in with GitHub: the app's OAuth web flow, and the two
//! questions Warrant asks with a user's token (who are you, which
//! repository may you read under this name).
//!
//! The flow's endpoints live on GitHub's web host (`https://github.com`,
//! or `https://HOST` on GitHub Enterprise Server), the questions on its API
//! (`https://api.github.com`, or `https://HOST/api/v3`). A GitHub App's
//! user token reaches a repository only where the app is installed and the
//! user has access, so "readable" means both.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use super::client::GithubError;
use crate::config::Secret;

/// The user agent GitHub requires on every request.
const USER_AGENT: &str = concat!("agent-warrant/", env!("CARGO_PKG_VERSION"));

/// The app's OAuth side on one GitHub.
#[derive(Clone, Debug)]
pub struct OauthClient {
    http: reqwest::Client,
    web_url: String,
    api_url: String,
    client_id: String,
    client_secret: Secret,
}

/// The GitHub account a token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GithubUser {
    pub login: String,
    pub id: u64,
}

impl OauthClient {
    /// `web_url` and `api_url` are absolute, without a trailing slash.
    pub fn new(
        web_url: &str,
        api_url: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Result<OauthClient, GithubError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // A page waits on these calls: fail well before a browser gives up.
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| GithubError::Key(format!("HTTP client: {e}")))?;
        Ok(OauthClient {
            http,
            web_url: web_url.trim_end_matches('/').to_owned(),
            api_url: api_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
        })
    }

    /// Where to send the browser: GitHub asks the user to authorise the
    /// app, then redirects to `redirect_uri` with a code and `state`.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        format!(
            "{}/login/oauth/authorize?client_id={}&redirect_uri={}&state={}",
            self.web_url,
            encode(&self.client_id),
            encode(redirect_uri),
            encode(state),
        )
    }

    /// Exchanges the code GitHub's redirect carried for the user's token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Secret, GithubError> {
        /// GitHub answers 200 with either a token or an error.
        #[derive(Deserialize)]
        struct Reply {
            access_token: Option<String>,
            error: Option<String>,
        }
        let path = "/login/oauth/access_token";
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let response = self
            .http
            .post(format!("{}{path}", self.web_url))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| transport("POST", path, &e))?;
        let reply: Reply = json(response, "POST", path).await?;
        match (reply.access_token, reply.error) {
            (Some(token), None) if !token.is_empty() => Ok(Secret::new(token)),
            (_, error) => Err(GithubError::Status {
                status: 200,
                method: "POST".into(),
                path: path.into(),
                message: error.unwrap_or_else(|| "no access token".into()),
            }),
        }
    }

    /// `GET /user`: who the token belongs to.
    pub async fn user(&self, token: &str) -> Result<GithubUser, GithubError> {
        let response = self.get("/user", token).await?;
        json(response, "GET", "/user").await
    }

    /// `GET /repos/{repo}` as the user: the repository's id when GitHub
    /// shows it (200), `None` when it hides it (404), refuses (403), or no
    /// longer takes the token (401: revoked by the user, or expired). The
    /// id tells which repository answers to the name today: a name can be
    /// reused once a repository is deleted or renamed.
    pub async fn readable_repo_id(
        &self,
        token: &str,
        repo: &str,
    ) -> Result<Option<u64>, GithubError> {
        /// The one field Warrant reads.
        #[derive(Deserialize)]
        struct Repository {
            id: u64,
        }
        let path = format!("/repos/{repo}");
        let response = self.get(&path, token).await?;
        match response.status() {
            StatusCode::OK => {
                let repository: Repository = json(response, "GET", &path).await?;
                Ok(Some(repository.id))
            }
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => Ok(None),
            StatusCode::UNAUTHORIZED => {
                tracing::warn!("GitHub no longer takes a signed-in user's token");
                Ok(None)
            }
            status => Err(GithubError::Status {
                status: status.as_u16(),
                method: "GET".into(),
                path,
                message: "unexpected status".into(),
            }),
        }
    }

    async fn get(&self, path: &str, token: &str) -> Result<reqwest::Response, GithubError> {
        self.http
            .get(format!("{}{path}", self.api_url))
            .bearer_auth(token)
            .header("accept", "application/vnd.github+json")
            .send()
            .await
            .map_err(|e| transport("GET", path, &e))
    }
}

/// The body of a 2xx answer, or the status as an error. Bodies of errors
/// are not kept: they may echo what was sent.
async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    method: &str,
    path: &str,
) -> Result<T, GithubError> {
    let status = response.status();
    if !status.is_success() {
        return Err(GithubError::Status {
            status: status.as_u16(),
            method: method.into(),
            path: path.into(),
            message: status.canonical_reason().unwrap_or("error").into(),
        });
    }
    response.json().await.map_err(|e| GithubError::Decode {
        path: path.into(),
        message: e.without_url().to_string(),
    })
}

/// A transport error, without the URL (which holds nothing secret here,
/// but keeps messages short and alike).
fn transport(method: &str, path: &str, err: &reqwest::Error) -> GithubError {
    let mut message = err.to_string();
    if let Some(url) = err.url() {
        message = message.replace(url.as_str(), "");
    }
    GithubError::Transport {
        method: method.into(),
        path: path.into(),
        message,
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_encodes_its_parameters() {
        let client = OauthClient::new(
            "https://ghe.example.com/",
            "https://ghe.example.com/api/v3",
            "Iv1.abc",
            Secret::new("s"),
        )
        .unwrap();
        assert_eq!(
            client.authorize_url("https://w.example.com/auth/github/callback", "st"),
            "https://ghe.example.com/login/oauth/authorize?client_id=Iv1.abc\
             &redirect_uri=https%3A%2F%2Fw.example.com%2Fauth%2Fgithub%2Fcallback&state=st"
        );
    }
}
