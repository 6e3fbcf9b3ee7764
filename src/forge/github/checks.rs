//! What Warrant writes to GitHub: the `warrant` check run, review
//! dismissals, and the app manifest exchange at registration.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{GithubClient, GithubError, InstallationId};
pub use crate::forge::check::{Annotation, CheckOutcome};
use crate::ids::CommitSha;

/// The check's name, stable whatever the base branch, so that admins can
/// make it required.
pub const CHECK_NAME: &str = "warrant";
/// GitHub accepts at most 50 annotations per create or update request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub refuses a check-run summary over 65,535 characters (applied to
/// bytes here: see [`truncate_summary`]).
pub const MAX_SUMMARY_CHARS: usize = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
pub struct CheckRunId(pub u64);

impl Annotation {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "path": self.path.as_str(),
            "start_line": self.line.unwrap_or(1),
            "end_line": self.line.unwrap_or(1),
            "annotation_level": if self.blocking { "failure" } else { "warning" },
            "message": self.message,
        })
    }
}

/// The part of a check run Warrant reads back.
#[derive(Deserialize)]
pub(crate) struct CheckRunReply {
    pub id: u64,
    pub name: String,
    pub app: Option<AppRef>,
}

#[derive(Deserialize)]
pub(crate) struct AppRef {
    pub id: u64,
}

/// `GET /repos/{o}/{r}/commits/{ref}/check-runs`.
#[derive(Deserialize)]
pub(crate) struct CheckRunList {
    pub check_runs: Vec<CheckRunReply>,
}

/// A review as REST returns it, after a dismissal.
#[derive(Deserialize)]
pub(crate) struct ReviewReply {
    pub id: u64,
    pub state: String,
}

impl GithubClient {
    /// Creates the `warrant` check run on `head_sha`, in progress.
    pub async fn create_check_run(
        &self,
        installation: InstallationId,
        repo: &str,
        head_sha: &CommitSha,
        details_url: Option<&str>,
    ) -> Result<CheckRunId, GithubError> {
        let body = json!({ "status": "in_progress" });
        self.post_check_run(installation, repo, head_sha, details_url, body)
            .await
    }

    /// `POST`s the `warrant` check run on `head_sha` with `body`'s status
    /// and output.
    async fn post_check_run(
        &self,
        installation: InstallationId,
        repo: &str,
        head_sha: &CommitSha,
        details_url: Option<&str>,
        mut body: serde_json::Value,
    ) -> Result<CheckRunId, GithubError> {
        body["name"] = json!(CHECK_NAME);
        body["head_sha"] = json!(head_sha.as_str());
        if let Some(url) = details_url {
            body["details_url"] = json!(url);
        }
        let path = format!("/repos/{repo}/check-runs");
        let run: CheckRunReply = self
            .rest(installation, Method::POST, &path, Some(&body))
            .await?;
        Ok(CheckRunId(run.id))
    }

    /// The `warrant` check run already on `head_sha`, to update it on
    /// re-evaluation rather than add another. Only this app's: a workflow
    /// job may also be called `warrant`, and its run is not ours to update.
    pub async fn find_check_run(
        &self,
        installation: InstallationId,
        repo: &str,
        head_sha: &CommitSha,
    ) -> Result<Option<CheckRunId>, GithubError> {
        let app_id = self.app_id().unwrap_or_default();
        let path = format!(
            "/repos/{repo}/commits/{}/check-runs?check_name={CHECK_NAME}&app_id={app_id}&filter=latest",
            head_sha.as_str()
        );
        let list: CheckRunList = self.rest(installation, Method::GET, &path, None).await?;
        Ok(list
            .check_runs
            .into_iter()
            .find(|r| r.name == CHECK_NAME && r.app.as_ref().is_none_or(|a| a.id == app_id))
            .map(|r| CheckRunId(r.id)))
    }

    /// Completes the check run. The first request carries the conclusion
    /// and the first 50 annotations; GitHub appends the annotations of each
    /// further update, so the rest follow 50 at a time.
    pub async fn complete_check_run(
        &self,
        installation: InstallationId,
        repo: &str,
        id: CheckRunId,
        outcome: &CheckOutcome,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/check-runs/{}", id.0);
        let mut body = completion(outcome);
        body["status"] = json!("completed");
        let _: serde_json::Value = self
            .rest(installation, Method::PATCH, &path, Some(&body))
            .await?;
        self.append_annotations(installation, repo, id, outcome)
            .await
    }

    /// Creates the `warrant` check run on `head_sha` already completed: for
    /// a decision reached before any run existed, in one request instead of
    /// two (the rest of the annotations follow 50 at a time).
    pub async fn create_completed_check_run(
        &self,
        installation: InstallationId,
        repo: &str,
        head_sha: &CommitSha,
        details_url: Option<&str>,
        outcome: &CheckOutcome,
    ) -> Result<CheckRunId, GithubError> {
        let mut body = completion(outcome);
        body["status"] = json!("completed");
        let id = self
            .post_check_run(installation, repo, head_sha, details_url, body)
            .await?;
        self.append_annotations(installation, repo, id, outcome)
            .await?;
        Ok(id)
    }

    /// The annotations past the first 50, 50 per update.
    async fn append_annotations(
        &self,
        installation: InstallationId,
        repo: &str,
        id: CheckRunId,
        outcome: &CheckOutcome,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/check-runs/{}", id.0);
        let summary = truncate_summary(&outcome.summary);
        for batch in outcome.annotations.chunks(ANNOTATIONS_PER_REQUEST).skip(1) {
            let annotations: Vec<_> = batch.iter().map(Annotation::to_json).collect();
            let body = json!({
                "output": { "title": outcome.title, "summary": summary, "annotations": annotations },
            });
            let _: serde_json::Value = self
                .rest(installation, Method::PATCH, &path, Some(&body))
                .await?;
        }
        Ok(())
    }

