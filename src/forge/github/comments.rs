//! Comments Warrant writes on a pull request's conversation: its answers to
//! override commands (how to write one, why one did not count).

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{GithubClient, GithubError, InstallationId};

/// The part of a created comment Warrant reads back.
#[derive(Deserialize)]
struct CommentReply {
    id: u64,
}

impl GithubClient {
    /// Comments `body` on pull request `number` (`POST
    /// /repos/{repo}/issues/{number}/comments`: a pull request's
    /// conversation is its issue's); answers the comment's id.
    pub async fn post_comment(
        &self,
        installation: InstallationId,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<u64, GithubError> {
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let reply: CommentReply = self
            .rest(
                installation,
                Method::POST,
                &path,
                Some(&json!({ "body": body })),
            )
            .await?;
        Ok(reply.id)
    }
}