    /// Dismisses a review; `message` says why on the pull request.
    pub async fn dismiss_review(
        &self,
        installation: InstallationId,
        repo: &str,
        number: u64,
        review_id: u64,
        message: &str,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/pulls/{number}/reviews/{review_id}/dismissals");
        let body = json!({ "message": message, "event": "DISMISS" });
        let review: ReviewReply = self
            .rest(installation, Method::PUT, &path, Some(&body))
            .await?;
        if review.id != review_id || review.state != "DISMISSED" {
            return Err(GithubError::Decode {
                path,
                message: format!(
                    "review {} is {} after its dismissal",
                    review.id, review.state
                ),
            });
        }
        Ok(())
    }
}

/// The conclusion, title, summary and first 50 annotations of a check run.
fn completion(outcome: &CheckOutcome) -> serde_json::Value {
    let first: Vec<_> = outcome
        .annotations
        .iter()
        .take(ANNOTATIONS_PER_REQUEST)
        .map(Annotation::to_json)
        .collect();
    json!({
        "conclusion": outcome.conclusion.as_str(),
        "output": {
            "title": outcome.title,
            "summary": truncate_summary(&outcome.summary),
            "annotations": first,
        },
    })
}

/// The summary cut to GitHub's limit, with a note saying so; the audit
/// page has everything. The limit is applied to bytes, which is never more
/// than characters, so the cut is safe however GitHub counts; it falls on
/// a character boundary.
pub fn truncate_summary(summary: &str) -> String {
    const NOTE: &str = "\n\n… (truncated: see the audit page for the full report)";
    if summary.len() <= MAX_SUMMARY_CHARS {
        return summary.to_owned();
    }
    let mut cut = MAX_SUMMARY_CHARS - NOTE.len();
    while !summary.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{NOTE}", &summary[..cut])
}

/// What GitHub returns when an app registered by manifest is created: the
/// settings Warrant needs to run as that app. Also the shape of the
/// credentials file ([`super::app_file`]).
#[derive(Clone, Deserialize, serde::Serialize)]
pub struct AppCredentials {
    pub id: u64,
    pub slug: String,
    pub pem: String,
    pub webhook_secret: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub html_url: String,
}

impl std::fmt::Debug for AppCredentials {
    /// Leaves the secrets out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .field("html_url", &self.html_url)
            .finish_non_exhaustive()
    }
}

impl GithubClient {
    /// Exchanges the code of the manifest flow for the new app's
    /// credentials (`POST /app-manifests/{code}/conversions`).
    /// Unauthenticated: the code itself is the proof, valid once for an
    /// hour. Works on a client made with [`GithubClient::unauthenticated`].
    pub async fn convert_manifest(&self, code: &str) -> Result<AppCredentials, GithubError> {
        let well_formed = !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(GithubError::Invalid(
                "GitHub's redirect did not carry a manifest code".into(),
            ));
        }
        // The code is worth an app's credentials for an hour: the request
        // is named without it in stats, errors and so in logs.
        const NAMED: &str = "/app-manifests/{code}/conversions";
        let req = self.http_post(&format!("/app-manifests/{code}/conversions"));
        self.send_json(Method::POST, NAMED, req)
            .await
            .map_err(|err| without(err, code))
    }
}

/// `err` with `secret` blotted out wherever it appears (a transport
/// error quotes the URL it was sending to).
fn without(err: GithubError, secret: &str) -> GithubError {
    let blot = |text: String| text.replace(secret, "***");
    match err {
        GithubError::Status {
            status,
            method,
            path,
            message,
        } => GithubError::Status {
            status,
            method,
            path: blot(path),
            message: blot(message),
        },
        GithubError::Transport {
            method,
            path,
            message,
        } => GithubError::Transport {
            method,
            path: blot(path),
            message: blot(message),
        },
        GithubError::Decode { path, message } => GithubError::Decode {
            path: blot(path),
            message: blot(message),
        },
        GithubError::Graphql(message) => GithubError::Graphql(blot(message)),
        GithubError::Key(message) => GithubError::Key(blot(message)),
        GithubError::NotFound(message) => GithubError::NotFound(blot(message)),
        GithubError::Invalid(message) => GithubError::Invalid(blot(message)),
    }
}

#[cfg(test)]
mod manifest_tests {
    use super::*;

    #[test]
    fn a_failed_exchange_never_quotes_the_code() {
        let err = GithubError::Transport {
            method: "POST".into(),
            path: "/app-manifests/{code}/conversions".into(),
            message: "error sending request for url (https://api.github.com/app-manifests/c0de-42/conversions)".into(),
        };
        let text = without(err, "c0de-42").to_string();
        assert!(!text.contains("c0de-42"), "{text}");
        assert!(text.contains("/app-manifests/***/conversions"), "{text}");
    }

    #[tokio::test]
    async fn a_malformed_code_is_refused_without_being_quoted() {
        let client = GithubClient::unauthenticated("http://127.0.0.1:9").unwrap();
        for code in ["", "a/b", "<x>"] {
            let err = client.convert_manifest(code).await.unwrap_err();
            assert!(matches!(err, GithubError::Invalid(_)), "{err}");
            if !code.is_empty() {
                assert!(!err.to_string().contains(code), "{err}");
            }
        }
    }
}
